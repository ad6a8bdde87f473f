package api

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/wire"
)

// The node's own reads: health, status, the transaction types and error
// codes, a key's standing and next nonce, and state proofs.

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	st, err := s.Chain.Status(r.Context())
	if err != nil {
		writeError(w, errUnavailable.Wrapf("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "height": st.SyncInfo.LatestBlockHeight, "catching_up": st.SyncInfo.CatchingUp})
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.Chain.Status(r.Context())
	if err != nil {
		writeError(w, errUnavailable.Wrapf("%v", err))
		return
	}
	// Height and app hash are those of the state this API reads, which the
	// app commits just after CometBFT stores the block.
	height, hash := s.Ledger.CommittedVersion()
	out := wire.Status{ChainID: st.NodeInfo.Network, NodeID: string(st.NodeInfo.DefaultNodeID), Moniker: st.NodeInfo.Moniker,
		Height: height, AppHash: strings.ToUpper(hex.EncodeToString(hash)),
		BlockTime: st.SyncInfo.LatestBlockTime, CatchingUp: st.SyncInfo.CatchingUp, RPC: s.RPCAddress,
		Validators: []wire.Validator{}}
	if vals, err := s.Chain.Validators(r.Context(), nil, nil, nil); err == nil {
		for _, v := range vals.Validators {
			out.Validators = append(out.Validators, wire.Validator{Address: v.Address.String(), PubKey: hex.EncodeToString(v.PubKey.Bytes()), Power: v.VotingPower})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// TxType documents one transaction type and who may send it.
type TxType struct {
	Type    string          `json:"type"`
	Allow   []string        `json:"allow"`
	Doc     string          `json:"doc"`
	Example json.RawMessage `json:"example,omitempty"`
}

func (s *server) txTypes(w http.ResponseWriter, r *http.Request) {
	out := []TxType{}
	for _, rt := range modules.Txs() {
		t := TxType{Type: rt.Type, Allow: rt.Allow, Doc: rt.Doc}
		if json.Valid([]byte(rt.Example)) {
			t.Example = json.RawMessage(rt.Example)
		}
		out = append(out, t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) errorCodes(w http.ResponseWriter, r *http.Request) {
	type code struct {
		Code      string `json:"code"`
		Codespace string `json:"codespace"`
		ABCICode  uint32 `json:"abci_code"`
		Status    int    `json:"http_status"`
		Title     string `json:"title"`
	}
	out := []code{}
	for _, e := range ledger.Registered() {
		out = append(out, code{e.Name, e.Codespace, e.Code, e.HTTPStatus, e.Msg})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) getKey(w http.ResponseWriter, r *http.Request) {
	key, err := identity.ParseKey(r.PathValue("key"))
	if err != nil {
		writeError(w, err)
		return
	}
	if s.catchingUp() {
		// The next nonce would be the state's, behind the chain's.
		writeError(w, errCatchingUp)
		return
	}
	st := s.Ledger.Committed()
	info := wire.KeyInfo{Address: ledger.Address(key), Standing: "ok", ChainID: s.Ledger.ChainID()}
	signer, err := identity.Resolve(st, key, s.Ledger.LastBlockTime())
	switch {
	case errors.Is(err, ledger.ErrRetiredKey):
		// Whose key it was is not said; that it is retired, only to its
		// holder (a patient's old key would otherwise stand out).
		if s.isHolder(r, key) {
			info.Retired, info.Standing = true, ledger.ErrRetiredKey.Name
		}
		writeJSON(w, http.StatusOK, info)
		return
	case err != nil:
		info.Standing = ledger.AsError(err).Name
	}
	id := signer.ID
	if id == "" {
		id = info.Address
	}
	// The next nonce counts this node's mempool: a client can send several
	// transactions in a row without waiting for each to commit.
	if info.Nonce, err = s.Ledger.NextNonce(id); err != nil {
		writeError(w, err)
		return
	}
	if signer.Kind != ledger.KindUnregistered {
		info.Identity, _ = identity.Get(st, id)
	}
	// A patient's key, or a patient's device's, is described only to
	// whoever may read about the patient (the holder signing the request
	// with it, first of all); to anyone else it reads as a key the ledger
	// does not know, as GET /identities/{id} answers 404: holding a key
	// must not tell who is a patient, since when, or how active.
	if info.Identity != nil {
		patient, err := identity.AboutPatient(st, info.Identity)
		if err != nil {
			writeError(w, err)
			return
		}
		if patient != "" {
			q := &ledger.Request{State: st, BlockTime: s.Ledger.LastBlockTime()}
			caller, _, err := s.caller(r, st, q.BlockTime)
			q.Caller = caller
			if !s.isHolder(r, key) && s.mayRead(q, err)(patient) != nil {
				info = wire.KeyInfo{Address: info.Address, Standing: "ok", ChainID: info.ChainID}
			}
		}
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *server) proof(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" || len(key) > 512 {
		writeError(w, errBadRequest.Wrapf("key (the state key, as text) is required"))
		return
	}
	if err := s.mayProve(r, key); err != nil {
		writeError(w, err)
		return
	}
	p, err := ProveKey(s.Ledger, key)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// ProveKey reads key's committed value (or its absence) from st with its
// proof, as GET /api/v1/proof answers it.
func ProveKey(st Prover, key string) (*wire.ProofResponse, error) {
	value, proof, height, root, err := st.Proof([]byte(key))
	if err != nil {
		return nil, err
	}
	pb, err := proof.Marshal()
	if err != nil {
		return nil, err
	}
	return &wire.ProofResponse{Key: key, Value: base64.StdEncoding.EncodeToString(value), Exists: value != nil,
		Height: height, Proof: base64.StdEncoding.EncodeToString(pb), AppHash: hex.EncodeToString(root)}, nil
}

// isHolder reports whether r was signed with key, or carries the token of
// the key: its holder asking about it (a patient's device too, which has no
// standing with its patient).
func (s *server) isHolder(r *http.Request, key []byte) bool {
	if pub, ok := r.Context().Value(callerKey{}).(ed25519.PublicKey); ok {
		return bytes.Equal(pub, key)
	}
	if k, ok, err := s.bearerKey(r, tokens.ScopeRead); err == nil && ok {
		return bytes.Equal(k.Public().(ed25519.PublicKey), key)
	}
	return false
}

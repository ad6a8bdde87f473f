// Package moduletest runs a capability module's transactions on a real
// store the way the app executes them, for the module's own tests: the
// signer resolved from its key (identity.Resolve) and checked against the
// route's roles (Route.Allows), the handler run over an overlay flushed
// only on success, the block's height and time, its validator updates and
// its work (ledger.Context.BlockWork), one store commit per block. What it
// leaves out is the envelope: signatures, chain ids of transactions and
// nonces are the app's, and tested there.
//
// Identities are named: a name's key is derived from the name (Key), so a
// name is a signer before it is registered (a patient registering
// themselves) and after (World.ID). Organisations are admitted directly
// (AddOrg, as genesis or a passed proposal does); patients, practitioners
// and devices register through the identity module's own transactions.
package moduletest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/statetest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/store"
)

// ChainID is the chain a World's transactions run on (ledger.Context.ChainID):
// what proofs of possession and signed requests name.
const ChainID = "primum-moduletest"

// Start is the block time of a new World.
var Start = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// Key is the private key of a name: the same name, the same key, in every
// World.
func Key(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Pub is the public key of a name (Key).
func Pub(name string) ed25519.PublicKey { return Key(name).Public().(ed25519.PublicKey) }

// World is a real store in a test's temporary directory with named
// identities, run a block at a time.
type World struct {
	TB testing.TB
	St *store.Store
	// Height is the current block's: 0 is genesis (what New and AddOrg
	// write before the first Begin), Begin starts the next.
	Height int64
	// Now is the block time handlers see (Advance moves it).
	Now time.Time
	// Work is what the current block's transactions did
	// (ledger.Context.BlockWork); Commit resets it.
	Work int64
	// Updates are the validator updates of the current block's successful
	// transactions; Begin resets them.
	Updates []ledger.ValidatorUpdate
	// Events are those of the last successful transaction.
	Events []ledger.Event

	routes   map[string]ledger.Route
	queries  []ledger.Query
	identity map[string]ledger.Route
	keys     map[string]ed25519.PrivateKey // names whose key is not Key(name) (rotated)
	ids      map[string]string             // name -> identity id, for identities added here
	names    map[string]string             // identity id -> name
	txs      int                           // transactions run in the current block
}

// New opens a store in tb's temporary directory, routing the transactions
// of modules. At cleanup it checks that no key holds an empty value (which
// no proof can carry) and closes the store.
func New(tb testing.TB, modules ...ledger.Module) *World {
	tb.Helper()
	st, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !tb.Failed() {
			statetest.NoEmptyValues(tb, st.Committed())
		}
		st.Close()
	})
	w := &World{TB: tb, St: st, Now: Start, routes: map[string]ledger.Route{}, identity: map[string]ledger.Route{},
		keys: map[string]ed25519.PrivateKey{}, ids: map[string]string{}, names: map[string]string{}}
	for _, m := range modules {
		for _, r := range m.Txs {
			if _, dup := w.routes[r.Type]; dup {
				tb.Fatalf("transaction type %s declared twice", r.Type)
			}
			w.routes[r.Type] = r
		}
		w.queries = append(w.queries, m.Queries...)
	}
	for _, r := range identity.Routes() {
		w.identity[r.Type] = r
	}
	return w
}

// Route is the route of a transaction type (fatal if no module declares it).
func (w *World) Route(typ string) ledger.Route {
	w.TB.Helper()
	r, ok := w.routes[typ]
	if !ok {
		w.TB.Fatalf("no module of this world routes %s", typ)
	}
	return r
}

// KeyOf is the current private key of a name.
func (w *World) KeyOf(name string) ed25519.PrivateKey {
	if k, ok := w.keys[name]; ok {
		return k
	}
	return Key(name)
}

// UseKey makes name sign with key from now on (after a rotation).
func (w *World) UseKey(name string, key ed25519.PrivateKey) { w.keys[name] = key }

// ID is the identity id of a name: the one it was added with, else the
// address of its key (the id it would register as).
func (w *World) ID(name string) string {
	if id, ok := w.ids[name]; ok {
		return id
	}
	return ledger.Address(w.KeyOf(name).Public().(ed25519.PublicKey))
}

// Name is the name of an identity added here ("" if none).
func (w *World) Name(id string) string { return w.names[id] }

func (w *World) added(name, id string) {
	w.ids[name] = id
	w.names[id] = name
}

// Signer resolves name's current key in the current block as the app
// does (identity.Resolve): an unknown key is an unregistered signer; an
// identity not in good standing is returned with its error.
func (w *World) Signer(name string) (ledger.Signer, error) {
	return w.signerIn(w.St.Staged(), name)
}

func (w *World) signerIn(r ledger.Reader, name string) (ledger.Signer, error) {
	return identity.Resolve(r, w.KeyOf(name).Public().(ed25519.PublicKey), w.Now)
}

// AddOrg admits an organisation of orgType named name in the current
// block, as genesis or a passed proposal does (identity.AddOrganisation),
// and returns its id.
func (w *World) AddOrg(name, orgType string) string {
	w.TB.Helper()
	ident, err := identity.AddOrganisation(w.St.Staged(), name, orgType, Pub(name), nil, 0, w.Height)
	if err != nil {
		w.TB.Fatalf("admitting %s: %v", name, err)
	}
	w.added(name, ident.ID)
	return ident.ID
}

// ValidatorKey is the validator key of a name (AddValidator).
func ValidatorKey(name string) ed25519.PrivateKey { return Key(name + " validator") }

// AddValidator admits an organisation as AddOrg does, with validator key
// ValidatorKey(name) and voting power power.
func (w *World) AddValidator(name, orgType string, power int64) string {
	w.TB.Helper()
	vk := ValidatorKey(name).Public().(ed25519.PublicKey)
	ident, err := identity.AddOrganisation(w.St.Staged(), name, orgType, Pub(name), vk, power, w.Height)
	if err != nil {
		w.TB.Fatalf("admitting %s: %v", name, err)
	}
	w.added(name, ident.ID)
	return ident.ID
}

// AddPatient registers name as a patient with its own
// identity.register_patient, as a block of its own, and returns its id.
func (w *World) AddPatient(name string) string {
	w.TB.Helper()
	w.mustIdentity(name, identity.TypeRegisterPatient, struct{}{})
	w.added(name, w.ID(name))
	return w.ids[name]
}

// PractitionerBody is a valid identity.register_practitioner of name by
// org: a doctor with licence "LIC-<name>", a proof of possession by name's
// key, valid for two years.
func (w *World) PractitionerBody(name, org string) identity.RegisterPractitioner {
	pub := Pub(name)
	return identity.RegisterPractitioner{Key: hex.EncodeToString(pub),
		Proof:   identity.ProvePossession(Key(name), ChainID, identity.ProofPractitioner, w.ID(org)),
		Licence: "LIC-" + name, Profession: "doctor", ValidUntil: w.Now.AddDate(2, 0, 0).Format(time.RFC3339)}
}

// AddPractitioner registers name as a practitioner of org (see
// PractitionerBody), as a block of its own, and returns its id.
func (w *World) AddPractitioner(name, org string) string {
	w.TB.Helper()
	w.mustIdentity(org, identity.TypeRegisterPractitioner, w.PractitionerBody(name, org))
	w.added(name, ledger.Address(Pub(name)))
	return w.ids[name]
}

// DeviceBody is a valid identity.register_device of name by owner (an
// organisation or a patient), with a proof of possession by name's key.
func (w *World) DeviceBody(name, owner, deviceType string) identity.RegisterDevice {
	return identity.RegisterDevice{Key: hex.EncodeToString(Pub(name)),
		Proof:      identity.ProvePossession(Key(name), ChainID, identity.ProofDevice, w.ID(owner)),
		DeviceType: deviceType}
}

// AddDevice registers name as a device of owner, as a block of its own,
// and returns its id.
func (w *World) AddDevice(name, owner, deviceType string) string {
	w.TB.Helper()
	w.mustIdentity(owner, identity.TypeRegisterDevice, w.DeviceBody(name, owner, deviceType))
	w.added(name, ledger.Address(Pub(name)))
	return w.ids[name]
}

func (w *World) mustIdentity(as, typ string, body any) {
	w.TB.Helper()
	w.Begin()
	err := w.runRoute(w.St.Staged(), w.identity[typ], as, typ, body)
	w.Commit()
	if err != nil {
		w.TB.Fatalf("%s as %s: %v", typ, as, err)
	}
}

// Begin starts the next block.
func (w *World) Begin() {
	w.Height++
	w.Updates = nil
}

// Do runs one transaction as name in a block of its own: Begin, Run,
// Commit.
func (w *World) Do(name, typ string, body any) error {
	w.TB.Helper()
	w.Begin()
	err := w.Run(name, typ, body)
	w.Commit()
	return err
}

// Run runs one transaction body as name in the current block.
func (w *World) Run(name, typ string, body any) error {
	w.TB.Helper()
	return w.RunOn(w.St.Staged(), name, typ, body)
}

// RunOn is Run over state, a writer of the current block.
func (w *World) RunOn(state ledger.Writer, name, typ string, body any) error {
	w.TB.Helper()
	return w.runRoute(state, w.Route(typ), name, typ, body)
}

func (w *World) runRoute(state ledger.Writer, route ledger.Route, name, typ string, body any) error {
	w.TB.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		w.TB.Fatal(err)
	}
	w.txs++
	signer, err := w.signerIn(state, name)
	if err != nil {
		return err
	}
	if !route.Allows(signer) {
		if signer.Kind == ledger.KindUnregistered {
			return ledger.ErrUnknownSigner
		}
		return ledger.ErrUnauthorized.Wrapf("%s may not send %s", signer.Kind, typ)
	}
	overlay := ledger.NewOverlay(state)
	var updates []ledger.ValidatorUpdate
	ctx := &ledger.Context{ChainID: ChainID, Height: w.Height, Time: w.Now, TxHash: w.txHash(typ, b), Signer: signer,
		State: overlay, ValidatorUpdates: &updates, BlockWork: &w.Work}
	err = route.Handle.Run(ctx, b)
	w.Work += ctx.Work
	if err != nil {
		return err
	}
	overlay.Flush(state)
	w.Updates = append(w.Updates, updates...)
	w.Events = ctx.Events
	return nil
}

// txHash stands in for a transaction's hash (what consents, access entries
// and cases take their ids from): unique to the block, the transaction's
// place in the World's run and its body.
func (w *World) txHash(typ string, body []byte) []byte {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(w.Height)))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(w.txs)))
	h.Write([]byte(typ + "\x00"))
	h.Write(body)
	return h.Sum(nil)
}

// Commit ends the current block: the store commits what it staged.
func (w *World) Commit() {
	w.TB.Helper()
	w.Work = 0
	if _, _, err := w.St.Commit(); err != nil {
		w.TB.Fatal(err)
	}
}

// Advance moves the block time on.
func (w *World) Advance(d time.Duration) { w.Now = w.Now.Add(d) }

// Try runs one transaction as name in a block of its own and fails tb
// unless it returns want (errors.Is; nil: success). A refused transaction
// must leave the state as it found it: Try compares the store's hash
// before and after.
func (w *World) Try(tb testing.TB, name, typ string, body any, want error) {
	tb.Helper()
	before := w.St.WorkingHash()
	err := w.Do(name, typ, body)
	switch {
	case want == nil && err != nil:
		tb.Fatalf("%s as %s: %v, want success", typ, name, err)
	case want != nil && !errors.Is(err, want):
		tb.Fatalf("%s as %s: got %v, want %v", typ, name, err, want)
	case err != nil && string(before) != string(w.St.Hash()):
		tb.Fatalf("%s as %s was refused (%v) but changed the state", typ, name, err)
	}
}

// Query answers a declared query (its handler alone: the API's access
// rule is not applied) as name asks it, over committed state: the
// answer, or a Page's items.
func (w *World) Query(name, path string, params url.Values) (any, error) {
	w.TB.Helper()
	caller, err := w.signerIn(w.St.Committed(), name)
	if err != nil {
		return nil, err
	}
	got := strings.Split(strings.Trim(path, "/"), "/")
	for _, q := range w.queries {
		want := strings.Split(strings.Trim(q.Path, "/"), "/")
		if len(want) != len(got) {
			continue
		}
		vars := map[string]string{}
		for i, part := range want {
			if name, ok := strings.CutPrefix(part, "{"); ok {
				vars[strings.TrimSuffix(name, "}")] = got[i]
			} else if part != got[i] {
				vars = nil
				break
			}
		}
		if vars == nil {
			continue
		}
		if params == nil {
			params = url.Values{}
		}
		state := w.St.Committed()
		// MayRead as the API's: standing with the patient (records.View).
		mayRead := func(patient string) error {
			view, err := records.ViewOf(state, caller, patient, w.Now)
			if err != nil {
				return err
			}
			return view.Standing(false)
		}
		out, err := q.Handle(&ledger.Request{State: state, Path: func(n string) string { return vars[n] }, Query: params,
			Now: w.Now, BlockTime: w.Now, Height: w.Height, Caller: caller, MayRead: mayRead})
		if p, ok := out.(ledger.Page); ok {
			return p.Items, err
		}
		return out, err
	}
	w.TB.Fatalf("no query matches %s", path)
	return nil, nil
}

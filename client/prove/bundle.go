package prove

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store/stateproof"
	"github.com/primum-health/primum/wire"
)

// Bundle proves one reading of a device offline, with nothing else: the
// reading, its RFC 9162 inclusion proof in a batch the device committed,
// that batch's ledger entry with its ICS23 proof against an app hash, and
// the header carrying that app hash with the commit and the validator set
// that signed it. VerifyBundle checks it step by step (docs/devices.md).
type Bundle struct {
	Format  string `json:"format"` // "primum-device-reading/1"
	ChainID string `json:"chain_id"`
	Device  string `json:"device"`
	// Index is the reading's place in the device's log (0 is the first).
	Index     uint64   `json:"index"`
	Reading   string   `json:"reading"`   // hex of its canonical bytes
	Inclusion []string `json:"inclusion"` // hex hashes
	// State is the batch's ledger entry (key and value) and its proof.
	State wire.ProofResponse `json:"state"`
	// LightBlock is the signed header, its commit and its validator set
	// (CometBFT's protobuf LightBlock, base64).
	LightBlock string `json:"light_block"`
}

// BundleFormat names the bundle's format.
const BundleFormat = "primum-device-reading/1"

// Reasons a bundle fails, each its own.
var (
	ErrBundleFormat    = errors.New("not a device-reading proof bundle of this format")
	ErrBundleReading   = errors.New("the reading is not a valid reading")
	ErrBundleEntry     = errors.New("the batch entry is not the device's batch it names")
	ErrBundleInclusion = errors.New("the reading is not at its index in the batch's Merkle tree (tampered, or moved from another batch)")
	ErrBundleState     = errors.New("the batch entry is not in the state the app hash commits to")
	ErrBundleHeader    = errors.New("the header does not carry the app hash, or is not signed by more than two thirds of its validators")
	ErrBundleTrust     = errors.New("the chain, or the validators that signed the header, are not the ones trusted")
)

// Bundle builds the proof bundle of log[index], a reading of device,
// against the device's batch seq (which must hold it): the batch's entry
// proven as Get proves, and the verified header's light block.
func (p *Prover) Bundle(ctx context.Context, device string, seq uint64, log [][]byte, index uint64) (*Bundle, error) {
	if index >= uint64(len(log)) {
		return nil, fmt.Errorf("the log holds %d readings: there is no reading %d", len(log), index)
	}
	key := devices.BatchKey(device, seq)
	var r wire.ProofResponse
	if err := p.c.Get(ctx, "/api/v1/proof?key="+url.QueryEscape(key), &r); err != nil {
		return nil, err
	}
	got, err := checkAnswer(key, &r)
	if err != nil {
		return nil, err
	}
	if !got.Exists {
		return nil, fmt.Errorf("device %s has no batch %d", device, seq)
	}
	var e devices.Entry
	if err := json.Unmarshal(got.Value, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleEntry, err)
	}
	if index >= e.Size || uint64(len(log)) < e.Size {
		return nil, fmt.Errorf("batch %d commits %d readings; the reading is number %d of a log of %d", seq, e.Size, index, len(log))
	}
	if root, err := anchor.Root(log[:e.Size]); err != nil || hex.EncodeToString(root) != e.Root {
		return nil, fmt.Errorf("this log's first %d readings are not those the device's batch %d committed: it is not the device's log, or it was changed", e.Size, seq)
	}
	inclusion, err := anchor.Prove(log[:e.Size], index)
	if err != nil {
		return nil, err
	}
	if err := p.confirm(ctx, []*Proven{got}); err != nil {
		return nil, err
	}
	lb, err := p.lc.VerifyLightBlockAtHeight(ctx, got.Header, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%w: header %d: %v", ErrNotProven, got.Header, err)
	}
	pb, err := lb.ToProto()
	if err != nil {
		return nil, err
	}
	raw, err := pb.Marshal()
	if err != nil {
		return nil, err
	}
	b := &Bundle{Format: BundleFormat, ChainID: lb.ChainID, Device: device, Index: index, Reading: hex.EncodeToString(log[index]),
		State: r, LightBlock: base64.StdEncoding.EncodeToString(raw)}
	for _, h := range inclusion {
		b.Inclusion = append(b.Inclusion, hex.EncodeToString(h))
	}
	return b, nil
}

// Checked is what a bundle proves once verified.
type Checked struct {
	ChainID string          `json:"chain_id"`
	Reading devices.Reading `json:"reading"`
	Batch   devices.Entry   `json:"batch"`
	// Header and HeaderTime are the signed header's; Signers of Of
	// validators signed it (each signature checked).
	Header     int64     `json:"header_height"`
	HeaderTime time.Time `json:"header_time"`
	Signers    int       `json:"signers"`
	Of         int       `json:"validators"`
}

// TrustedValidators is the hash of a validator set (the genesis's, or one
// obtained out of band): VerifyBundle accepts a header signed by it.
func TrustedValidators(g *types.GenesisDoc) ([]byte, error) {
	vals := make([]*types.Validator, len(g.Validators))
	for i, v := range g.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	set, err := types.ValidatorSetFromExistingValidators(vals)
	if err != nil {
		return nil, err
	}
	return set.Hash(), nil
}

// VerifyBundle checks a bundle offline against the chain the verifier
// trusts — chainID, and trusted, the hash of its validator set
// (TrustedValidators) — step by step:
// the reading decodes; the batch entry is the named device's, under the
// key of its batch, and holds the index; the reading is at its index in
// the batch's tree (RFC 9162 inclusion); the entry is in the state the app
// hash commits to (ICS23); that app hash is in a header which more than
// two thirds of its validator set signed; and that chain and set are the
// trusted ones (the same validators may sign another chain: a staging
// network's bundles must not pass as production's).
// Each failure says which step.
func VerifyBundle(b *Bundle, chainID string, trusted []byte) (*Checked, error) {
	if b == nil || b.Format != BundleFormat {
		return nil, ErrBundleFormat
	}
	if b.ChainID != chainID {
		return nil, fmt.Errorf("%w: the bundle is of chain %q, not %q", ErrBundleTrust, ledger.Echo(b.ChainID), chainID)
	}
	raw, err := hex.DecodeString(b.Reading)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrBundleReading)
	}
	reading, err := devices.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleReading, err)
	}
	value, err := base64.StdEncoding.DecodeString(b.State.Value)
	if err != nil || !b.State.Exists {
		return nil, fmt.Errorf("%w: no entry", ErrBundleEntry)
	}
	var e devices.Entry
	if err := json.Unmarshal(value, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleEntry, err)
	}
	if e.Device != b.Device || b.State.Key != devices.BatchKey(e.Device, e.Seq) || b.Index >= e.Size {
		return nil, fmt.Errorf("%w: entry of %s batch %d (%d readings) under %q, for reading %d of %s", ErrBundleEntry, e.Device, e.Seq, e.Size, b.State.Key, b.Index, b.Device)
	}
	root, err := hex.DecodeString(e.Root)
	if err != nil {
		return nil, fmt.Errorf("%w: its root", ErrBundleEntry)
	}
	inclusion := make([][]byte, len(b.Inclusion))
	for i, h := range b.Inclusion {
		if inclusion[i], err = hex.DecodeString(h); err != nil {
			return nil, fmt.Errorf("%w: inclusion[%d] is not hex", ErrBundleInclusion, i)
		}
	}
	if err := anchor.Verify(raw, b.Index, e.Size, inclusion, root); err != nil {
		return nil, ErrBundleInclusion
	}
	pr, err := base64.StdEncoding.DecodeString(b.State.Proof)
	var proof ics23.CommitmentProof
	if err != nil || proof.Unmarshal(pr) != nil {
		return nil, fmt.Errorf("%w: the proof does not decode", ErrBundleState)
	}
	appHash, err := hex.DecodeString(b.State.AppHash)
	if err != nil || !stateproof.Verify(&proof, appHash, []byte(b.State.Key), value, true) {
		return nil, ErrBundleState
	}
	lbRaw, err := base64.StdEncoding.DecodeString(b.LightBlock)
	var pb cmtproto.LightBlock
	if err != nil || pb.Unmarshal(lbRaw) != nil {
		return nil, fmt.Errorf("%w: the light block does not decode", ErrBundleHeader)
	}
	lb, err := types.LightBlockFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleHeader, err)
	}
	if err := lb.ValidateBasic(b.ChainID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleHeader, err)
	}
	if string(lb.AppHash) != string(appHash) {
		return nil, fmt.Errorf("%w: header %d carries app hash %X, the proof %X", ErrBundleHeader, lb.Height, []byte(lb.AppHash), appHash)
	}
	if err := lb.ValidatorSet.VerifyCommitLightAllSignatures(b.ChainID, lb.Commit.BlockID, lb.Height, lb.Commit); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundleHeader, err)
	}
	if string(lb.ValidatorSet.Hash()) != string(trusted) {
		return nil, fmt.Errorf("%w: header %d was signed by validator set %X", ErrBundleTrust, lb.Height, lb.ValidatorSet.Hash())
	}
	c := &Checked{ChainID: b.ChainID, Reading: reading, Batch: e, Header: lb.Height, HeaderTime: lb.Time, Of: lb.ValidatorSet.Size()}
	for _, s := range lb.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			c.Signers++
		}
	}
	return c, nil
}

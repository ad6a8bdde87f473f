package devices

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// A patient's wearable's readings are personal data: the patient names the
// organisation whose node keeps them (devices.keeper). After each batch the
// device uploads that batch's readings to the keeper's node, which checks
// them against the committed batch and keeps them as the patient's records
// (encrypted in its record store, indexed on the ledger, released only
// under the patient's consent and logged in their trail, erasable): the
// batch's readings, a part of at most PartSize readings a record, each as
// a FHIR Bundle of Observations.

// TypeKeeper names the organisation that keeps a wearable's readings.
const TypeKeeper = "devices.keeper"

// Keep is the body of devices.keeper, signed by the patient who registered
// the wearable.
type Keep struct {
	Device string `json:"device" doc:"the wearable (a device the signing patient registered)"`
	Keeper string `json:"keeper" doc:"the organisation whose node keeps its readings (a hospital, clinic, lab, pharmacy, research centre or insurer); empty: none from now on"`
}

// Keeper is who keeps a wearable's readings, as the ledger has it.
type Keeper struct {
	Device string `json:"device"`
	Owner  string `json:"owner"`
	Keeper string `json:"keeper"`
	Height int64  `json:"height"`
	Time   string `json:"time"`
}

// PartSize is how many readings one kept record holds: a batch of more is
// kept as several records (RecordID's part).
const PartSize = 1000

// MaxUploadBytes bounds an upload's body: a whole batch's readings as hex.
const MaxUploadBytes = 6 << 20

// Errors of keeping.
var (
	ErrNotOwner    = ledger.NewError("devices", 7, "not_the_owner", 403, "only the patient who registered a wearable names who keeps its readings")
	ErrBadKeeper   = ledger.NewError("devices", 8, "bad_keeper", 400, "a keeper is a registered organisation that may hold records: a hospital, clinic, lab, pharmacy, research centre or insurer")
	ErrNoKeeper    = ledger.NewError("devices", 9, "no_keeper", 404, "no organisation keeps this device's readings: its owner names one with 'primum devices keeper'")
	ErrBadUpload   = ledger.NewError("devices", 10, "bad_upload", 400, "an upload is the batch's readings (hex, in log order, as many as the batch added) and the frontier of the log before it (hex hashes)")
	ErrNotTheBatch = ledger.NewError("devices", 11, "not_the_batch", 409, "these are not the readings the batch committed: with the frontier given, they do not lead from the previous batch's root to this batch's")
)

var prefixKeeper = []byte("dev/k/") // dev/k/<device> -> Keeper

func keeperKey(device string) []byte { return append(append([]byte{}, prefixKeeper...), device...) }

// KeeperOf is who keeps device's readings, or nil.
func KeeperOf(r ledger.Reader, device string) (*Keeper, error) {
	var k Keeper
	found, err := ledger.GetJSON(r, keeperKey(device), &k)
	if err != nil || !found || k.Keeper == "" {
		return nil, err
	}
	return &k, nil
}

func keep(ctx *ledger.Context, m *Keep) error {
	dev, err := identity.Get(ctx.State, m.Device)
	if ledger.AsError(err) == ledger.ErrNotFound || (err == nil && (dev.Kind != ledger.KindDevice || dev.OrgID != ctx.Signer.ID)) {
		// The same refusal for an id that is not a device: it tells no
		// one which ids are whose wearables.
		return ErrNotOwner.Wrapf("%s is not a wearable you registered", ledger.Echo(m.Device))
	} else if err != nil {
		panic(err)
	}
	if m.Keeper != "" {
		org, err := identity.Get(ctx.State, m.Keeper)
		if ledger.AsError(err) == ledger.ErrNotFound {
			return ErrBadKeeper.Wrapf("%s is not registered", ledger.Echo(m.Keeper))
		} else if err != nil {
			panic(err)
		}
		if org.Kind != ledger.KindOrganisation || !slices.Contains(records.CustodianTypes(), org.OrgType) {
			return ErrBadKeeper.Wrapf("%s is not an organisation that may hold records", ledger.Echo(m.Keeper))
		}
	}
	ledger.SetJSON(ctx.State, keeperKey(m.Device), Keeper{Device: m.Device, Owner: ctx.Signer.ID, Keeper: m.Keeper,
		Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339)})
	return nil
}

// RecordID is the id of the record that keeps part (0 is the first) of
// batch seq's readings of device: the batch's readings from
// From+part×PartSize, at most PartSize of them.
func RecordID(device string, seq uint64, part int) string {
	return fmt.Sprintf("dr-%s-%d-%d", device, seq, part)
}

// Parts is how many records keep a batch's readings.
func Parts(e *Entry) int { return int((e.Size - e.From + PartSize - 1) / PartSize) }

// Upload is the body of POST /api/v1/devices/{id}/batches/{seq}/readings,
// signed by the device: the batch's readings and the compact range of the
// log before them (anchor.Frontier; none for a first batch), which lets the
// keeper check them against the ledger without the log.
type Upload struct {
	Frontier []string `json:"frontier,omitempty"`
	Readings []string `json:"readings"`
}

// CheckUpload decodes an upload of batch e's readings and checks that they
// are exactly what e committed: the frontier's root is the previous batch's
// root (prev; nil for a first batch), and extended by the readings it is
// e's root.
func CheckUpload(u *Upload, e, prev *Entry) ([]Reading, error) {
	if uint64(len(u.Readings)) != e.Size-e.From {
		return nil, ErrBadUpload.Wrapf("batch %d added %d readings; the upload has %d", e.Seq, e.Size-e.From, len(u.Readings))
	}
	if len(u.Frontier) > MaxProofHashes {
		return nil, ErrBadUpload.Wrapf("%d frontier hashes", len(u.Frontier))
	}
	frontier, err := hashes(u.Frontier)
	if err != nil {
		return nil, ErrBadUpload.Wrapf("frontier: 64 hex each")
	}
	leaves := make([][]byte, len(u.Readings))
	out := make([]Reading, len(u.Readings))
	for i, h := range u.Readings {
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, ErrBadUpload.Wrapf("reading %d: not hex", i)
		}
		if out[i], err = Decode(b); err != nil {
			return nil, fmt.Errorf("reading %d: %w", i, err)
		}
		leaves[i] = b
	}
	if prev != nil {
		root, err := anchor.Extend(frontier, e.From, nil)
		if err != nil || hex.EncodeToString(root) != prev.Root {
			return nil, ErrNotTheBatch.Wrapf("the frontier is not that of the log batch %d committed", prev.Seq)
		}
	} else if len(frontier) > 0 {
		return nil, ErrBadUpload.Wrapf("a first batch's upload has no frontier")
	}
	root, err := anchor.Extend(frontier, e.From, leaves)
	if err != nil || hex.EncodeToString(root) != e.Root {
		return nil, ErrNotTheBatch.Wrapf("batch %d", e.Seq)
	}
	return out, nil
}

// UploadOf is the upload of batch e's readings from the device's log.
func UploadOf(log [][]byte, e *Entry) (*Upload, error) {
	if uint64(len(log)) < e.Size {
		return nil, fmt.Errorf("the log holds %d readings; batch %d committed %d", len(log), e.Seq, e.Size)
	}
	frontier, err := anchor.Frontier(log[:e.From])
	if err != nil {
		return nil, err
	}
	u := &Upload{Readings: make([]string, 0, e.Size-e.From)}
	for _, h := range frontier {
		u.Frontier = append(u.Frontier, hex.EncodeToString(h))
	}
	for _, r := range log[e.From:e.Size] {
		u.Readings = append(u.Readings, hex.EncodeToString(r))
	}
	return u, nil
}

// Kept answers an upload: the records that keep the batch's readings
// (RecordID), and whether they were kept before (then nothing was stored).
type Kept struct {
	Device   string   `json:"device"`
	Batch    uint64   `json:"batch"`
	Readings uint64   `json:"readings"`
	Keeper   string   `json:"keeper"`
	Patient  string   `json:"patient"`
	Records  []string `json:"records"`
	Already  bool     `json:"already,omitempty"`
}

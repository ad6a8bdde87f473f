package devices

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
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
// a FHIR Bundle of Observations. The records' ids are made from the
// readings (KeptID), so no one without them can guess which records are a
// wearable's; the keeper then says on the ledger which records keep the
// batch (devices.kept), readable only by those with standing.

// TypeKeeping is an organisation's word that its node keeps patients'
// wearables' readings, and how many of a patient's a day; TypeKeeper names
// the organisation that keeps a wearable's readings; TypeKept is the
// keeper's word that records keep a batch's readings.
const (
	TypeKeeping = "devices.keeping"
	TypeKeeper  = "devices.keeper"
	TypeKept    = "devices.kept"
)

// Keeping is the body of devices.keeping: an organisation that may hold
// records keeps wearables' readings for the patients who name it, up to a
// number of readings of one patient's wearables a day (however many
// wearables the patient registers). Until it says so, no patient can name
// it; 0 stops it (what it kept stays kept, and no batch is kept any
// more).
type Keeping struct {
	ReadingsPerDay uint64 `json:"readings_per_day" doc:"readings of one patient's wearables (all of them together) kept a day (UTC, by block time), 1 to 1,000,000 (86,400 is one a second); 0: none from now on"`
}

// MaxReadingsPerDay bounds a keeper's quota.
const MaxReadingsPerDay = 1_000_000

// KeepingEntry is an organisation's keeping, as the ledger has it.
type KeepingEntry struct {
	Org            string `json:"org"`
	ReadingsPerDay uint64 `json:"readings_per_day"`
	Height         int64  `json:"height"`
	Time           string `json:"time"`
}

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
	ErrNotOwner       = ledger.NewError("devices", 7, "not_the_owner", 403, "only the patient who registered a wearable names who keeps its readings")
	ErrBadKeeper      = ledger.NewError("devices", 8, "bad_keeper", 400, "a keeper is a registered organisation that may hold records: a hospital, clinic, lab, pharmacy, research centre or insurer")
	ErrNoKeeper       = ledger.NewError("devices", 9, "no_keeper", 404, "no keeper of this device's readings that you may know of: none named (a patient names one for their wearable with 'primum devices keeper'), or a patient's wearable you have no standing with")
	ErrBadUpload      = ledger.NewError("devices", 10, "bad_upload", 400, "an upload is the batch's readings (hex, in log order, as many as the batch added) and the frontier of the log before it (hex hashes)")
	ErrNotTheBatch    = ledger.NewError("devices", 11, "not_the_batch", 409, "these are not the readings the batch committed: with the frontier given, they do not lead from the previous batch's root to this batch's")
	ErrNotKeeper      = ledger.NewError("devices", 12, "not_the_keeper", 403, "only the organisation the patient named keeps this device's readings")
	ErrBadKept        = ledger.NewError("devices", 13, "bad_kept", 400, "a batch is kept by one record a part of 1,000 readings, each indexed on the ledger by the keeper for the device's patient")
	ErrAlreadyKept    = ledger.NewError("devices", 14, "already_kept", 409, "this batch's readings are kept already")
	ErrNotKeeping     = ledger.NewError("devices", 15, "not_keeping", 409, "the organisation named does not keep wearables' readings (or no longer does): the patient names one that does ('primum devices keepers', GET /api/v1/devices/keepers, lists them); an organisation says it keeps them with 'primum devices keeping'")
	ErrOverQuota      = ledger.NewError("devices", 16, "over_quota", 429, "the keeper keeps no more of this patient's wearables' readings today (UTC; its quota: 'primum devices keepers'): upload the batch again tomorrow with 'primum devices keep'")
	ErrBatchOverQuota = ledger.NewError("devices", 18, "batch_over_quota", 409, "this batch has more readings than the keeper keeps of a patient's wearables in a whole day ('primum devices keepers'): ask the keeper to keep more, or name another keeper")
	ErrBadKeeping     = ledger.NewError("devices", 17, "bad_keeping", 400, "readings_per_day is 0 (none) to 1,000,000")
)

var (
	prefixKeeper  = []byte("dev/k/") // dev/k/<device> -> Keeper
	prefixKept    = []byte("dev/r/") // dev/r/<device>/<seq:020> -> KeptBatch
	prefixKeeping = []byte("dev/o/") // dev/o/<org> -> KeepingEntry
	prefixQuota   = []byte("dev/q/") // dev/q/<patient>/<keeper>/<YYYYMMDD> -> readings of the patient's wearables the keeper kept that day (8 bytes, big-endian)
)

func keepingKey(org string) []byte { return append(append([]byte{}, prefixKeeping...), org...) }

func quotaKey(patient, keeper string, at time.Time) []byte {
	return []byte(string(prefixQuota) + patient + "/" + keeper + "/" + at.UTC().Format("20060102"))
}

// KeepingOf is org's keeping, or nil if it never said.
func KeepingOf(r ledger.Reader, org string) (*KeepingEntry, error) {
	var k KeepingEntry
	if found, err := ledger.GetJSON(r, keepingKey(org), &k); err != nil || !found {
		return nil, err
	}
	return &k, nil
}

func keeping(ctx *ledger.Context, m *Keeping) error {
	if m.ReadingsPerDay > MaxReadingsPerDay {
		return ErrBadKeeping.Wrapf("%d readings a day", m.ReadingsPerDay)
	}
	ledger.SetJSON(ctx.State, keepingKey(ctx.Signer.ID), KeepingEntry{Org: ctx.Signer.ID, ReadingsPerDay: m.ReadingsPerDay,
		Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339)})
	return nil
}

// KeptToday is how many readings of patient's wearables keeper kept on
// at's day (UTC).
func KeptToday(r ledger.Reader, patient, keeper string, at time.Time) (uint64, error) {
	b, err := r.Get(quotaKey(patient, keeper, at))
	switch {
	case err != nil || b == nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("devices: a malformed quota counter (%d bytes)", len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// CheckQuota says whether keeper keeps n more readings of patient's
// wearables on at's day (UTC): it keeps wearables' readings, the batch
// is within a day's quota (ErrBatchOverQuota: never), and the day's
// readings with these are within it (ErrOverQuota: tomorrow). With
// counts, the refusal says how many (for the device's own upload; the
// ledger's refusal, in a public result, does not).
func CheckQuota(r ledger.Reader, keeper, patient string, n uint64, at time.Time, counts bool) error {
	k, err := KeepingOf(r, keeper)
	if err != nil {
		return err
	}
	if k == nil || k.ReadingsPerDay == 0 {
		return ErrNotKeeping.Wrapf("%s", ledger.Echo(keeper))
	}
	if n > k.ReadingsPerDay {
		if counts {
			return ErrBatchOverQuota.Wrapf("%d readings; %s keeps %d a day", n, ledger.Echo(keeper), k.ReadingsPerDay)
		}
		return ErrBatchOverQuota
	}
	used, err := KeptToday(r, patient, keeper, at)
	if err != nil {
		return err
	}
	if used+n > k.ReadingsPerDay {
		if counts {
			return ErrOverQuota.Wrapf("%s keeps %d a day, %d kept on %s; this batch has %d", ledger.Echo(keeper), k.ReadingsPerDay, used, at.UTC().Format(time.DateOnly), n)
		}
		return ErrOverQuota.Wrapf("on %s", at.UTC().Format(time.DateOnly))
	}
	return nil
}

func keeperKey(device string) []byte { return append(append([]byte{}, prefixKeeper...), device...) }

// KeeperOf is who keeps device's readings, or nil.
func KeeperOf(r ledger.Reader, device string) (*Keeper, error) {
	k, err := KeeperEntry(r, device)
	if err != nil || k == nil || k.Keeper == "" {
		return nil, err
	}
	return k, nil
}

// KeeperEntry is the device's keeper entry, also once its patient said
// none from now on (Keeper ""), or nil when they never named one.
func KeeperEntry(r ledger.Reader, device string) (*Keeper, error) {
	var k Keeper
	found, err := ledger.GetJSON(r, keeperKey(device), &k)
	if err != nil || !found {
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
		k, err := KeepingOf(ctx.State, m.Keeper)
		if err != nil {
			panic(err)
		}
		if k == nil || k.ReadingsPerDay == 0 {
			return ErrNotKeeping.Wrapf("%s", ledger.Echo(m.Keeper))
		}
	}
	ledger.SetJSON(ctx.State, keeperKey(m.Device), Keeper{Device: m.Device, Owner: ctx.Signer.ID, Keeper: m.Keeper,
		Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339)})
	return nil
}

// KeptID is the id of the record that keeps part (0 is the first) of
// batch seq's readings of device: made from the part's readings
// themselves (their canonical bytes), so that the keeper makes the same id
// for an upload made again, and no one without the readings can guess it
// (which would tell them which records are whose wearable's).
func KeptID(device string, seq uint64, part int, readings [][]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "primum/device-readings/v1\x00%s\x00%d\x00%d\x00", device, seq, part)
	for _, r := range readings {
		h.Write(r)
	}
	return "dr-" + hex.EncodeToString(h.Sum(nil))[:40]
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
			// Said without its value: a refusal never quotes a reading.
			return nil, ErrBadReading.Wrapf("reading %d is not a plausible reading of a known code", i)
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
// (KeptID), and whether they were kept before (then nothing was stored).
type Kept struct {
	Device   string   `json:"device"`
	Batch    uint64   `json:"batch"`
	Readings uint64   `json:"readings"`
	Keeper   string   `json:"keeper"`
	Patient  string   `json:"patient"`
	Records  []string `json:"records"`
	Already  bool     `json:"already,omitempty"`
}

// KeptBody is the body of devices.kept, signed by the keeper once the
// records that keep a batch's readings are indexed: which they are, part
// by part.
type KeptBody struct {
	Device  string   `json:"device" doc:"the wearable"`
	Batch   uint64   `json:"batch" doc:"its batch (1 is the first)"`
	Records []string `json:"records" doc:"the records that keep the batch's readings, part by part (1,000 readings a part)"`
}

// KeptBatch is which records keep a batch's readings, as the ledger has
// it.
type KeptBatch struct {
	Device  string   `json:"device"`
	Batch   uint64   `json:"batch"`
	From    uint64   `json:"from"`
	Size    uint64   `json:"size"`
	Keeper  string   `json:"keeper"`
	Records []string `json:"records"`
	Height  int64    `json:"height"`
	Time    string   `json:"time"`
}

func keptKey(device string, seq uint64) []byte {
	return []byte(string(prefixKept) + device + "/" + fmt.Sprintf("%020d", seq))
}

// KeptOf is which records keep batch seq of device, or nil.
func KeptOf(r ledger.Reader, device string, seq uint64) (*KeptBatch, error) {
	var k KeptBatch
	found, err := ledger.GetJSON(r, keptKey(device, seq), &k)
	if err != nil || !found {
		return nil, err
	}
	return &k, nil
}

func kept(ctx *ledger.Context, m *KeptBody) error {
	k, err := KeeperOf(ctx.State, m.Device)
	if err != nil {
		panic(err)
	}
	if k == nil || k.Keeper != ctx.Signer.ID {
		return ErrNotKeeper.Wrapf("of %s", ledger.Echo(m.Device))
	}
	var e Entry
	if found, err := ledger.GetJSON(ctx.State, []byte(BatchKey(m.Device, m.Batch)), &e); err != nil {
		panic(err)
	} else if !found {
		return ErrUnknownBatch.Wrapf("%s batch %d", ledger.Echo(m.Device), m.Batch)
	}
	if len(m.Records) != Parts(&e) {
		return ErrBadKept.Wrapf("batch %d has %d parts; %d records given", m.Batch, Parts(&e), len(m.Records))
	}
	if b, err := ctx.State.Get(keptKey(m.Device, m.Batch)); err != nil {
		panic(err)
	} else if b != nil {
		return ErrAlreadyKept.Wrapf("batch %d", m.Batch)
	}
	for i, id := range m.Records {
		rec, err := records.Get(ctx.State, id)
		if ledger.AsError(err) == records.ErrUnknownRecord || ledger.AsError(err) == ledger.ErrNotFound {
			return ErrBadKept.Wrapf("part %d: no such record", i)
		} else if err != nil {
			panic(err)
		}
		if rec.Patient != k.Owner || rec.Custodian != ctx.Signer.ID || slices.Contains(m.Records[:i], id) {
			return ErrBadKept.Wrapf("part %d: not a record you keep for the device's patient", i)
		}
	}
	// Within the keeper's quota for the day: its node checked before
	// storing; a second upload the same day may have been counted since.
	n := e.Size - e.From
	if err := CheckQuota(ctx.State, ctx.Signer.ID, k.Owner, n, ctx.Time, false); err != nil {
		var refusal *ledger.Error
		if !errors.As(err, &refusal) {
			panic(err) // storage
		}
		return err
	}
	used, err := KeptToday(ctx.State, k.Owner, ctx.Signer.ID, ctx.Time)
	if err != nil {
		panic(err)
	}
	ctx.State.Set(quotaKey(k.Owner, ctx.Signer.ID, ctx.Time), binary.BigEndian.AppendUint64(nil, used+n))
	ledger.SetJSON(ctx.State, keptKey(m.Device, m.Batch), KeptBatch{Device: m.Device, Batch: m.Batch, From: e.From, Size: e.Size, Keeper: ctx.Signer.ID,
		Records: m.Records, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339)})
	return nil
}

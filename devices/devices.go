package devices

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TypeBatch is the transaction a device signs to commit a batch.
const TypeBatch = "devices.batch"

// Batch is the body of devices.batch, signed by the device's own key: its
// log's size and RFC 9162 root after the batch, and the consistency proof
// from the size and root of its previous batch (none for its first) — the
// log only grows, and what was committed stays as it was.
type Batch struct {
	Size        uint64   `json:"size" doc:"the log's size (readings) after this batch"`
	Root        string   `json:"root" doc:"the log's RFC 9162 Merkle root at that size, 64 hex"`
	Consistency []string `json:"consistency,omitempty" doc:"the RFC 9162 consistency proof from the previous batch's size, 64 hex each (none for a device's first batch)"`
}

// Limits of a batch.
const (
	MaxLog         = 1 << 40 // readings in a device's log
	MaxBatch       = 100_000 // readings one batch adds
	MaxProofHashes = 64
)

// Entry is a committed batch, as the ledger keeps it.
type Entry struct {
	Device string `json:"device"`
	// Owner is who registered the device (a patient's wearable: the
	// patient, whose standing governs who reads its batches).
	Owner     string `json:"owner"`
	OwnerKind string `json:"owner_kind"`
	Seq       uint64 `json:"seq"`
	Size      uint64 `json:"size"`
	Root      string `json:"root"`
	// From is the size of the batch before (0 for the first).
	From   uint64 `json:"from"`
	Height int64  `json:"height"`
	Time   string `json:"time"`
}

// Errors. Messages never quote a reading.
var (
	ErrBadReading   = ledger.NewError("devices", 1, "bad_reading", 400, "a reading is version 1, a time between 2000 and 2200, a known MDC code and a value in that code's plausible range, in hundredths")
	ErrNotDevice    = ledger.NewError("devices", 2, "not_a_device", 403, "a batch is signed by the device's own key (a registered device)")
	ErrBadBatch     = ledger.NewError("devices", 3, "bad_batch", 400, "a batch gives its log's size (1 to 2^40, at most 100,000 readings more than the batch before) and root (64 hex), and a consistency proof (at most 64 hashes of 64 hex)")
	ErrShrinking    = ledger.NewError("devices", 4, "log_not_growing", 409, "a batch's log must be larger than the device's previous batch's: a log only grows")
	ErrInconsistent = ledger.NewError("devices", 5, "inconsistent_log", 409, "the consistency proof does not lead from the device's previous batch to this one: readings committed before were dropped or rewritten")
	ErrUnknownBatch = ledger.NewError("devices", 6, "unknown_batch", 404, "no such batch of this device")
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// State keys.
var (
	prefixBatch  = []byte("dev/b/") // dev/b/<device>/<seq:020> -> Entry
	prefixLatest = []byte("dev/l/") // dev/l/<device> -> Entry (the latest)
)

// BatchKey is the state key of a device's batch: what a proof bundle
// proves.
func BatchKey(device string, seq uint64) string {
	return string(prefixBatch) + device + "/" + fmt.Sprintf("%020d", seq)
}

func latestKey(device string) []byte { return append(append([]byte{}, prefixLatest...), device...) }

// Latest is the device's latest batch, or nil.
func Latest(r ledger.Reader, device string) (*Entry, error) {
	var e Entry
	found, err := ledger.GetJSON(r, latestKey(device), &e)
	if err != nil || !found {
		return nil, err
	}
	return &e, nil
}

// GetBatch reads a device's batch by its sequence number (1-based).
func GetBatch(r ledger.Reader, device string, seq uint64) (*Entry, error) {
	var e Entry
	found, err := ledger.GetJSON(r, []byte(BatchKey(device, seq)), &e)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrUnknownBatch.Wrapf("%s batch %d", ledger.Echo(device), seq)
	}
	return &e, nil
}

func hashes(hexes []string) ([][]byte, error) {
	out := make([][]byte, len(hexes))
	for i, h := range hexes {
		if !hex64.MatchString(h) {
			return nil, ErrBadBatch.Wrapf("consistency[%d]", i)
		}
		out[i], _ = hex.DecodeString(h)
	}
	return out, nil
}

func batch(ctx *ledger.Context, m *Batch) error {
	if ctx.Signer.Kind != ledger.KindDevice {
		return ErrNotDevice
	}
	if m.Size < 1 || m.Size > MaxLog || !hex64.MatchString(m.Root) || len(m.Consistency) > MaxProofHashes {
		return ErrBadBatch
	}
	proof, err := hashes(m.Consistency)
	if err != nil {
		return err
	}
	device := ctx.Signer.ID
	prev, err := Latest(ctx.State, device)
	if err != nil {
		panic(err)
	}
	e := Entry{Device: device, Seq: 1, Size: m.Size, Root: m.Root, Height: ctx.Height, Time: ctx.Time.UTC().Format(time.RFC3339)}
	root, _ := hex.DecodeString(m.Root)
	if prev == nil {
		if len(proof) > 0 {
			return ErrBadBatch.Wrapf("a device's first batch has no consistency proof")
		}
		if m.Size > MaxBatch {
			return ErrBadBatch.Wrapf("%d readings in one batch", m.Size)
		}
		owner, err := identity.Get(ctx.State, device)
		if err != nil {
			panic(err)
		}
		o, err := identity.Get(ctx.State, owner.OrgID) // who registered it: registered too
		if err != nil {
			panic(err)
		}
		e.Owner, e.OwnerKind = owner.OrgID, string(o.Kind)
	} else {
		if m.Size <= prev.Size {
			return ErrShrinking.Wrapf("%d readings, after %d", m.Size, prev.Size)
		}
		if m.Size-prev.Size > MaxBatch {
			return ErrBadBatch.Wrapf("%d readings in one batch", m.Size-prev.Size)
		}
		old, _ := hex.DecodeString(prev.Root)
		if err := anchor.VerifyConsistency(prev.Size, m.Size, old, root, proof); err != nil {
			return ErrInconsistent.Wrapf("from %d to %d readings", prev.Size, m.Size)
		}
		e.Seq, e.From, e.Owner, e.OwnerKind = prev.Seq+1, prev.Size, prev.Owner, prev.OwnerKind
	}
	ledger.SetJSON(ctx.State, []byte(BatchKey(device, e.Seq)), e)
	ledger.SetJSON(ctx.State, latestKey(device), e)
	ctx.Emit("devices.batch", [2]string{"device", device}, [2]string{"seq", strconv.FormatUint(e.Seq, 10)}, [2]string{"size", strconv.FormatUint(e.Size, 10)})
	return nil
}

// Declare declares the devices module (see ledger.Module).
func Declare() ledger.Module {
	// A key is about the patient whose wearable the device is; an absent
	// device's as a patient's would be (proven to the regulator only), so
	// that a proof's refusal tells no one which ids are wearables.
	subject := func(r ledger.Reader, key string) (string, error) {
		device := key
		for _, p := range [][]byte{prefixBatch, prefixLatest, prefixKeeper, prefixKept, prefixQuota} {
			device = strings.TrimPrefix(device, string(p))
		}
		device, _, _ = strings.Cut(device, "/")
		ident, err := identity.Get(r, device)
		if ledger.AsError(err) == ledger.ErrNotFound {
			return device, nil
		} else if err != nil {
			return "", err
		}
		return identity.AboutPatient(r, ident)
	}
	return ledger.Module{Name: "devices", Doc: "Wearables and medical devices: each batch of a device's readings commits its log's Merkle root and size, signed by the device, consistent with the batches before; any reading is then provable offline.",
		Txs: []ledger.Route{
			{Type: TypeBatch, Allow: []string{"device"}, Handle: ledger.Handle(batch),
				Doc:     "A device commits a batch of its readings: its log's size and RFC 9162 root after the batch, and the consistency proof from its previous batch (none for the first). One small transaction per batch, however many readings it holds.",
				Example: `{"size":120,"root":"<64 hex>","consistency":["<64 hex>"]}`},
			{Type: TypeKeeping, Allow: keepers(), Handle: ledger.Handle(keeping), Args: []string{"readings_per_day"},
				Doc:     "An organisation that may hold records says its node keeps patients' wearables' readings, up to a number of readings of one patient's wearables a day (UTC, all of them together): until it does, no patient can name it keeper. 0 stops it: what it kept stays kept, and no batch is kept any more.",
				Example: `{"readings_per_day":86400}`},
			{Type: TypeKeeper, Allow: []string{"patient"}, Handle: ledger.Handle(keep), Args: []string{"device", "keeper"}, Orgs: []string{"keeper"},
				Doc:     "The patient who registered a wearable names the organisation whose node keeps its readings (encrypted, as the patient's records, read under their consent); after each batch the device uploads the batch's readings there. Batches kept before stay with the keeper that keeps them. An empty keeper (\"\"): none from now on.",
				Example: `{"device":"<device id>","keeper":"<organisation id>"}`},
			{Type: TypeKept, Verb: "mark-kept", Allow: keepers(), Handle: ledger.Handle(kept),
				Doc:     "The keeper says which of the records it indexed keep a wearable's batch's readings, part by part (its node does, after an upload). Readable only by those with standing with the patient.",
				Example: `{"device":"<device id>","batch":2,"records":["dr-<40 hex>"]}`},
		},
		Queries: queries(),
		Keys: []ledger.KeySpace{
			{Prefix: string(prefixBatch), Read: ledger.PatientAudit, Subject: subject},
			{Prefix: string(prefixLatest), Read: ledger.PatientAudit, Subject: subject},
			{Prefix: string(prefixKeeper), Read: ledger.PatientAudit, Subject: subject},
			{Prefix: string(prefixKept), Read: ledger.PatientAudit, Subject: subject},
			{Prefix: string(prefixQuota), Read: ledger.PatientAudit, Subject: subject},
			{Prefix: string(prefixKeeping), Read: ledger.Public},
		}}
}

func queries() []ledger.Query {
	// standing: an organisation's devices' batches to members; a patient's
	// wearable's to the device and whoever may read about the patient. To
	// anyone else a wearable's batches are answered as a device without
	// any (not found): a refusal would tell them which ids are wearables.
	// hidden: a patient's wearable from one who is neither it nor may read
	// about the patient.
	hidden := func(q *ledger.Request, device, patient string) bool {
		return q.Caller.ID != device && q.MayRead(patient) != nil
	}
	latest := func(q *ledger.Request) (*Entry, error) {
		device := q.Path("id")
		e, err := Latest(q.State, device)
		if err != nil {
			return nil, err
		}
		none := ErrUnknownBatch.Wrapf("no batches of %s that you may read: none committed, or a patient's wearable you have no standing with", ledger.Echo(device))
		if e == nil {
			return nil, none
		}
		if e.OwnerKind == string(ledger.KindPatient) && hidden(q, e.Device, e.Owner) {
			return nil, none
		}
		return e, nil
	}
	// keeperFor: the path's device's keeper entry (its patient named one,
	// maybe none since), to those who may know (as latest); to anyone
	// else a device no one keeps.
	keeperFor := func(q *ledger.Request) (*Keeper, error) {
		device := q.Path("id")
		k, err := KeeperEntry(q.State, device)
		if err != nil {
			return nil, err
		}
		if k == nil || hidden(q, device, k.Owner) {
			return nil, ErrNoKeeper.Wrapf("%s", ledger.Echo(device))
		}
		return k, nil
	}
	paging := []ledger.Param{{Name: "limit", Doc: "1-1000 (default 100)"}, {Name: "after", Doc: "page token from a Link header"}}
	return []ledger.Query{
		{Path: "/api/v1/devices/keepers", Name: "keepers", Read: ledger.Public, Answer: ledger.Page{Items: []*KeepingEntry{}}, Params: paging,
			Columns: ledger.Cols("ORGANISATION", "@org", "READINGS A DAY", "readings_per_day", "SINCE", "time"),
			Doc:     "The organisations that said whether their node keeps patients' wearables' readings, and how many readings of one patient's wearables a day (0: none any more): a patient names one that keeps them as keeper of their wearable.",
			Handle: func(q *ledger.Request) (any, error) {
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[KeepingEntry](q.State, prefixKeeping, after, limit, nil)
				if page == nil {
					page = []*KeepingEntry{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/devices/{id}/batches", Name: "batches", Read: ledger.Members, Answer: ledger.Page{Items: []*Entry{}}, Params: paging,
			Columns: ledger.Cols("SEQ", "seq", "FROM", "from", "SIZE", "size", "ROOT", "root", "HEIGHT", "height", "TIME", "time"),
			Doc:     "A device's committed batches, oldest first: each one's log size and root. A patient's wearable's to the device, the patient, those with standing with them and the regulator (to anyone else, as a device without batches: not found).",
			Handle: func(q *ledger.Request) (any, error) {
				device := q.Path("id")
				if _, err := latest(q); err != nil {
					return nil, err
				}
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[Entry](q.State, []byte(string(prefixBatch)+device+"/"), after, limit, nil)
				if page == nil {
					page = []*Entry{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/devices/{id}/keeper", Name: "kept-by", Read: ledger.Members, Answer: &Keeper{},
			Columns: ledger.Cols("DEVICE", "device", "PATIENT", "owner", "KEEPER", "@keeper", "SINCE", "time"),
			Doc:     "Who keeps a patient's wearable's readings (its owner named them): to the device, the patient, those with standing with them and the regulator (to anyone else, and for a device no one keeps: not found).",
			Handle: func(q *ledger.Request) (any, error) {
				k, err := keeperFor(q)
				if err != nil {
					return nil, err
				}
				if k.Keeper == "" {
					return nil, ErrNoKeeper.Wrapf("%s: its patient named none from %s", ledger.Echo(k.Device), k.Time)
				}
				return k, nil
			}},
		{Path: "/api/v1/devices/{id}/kept", Name: "kept", Read: ledger.Members, Answer: ledger.Page{Items: []*KeptBatch{}}, Params: paging,
			Columns: ledger.Cols("BATCH", "batch", "FROM", "from", "SIZE", "size", "KEEPER", "@keeper", "RECORDS", "records", "TIME", "time"),
			Doc:     "Which records keep a wearable's batches' readings, oldest batch first (the keeper's word on the ledger): to the device, the patient, those with standing with them and the regulator (to anyone else, as a device no one keeps: not found).",
			Handle: func(q *ledger.Request) (any, error) {
				if _, err := keeperFor(q); err != nil {
					return nil, err
				}
				limit, after, err := q.Paging(100, 1000)
				if err != nil {
					return nil, err
				}
				page, next, err := ledger.ScanPage[KeptBatch](q.State, []byte(string(prefixKept)+q.Path("id")+"/"), after, limit, nil)
				if page == nil {
					page = []*KeptBatch{}
				}
				return ledger.Page{Items: page, Next: next}, err
			}},
		{Path: "/api/v1/devices/{id}/kept/{seq}", Name: "kept-batch", Read: ledger.Members, Answer: &KeptBatch{},
			Columns: ledger.Cols("BATCH", "batch", "FROM", "from", "SIZE", "size", "KEEPER", "@keeper", "RECORDS", "records", "TIME", "time"),
			Doc:     "Which records keep one batch's readings (1 is the first batch), part by part.",
			Handle: func(q *ledger.Request) (any, error) {
				if _, err := keeperFor(q); err != nil {
					return nil, err
				}
				seq, err := strconv.ParseUint(q.Path("seq"), 10, 64)
				if err != nil || seq < 1 {
					return nil, ErrUnknownBatch.Wrapf("a batch's number is 1 or more")
				}
				k, err := KeptOf(q.State, q.Path("id"), seq)
				if err == nil && k == nil {
					err = ErrUnknownBatch.Wrapf("batch %d's readings are not kept (yet)", seq)
				}
				return k, err
			}},
		{Path: "/api/v1/devices/{id}/latest", Name: "latest", Read: ledger.Members, Answer: &Entry{},
			Doc: "A device's latest batch: the log size and root its next batch must be consistent with.",
			Handle: func(q *ledger.Request) (any, error) {
				return latest(q)
			}},
		{Path: "/api/v1/devices/{id}/batches/{seq}", Name: "show", Read: ledger.Members, Answer: &Entry{},
			Doc: "One batch of a device, by its sequence number (1 is the first): its log size and root, and the size it grew from.",
			Handle: func(q *ledger.Request) (any, error) {
				seq, err := strconv.ParseUint(q.Path("seq"), 10, 64)
				if err != nil || seq < 1 {
					return nil, ErrUnknownBatch.Wrapf("a batch's number is 1 or more")
				}
				if _, err := latest(q); err != nil {
					return nil, err
				}
				return GetBatch(q.State, q.Path("id"), seq)
			}},
	}
}

// keepers are the roles that may keep readings: the organisation types
// that may hold records.
func keepers() []string {
	var out []string
	for _, t := range records.CustodianTypes() {
		out = append(out, "organisation:"+t)
	}
	return out
}

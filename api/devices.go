package api

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/internal/tokens"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/release"
)

// deviceLocks serialise the uploads of one device: two uploads of a batch
// must not both store and register its records.
var deviceLocks sync.Map

// keepReadings: POST /api/v1/devices/{id}/batches/{seq}/readings, on the
// node of the organisation the wearable's owner named its keeper, signed
// by the device itself. The readings must be exactly those the committed
// batch holds (devices.CheckUpload); they are kept as the patient's
// records: encrypted in the record store, indexed on the ledger by the
// keeper, released only as any record is (consent, the access trail).
func (s *server) keepReadings(w http.ResponseWriter, r *http.Request) {
	if s.catchingUp() { // the batch may be committed, and not yet here
		writeError(w, errCatchingUp)
		return
	}
	committed := s.Ledger.Committed()
	device := r.PathValue("id")
	caller, err := s.knownCaller(r, committed)
	if err != nil {
		writeError(w, err)
		return
	}
	if caller.ID != device || caller.Kind != ledger.KindDevice {
		writeError(w, devices.ErrNotDevice.Wrapf("a device uploads its own readings, signed with its key"))
		return
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		writeError(w, devices.ErrUnknownBatch.Wrapf("a batch's number is 1 or more"))
		return
	}
	k, err := devices.KeeperOf(committed, device)
	if err != nil {
		writeError(w, err)
		return
	}
	if k == nil {
		writeError(w, devices.ErrNoKeeper)
		return
	}
	key, ok := s.keyHolder(k.Keeper)
	if !ok || s.Docs == nil {
		writeError(w, errNotHeldHere.Wrapf("this node does not keep this device's readings: its keeper's node does (GET /api/v1/devices/%s/keeper)", device))
		return
	}
	e, err := devices.GetBatch(committed, device, seq)
	if err != nil {
		writeError(w, err)
		return
	}
	var prev *devices.Entry
	if seq > 1 {
		if prev, err = devices.GetBatch(committed, device, seq-1); err != nil {
			writeError(w, err)
			return
		}
	}
	// An upload costs the keeper its decoding, its storing and two
	// transactions: a patient's wearables together get the rate of any
	// key, each one upload at a time.
	if ok, delay := s.limiter.allow("keep/" + k.Owner); !ok {
		writeRateLimited(w, delay)
		return
	}
	mu, _ := deviceLocks.LoadOrStore(device, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	ans := devices.Kept{Device: device, Batch: seq, Readings: e.Size - e.From, Keeper: k.Keeper, Patient: k.Owner}
	if done, err := devices.KeptOf(s.Ledger.Committed(), device, seq); err != nil {
		writeError(w, err)
		return
	} else if done != nil {
		ans.Records, ans.Already = done.Records, true
		writeJSON(w, http.StatusOK, ans)
		return
	}
	// Within what the keeper keeps (the ledger checks again at
	// devices.kept, by its block's day).
	if err := devices.CheckQuota(s.Ledger.Committed(), k.Keeper, k.Owner, e.Size-e.From, s.Ledger.LastBlockTime(), true); err != nil {
		writeError(w, err)
		return
	}
	var u devices.Upload
	if err := decodeJSON(r.Body, &u); err != nil {
		writeError(w, err)
		return
	}
	rs, err := devices.CheckUpload(&u, e, prev)
	if err != nil {
		writeError(w, err)
		return
	}
	// Each part a record: stored here (or found stored by an upload whose
	// index did not commit in its wait), then indexed.
	committed = s.Ledger.Committed()
	var fresh []records.NewRecord
	mine := map[string]bool{} // stored by this upload: what a refusal may discard
	discard := func(id string) {
		if !mine[id] {
			return
		}
		if err := s.Docs.Discard(id); err != nil {
			s.log.Error("cannot discard an unindexed record", "record", id, "err", err)
		}
	}
	for part := range devices.Parts(e) {
		lo := part * devices.PartSize
		chunk := rs[lo:min(len(rs), lo+devices.PartSize)]
		leaves := make([][]byte, len(chunk))
		for i, r := range chunk {
			leaves[i] = r.Encode()
		}
		id := devices.KeptID(device, seq, part, leaves)
		ans.Records = append(ans.Records, id)
		if rec, err := records.Get(committed, id); err == nil {
			if rec.Patient != k.Owner || rec.Custodian != k.Keeper {
				writeError(w, devices.ErrBadKept.Wrapf("part %d's record id is another's", part))
				return
			}
			continue // indexed by an upload whose wait ran out
		}
		bundle, err := fhir.DeviceReadings(device, k.Owner, id, e.From+uint64(lo), chunk)
		if err != nil {
			writeError(w, err)
			return
		}
		content, _ := json.Marshal(bundle)
		c, err := s.Docs.Put(docstore.Meta{ID: id, Patient: k.Owner, Custodian: k.Keeper, Category: records.CategoryOf("Observation"), ResourceType: "Bundle"}, content)
		if errors.Is(err, docstore.ErrExists) {
			c, err = s.Docs.Commitment(id)
		} else if err == nil {
			mine[id] = true
		}
		if err != nil {
			writeError(w, err)
			return
		}
		fresh = append(fresh, records.NewRecord{ID: id, Patient: k.Owner, Category: records.CategoryOf("Observation"), Commitment: hex.EncodeToString(c)})
	}
	// Still within the quota (the keeper may have lowered it, or another
	// of the patient's wearables been kept, while this one was stored):
	// else this upload's copies go, before anything is indexed.
	if err := devices.CheckQuota(s.Ledger.Committed(), k.Keeper, k.Owner, e.Size-e.From, s.Ledger.LastBlockTime(), true); err != nil {
		for _, rec := range fresh {
			discard(rec.ID)
		}
		writeError(w, err)
		return
	}
	for start := 0; start < len(fresh); start += records.MaxPerRegister {
		chunk := fresh[start:min(len(fresh), start+records.MaxPerRegister)]
		if _, err := s.sendAs(r.Context(), key, records.TypeRegister, records.Register{Endpoint: s.PublicURL, Records: chunk}); err != nil {
			// What the ledger refused can no longer be indexed: this
			// upload's own copies are discarded. A copy an earlier upload
			// stored is kept (its index may have committed meanwhile), as
			// is what may still commit.
			var refused *ledgerRejection
			if errors.As(err, &refused) || errors.Is(err, errMempoolFull) {
				for _, rec := range fresh[start:] {
					discard(rec.ID)
				}
			}
			writeError(w, err)
			return
		}
	}
	// The keeper's word on the ledger: these records keep this batch.
	if _, err := s.sendAs(r.Context(), key, devices.TypeKept, devices.KeptBody{Device: device, Batch: seq, Records: ans.Records}); err != nil {
		var refused *ledgerRejection
		if !errors.As(err, &refused) || refused.code != devices.ErrAlreadyKept {
			writeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, ans)
}

// maxEmptyBatches bounds the batches one page of an Observation search
// passes over whose readings the keeper does not hold.
const maxEmptyBatches = 100

// fhirObservations: GET /fhir/Observation?device=<id>[&_count=&_after=]
// (bearer token) — a wearable's kept readings as R4 Observations, oldest
// first. The node reads them for the token's holder as any record is read
// (POST /api/v1/records/{id}/read): from the keeper, under the patient's
// consent (the patient reads their own), each read an access entry on the
// patient's trail. A page reads one kept record (up to 1,000 readings) and
// answers up to _count of its Observations; the next link goes on from
// there.
func (s *server) fhirObservations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("patient") || q.Has("subject") {
		fhirError(w, errBadRequest.Wrapf("an Observation search names one wearable (device=<id>): its readings as its keeper keeps them; a patient's records are listed by DocumentReference?patient="))
		return
	}
	if err := searchParams(q, "Observation", "device", "purpose"); err != nil {
		fhirError(w, err)
		return
	}
	device := strings.TrimPrefix(q.Get("device"), "Device/")
	if device == "" {
		fhirError(w, errBadRequest.Wrapf("an Observation search names the wearable: device=<id> (its readings as its keeper keeps them)"))
		return
	}
	count, after, err := s.searchPage(r)
	if err != nil {
		fhirError(w, err)
		return
	}
	committed := s.Ledger.Committed()
	key, caller, err := s.tokenHolder(r, tokens.ScopeRecordsRead, committed, s.Ledger.LastBlockTime())
	if err != nil {
		fhirError(w, err)
		return
	}
	k, err := devices.KeeperEntry(committed, device)
	if err != nil {
		fhirError(w, err)
		return
	}
	// Who may not read about the patient learns nothing, not even that
	// the id is a wearable (as GET /api/v1/devices/{id}/keeper).
	if k == nil || (caller.ID != device && caller.ID != k.Owner && standing(committed, caller, k.Owner, s.Ledger.LastBlockTime()) != nil) {
		fhirError(w, devices.ErrNoKeeper.Wrapf("%s", ledger.Echo(device)))
		return
	}
	// The page token: the batch, the part and the reading within it.
	seq, part, offset := uint64(1), 0, 0
	if after != "" {
		if _, err := fmt.Sscanf(after, "%d-%d-%d", &seq, &part, &offset); err != nil || seq < 1 || part < 0 || offset < 0 {
			fhirError(w, errBadRequest.Wrapf("_after must be a page token from a Bundle's next link"))
			return
		}
	}
	latest, err := devices.Latest(committed, device)
	if err != nil {
		fhirError(w, err)
		return
	}
	// The purpose the reader gives (purpose=, default treatment); the
	// patient's own read is "patient".
	purpose := cmp.Or(q.Get("purpose"), "treatment")
	if caller.ID == k.Owner {
		purpose = "patient"
	}
	var page []fhir.Object
	next := ""
	for skipped := 0; latest != nil && seq <= latest.Seq; {
		kb, err := devices.KeptOf(committed, device, seq)
		if err != nil {
			fhirError(w, err)
			return
		}
		var rec *records.Record
		if kb != nil && part < len(kb.Records) {
			rec, _ = records.Get(committed, kb.Records[part])
		}
		if rec == nil || rec.Status == records.StatusErased {
			// Not kept (uploaded to no keeper, or erased): the next batch.
			if skipped++; skipped > maxEmptyBatches {
				next = fmt.Sprintf("%d-0-0", seq+1)
				break
			}
			seq, part, offset = seq+1, 0, 0
			continue
		}
		id, parts := rec.ID, len(kb.Records)
		ans, err := s.readAs(r.Context(), key, id, ReadRequest{Purpose: purpose})
		if err != nil {
			var refusal *release.Refusal
			if errors.As(err, &refusal) {
				err = errAccessRefused.Wrapf("%s (access entry %s)", refusal.Refusal, refusal.Access)
			}
			fhirError(w, err)
			return
		}
		var bundle struct {
			Entry []struct {
				Resource fhir.Object `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(ans.Record, &bundle); err != nil {
			fhirError(w, errRecordCorrupt)
			return
		}
		for i := offset; i < len(bundle.Entry) && len(page) < count; i++ {
			page = append(page, bundle.Entry[i].Resource)
		}
		switch end := offset + count; {
		case end < len(bundle.Entry):
			next = fmt.Sprintf("%d-%d-%d", seq, part, end)
		case part+1 < parts:
			next = fmt.Sprintf("%d-%d-0", seq, part+1)
		case seq < latest.Seq:
			next = fmt.Sprintf("%d-0-0", seq+1)
		}
		break
	}
	writeFHIR(w, http.StatusOK, s.searchSet(r, "Observation", page, next, after, count))
}

package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/docstore"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
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
	mu, _ := deviceLocks.LoadOrStore(device, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	ans := devices.Kept{Device: device, Batch: seq, Readings: e.Size - e.From, Keeper: k.Keeper, Patient: k.Owner}
	var fresh []records.NewRecord
	committed = s.Ledger.Committed()
	for part := range devices.Parts(e) {
		id := devices.RecordID(device, seq, part)
		ans.Records = append(ans.Records, id)
		if _, err := records.Get(committed, id); err == nil {
			continue // kept before (or kept and erased since: not again)
		}
		lo := part * devices.PartSize
		bundle, err := fhir.DeviceReadings(device, k.Owner, seq, part, e.From+uint64(lo), rs[lo:min(len(rs), lo+devices.PartSize)])
		if err != nil {
			writeError(w, err)
			return
		}
		content, _ := json.Marshal(bundle)
		c, err := s.Docs.Put(docstore.Meta{ID: id, Patient: k.Owner, Custodian: k.Keeper, Category: records.CategoryOf("Observation"), ResourceType: "Bundle"}, content)
		if errors.Is(err, docstore.ErrExists) {
			// Stored by an upload whose index did not commit in its
			// wait: index that copy, whose commitment may be on its way.
			c, err = s.Docs.Commitment(id)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		fresh = append(fresh, records.NewRecord{ID: id, Patient: k.Owner, Category: records.CategoryOf("Observation"), Commitment: hex.EncodeToString(c)})
	}
	if len(fresh) == 0 {
		ans.Already = true
		writeJSON(w, http.StatusOK, ans)
		return
	}
	for start := 0; start < len(fresh); start += records.MaxPerRegister {
		chunk := fresh[start:min(len(fresh), start+records.MaxPerRegister)]
		if _, err := s.sendAs(r.Context(), key, records.TypeRegister, records.Register{Endpoint: s.PublicURL, Records: chunk}); err != nil {
			// What the ledger refused can no longer be indexed; what may
			// still commit is kept (an upload again indexes it).
			var refused *ledgerRejection
			if errors.As(err, &refused) || errors.Is(err, errMempoolFull) {
				for _, rec := range fresh[start:] {
					if derr := s.Docs.Discard(rec.ID); derr != nil {
						s.log.Error("cannot discard an unindexed record", "record", rec.ID, "err", derr)
					}
				}
			}
			writeError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, ans)
}

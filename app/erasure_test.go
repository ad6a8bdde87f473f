package app

import (
	"crypto/ed25519"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/records"
)

// state is the whole committed state, key by key.
func (h *harness) state() map[string]string {
	out := map[string]string{}
	_ = h.store.Committed().Iterate(nil, func(k, v []byte) bool {
		out[string(k)] = string(v)
		return true
	})
	return out
}

// changed lists the keys whose values differ between two states.
func changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if w, ok := before[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// registerMany indexes n records of patient at custodian, ids prefix-0….
func (w *recordsWorld) registerMany(custodian ed25519.PrivateKey, patient, prefix, category string, n int) {
	w.t.Helper()
	var txs [][]byte
	for start := 0; start < n; start += records.MaxPerRegister {
		var reg records.Register
		for i := start; i < min(n, start+records.MaxPerRegister); i++ {
			id := fmt.Sprintf("%s-%04d", prefix, i)
			reg.Records = append(reg.Records, records.NewRecord{ID: id, Patient: patient, Category: category, Commitment: commitment(id)})
		}
		txs = append(txs, w.tx(custodian, records.TypeRegister, reg))
	}
	w.mustOK(txs...)
}

// TestErasureIsBounded: a patient with more records than one erasure
// reaches is erased over several transactions, each reaching at most
// records.MaxErasePerTx; the request says how far it has come; in the end
// every record is erased (and still listed), and nothing else changed.
func TestErasureIsBounded(t *testing.T) {
	w := newRecordsWorld(t)
	patient := id(w.patient)
	w.registerMany(hospitalKey, patient, "obs", "observation", 900)
	w.registerMany(hospital2Key, patient, "img", "imaging", 302)
	w.registerMany(hospitalKey, id(w.other), "other", "observation", 10)
	const total = 2 + 900 + 302
	steps := (total + records.MaxErasePerTx - 1) / records.MaxErasePerTx

	ours := func(key string) bool {
		rest, ok := strings.CutPrefix(key, "rec/")
		if ok {
			rec, _ := records.Get(w.store.Committed(), rest)
			return rec != nil && rec.Patient == patient
		}
		return strings.HasPrefix(key, "recp/"+patient+"/") || strings.HasPrefix(key, "recx/"+patient+"/") ||
			key == "era/"+patient || key == "id/"+patient || key == "nonce/"+patient // the signer's nonce
	}
	erased := 0
	for step := 1; ; step++ {
		before := w.state()
		res := w.mustOK(w.tx(w.patient, records.TypeErase, records.Erase{}))
		after := w.state()
		reached := 0
		for _, k := range changed(before, after) {
			switch {
			case strings.HasPrefix(k, "rec/"):
				reached++
				if !ours(k) {
					t.Fatalf("step %d changed another patient's record %s", step, k)
				}
			case !ours(k) && !strings.HasPrefix(k, "meta/"):
				t.Fatalf("step %d changed %s", step, k)
			}
		}
		n := eventAttr(res.TxResults[0].Events, "records.erased", "records")
		if reached > records.MaxErasePerTx || n != fmt.Sprint(reached) {
			t.Fatalf("step %d reached %d records (event says %s), at most %d", step, reached, n, records.MaxErasePerTx)
		}
		erased += reached
		e, _ := records.GetErasure(w.store.Committed(), patient)
		complete := eventAttr(res.TxResults[0].Events, "records.erased", "complete")
		if e.Records != erased || fmt.Sprint(e.Complete) != complete || e.Complete != (erased == total) || len(e.Custodians) != 2 {
			t.Fatalf("step %d: erasure %+v, event complete=%s, %d of %d erased", step, e, complete, erased, total)
		}
		st, _ := records.StatusOf(w.store.Committed(), patient, w.now)
		if st.Erased != erased || st.Remaining != total-erased || (st.State == records.ErasureComplete) != e.Complete {
			t.Fatalf("step %d: status %+v", step, st)
		}
		if e.Complete {
			if step != steps {
				t.Fatalf("complete after %d steps, want %d", step, steps)
			}
			break
		}
		if step == 1 {
			recs, _ := records.OfPatient(w.store.Committed(), patient)
			if len(recs) != total {
				t.Fatalf("mid-way the patient has %d records listed, want %d", len(recs), total)
			}
		}
	}
	recs, _ := records.OfPatient(w.store.Committed(), patient)
	if len(recs) != total || slices.ContainsFunc(recs, func(r *records.Record) bool { return r.Status != records.StatusErased }) {
		t.Fatalf("after the erasure: %d records listed, not all erased", len(recs))
	}
	others, _ := records.OfPatient(w.store.Committed(), id(w.other))
	if len(others) != 11 || slices.ContainsFunc(others, func(r *records.Record) bool { return r.Status != records.StatusStored }) {
		t.Fatalf("the other patient's records: %d", len(others))
	}
	res := w.block(w.tx(w.patient, records.TypeErase, records.Erase{}))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, records.ErrNothingToErase)

	// A record registered after a complete erasure starts a new request.
	w.mustOK(w.tx(hospitalKey, records.TypeRegister, records.Register{Records: []records.NewRecord{
		{ID: "late-1", Patient: patient, Category: "observation", Commitment: commitment("late-1")}}}))
	if st, _ := records.StatusOf(w.store.Committed(), patient, w.now); st.State != records.ErasureComplete || st.Remaining != 1 {
		t.Fatalf("a record registered since: %+v", st)
	}
	w.mustOK(w.tx(w.patient, records.TypeErase, records.Erase{}))
	if e, _ := records.GetErasure(w.store.Committed(), patient); !e.Complete || e.Records != total+1 || e.Height != w.height {
		t.Fatalf("second request: %+v", e)
	}
}

// TestErasureContinuesWithinABlock: two erasures of one patient in one
// block (nonces in order) go on from each other.
func TestErasureContinuesWithinABlock(t *testing.T) {
	w := newRecordsWorld(t)
	w.registerMany(hospitalKey, id(w.patient), "obs", "observation", records.MaxErasePerTx)
	res := w.mustOK(w.tx(w.patient, records.TypeErase, records.Erase{}), w.tx(w.patient, records.TypeErase, records.Erase{}))
	if a, b := eventAttr(res.TxResults[0].Events, "records.erased", "records"), eventAttr(res.TxResults[1].Events, "records.erased", "records"); a != "500" || b != "2" {
		t.Fatalf("erased %s then %s", a, b)
	}
	if e, _ := records.GetErasure(w.store.Committed(), id(w.patient)); !e.Complete || e.Records != records.MaxErasePerTx+2 {
		t.Fatalf("erasure: %+v", e)
	}
}

// TestRetentionHolds: a custodian's retention policy keeps the categories
// it holds, each until its registration plus the years; only the patient
// may read a retained record; once the hold ends it counts as erased.
func TestRetentionHolds(t *testing.T) {
	w := newRecordsWorld(t)
	patient := id(w.patient)
	w.mustOK(w.tx(hospitalKey, records.TypeSetRetention, hold(
		records.Hold{Category: "medication", Basis: "legal_obligation", Years: 10},
		records.Hold{Category: "financial", Basis: "legal_claims", Years: 1})))
	p, _ := records.GetRetention(w.store.Committed(), id(hospitalKey))
	if p == nil || len(p.Holds) != 2 || p.Holds[0].Category != "financial" {
		t.Fatalf("policy: %+v", p)
	}
	w.mustOK(w.tx(hospitalKey, records.TypeRegister, records.Register{Records: []records.NewRecord{
		{ID: "med-1", Patient: patient, Category: "medication", Commitment: commitment("med-1")},
		{ID: "fin-1", Patient: patient, Category: "financial", Commitment: commitment("fin-1")}}}),
		// Riverside has no policy: its medication record is erased at once.
		w.tx(hospital2Key, records.TypeRegister, records.Register{Records: []records.NewRecord{
			{ID: "med-2", Patient: patient, Category: "medication", Commitment: commitment("med-2")}}}))
	registered := w.now
	w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "treatment", Expires: w.now.AddDate(0, 1, 0).Format(time.RFC3339)})
	w.grant(consent.Grant{Grantee: id(w.remote), Scope: consent.Scope{All: true}, Purpose: "second_opinion", Expires: w.now.AddDate(0, 1, 0).Format(time.RFC3339)})
	if a, _ := w.access(hospitalKey, w.request(w.remote, "med-1", "treatment", "")); a.Outcome != records.Granted {
		t.Fatalf("before erasure: %+v", a)
	}

	// Two years on: the financial hold (one year) has ended by the time
	// the patient asks, so that record is erased at once too.
	w.now = w.now.AddDate(2, 0, 0)
	w.mustOK(w.tx(w.patient, records.TypeErase, records.Erase{}))
	e, _ := records.GetErasure(w.store.Committed(), patient)
	if !e.Complete || e.Records != 4 || e.Retained != 1 || len(e.Custodians) != 2 {
		t.Fatalf("erasure: %+v", e)
	}
	med, _ := records.Get(w.store.Committed(), "med-1")
	until := registered.AddDate(10, 0, 0).UTC().Format(time.RFC3339)
	if med.Status != records.StatusRetained || med.RetainedUntil != until || med.RetentionBasis != "legal_obligation" {
		t.Fatalf("med-1: %+v, want retained until %s", med, until)
	}
	for _, id := range []string{"obs-1", "cond-1", "fin-1", "med-2"} {
		if r, _ := records.Get(w.store.Committed(), id); r.Status != records.StatusErased {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	st, _ := records.StatusOf(w.store.Committed(), patient, w.now)
	if st.State != records.ErasureComplete || st.Erased != 4 || len(st.Retained) != 1 || st.Retained[0].ID != "med-1" || st.Remaining != 0 {
		t.Fatalf("status: %+v", st)
	}

	// Only the patient may read a retained record.
	tests := []struct {
		who            string
		a              records.AccessLog
		outcome, cause string
	}{
		{"the patient", w.request(w.patient, "med-1", "patient", ""), records.Granted, ""},
		{"a consented practitioner", w.request(w.remote, "med-1", "treatment", ""), records.Refused, "record_retained"},
		{"the patient, an erased record", w.request(w.patient, "obs-1", "patient", ""), records.Refused, "record_erased"},
	}
	for _, tt := range tests {
		if a, _ := w.access(hospitalKey, tt.a); a == nil || a.Outcome != tt.outcome || a.Refusal != tt.cause {
			t.Fatalf("%s: %+v", tt.who, a)
		}
	}
	// Credentials are valid for a year: two practitioners credentialed now.
	sharer, specialist := testKey("dr-later"), testKey("dr-specialist")
	w.mustOK(w.registerPractitioner(hospital2Key, sharer), w.registerPractitioner(hospitalKey, specialist))
	res := w.block(w.tx(sharer, records.TypeShareCase, records.ShareCase{Specialist: id(specialist), Patient: patient, Records: []string{"med-1"}}))
	wantCode(t, res.TxResults[0].Code, res.TxResults[0].Codespace, res.TxResults[0].Log, records.ErrRecordRetained)
	if ended, _ := records.EndedHolds(w.store.Committed(), time.Time{}, w.now); len(ended) != 0 {
		t.Fatalf("holds ended early: %v", ended)
	}

	// A policy changed afterwards does not change a hold already set.
	w.mustOK(w.tx(hospitalKey, records.TypeSetRetention, hold()))
	if p, _ := records.GetRetention(w.store.Committed(), id(hospitalKey)); p != nil {
		t.Fatalf("policy not removed: %+v", p)
	}

	// The hold ends with the block whose time reaches it.
	last := w.now
	w.now = registered.AddDate(10, 0, 0).Add(-2 * time.Second)
	w.block()
	if on, _ := records.IsErased(w.store.Committed(), "med-1", w.now); on {
		t.Fatal("erased before its hold ended")
	}
	w.block()
	if on, _ := records.IsErased(w.store.Committed(), "med-1", w.now); !on {
		t.Fatal("not erased when its hold ended")
	}
	if ended, _ := records.EndedHolds(w.store.Committed(), last, w.now); !slices.Equal(ended, []string{"med-1"}) {
		t.Fatalf("ended holds: %v", ended)
	}
	if ended, _ := records.EndedHolds(w.store.Committed(), w.now, w.now.AddDate(1, 0, 0)); len(ended) != 0 {
		t.Fatalf("a hold ended twice: %v", ended)
	}
	if a, _ := w.access(hospitalKey, w.request(w.patient, "med-1", "patient", "")); a.Outcome != records.Refused || a.Refusal != "record_erased" {
		t.Fatalf("after the hold: %+v", a)
	}
	st, _ = records.StatusOf(w.store.Committed(), patient, w.now)
	if st.Erased != 5 || len(st.Retained) != 0 {
		t.Fatalf("status after the hold: %+v", st)
	}
}

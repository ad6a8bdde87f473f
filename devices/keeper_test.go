package devices_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/records"
)

// TestKeeper: the patient who registered a wearable, and no one else,
// names the organisation that keeps its readings: one that may hold
// records. A refusal changes nothing; the answer is read under the
// wearable's standing (the device, the patient, the regulator).
func TestKeeper(t *testing.T) {
	w := moduletest.New(t, devices.Declare(), identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.AddOrg("maker", "manufacturer")
	w.AddOrg("agency", "regulator")
	w.Commit()
	w.AddPatient("alice")
	w.AddPatient("bob")
	w.AddDevice("watch", "alice", "wearable")
	w.AddDevice("pump", "hosp", "infusion_pump")
	w.AddOrg("clinic", "clinic")
	w.AddOrg("lab", "lab")
	keep := func(device, keeper string) devices.Keep {
		return devices.Keep{Device: w.ID(device), Keeper: w.ID(keeper)}
	}
	// Who keeps wearables' readings says so, with its quota.
	for _, s := range []struct {
		name, as string
		perDay   uint64
		want     error
	}{
		{"a patient keeps none", "alice", 10, ledger.ErrUnauthorized},
		{"a manufacturer holds no records", "maker", 10, ledger.ErrUnauthorized},
		{"over the bound", "hosp", devices.MaxReadingsPerDay + 1, devices.ErrBadKeeping},
		{"the hospital", "hosp", 86_400, nil},
		{"the clinic, then none", "clinic", 0, nil},
	} {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: s.perDay}, s.want)
		})
	}
	got, err := w.Query("", "/api/v1/devices/keepers", nil)
	if items, _ := got.([]*devices.KeepingEntry); err != nil || len(items) != 2 {
		t.Fatalf("keepers, to anyone: %+v %v", got, err)
	}
	keeper := func(want string) func(t *testing.T) {
		return func(t *testing.T) {
			k, err := devices.KeeperOf(w.St.Committed(), w.ID("watch"))
			switch {
			case err != nil:
				t.Fatal(err)
			case want == "" && k != nil:
				t.Fatalf("kept by %+v", k)
			case want != "" && (k == nil || k.Keeper != w.ID(want) || k.Owner != w.ID("alice")):
				t.Fatalf("kept by %+v; want %s", k, want)
			}
		}
	}
	for _, s := range []struct {
		name, as string
		body     devices.Keep
		want     error
		then     func(t *testing.T)
	}{
		{"an organisation names no keeper", "hosp", keep("pump", "hosp"), ledger.ErrUnauthorized, nil},
		{"another patient's wearable", "bob", keep("watch", "hosp"), devices.ErrNotOwner, keeper("")},
		{"a device no patient registered", "alice", keep("pump", "hosp"), devices.ErrNotOwner, nil},
		{"an id that is no device", "alice", devices.Keep{Device: "nobody", Keeper: w.ID("hosp")}, devices.ErrNotOwner, nil},
		{"a keeper that holds no records", "alice", keep("watch", "maker"), devices.ErrBadKeeper, keeper("")},
		{"a patient as keeper", "alice", keep("watch", "bob"), devices.ErrBadKeeper, keeper("")},
		{"an unregistered keeper", "alice", devices.Keep{Device: w.ID("watch"), Keeper: "nobody"}, devices.ErrBadKeeper, keeper("")},
		{"a keeper that keeps no wearables' readings", "alice", keep("watch", "lab"), devices.ErrNotKeeping, keeper("")},
		{"a keeper that stopped keeping them", "alice", keep("watch", "clinic"), devices.ErrNotKeeping, keeper("")},
		{"the hospital", "alice", keep("watch", "hosp"), nil, keeper("hosp")},
		{"none from now on", "alice", devices.Keep{Device: w.ID("watch")}, nil, keeper("")},
	} {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, devices.TypeKeeper, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
	w.Try(t, "alice", devices.TypeKeeper, keep("watch", "hosp"), nil)
	path := "/api/v1/devices/" + w.ID("watch") + "/keeper"
	for _, c := range []struct {
		as   string
		want error
	}{{"alice", nil}, {"watch", nil}, {"agency", nil}, {"bob", devices.ErrNoKeeper}, {"hosp", devices.ErrNoKeeper}} {
		t.Run("read as "+c.as, func(t *testing.T) {
			got, err := w.Query(c.as, path, nil)
			if ledger.AsError(err) != c.want && !errors.Is(err, c.want) {
				t.Fatalf("%v; want %v", err, c.want)
			}
			if c.want == nil && got.(*devices.Keeper).Keeper != w.ID("hosp") {
				t.Fatalf("%+v", got)
			}
		})
	}
}

// TestCheckUpload: a keeper keeps a batch's readings only if they are
// exactly what the batch committed, checked with the frontier of the log
// before it: a changed, missing, added or moved reading, or a frontier
// that is not the log's before the batch, is refused with its reason.
func TestCheckUpload(t *testing.T) {
	log := readings(7, 0)
	root := func(n int) string { r, _ := anchor.Root(log[:n]); return hex.EncodeToString(r) }
	first := &devices.Entry{Seq: 1, From: 0, Size: 3, Root: root(3)}
	second := &devices.Entry{Seq: 2, From: 3, Size: 7, Root: root(7)}
	up := func(e *devices.Entry, change func(*devices.Upload)) *devices.Upload {
		u, err := devices.UploadOf(log, e)
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			change(u)
		}
		return u
	}
	other := hex.EncodeToString(devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 99_00}.Encode())
	for _, c := range []struct {
		name        string
		u           *devices.Upload
		e, prev     *devices.Entry
		want        error
		wantReading int64
	}{
		{"a first batch", up(first, nil), first, nil, nil, 60_00},
		{"a second batch", up(second, nil), second, first, nil, 60_30},
		{"a changed reading", up(second, func(u *devices.Upload) { u.Readings[1] = other }), second, first, devices.ErrNotTheBatch, 0},
		{"two readings swapped", up(second, func(u *devices.Upload) { u.Readings[0], u.Readings[1] = u.Readings[1], u.Readings[0] }), second, first, devices.ErrNotTheBatch, 0},
		{"a reading missing", up(second, func(u *devices.Upload) { u.Readings = u.Readings[1:] }), second, first, devices.ErrBadUpload, 0},
		{"a frontier of another log", up(second, func(u *devices.Upload) { u.Frontier[0] = u.Frontier[len(u.Frontier)-1] }), second, first, devices.ErrNotTheBatch, 0},
		{"no frontier after a batch", up(second, func(u *devices.Upload) { u.Frontier = nil }), second, first, devices.ErrNotTheBatch, 0},
		{"a frontier on a first batch", up(first, func(u *devices.Upload) { u.Frontier = []string{root(1)} }), first, nil, devices.ErrBadUpload, 0},
		{"a reading not hex", up(first, func(u *devices.Upload) { u.Readings[0] = "zz" }), first, nil, devices.ErrBadUpload, 0},
		{"an implausible reading", up(first, func(u *devices.Upload) {
			u.Readings[0] = hex.EncodeToString(devices.Reading{Time: 1_790_000_000, Code: 147842, Value: 900_00}.Encode())
		}), first, nil, devices.ErrBadReading, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs, err := devices.CheckUpload(c.u, c.e, c.prev)
			if !errors.Is(err, c.want) && ledger.AsError(err) != c.want {
				t.Fatalf("%v; want %v", err, c.want)
			}
			if c.want == nil && rs[0].Value != c.wantReading {
				t.Fatalf("first reading %+v", rs[0])
			}
		})
	}
}

// TestKept: the keeper, and only it, says which records keep a batch's
// readings: one a part, each indexed by the keeper for the device's
// patient, once per batch. Refusals change nothing.
func TestKept(t *testing.T) {
	recs := records.New()
	w := moduletest.New(t, devices.Declare(), recs.Declare(), consent.New(recs).Declare(), identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.AddOrg("clinic", "clinic")
	w.Commit()
	w.AddPatient("alice")
	w.AddPatient("bob")
	w.AddDevice("watch", "alice", "wearable")
	log := readings(3, 0)
	first, _ := devices.Next(log, nil)
	w.Try(t, "watch", devices.TypeBatch, *first, nil)
	w.Try(t, "hosp", devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 5}, nil)
	w.Try(t, "alice", devices.TypeKeeper, devices.Keep{Device: w.ID("watch"), Keeper: w.ID("hosp")}, nil)
	id := devices.KeptID(w.ID("watch"), 1, 0, log)
	index := func(as, id, patient string) {
		c := sha256.Sum256([]byte(id))
		w.Try(t, as, records.TypeRegister, records.Register{Records: []records.NewRecord{{ID: id, Patient: w.ID(patient), Category: "observation",
			Commitment: hex.EncodeToString(c[:])}}}, nil)
	}
	index("hosp", id, "alice")
	index("hosp", "dr-bob", "bob")
	index("clinic", "dr-clinic", "alice")
	body := func(batch uint64, ids ...string) devices.KeptBody {
		return devices.KeptBody{Device: w.ID("watch"), Batch: batch, Records: ids}
	}
	for _, s := range []struct {
		name, as string
		body     devices.KeptBody
		want     error
	}{
		{"not the keeper", "clinic", body(1, "dr-clinic"), devices.ErrNotKeeper},
		{"a patient", "alice", body(1, id), ledger.ErrUnauthorized},
		{"no such batch", "hosp", body(2, id), devices.ErrUnknownBatch},
		{"too many parts", "hosp", body(1, id, id), devices.ErrBadKept},
		{"no such record", "hosp", body(1, "dr-none"), devices.ErrBadKept},
		{"another patient's record", "hosp", body(1, "dr-bob"), devices.ErrBadKept},
		{"the batch's record", "hosp", body(1, id), nil},
		{"again", "hosp", body(1, id), devices.ErrAlreadyKept},
	} {
		t.Run(s.name, func(t *testing.T) { w.Try(t, s.as, devices.TypeKept, s.body, s.want) })
	}
	got, err := w.Query("alice", "/api/v1/devices/"+w.ID("watch")+"/kept/1", nil)
	if err != nil || got.(*devices.KeptBatch).Records[0] != id || got.(*devices.KeptBatch).Size != 3 {
		t.Fatalf("kept: %+v %v", got, err)
	}
	if _, err := w.Query("bob", "/api/v1/devices/"+w.ID("watch")+"/kept", nil); ledger.AsError(err) != devices.ErrNoKeeper {
		t.Fatalf("to another patient: %v", err)
	}
	// The keeper's quota: 5 readings a day; 3 kept today, a batch of 3
	// more is over it. A keeper that stops keeping keeps no more.
	log = readings(6, 0)
	second, _ := devices.Next(log, &devices.Entry{Seq: 1, Size: first.Size, Root: first.Root})
	w.Try(t, "watch", devices.TypeBatch, *second, nil)
	id2 := devices.KeptID(w.ID("watch"), 2, 0, log[3:])
	index("hosp", id2, "alice")
	w.Try(t, "hosp", devices.TypeKept, body(2, id2), devices.ErrOverQuota)
	w.Try(t, "hosp", devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 6}, nil)
	for _, c := range []struct {
		n    uint64
		want *ledger.Error
	}{{3, nil}, {4, devices.ErrOverQuota}, {7, devices.ErrBatchOverQuota}} {
		if err := devices.CheckQuota(w.St.Committed(), w.ID("hosp"), w.ID("alice"), c.n, w.Now, true); (c.want == nil) != (err == nil) || err != nil && ledger.AsError(err) != c.want {
			t.Fatalf("%d more of 6 a day after 3: %v; want %v", c.n, err, c.want)
		}
	}
	// Another keeper's count is its own.
	if err := devices.CheckQuota(w.St.Committed(), w.ID("clinic"), w.ID("alice"), 1, w.Now, true); ledger.AsError(err) != devices.ErrNotKeeping {
		t.Fatalf("the clinic, which keeps none: %v", err)
	}
	w.Try(t, "hosp", devices.TypeKeeping, devices.Keeping{}, nil)
	w.Try(t, "hosp", devices.TypeKept, body(2, id2), devices.ErrNotKeeping)
	w.Try(t, "hosp", devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 6}, nil)
	w.Try(t, "hosp", devices.TypeKept, body(2, id2), nil)
}

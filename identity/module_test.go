package identity_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
)

// step is one transaction of a table: who sends what, and the error it
// must get (nil: success). then, if set, checks what a success did.
type step struct {
	name string
	as   string
	typ  string
	body any
	want error
	then func(t *testing.T)
}

func run(t *testing.T, w *moduletest.World, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w.Try(t, s.as, s.typ, s.body, s.want)
			if s.then != nil {
				s.then(t)
			}
		})
	}
}

// setup is a world of a hospital, a clinic, a regulator and a manufacturer.
func setup(t *testing.T) *moduletest.World {
	w := moduletest.New(t, identity.Declare())
	w.AddOrg("hosp", "hospital")
	w.AddOrg("clinic", "clinic")
	w.AddOrg("reg", "regulator")
	w.AddOrg("maker", "manufacturer")
	w.Commit()
	return w
}

// rotation is name's rotation to the key of newName, with its proof.
func rotation(w *moduletest.World, name, newName string) identity.RotateKey {
	key := moduletest.Key(newName)
	pub := key.Public().(ed25519.PublicKey)
	return identity.RotateKey{NewKey: hex.EncodeToString(pub),
		Proof: hex.EncodeToString(ed25519.Sign(key, identity.RotationProofBytes(moduletest.ChainID, w.ID(name), pub)))}
}

func get(t *testing.T, w *moduletest.World, name string) *identity.Identity {
	t.Helper()
	ident, err := identity.Get(w.St.Committed(), w.ID(name))
	if err != nil {
		t.Fatal(err)
	}
	return ident
}

func wantStatus(w *moduletest.World, name, status, by string) func(t *testing.T) {
	return func(t *testing.T) {
		if p := get(t, w, name); p.Status != status || p.StatusBy != w.ID(by) {
			t.Fatalf("%s is %s by %s, want %s by %s", name, p.Status, p.StatusBy, status, by)
		}
	}
}

// TestIdentityTransactions walks every identity transaction: each step
// succeeds or gets its exact error, and a refused one changes nothing.
func TestIdentityTransactions(t *testing.T) {
	w := setup(t)
	prac := func(name, org string, edit func(*identity.RegisterPractitioner)) identity.RegisterPractitioner {
		b := w.PractitionerBody(name, org)
		if edit != nil {
			edit(&b)
		}
		return b
	}
	dev := func(name, owner string, edit func(*identity.RegisterDevice)) identity.RegisterDevice {
		b := w.DeviceBody(name, owner, "ventilator")
		if edit != nil {
			edit(&b)
		}
		return b
	}
	status := func(name, s string) identity.SetPractitionerStatus {
		return identity.SetPractitionerStatus{ID: w.ID(name), Status: s}
	}
	renew := func(name string, until time.Time, specialty string) identity.RenewCredential {
		return identity.RenewCredential{ID: w.ID(name), ValidUntil: until.Format(time.RFC3339), Specialty: specialty}
	}
	later := w.Now.AddDate(3, 0, 0)
	const (
		patient = identity.TypeRegisterPatient
		reg     = identity.TypeRegisterPractitioner
		set     = identity.TypeSetPractitioner
		ren     = identity.TypeRenewCredential
		device  = identity.TypeRegisterDevice
		rotate  = identity.TypeRotateKey
	)
	run(t, w, []step{
		// Patients register themselves.
		{"a patient registers their own key", "alice", patient, struct{}{}, nil, func(t *testing.T) {
			if p := get(t, w, "alice"); p.Kind != ledger.KindPatient || p.Status != identity.StatusActive {
				t.Fatalf("alice: %+v", p)
			}
		}},
		{"a patient registers once", "alice", patient, struct{}{}, ledger.ErrUnauthorized, nil},
		{"an organisation is no patient", "hosp", patient, struct{}{}, ledger.ErrUnauthorized, nil},
		{"a patient's registration has no body", "bob", patient, map[string]string{"name": "Bob"}, ledger.ErrInvalidBody, nil},

		// Care organisations credential practitioners.
		{"a hospital credentials a practitioner", "hosp", reg, prac("drA", "hosp", nil), nil, func(t *testing.T) {
			p := get(t, w, "drA")
			if p.Kind != ledger.KindPractitioner || p.OrgID != w.ID("hosp") || p.Licence != "LIC-drA" || p.Status != identity.StatusActive {
				t.Fatalf("drA: %+v", p)
			}
		}},
		{"a manufacturer credentials nobody", "maker", reg, prac("drM", "maker", nil), ledger.ErrUnauthorized, nil},
		{"a patient credentials nobody", "alice", reg, prac("drM", "alice", nil), ledger.ErrUnauthorized, nil},
		{"an unregistered key credentials nobody", "mallory", reg, prac("drM", "mallory", nil), ledger.ErrUnknownSigner, nil},
		{"a key is 32 bytes of hex", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Key = "abcd" }), identity.ErrBadKey, nil},
		{"a small-order key is refused", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) {
			b.Key = "0100000000000000000000000000000000000000000000000000000000000000"
		}), identity.ErrWeakKey, nil},
		{"a licence is required", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Licence = "" }), identity.ErrMissingField, nil},
		{"a licence has a letter or digit", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Licence = "-- --" }), identity.ErrBadLicence, nil},
		{"a licence is printable ASCII", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Licence = "GMC-7001234é" }), identity.ErrBadLicence, nil},
		{"a licence is at most 64 characters", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Licence = strings.Repeat("A", 65) }), identity.ErrTooLong, nil},
		{"an unknown profession", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Profession = "wizard" }), identity.ErrBadProfession, nil},
		{"a name without escape sequences", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Name = "Dr X\x1b]0;pwned\x07" }), identity.ErrBadName, nil},
		{"a name of at most 100 bytes", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Name = strings.Repeat("x", 101) }), identity.ErrBadName, nil},
		{"a name people read", "hosp", reg, prac("drN", "hosp", func(b *identity.RegisterPractitioner) { b.Name = "Dr Zoë Núñez" }), nil, func(t *testing.T) {
			if p, err := identity.Get(w.St.Committed(), w.ID("drN")); err != nil || p.Name != "Dr Zoë Núñez" {
				t.Fatalf("drN: %+v, %v", p, err)
			}
		}},
		{"a specialty of at most 100 characters", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Specialty = strings.Repeat("s", 101) }), identity.ErrTooLong, nil},
		{"valid_until in the past", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.ValidUntil = "2020-01-01T00:00:00Z" }), identity.ErrBadValidity, nil},
		{"valid_until at the block time", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.ValidUntil = w.Now.Format(time.RFC3339) }), identity.ErrBadValidity, nil},
		{"valid_until is RFC 3339", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.ValidUntil = "2030-01-01" }), identity.ErrBadValidity, nil},
		{"a key needs its holder's proof", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Proof = "" }), identity.ErrNoKeyProof, nil},
		{"a proof for another organisation", "hosp", reg, prac("drX", "clinic", nil), identity.ErrBadKeyProof, nil},
		{"a proof that is no signature", "hosp", reg, prac("drX", "hosp", func(b *identity.RegisterPractitioner) { b.Proof = "zz" }), identity.ErrBadKeyProof, nil},
		{"a practitioner's key is registered once", "hosp", reg, prac("drA", "hosp", nil), identity.ErrKeyInUse, nil},
		{"an organisation's key is no practitioner's", "hosp", reg, prac("clinic", "hosp", nil), identity.ErrKeyInUse, nil},
		{"a second practitioner", "hosp", reg, prac("drB", "hosp", nil), nil, nil},

		// Status: suspend, reinstate, revoke.
		{"an unknown status", "hosp", set, status("drA", "paused"), identity.ErrBadStatus, nil},
		{"a note of at most 200 characters", "hosp", set, identity.SetPractitionerStatus{ID: w.ID("drA"), Status: identity.StatusSuspended, Note: strings.Repeat("n", 201)}, identity.ErrTooLong, nil},
		{"an unknown practitioner", "hosp", set, identity.SetPractitionerStatus{ID: "nobody", Status: identity.StatusSuspended}, identity.ErrNotPractitioner, nil},
		{"an organisation is no practitioner", "reg", set, status("clinic", identity.StatusSuspended), identity.ErrNotPractitioner, nil},
		{"another organisation's practitioner", "clinic", set, status("drA", identity.StatusSuspended), identity.ErrNotYourPractitioner, nil},
		{"a manufacturer sets no status", "maker", set, status("drA", identity.StatusSuspended), ledger.ErrUnauthorized, nil},
		{"the hospital suspends its practitioner", "hosp", set, identity.SetPractitionerStatus{ID: w.ID("drA"), Status: identity.StatusSuspended, Note: "under review"},
			nil, wantStatus(w, "drA", identity.StatusSuspended, "hosp")},
		{"a suspended practitioner cannot act", "drA", rotate, rotation(w, "drA", "drA#2"), ledger.ErrSuspended, nil},
		{"an organisation's suspension holds no other organisation back", "clinic", reg, prac("drA2", "clinic", func(b *identity.RegisterPractitioner) { b.Licence = "lic dra" }),
			nil, nil},
		{"the regulator suspends another's practitioner", "reg", set, status("drB", identity.StatusSuspended), nil, wantStatus(w, "drB", identity.StatusSuspended, "reg")},
		{"the hospital cannot lift the regulator's suspension", "hosp", set, status("drB", identity.StatusActive), identity.ErrSuspendedByOther, nil},
		{"nor revoke over it", "hosp", set, status("drB", identity.StatusRevoked), identity.ErrSuspendedByOther, nil},
		{"the regulator lifts it", "reg", set, status("drB", identity.StatusActive), nil, wantStatus(w, "drB", identity.StatusActive, "reg")},
		{"the hospital reinstates its practitioner", "hosp", set, status("drA", identity.StatusActive), nil, wantStatus(w, "drA", identity.StatusActive, "hosp")},
		{"a reinstated practitioner acts", "drA", rotate, rotation(w, "drA", "drA#2"), nil, nil},
		{"the hospital revokes its practitioner", "hosp", set, status("drA", identity.StatusRevoked), nil, wantStatus(w, "drA", identity.StatusRevoked, "hosp")},
		{"a revocation is final", "hosp", set, status("drA", identity.StatusActive), identity.ErrRevokedFinal, nil},
		{"even for the regulator", "reg", set, status("drA", identity.StatusActive), identity.ErrRevokedFinal, nil},
		{"a revoked credential is not renewed", "hosp", ren, renew("drA", later, ""), identity.ErrRevokedFinal, nil},
		{"a revoked practitioner cannot act", "drA#2", rotate, rotation(w, "drA", "drA#3"), ledger.ErrRevoked, nil},
		{"an organisation's own revocation frees its entry", "clinic", reg, prac("drA3", "clinic", func(b *identity.RegisterPractitioner) { b.Licence = "lic dra" }), nil, nil},

		// Renewal.
		{"the hospital renews a credential", "hosp", ren, renew("drB", later, "cardiology"), nil, func(t *testing.T) {
			if p := get(t, w, "drB"); p.ValidUntil != later.Format(time.RFC3339) || p.Specialty != "cardiology" {
				t.Fatalf("drB: %+v", p)
			}
		}},
		{"a renewal keeps the specialty unless it names one", "hosp", ren, renew("drB", later.AddDate(1, 0, 0), ""), nil, func(t *testing.T) {
			if p := get(t, w, "drB"); p.Specialty != "cardiology" {
				t.Fatalf("drB: %+v", p)
			}
		}},
		{"a renewal into the past", "hosp", ren, renew("drB", w.Now.Add(-time.Hour), ""), identity.ErrBadValidity, nil},
		{"a renewal's specialty of at most 100 characters", "hosp", ren, renew("drB", later, strings.Repeat("s", 101)), identity.ErrTooLong, nil},
		{"a renewal names a practitioner registered without a name", "hosp", ren, func() identity.RenewCredential {
			r := renew("drB", later, "")
			r.Name = "Dr B Example"
			return r
		}(), nil, func(t *testing.T) {
			if p := get(t, w, "drB"); p.Name != "Dr B Example" || p.Specialty != "cardiology" {
				t.Fatalf("drB: %+v", p)
			}
		}},
		{"a renewal's name without control characters", "hosp", ren, func() identity.RenewCredential {
			r := renew("drB", later, "")
			r.Name = "Dr\x1b[2J"
			return r
		}(), identity.ErrBadName, nil},
		{"another organisation renews nothing", "clinic", ren, renew("drB", later, ""), identity.ErrNotYourPractitioner, nil},
		{"the regulator does not renew", "reg", ren, renew("drB", later, ""), ledger.ErrUnauthorized, nil},
		{"an unknown practitioner is not renewed", "hosp", ren, identity.RenewCredential{ID: "nobody", ValidUntil: later.Format(time.RFC3339)}, identity.ErrNotPractitioner, nil},

		// Devices.
		{"a hospital registers a device", "hosp", device, dev("pump", "hosp", nil), nil, func(t *testing.T) {
			if d := get(t, w, "pump"); d.Kind != ledger.KindDevice || d.OrgID != w.ID("hosp") || d.DeviceType != "ventilator" {
				t.Fatalf("pump: %+v", d)
			}
		}},
		{"a patient registers a device", "alice", device, dev("watch", "alice", func(b *identity.RegisterDevice) { b.DeviceType = "glucose_meter" }), nil, nil},
		{"a practitioner registers no device", "drB", device, dev("pump2", "drB", nil), ledger.ErrUnauthorized, nil},
		{"a device key needs its proof", "hosp", device, dev("pump2", "hosp", func(b *identity.RegisterDevice) { b.Proof = "" }), identity.ErrNoKeyProof, nil},
		{"a device proof for another owner", "hosp", device, dev("pump2", "clinic", nil), identity.ErrBadKeyProof, nil},
		{"a device proof for a practitioner's registration", "hosp", device, dev("pump2", "hosp", func(b *identity.RegisterDevice) {
			b.Proof = identity.ProvePossession(moduletest.Key("pump2"), moduletest.ChainID, identity.ProofPractitioner, w.ID("hosp"))
		}), identity.ErrBadKeyProof, nil},
		{"a bad device type", "hosp", device, dev("pump2", "hosp", func(b *identity.RegisterDevice) { b.DeviceType = "Ventilator!" }), identity.ErrBadDeviceType, nil},
		{"a bad device key", "hosp", device, dev("pump2", "hosp", func(b *identity.RegisterDevice) { b.Key = "00" }), identity.ErrBadKey, nil},
		{"a device's key is registered once", "clinic", device, dev("pump", "clinic", nil), identity.ErrKeyInUse, nil},

		// Key rotation.
		{"a patient rotates their key", "alice", rotate, rotation(w, "alice", "alice#2"), nil, func(t *testing.T) {
			if p := get(t, w, "alice"); p.Key != hex.EncodeToString(moduletest.Pub("alice#2")) {
				t.Fatalf("alice: %+v", p)
			}
		}},
		{"the old key is retired", "alice", device, dev("watch2", "alice", nil), ledger.ErrRetiredKey, nil},
		{"the new key signs for the patient", "alice#2", device, dev("watch2", "alice", nil), nil, func(t *testing.T) {
			if d := get(t, w, "watch2"); d.OrgID != w.ID("alice") {
				t.Fatalf("watch2: %+v", d)
			}
		}},
		{"a rotation proof for another identity", "alice#2", rotate, rotation(w, "bob", "alice#3"), identity.ErrBadProof, nil},
		{"a rotation proof by another key", "alice#2", rotate, identity.RotateKey{NewKey: rotation(w, "alice", "alice#3").NewKey, Proof: rotation(w, "alice", "alice#4").Proof}, identity.ErrBadProof, nil},
		{"a rotation to a bad key", "alice#2", rotate, identity.RotateKey{NewKey: "00", Proof: "00"}, identity.ErrBadKey, nil},
		{"a rotation to another's key", "alice#2", rotate, rotation(w, "alice", "drB"), identity.ErrKeyInUse, nil},
		{"a rotation back to the retired key", "alice#2", rotate, rotation(w, "alice", "alice"), identity.ErrKeyInUse, nil},
		{"a device rotates its key", "pump", rotate, rotation(w, "pump", "pump#2"), nil, nil},
		{"an organisation rotates its key", "hosp", rotate, rotation(w, "hosp", "hosp#2"), nil, nil},
		{"the organisation's old key is retired", "hosp", ren, renew("drB", later, ""), ledger.ErrRetiredKey, nil},
		{"its new key still credentials", "hosp#2", ren, renew("drB", later, ""), nil, nil},
		{"an unregistered key rotates nothing", "mallory", rotate, rotation(w, "mallory", "mallory#2"), ledger.ErrUnknownSigner, nil},
	})
}

// TestCredentialExpires: past valid_until a practitioner cannot act, and
// a renewal by the credentialing organisation lets them act again.
func TestCredentialExpires(t *testing.T) {
	w := setup(t)
	body := w.PractitionerBody("drC", "hosp")
	body.ValidUntil = w.Now.Add(24 * time.Hour).Format(time.RFC3339)
	w.Try(t, "hosp", identity.TypeRegisterPractitioner, body, nil)
	w.Try(t, "drC", identity.TypeRotateKey, rotation(w, "drC", "drC#2"), nil)
	w.Advance(48 * time.Hour)
	w.Try(t, "drC#2", identity.TypeRotateKey, rotation(w, "drC", "drC#3"), ledger.ErrExpired)
	w.Try(t, "hosp", identity.TypeRenewCredential, identity.RenewCredential{ID: w.ID("drC"), ValidUntil: w.Now.AddDate(1, 0, 0).Format(time.RFC3339)}, nil)
	w.Try(t, "drC#2", identity.TypeRotateKey, rotation(w, "drC", "drC#3"), nil)
}

// TestRegulatorActsOnTheLicence: a regulator's suspension reaches every
// identity holding the licence, only the regulator lifts it, and after a
// regulator's revocation the licence is never registered again.
func TestRegulatorActsOnTheLicence(t *testing.T) {
	w := setup(t)
	w.AddPractitioner("drA", "hosp")
	licence := func(name, org, licence string) identity.RegisterPractitioner {
		b := w.PractitionerBody(name, org)
		b.Licence = licence
		return b
	}
	status := func(name, s string) identity.SetPractitionerStatus {
		return identity.SetPractitionerStatus{ID: w.ID(name), Status: s}
	}
	both := func(s, by string) func(t *testing.T) {
		return func(t *testing.T) {
			wantStatus(w, "drA", s, by)(t)
			wantStatus(w, "drA2", s, by)(t)
		}
	}
	run(t, w, []step{
		{"the clinic credentials the same licence, written another way", "clinic", identity.TypeRegisterPractitioner, licence("drA2", "clinic", "lic dra"), nil, nil},
		{"the regulator suspends one", "reg", identity.TypeSetPractitioner, status("drA", identity.StatusSuspended), nil, both(identity.StatusSuspended, "reg")},
		{"the other cannot act", "drA2", identity.TypeRotateKey, rotation(w, "drA2", "drA2#2"), ledger.ErrSuspended, nil},
		{"its organisation cannot lift the regulator's suspension", "clinic", identity.TypeSetPractitioner, status("drA2", identity.StatusActive), identity.ErrSuspendedByOther, nil},
		{"nor credential the licence anew", "clinic", identity.TypeRegisterPractitioner, licence("drA3", "clinic", "LIC-drA"), identity.ErrLicenceSuspended, nil},
		{"the regulator lifts it for both", "reg", identity.TypeSetPractitioner, status("drA", identity.StatusActive), nil, both(identity.StatusActive, "reg")},
		{"the regulator revokes one: both are revoked", "reg", identity.TypeSetPractitioner, status("drA2", identity.StatusRevoked), nil, both(identity.StatusRevoked, "reg")},
		{"the licence is never registered again", "hosp", identity.TypeRegisterPractitioner, licence("drA4", "hosp", "LIC-drA"), identity.ErrLicenceSuspended, nil},
	})
}

// TestLicenceLimit: one organisation holds at most MaxPerOrgLicence
// identities under a licence and all together at most MaxPerLicence; an
// organisation's revocation frees a place.
func TestLicenceLimit(t *testing.T) {
	w := setup(t)
	reg := func(name, org string) identity.RegisterPractitioner {
		b := w.PractitionerBody(name, org)
		b.Licence = "L-1"
		return b
	}
	orgs := identity.MaxPerLicence / identity.MaxPerOrgLicence
	for o := range orgs {
		org := fmt.Sprint("org", o)
		w.AddOrg(org, "clinic")
		w.Commit()
		for i := range identity.MaxPerOrgLicence {
			w.Try(t, org, identity.TypeRegisterPractitioner, reg(fmt.Sprint(org, "dr", i), org), nil)
		}
		w.Try(t, org, identity.TypeRegisterPractitioner, reg(org+"dr-extra", org), identity.ErrLicenceFull)
	}
	w.Try(t, "hosp", identity.TypeRegisterPractitioner, reg("dr-last", "hosp"), identity.ErrLicenceFull)
	w.Try(t, "org0", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("org0dr0"), Status: identity.StatusRevoked}, nil)
	w.Try(t, "hosp", identity.TypeRegisterPractitioner, reg("dr-last", "hosp"), nil)
}

// TestNoOrganisationBlocksALicence: an organisation that registers a real
// practitioner's licence under a key of its own and then suspends or
// revokes that copy blocks nobody else; only a regulator's word does.
func TestNoOrganisationBlocksALicence(t *testing.T) {
	w := setup(t)
	copyOf := func(name, org string) identity.RegisterPractitioner {
		b := w.PractitionerBody(name, org)
		b.Licence = "GMC-7001234"
		return b
	}
	status := func(name, s string) identity.SetPractitionerStatus {
		return identity.SetPractitionerStatus{ID: w.ID(name), Status: s}
	}
	run(t, w, []step{
		{"the clinic registers a copy of the licence", "clinic", identity.TypeRegisterPractitioner, copyOf("ghost", "clinic"), nil, nil},
		{"and suspends it", "clinic", identity.TypeSetPractitioner, status("ghost", identity.StatusSuspended), nil, nil},
		{"the hospital still credentials the real practitioner", "hosp", identity.TypeRegisterPractitioner, copyOf("real", "hosp"), nil, nil},
		{"the clinic's revocation of its copy holds nothing either", "clinic", identity.TypeSetPractitioner, status("ghost", identity.StatusRevoked), nil, nil},
		{"the hospital registers a replacement key", "hosp", identity.TypeRegisterPractitioner, copyOf("real2", "hosp"), nil, nil},
		{"the regulator suspends the licence", "reg", identity.TypeSetPractitioner, status("real", identity.StatusSuspended), nil, wantStatus(w, "real2", identity.StatusSuspended, "reg")},
		{"now nobody registers it", "clinic", identity.TypeRegisterPractitioner, copyOf("ghost2", "clinic"), identity.ErrLicenceSuspended, nil},
	})
}

// TestSuspensionPeriods: a change of status opens or closes the period in
// which a licence could not be used at an organisation; a regulator's
// reaches every organisation holding the licence; a second identity of
// the same person does not clear the days of the first's suspension; a
// suspension lifted the same day still marks the day.
func TestSuspensionPeriods(t *testing.T) {
	w := setup(t)
	w.AddPractitioner("drA", "hosp")
	b := w.PractitionerBody("drA2", "clinic")
	b.Licence = "LIC-drA"
	w.Try(t, "clinic", identity.TypeRegisterPractitioner, b, nil)
	set := func(as, name, status string, day int) {
		t.Helper()
		w.Now = time.Date(2026, 11, day, 9, 0, 0, 0, time.UTC)
		w.Try(t, as, identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID(name), Status: status}, nil)
		w.Commit()
	}
	set("reg", "drA", identity.StatusSuspended, 10) // both organisations
	set("reg", "drA", identity.StatusActive, 12)
	set("hosp", "drA", identity.StatusSuspended, 20) // the hospital's alone
	w.Now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	b3 := w.PractitionerBody("drA3", "hosp") // a second identity at the hospital
	b3.Licence = "lic-dra"
	w.Try(t, "hosp", identity.TypeRegisterPractitioner, b3, nil)
	w.Commit()
	set("hosp", "drA", identity.StatusActive, 23)
	set("clinic", "drA2", identity.StatusSuspended, 25) // and lifted the same day
	set("clinic", "drA2", identity.StatusActive, 25)
	for _, tc := range []struct {
		at, date string
		want     bool
	}{
		{"hosp", "2026-11-09", false},
		{"hosp", "2026-11-10", true},
		{"clinic", "2026-11-11", true},
		{"hosp", "2026-11-12", true}, // lifted that day
		{"hosp", "2026-11-13", false},
		{"clinic", "2026-11-20", false}, // the hospital's suspension binds the hospital
		{"hosp", "2026-11-21", true},
		{"hosp", "2026-11-22", true},
		{"hosp", "2026-11-24", false},
		{"clinic", "2026-11-25", true},
		{"clinic", "2026-11-26", false},
	} {
		p, err := identity.InactiveOn(w.St.Committed(), "LIC-drA", w.ID(tc.at), tc.date)
		if err != nil {
			t.Fatal(err)
		}
		if (p != nil) != tc.want {
			t.Errorf("at %s on %s: %+v, want inactive %v", tc.at, tc.date, p, tc.want)
		}
	}
	// An organisation that credentials the licence after the regulator
	// lifted its suspension cannot bill the days of it.
	w.AddOrg("late", "clinic")
	w.Commit()
	b4 := w.PractitionerBody("drA4", "late")
	b4.Licence = "LIC-drA"
	w.Try(t, "late", identity.TypeRegisterPractitioner, b4, nil)
	w.Commit()
	for date, want := range map[string]bool{"2026-11-11": true, "2026-11-13": false} {
		if p, err := identity.InactiveOn(w.St.Committed(), "LIC-drA", w.ID("late"), date); err != nil || (p != nil) != want {
			t.Errorf("at the later organisation on %s: %+v %v, want inactive %v", date, p, err, want)
		}
	}
	if _, err := identity.InactiveOn(w.St.Committed(), "LIC-drA", w.ID("hosp"), "2026-11-1"); err == nil {
		t.Error("a date not YYYY-MM-DD was read")
	}
}

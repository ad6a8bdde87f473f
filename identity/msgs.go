package identity

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"regexp"
	"time"

	"github.com/primum-health/primum/ledger"
)

// Transaction types of this module.
const (
	TypeRegisterPatient      = "identity.register_patient"
	TypeRegisterPractitioner = "identity.register_practitioner"
	TypeSetPractitioner      = "identity.set_practitioner_status"
	TypeRenewCredential      = "identity.renew_credential"
	TypeRegisterDevice       = "identity.register_device"
	TypeRotateKey            = "identity.rotate_key"
	// TypeIssueVouchers: see vouchers.go.
)

// careOrgs may credential practitioners.
var careOrgs = []string{"organisation:hospital", "organisation:clinic", "organisation:lab", "organisation:pharmacy", "organisation:research"}

// Declare declares the identity module (see ledger.Module).
func Declare() ledger.Module {
	return ledger.Module{Name: "identity", Doc: "Who is who: organisations, practitioners, patients' pseudonyms, devices and their keys.",
		Txs: Routes(), Queries: queries(), Keys: keySpaces(), Genesis: genesis()}
}

// Routes are the transactions of this module.
func Routes() []ledger.Route {
	return []ledger.Route{
		{Type: TypeRegisterPatient, Allow: []string{"unregistered"}, Handle: ledger.Handle(registerPatient), Admit: admitVoucher, Claim: voucherClaim,
			Doc:     "A patient registers their own key, with a voucher's code where the consortium asks for one (a hospital, clinic or pharmacy gives it; it is used once). Nothing identifying is stored.",
			Example: `{"voucher":"K7QF-2MXA-9RTD-LW3C-H6PB"}`},
		{Type: TypeIssueVouchers, Allow: voucherIssuers, Handle: ledger.Handle(issueVouchers),
			Doc:     "A hospital, clinic or pharmacy issues one-time registration vouchers: the SHA-256 of each code (VoucherHash), at most 100; the codes go to the people, never to the ledger.",
			Example: `{"vouchers":["<64 hex>"]}`},
		{Type: TypeRegisterPractitioner, Allow: careOrgs, Handle: ledger.Handle(registerPractitioner), Holder: holder("key-file", ProofPractitioner),
			Doc:     "A care organisation credentials a practitioner's key, with the practitioner's proof that they hold it and agree. Refused while a regulator has suspended, or ever revoked, an identity holding the licence (an organisation's own suspension binds only its own credential), and beyond 16 identities per licence or 2 per organisation (licence_limit).",
			Example: `{"key":"<hex>","proof":"<hex>","licence":"GMC-7001234","profession":"doctor","specialty":"cardiology","valid_until":"2028-01-01T00:00:00Z"}`},
		{Type: TypeSetPractitioner, Args: []string{"id", "status"}, Allow: append([]string{"organisation:regulator"}, careOrgs...), Handle: ledger.Handle(setPractitionerStatus),
			Doc:     "The credentialing organisation (or the regulator) suspends, reinstates or revokes a practitioner. A suspension is lifted, taken over or revoked over only by whoever imposed it or by a regulator; a regulator's change applies to every identity holding the licence.",
			Example: `{"id":"<practitioner id>","status":"suspended","note":"under review"}`},
		{Type: TypeRenewCredential, Args: []string{"id"}, Allow: careOrgs, Handle: ledger.Handle(renewCredential),
			Doc: "The credentialing organisation extends or updates a credential (its expiry, and optionally the specialty and the practitioner's name).", Example: `{"id":"<practitioner id>","valid_until":"2029-01-01T00:00:00Z"}`},
		{Type: TypeRegisterDevice, Allow: []string{"organisation", "patient"}, Handle: ledger.Handle(registerDevice), Holder: holder("key-file", ProofDevice),
			Doc:     "An organisation or a patient registers a device's key, with the device key's proof that it agrees.",
			Example: `{"key":"<hex>","proof":"<hex>","device_type":"ventilator"}`},
		{Type: TypeRotateKey, Allow: []string{"organisation", "practitioner", "patient", "device"}, Handle: ledger.Handle(rotateKey),
			Holder:  &ledger.KeyHolder{Key: "new_key", Proof: "proof", Flag: "new", Prove: proveRotation},
			Doc:     "Any identity replaces its signing key; the old key is retired for good.",
			Example: `{"new_key":"<hex>","proof":"<hex signature by the new key over RotationProofBytes>"}`},
	}
}

// holder declares a registration's new key, proven for kind with the
// signer as the registrant.
func holder(flag, kind string) *ledger.KeyHolder {
	return &ledger.KeyHolder{Key: "key", Proof: "proof", Flag: flag, As: kind,
		Prove: func(k ed25519.PrivateKey, chainID, signer string) string {
			return ProvePossession(k, chainID, kind, signer)
		}}
}

// proveRotation is a new key's agreement to replace signer's key.
func proveRotation(k ed25519.PrivateKey, chainID, signer string) string {
	return hex.EncodeToString(ed25519.Sign(k, RotationProofBytes(chainID, signer, k.Public().(ed25519.PublicKey))))
}

// RegisterPractitioner is the body of identity.register_practitioner.
type RegisterPractitioner struct {
	Key        string `json:"key" doc:"the practitioner's Ed25519 public key (hex), with --proof"`
	Proof      string `json:"proof" doc:"the practitioner's proof of possession (hex, from 'primum keys prove-possession')"` // hex signature by Key over PossessionProofBytes
	Licence    string `json:"licence" doc:"licence number"`
	Profession string `json:"profession" doc:"doctor, nurse, pharmacist, midwife, dentist, …"`
	Specialty  string `json:"specialty,omitempty" doc:"specialty (optional)"`
	ValidUntil string `json:"valid_until" doc:"credential expiry, RFC 3339"`
	// Name is how patients and colleagues read the practitioner (a
	// register of practitioners is public, as their licence is).
	Name string `json:"name,omitempty" doc:"the practitioner's name as patients read it, e.g. Dr Lena Fischer (optional)"`
}

// SetPractitionerStatus is the body of identity.set_practitioner_status.
type SetPractitionerStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Note   string `json:"note,omitempty" doc:"reason (no patient data)"`
}

// RenewCredential is the body of identity.renew_credential.
type RenewCredential struct {
	ID         string `json:"id"`
	ValidUntil string `json:"valid_until" doc:"new expiry, RFC 3339"`
	Specialty  string `json:"specialty,omitempty" doc:"new specialty (optional)"`
	Name       string `json:"name,omitempty" doc:"the practitioner's name as patients read it (optional: a practitioner registered without one gets it here)"`
}

// RegisterDevice is the body of identity.register_device.
type RegisterDevice struct {
	Key        string `json:"key" doc:"the device's Ed25519 public key (hex), with --proof"`
	Proof      string `json:"proof" doc:"the device key's proof of possession (hex, from 'primum keys prove-possession')"` // hex signature by Key over PossessionProofBytes
	DeviceType string `json:"device_type" flag:"type" doc:"device type, e.g. ventilator, glucose-monitor"`
}

// RotateKey is the body of identity.rotate_key.
type RotateKey struct {
	NewKey string `json:"new_key" doc:"the new Ed25519 public key (hex), with --proof"`
	Proof  string `json:"proof" doc:"the new key's signature over RotationProofBytes (hex)"`
}

// RotationProofBytes is what the new key signs to prove possession, bound
// to the chain and the identity so a proof cannot be replayed elsewhere.
// This byte format must never change.
func RotationProofBytes(chainID, id string, newKey ed25519.PublicKey) []byte {
	b := []byte("primum/rotate-key/v1\x00" + chainID + "\x00" + id + "\x00")
	return append(b, newKey...)
}

// Registrations a proof of possession names (PossessionProofBytes).
const (
	ProofPractitioner = "practitioner" // registrant: the credentialing organisation's id
	ProofDevice       = "device"       // registrant: the owning organisation's or patient's id
	ProofMember       = "member"       // registrant: MemberRegistrant(the proposed organisation's name, type, validator key)
	ProofValidator    = "validator"    // registrant: the proposed organisation's id (its key's address)
)

// PossessionProofBytes is what a new key's holder signs to agree to one
// registration of that key: on chain chainID, as kind (ProofPractitioner,
// …), by or for registrant. Without it anyone could register someone
// else's public key — squat a proposed member's key as their own device
// during the vote, say. Naming the chain, the registration and the key
// keeps a proof from being replayed for another of any of them. The domain
// differs from a transaction's and a rotation's, so no signature is valid
// as two of them. This byte format must never change.
func PossessionProofBytes(chainID, kind, registrant string, key ed25519.PublicKey) []byte {
	b := []byte("primum/key-possession/v1\x00" + chainID + "\x00" + kind + "\x00" + registrant + "\x00")
	return append(b, key...)
}

// MemberRegistrant is what a proposed member's operator key proves
// possession for: admission under name, as orgType, with validatorKey (nil:
// a member without a validator). Binding all three is what the joining
// organisation agreed to, so nobody can copy its key and proof into a
// proposal with another type (a clinic made a regulator) or with a
// validator key of their own; the validator key's proof in turn names the
// operator key's address. The power is left out: the proposer chooses it
// and the members vote on it. The form is
// orgType 0x00 hex(validatorKey) 0x00 name — the name last, so that it is
// unambiguous whatever the name holds. This byte format must never change.
func MemberRegistrant(name, orgType string, validatorKey ed25519.PublicKey) string {
	return orgType + "\x00" + hex.EncodeToString(validatorKey) + "\x00" + name
}

// ProvePossession is the proof, in hex as registrations carry it, that the
// holder of key agrees to be registered as kind by or for registrant.
func ProvePossession(key ed25519.PrivateKey, chainID, kind, registrant string) string {
	pub := key.Public().(ed25519.PublicKey)
	return hex.EncodeToString(ed25519.Sign(key, PossessionProofBytes(chainID, kind, registrant, pub)))
}

// CheckPossession verifies a registration's proof of possession of key.
func CheckPossession(chainID, kind, registrant string, key ed25519.PublicKey, proof string) error {
	if proof == "" {
		return ErrNoKeyProof.Wrapf("%s key %x", kind, key)
	}
	sig, err := hex.DecodeString(proof)
	if err != nil || !ledger.VerifySignature(key, PossessionProofBytes(chainID, kind, registrant, key), sig) {
		return ErrBadKeyProof.Wrapf("%s key %x, chain %q, registrant %q", kind, key, chainID, registrant)
	}
	return nil
}

func registerPatient(ctx *ledger.Context, m *RegisterPatient) error {
	if err := checkVoucher(ctx.State, m); err != nil {
		if ledger.AsError(err) == ledger.ErrInternal {
			panic(err) // a storage failure: continuing would fork the node
		}
		return err
	}
	if m.Voucher != "" {
		useVoucher(ctx, m.Voucher)
	}
	ident := &Identity{Kind: ledger.KindPatient, Since: ctx.Height}
	if err := create(ctx.State, ident, ctx.Signer.Key); err != nil {
		return err
	}
	ctx.Emit("identity.registered", [2]string{"id", ident.ID}, [2]string{"kind", "patient"})
	return nil
}

func parseValidUntil(s string, now time.Time) (string, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !t.After(now) {
		return "", ErrBadValidity.Wrapf("%q", s)
	}
	return t.UTC().Format(time.RFC3339), nil
}

func registerPractitioner(ctx *ledger.Context, m *RegisterPractitioner) error {
	key, err := ParseNewKey(m.Key)
	if err != nil {
		return err
	}
	if err := checkLicence(m.Licence); err != nil {
		return err
	}
	if !contains(Professions, m.Profession) {
		return ErrBadProfession.Wrapf("%q (one of %v)", m.Profession, Professions)
	}
	if len(m.Specialty) > 100 {
		return ErrTooLong.Wrapf("specialty is longer than 100")
	}
	if m.Name != "" {
		if err := CheckName(m.Name, 100); err != nil {
			return err
		}
	}
	until, err := parseValidUntil(m.ValidUntil, ctx.Time)
	if err != nil {
		return err
	}
	if err := CheckPossession(ctx.ChainID, ProofPractitioner, ctx.Signer.ID, key, m.Proof); err != nil {
		return err
	}
	if err := admitLicence(ctx.State, ctx.Signer.ID, m.Licence, ledger.Address(key)); err != nil {
		return err
	}
	ident := &Identity{Kind: ledger.KindPractitioner, OrgID: ctx.Signer.ID, Licence: m.Licence, Name: m.Name,
		Profession: m.Profession, Specialty: m.Specialty, ValidUntil: until, Since: ctx.Height}
	if err := create(ctx.State, ident, key); err != nil {
		return err
	}
	ctx.Emit("identity.registered", [2]string{"id", ident.ID}, [2]string{"kind", "practitioner"}, [2]string{"org", ctx.Signer.ID})
	return nil
}

// ownPractitioner loads a practitioner the signer may manage.
func ownPractitioner(ctx *ledger.Context, id string) (*Identity, error) {
	p, err := Get(ctx.State, id)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return nil, err // a storage error is not a rejection
	}
	if err != nil || p.Kind != ledger.KindPractitioner {
		return nil, ErrNotPractitioner.Wrapf("%q", id)
	}
	if p.OrgID != ctx.Signer.ID && ctx.Signer.OrgType != "regulator" {
		return nil, ErrNotYourPractitioner
	}
	if p.Status == StatusRevoked {
		return nil, ErrRevokedFinal
	}
	return p, nil
}

func setPractitionerStatus(ctx *ledger.Context, m *SetPractitionerStatus) error {
	if m.Status != StatusActive && m.Status != StatusSuspended && m.Status != StatusRevoked {
		return ErrBadStatus.Wrapf("%q", m.Status)
	}
	if len(m.Note) > 200 {
		return ErrTooLong.Wrapf("note is longer than 200")
	}
	p, err := ownPractitioner(ctx, m.ID)
	if err != nil {
		return err
	}
	if err := mayChangeSuspension(ctx.Signer, p); err != nil {
		return err
	}
	p.Status, p.StatusNote, p.StatusBy = m.Status, m.Note, ctx.Signer.ID
	put(ctx.State, p)
	ctx.Emit("identity.status", [2]string{"id", p.ID}, [2]string{"status", p.Status}, [2]string{"by", ctx.Signer.ID})
	// A regulator's change is about the licence: it reaches every identity
	// holding it (licence.go).
	others, err := licenceStatusChanged(ctx.State, ctx.Signer, p)
	if err != nil {
		return err
	}
	if err := updatePeriods(ctx, append([]*Identity{p}, others...)); err != nil {
		return err
	}
	for _, q := range others {
		ctx.Emit("identity.status", [2]string{"id", q.ID}, [2]string{"status", q.Status}, [2]string{"by", ctx.Signer.ID},
			[2]string{"licence_of", p.ID})
	}
	return nil
}

// mayChangeSuspension keeps a suspension in the hands of whoever imposed
// it: only they or a regulator (the higher authority) may lift it, take it
// over or revoke over it, so an organisation cannot reinstate a
// practitioner the regulator suspended. Nor may it revoke one: revoking
// would replace the record of the regulator's suspension with the
// organisation's own revocation, which holds nothing, and the licence
// could be registered again (licence.go). A suspension from before
// StatusBy was recorded has no known author and keeps the old rule (the
// credentialing organisation or a regulator).
func mayChangeSuspension(signer ledger.Signer, p *Identity) error {
	if p.Status != StatusSuspended || p.StatusBy == "" {
		return nil
	}
	if signer.ID == p.StatusBy || signer.OrgType == "regulator" {
		return nil
	}
	return ErrSuspendedByOther.Wrapf("suspended by %s", p.StatusBy)
}

func renewCredential(ctx *ledger.Context, m *RenewCredential) error {
	p, err := ownPractitioner(ctx, m.ID)
	if err != nil {
		return err
	}
	until, err := parseValidUntil(m.ValidUntil, ctx.Time)
	if err != nil {
		return err
	}
	if len(m.Specialty) > 100 {
		return ErrTooLong.Wrapf("specialty is longer than 100")
	}
	if m.Name != "" {
		if err := CheckName(m.Name, 100); err != nil {
			return err
		}
		p.Name = m.Name
	}
	p.ValidUntil = until
	if m.Specialty != "" {
		p.Specialty = m.Specialty
	}
	put(ctx.State, p)
	ctx.Emit("identity.renewed", [2]string{"id", p.ID})
	return nil
}

var deviceType = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func registerDevice(ctx *ledger.Context, m *RegisterDevice) error {
	key, err := ParseNewKey(m.Key)
	if err != nil {
		return err
	}
	if !deviceType.MatchString(m.DeviceType) {
		return ErrBadDeviceType
	}
	if err := CheckPossession(ctx.ChainID, ProofDevice, ctx.Signer.ID, key, m.Proof); err != nil {
		return err
	}
	ident := &Identity{Kind: ledger.KindDevice, OrgID: ctx.Signer.ID, DeviceType: m.DeviceType, Since: ctx.Height}
	if err := create(ctx.State, ident, key); err != nil {
		return err
	}
	ctx.Emit("identity.registered", [2]string{"id", ident.ID}, [2]string{"kind", "device"}, [2]string{"owner", ctx.Signer.ID})
	return nil
}

func rotateKey(ctx *ledger.Context, m *RotateKey) error {
	key, err := ParseNewKey(m.NewKey)
	if err != nil {
		return err
	}
	proof, err := hex.DecodeString(m.Proof)
	if err != nil || !ledger.VerifySignature(key, RotationProofBytes(ctx.ChainID, ctx.Signer.ID, key), proof) {
		return ErrBadProof
	}
	addr := ledger.Address(key)
	if used, err := keyInUse(ctx.State, addr); err != nil {
		return err
	} else if used {
		return ErrKeyInUse
	}
	ident, err := Get(ctx.State, ctx.Signer.ID)
	if err != nil {
		return err
	}
	ledger.SetJSON(ctx.State, keyKey(ledger.Address(ctx.Signer.Key)), KeyEntry{ID: ident.ID, Retired: true})
	ledger.SetJSON(ctx.State, keyKey(addr), KeyEntry{ID: ident.ID})
	ident.Key = hex.EncodeToString(key)
	put(ctx.State, ident)
	ctx.Emit("identity.key_rotated", [2]string{"id", ident.ID})
	return nil
}

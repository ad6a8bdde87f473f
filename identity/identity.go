package identity

// Reflection-free decoders of the state types marked easyjson:json (see
// ledger.DecodeState); run go generate ./... after changing one.
//go:generate go tool easyjson -no_std_marshalers identity.go

import (
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/primum-health/primum/ledger"
)

// Organisation types (SPEC F2).
var OrgTypes = []string{"hospital", "clinic", "lab", "pharmacy", "manufacturer", "distributor", "insurer", "regulator", "research"}

// Professions a practitioner may be credentialed for.
var Professions = []string{"doctor", "nurse", "pharmacist", "midwife", "dentist", "physiotherapist", "psychologist", "lab_technician", "paramedic", "other"}

// Statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusRevoked   = "revoked"
	StatusRemoved   = "removed" // an organisation voted out of the consortium
)

// Identity is one actor on the ledger. Fields not relevant to the kind are empty.
//
//easyjson:json
type Identity struct {
	ID     string      `json:"id"`
	Kind   ledger.Kind `json:"kind"`
	Key    string      `json:"key"` // current Ed25519 public key, hex
	Status string      `json:"status"`
	// Height at which it was registered.
	Since int64 `json:"since"`
	// Nonce is the next nonce its transactions must carry. It lives in the
	// record (not under a key of its own) so that a registration writes one
	// tree key, not two, and the signer's lookup reads both at once.
	Nonce uint64 `json:"nonce,omitempty"`

	// Organisations.
	Name         string `json:"name,omitempty"`
	OrgType      string `json:"org_type,omitempty"`
	ValidatorKey string `json:"validator_key,omitempty"`
	Power        int64  `json:"power,omitempty"`

	// Practitioners and devices: the credentialing or owning identity.
	OrgID      string `json:"org_id,omitempty"`
	Licence    string `json:"licence,omitempty"`
	Profession string `json:"profession,omitempty"`
	Specialty  string `json:"specialty,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"` // RFC 3339, UTC
	StatusNote string `json:"status_note,omitempty"`
	// StatusBy is who set the current status (practitioners; empty until
	// a first change): a suspension is lifted only by them or a regulator.
	StatusBy string `json:"status_by,omitempty"`

	// Devices.
	DeviceType string `json:"device_type,omitempty"`
}

// KeyEntry maps a key address to the identity it signs for.
//
//easyjson:json
type KeyEntry struct {
	ID      string `json:"id"`
	Retired bool   `json:"retired,omitempty"`
}

// Get reads an identity.
func Get(r ledger.Reader, id string) (*Identity, error) {
	var ident Identity
	found, err := ledger.GetJSON(r, identityKey(id), &ident)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ledger.ErrNotFound.Wrapf("no identity %q", id)
	}
	return &ident, nil
}

// ListPage lists identities of kind ("" for every kind) from the page
// token after ("": from the first), keeping those visible accepts, up to
// limit, examining at most ledger.MaxPageScan entries; next is the token of
// the following page ("": none). Patients have no kind index (they are
// most identities), so a patient listing walks identities and keeps
// patients.
func ListPage(r ledger.Reader, kind ledger.Kind, after string, limit int, visible func(*Identity) bool) (page []*Identity, next string, err error) {
	if kind == "" || kind == ledger.KindPatient {
		return ledger.ScanPage(r, prefixIdentity, after, limit, func(i *Identity) bool { return (kind == "" || i.Kind == kind) && visible(i) })
	}
	return ledger.IndexedPage(r, kindPrefix(string(kind)), after, false, limit, Get, visible)
}

// MembersOf lists the practitioners and devices registered by an identity.
func MembersOf(r ledger.Reader, orgID string) ([]*Identity, error) {
	return ledger.Indexed(r, memberPrefix(orgID), Get)
}

// Nonce is the next nonce the identity (or unregistered key address) must
// use: the identity record's once it has one; before that the nonce key of
// its address (an address with no identity whose transactions were all
// rejected, or an identity from before nonces moved into records, whose
// next transaction moves it there).
func Nonce(r ledger.Reader, id string) (uint64, error) {
	var ident Identity
	found, err := ledger.GetJSON(r, identityKey(id), &ident)
	if err != nil {
		return 0, err
	}
	if found && ident.Nonce > 0 {
		return ident.Nonce, nil
	}
	n, _, err := addressNonce(r, id)
	return n, err
}

// addressNonce reads the nonce key of an address without an identity.
func addressNonce(r ledger.Reader, addr string) (n uint64, found bool, err error) {
	b, err := r.Get(nonceKey(addr))
	if err != nil || len(b) != 8 {
		return 0, false, err
	}
	return binary.BigEndian.Uint64(b), true, nil
}

// SetNonce records the next nonce: in the identity record if there is one
// (a registration writes it into the record it creates), else under the
// address's nonce key.
func SetNonce(w ledger.Writer, id string, n uint64) error {
	var ident Identity
	found, err := ledger.GetJSON(w, identityKey(id), &ident)
	if err != nil {
		return err
	}
	if !found {
		w.Set(nonceKey(id), encodeUint(n))
		return nil
	}
	ident.Nonce = n
	ledger.SetJSON(w, identityKey(id), &ident)
	return nil
}

// Resolve finds the signer behind key and checks it is in good standing at
// block time now. An unknown key resolves to KindUnregistered with its
// address as id.
//
// An identity's id is the address of its first key, and that key has no
// key/ entry of its own (one state write less per registration): the common
// case is one read. Rotated-in keys have a key/ entry naming their
// identity; rotated-out keys one marked retired.
func Resolve(r ledger.Reader, key ed25519.PublicKey, now time.Time) (ledger.Signer, error) {
	addr := ledger.Address(key)
	ident, err := identityOfKey(r, addr, key)
	if err != nil {
		return ledger.Signer{}, err
	}
	if ident == nil {
		return ledger.Signer{ID: addr, Kind: ledger.KindUnregistered, Key: key}, nil
	}
	s := ledger.Signer{ID: ident.ID, Kind: ident.Kind, OrgType: ident.OrgType, OrgID: ident.OrgID, Key: key}
	if err := standing(r, ident, now); err != nil {
		return s, err
	}
	return s, nil
}

// identityOfKey finds the identity a key signs for (nil: none), or
// ErrRetiredKey.
func identityOfKey(r ledger.Reader, addr string, key ed25519.PublicKey) (*Identity, error) {
	var own Identity
	found, err := ledger.GetJSON(r, identityKey(addr), &own)
	if err != nil {
		return nil, err
	}
	if found && own.Key == hex.EncodeToString(key) {
		return &own, nil
	}
	var entry KeyEntry
	hasEntry, err := ledger.GetJSON(r, keyKey(addr), &entry)
	if err != nil {
		return nil, err
	}
	switch {
	case hasEntry && entry.Retired, found && !hasEntry:
		// An identity's first key, rotated out (its retired entry is
		// written at rotation; without one, refuse all the same).
		return nil, ledger.ErrRetiredKey
	case hasEntry:
		return Get(r, entry.ID)
	}
	return nil, nil
}

// keyInUse reports whether a key already signs, or signed, for an identity.
func keyInUse(r ledger.Reader, addr string) (bool, error) {
	for _, k := range [][]byte{identityKey(addr), keyKey(addr)} {
		b, err := r.Get(k)
		if err != nil || b != nil {
			return b != nil, err
		}
	}
	return false, nil
}

// standing says whether an identity may act at time now.
func standing(r ledger.Reader, ident *Identity, now time.Time) error {
	switch ident.Status {
	case StatusSuspended:
		return ledger.ErrSuspended
	case StatusRevoked:
		return ledger.ErrRevoked
	case StatusRemoved:
		return ledger.ErrInactiveOrg
	}
	if ident.Kind == ledger.KindPractitioner {
		until, err := time.Parse(time.RFC3339, ident.ValidUntil)
		if err != nil || !now.Before(until) {
			return ledger.ErrExpired
		}
	}
	if ident.OrgID != "" {
		owner, err := Get(r, ident.OrgID)
		if err != nil {
			return err
		}
		if owner.Status == StatusRemoved {
			return ledger.ErrInactiveOrg
		}
	}
	return nil
}

// InGoodStanding reports whether id may act at time now (e.g. a grantee).
func InGoodStanding(r ledger.Reader, id string, now time.Time) (*Identity, error) {
	ident, err := Get(r, id)
	if err != nil {
		return nil, err
	}
	return ident, standing(r, ident, now)
}

// put writes an identity and its indexes.
func put(w ledger.Writer, ident *Identity) { ledger.SetJSON(w, identityKey(ident.ID), ident) }

// index writes a new identity's index entries: by kind (not for patients:
// they are most identities and nobody lists them; List scans for them),
// and under the credentialing or owning identity. Every state write costs a
// leaf and its bucket's rehash in the commitment, so indexes are written
// once, not on every update.
func index(w ledger.Writer, ident *Identity) {
	if ident.Kind != ledger.KindPatient {
		ledger.SetPresent(w, kindKey(string(ident.Kind), ident.ID))
	}
	if ident.OrgID != "" {
		ledger.SetPresent(w, memberKey(ident.OrgID, ident.ID))
	}
}

// create registers a new identity for key, refusing a weak key or one
// already known. Every identity is created here, a self-registered
// patient's included, so no weak key enters state as a signer.
func create(w ledger.Writer, ident *Identity, key ed25519.PublicKey) error {
	if err := CheckNewKey(key); err != nil {
		return err
	}
	addr := ledger.Address(key)
	if used, err := keyInUse(w, addr); err != nil {
		return err
	} else if used {
		return ErrKeyInUse
	}
	ident.ID = addr
	ident.Key = hex.EncodeToString(key)
	if ident.Status == "" {
		ident.Status = StatusActive
	}
	// A key that signed rejected transactions before it had an identity
	// spent nonces under its address: the identity carries them on.
	if n, found, err := addressNonce(w, addr); err != nil {
		return err
	} else if found {
		ident.Nonce = n
		w.Delete(nonceKey(addr))
	}
	put(w, ident)
	index(w, ident)
	return nil
}

// CheckOrganisation says whether an organisation could be admitted now:
// its type and name, its key (not weak, not in use) and its validator key
// (not weak, and no other organisation's, removed ones included: a
// validator key names one member for the chain's whole life, so one block
// can never carry two changes of one key's power from two members).
// Governance calls it when a member is proposed; AddOrganisation again
// when one is admitted, as the state may have changed during the vote.
func CheckOrganisation(r ledger.Reader, name, orgType string, key, validatorKey ed25519.PublicKey) error {
	if !contains(OrgTypes, orgType) {
		return ErrBadOrgType.Wrapf("%q", orgType)
	}
	if name == "" || len(name) > 200 {
		return ErrMissingField.Wrapf("organisation name must be 1-200 characters")
	}
	if err := CheckNewKey(key); err != nil {
		return err
	}
	if used, err := keyInUse(r, ledger.Address(key)); err != nil {
		return err
	} else if used {
		return ErrKeyInUse
	}
	if len(validatorKey) == 0 {
		return nil
	}
	if err := CheckNewKey(validatorKey); err != nil {
		return fmt.Errorf("validator key: %w", err)
	}
	holder, err := ValidatorKeyHolder(r, validatorKey)
	if err != nil {
		return err
	}
	if holder != nil {
		return ErrValidatorKeyInUse.Wrapf("held by %s (%s)", holder.ID, holder.Name)
	}
	return nil
}

// Organisations lists every organisation, active or removed, in id order.
// They are admitted by vote, so they are few: the consortium's members.
func Organisations(r ledger.Reader) ([]*Identity, error) {
	return ledger.Indexed(r, kindPrefix(string(ledger.KindOrganisation)), Get)
}

// ValidatorKeyHolder finds the organisation, active or removed, whose
// validator key is vk (nil: none). Organisations are admitted by vote, so
// they are few and a scan is cheap; an index would need a migration of
// every chain's state.
func ValidatorKeyHolder(r ledger.Reader, vk ed25519.PublicKey) (*Identity, error) {
	orgs, err := Organisations(r)
	if err != nil {
		return nil, err
	}
	want := hex.EncodeToString(vk)
	for _, o := range orgs {
		if o.ValidatorKey == want {
			return o, nil
		}
	}
	return nil, nil
}

// AddOrganisation admits an organisation (genesis or a passed proposal).
func AddOrganisation(w ledger.Writer, name, orgType string, key, validatorKey ed25519.PublicKey, power int64, height int64) (*Identity, error) {
	if err := CheckOrganisation(w, name, orgType, key, validatorKey); err != nil {
		return nil, err
	}
	ident := &Identity{Kind: ledger.KindOrganisation, Name: name, OrgType: orgType, Power: power, Since: height}
	if len(validatorKey) > 0 {
		ident.ValidatorKey = hex.EncodeToString(validatorKey)
	}
	if err := create(w, ident, key); err != nil {
		return nil, err
	}
	return ident, nil
}

// RemoveOrganisation marks an organisation removed; its practitioners and
// devices stop being able to act. It returns the validator key and power to zero.
func RemoveOrganisation(w ledger.Writer, id string) (*Identity, error) {
	ident, err := Get(w, id)
	if err != nil {
		return nil, err
	}
	if ident.Kind != ledger.KindOrganisation {
		return nil, ledger.ErrNotFound.Wrapf("%q is not an organisation", id)
	}
	ident.Status = StatusRemoved
	put(w, ident)
	return ident, nil
}

// ActiveMembers lists the organisations currently in the consortium.
func ActiveMembers(r ledger.Reader) ([]*Identity, error) {
	orgs, err := Organisations(r)
	if err != nil {
		return nil, err
	}
	out := orgs[:0]
	for _, o := range orgs {
		if o.Status == StatusActive {
			out = append(out, o)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseKey decodes a hex Ed25519 public key.
func ParseKey(s string) (ed25519.PublicKey, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, ErrBadKey.Wrapf("got %d characters", len(s))
	}
	return ed25519.PublicKey(b), nil
}

func mustLen(field, v string, max int) error {
	if v == "" {
		return ErrMissingField.Wrapf("%s is required", field)
	}
	if len(v) > max {
		return ErrTooLong.Wrapf("%s is longer than %d", field, max)
	}
	return nil
}

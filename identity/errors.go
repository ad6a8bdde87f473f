package identity

import "github.com/primum-health/primum/ledger"

// Errors of codespace "identity". Codes are stable.
var (
	ErrKeyInUse            = ledger.NewError("identity", 1, "key_in_use", 409, "this key already belongs to an identity")
	ErrBadKey              = ledger.NewError("identity", 2, "bad_key", 400, "key must be a 32-byte Ed25519 public key in hex")
	ErrBadProfession       = ledger.NewError("identity", 3, "bad_profession", 400, "unknown profession")
	ErrBadValidity         = ledger.NewError("identity", 4, "bad_valid_until", 400, "valid_until must be an RFC 3339 time after the block time")
	ErrMissingField        = ledger.NewError("identity", 5, "missing_field", 400, "a required field is empty")
	ErrNotYourPractitioner = ledger.NewError("identity", 6, "not_credentialing_org", 403, "only the credentialing organisation or the regulator may change this credential")
	ErrBadStatus           = ledger.NewError("identity", 7, "bad_status", 400, "status must be active, suspended or revoked")
	ErrRevokedFinal        = ledger.NewError("identity", 8, "revoked_final", 409, "a revoked credential cannot be changed")
	ErrBadProof            = ledger.NewError("identity", 9, "bad_rotation_proof", 400, "new key's proof of possession does not verify")
	ErrBadOrgType          = ledger.NewError("identity", 10, "bad_org_type", 400, "unknown organisation type")
	ErrNotPractitioner     = ledger.NewError("identity", 11, "not_a_practitioner", 404, "no practitioner with this id")
	ErrAlreadyRegistered   = ledger.NewError("identity", 12, "already_registered", 409, "identity already registered")
	ErrBadDeviceType       = ledger.NewError("identity", 13, "bad_device_type", 400, "device_type must be 1-64 characters of a-z, 0-9, _ or -")
	ErrTooLong             = ledger.NewError("identity", 14, "field_too_long", 400, "a field is longer than allowed")
	ErrWeakKey             = ledger.NewError("identity", 15, "weak_key", 400, "key is a small-order or non-canonical Ed25519 point, which anyone could sign for; use a freshly generated key (primum keys add)")
	ErrNoKeyProof          = ledger.NewError("identity", 16, "missing_key_proof", 400, "a new key needs a proof of possession signed by its holder (primum keys prove-possession)")
	ErrBadKeyProof         = ledger.NewError("identity", 17, "bad_key_proof", 400, "the proof of possession does not verify for this chain, registration and key")
	ErrValidatorKeyInUse   = ledger.NewError("identity", 18, "validator_key_in_use", 409, "this validator key already belongs to a member organisation")
	ErrSuspendedByOther    = ledger.NewError("identity", 19, "suspended_by_other", 403, "only whoever suspended this practitioner, or a regulator, may lift or change the suspension")
	ErrLicenceSuspended    = ledger.NewError("identity", 20, "licence_suspended", 403, "a regulator suspended or revoked a practitioner holding this licence: it cannot be registered again until the regulator lifts the suspension, and never after a regulator's revocation")
	ErrLicenceFull         = ledger.NewError("identity", 21, "licence_limit", 409, "a licence may be held by at most 16 practitioner identities, and by at most 2 of one organisation: revoke one that is no longer used")
	ErrBadLicence          = ledger.NewError("identity", 22, "bad_licence", 400, "licence must be printable ASCII (letters, digits, spaces, punctuation) with at least one letter or digit")
	ErrBadName             = ledger.NewError("identity", 26, "bad_name", 400, "a name is UTF-8 text (a practitioner's at most 100 bytes, an organisation's 200) without control or direction-override characters")
)

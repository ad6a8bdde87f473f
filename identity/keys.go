package identity

import "encoding/binary"

// State keys owned by this module. Their layout is part of the app hash:
// never change one without a migration.
var (
	prefixIdentity = []byte("id/")    // id/<id> -> Identity
	prefixKey      = []byte("key/")   // key/<address> -> KeyEntry (rotated keys only: a first key's address is its identity's id)
	prefixNonce    = []byte("nonce/") // nonce/<id> -> uint64 big-endian
	prefixKind     = []byte("kind/")  // kind/<kind>/<id> -> "" (all kinds but patients)
	prefixMembers  = []byte("org/")   // org/<org id>/<member id> -> "" (practitioners and devices of an organisation)
	prefixLicence  = []byte("lic/")   // lic/<LicenceKey>/<practitioner id> -> "" (≤ MaxPerLicence; see licence.go)
	prefixStatus   = []byte("idsl/")  // idsl/<LicenceKey>/<org id>/<start date> -> Period (status.go)
)

func identityKey(id string) []byte { return append(append([]byte{}, prefixIdentity...), id...) }
func keyKey(addr string) []byte    { return append(append([]byte{}, prefixKey...), addr...) }
func nonceKey(id string) []byte    { return append(append([]byte{}, prefixNonce...), id...) }
func kindKey(kind, id string) []byte {
	return append(append(append(append([]byte{}, prefixKind...), kind...), '/'), id...)
}
func kindPrefix(kind string) []byte {
	return append(append(append([]byte{}, prefixKind...), kind...), '/')
}
func memberKey(org, id string) []byte {
	return append(append(append(append([]byte{}, prefixMembers...), org...), '/'), id...)
}
func memberPrefix(org string) []byte {
	return append(append(append([]byte{}, prefixMembers...), org...), '/')
}

func licenceKey(lk, id string) []byte {
	return append(append(append(append([]byte{}, prefixLicence...), lk...), '/'), id...)
}
func licencePrefix(lk string) []byte {
	return append(append(append([]byte{}, prefixLicence...), lk...), '/')
}

func encodeUint(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

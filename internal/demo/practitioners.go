package demo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/primum-health/primum/identity"
)

type practitioner struct{ name, org, licence, profession, specialty string }

// practitioners are credentialed by their organisations.
var practitioners = []practitioner{
	{"Dr Amara Okafor", "St Luke's Hospital", "MD-100231", "doctor", "cardiology"},
	{"Nurse Jonas Berg", "St Luke's Hospital", "RN-554120", "nurse", "intensive care"},
	{"Dr Lena Fischer", "Riverside General Hospital", "MD-208877", "doctor", "oncology"},
	{"Pharmacist Ravi Patel", "Central Pharmacy", "PH-31337", "pharmacist", "community pharmacy"},
}

// credentialPractitioners registers each practitioner's key with their
// organisation, for three years, unless the key is registered already.
func credentialPractitioners(ctx context.Context, env *Env) error {
	validUntil := time.Now().AddDate(3, 0, 0).UTC().Truncate(24 * time.Hour).Format(time.RFC3339)
	for _, p := range practitioners {
		key, err := env.Add(Member{Name: p.name, Kind: "practitioner", Organisation: env.ID(p.org),
			Profession: p.profession, Specialty: p.specialty, Licence: p.licence})
		if err != nil {
			return err
		}
		done, err := env.registered(ctx, key)
		if err == nil && !done {
			var org ed25519.PrivateKey
			if org, err = env.Key(p.org); err == nil {
				_, err = env.Client.RegisterPractitioner(ctx, org, key, identity.RegisterPractitioner{
					Name: p.name, Licence: p.licence, Profession: p.profession, Specialty: p.specialty, ValidUntil: validUntil}, true)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

package app

import (
	"encoding/json"
	"fmt"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
)

// Genesis is the app_state of the CometBFT genesis document: the founding
// members of the consortium.
type Genesis struct {
	Members []governance.NewMember `json:"members"`
	// PatientRegistration is "voucher" when a patient registers only with
	// a voucher a member issued (identity/vouchers.go), "open" (or absent:
	// consortia from before vouchers) when any key may.
	PatientRegistration string `json:"patient_registration,omitempty"`
}

// Validate returns field-level errors.
func (g *Genesis) Validate() error {
	if len(g.Members) == 0 {
		return fmt.Errorf("genesis: members: at least one founding member is required")
	}
	switch g.PatientRegistration {
	case "", identity.PolicyOpen, identity.PolicyVoucher:
	default:
		return fmt.Errorf("genesis: patient_registration must be %q or %q", identity.PolicyVoucher, identity.PolicyOpen)
	}
	validators := 0
	seen := map[string]bool{}
	seenValidator := map[string]bool{}
	for i, m := range g.Members {
		if m.Name == "" {
			return fmt.Errorf("genesis: members[%d].name is empty", i)
		}
		if _, err := identity.ParseNewKey(m.Key); err != nil {
			return fmt.Errorf("genesis: members[%d].key: %v", i, err)
		}
		if seen[m.Key] {
			return fmt.Errorf("genesis: members[%d].key is used twice", i)
		}
		seen[m.Key] = true
		if m.Power < 0 || m.Power > governance.MaxPower || (m.Power > 0 && m.ValidatorKey == "") {
			return fmt.Errorf("genesis: members[%d].power must be 0..%d and needs validator_key", i, governance.MaxPower)
		}
		if m.ValidatorKey != "" {
			if _, err := identity.ParseNewKey(m.ValidatorKey); err != nil {
				return fmt.Errorf("genesis: members[%d].validator_key: %v", i, err)
			}
			if seenValidator[m.ValidatorKey] {
				return fmt.Errorf("genesis: members[%d].validator_key is used twice", i)
			}
			seenValidator[m.ValidatorKey] = true
		}
		if m.Power > 0 {
			validators++
		}
	}
	if validators == 0 {
		return fmt.Errorf("genesis: no member has validator power")
	}
	return nil
}

// ParseGenesis decodes and validates app_state.
func ParseGenesis(b []byte) (*Genesis, error) {
	var g Genesis
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("genesis: cannot decode app_state: %w", err)
	}
	return &g, g.Validate()
}

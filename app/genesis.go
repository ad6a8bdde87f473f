package app

import (
	"encoding/json"
	"fmt"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// Genesis is the app_state of the CometBFT genesis document: the founding
// members of the consortium, and each module's section (ledger.Genesis).
type Genesis struct {
	Members []governance.NewMember `json:"members"`
	// Modules holds the sections of modules that declare one, by module
	// name; a module left out starts with its default section.
	Modules map[string]json.RawMessage `json:"modules,omitempty"`
	// PatientRegistration is the identity section's patient_registration,
	// as documents from before module sections set it. Read only; a
	// document may not set it and the identity section both.
	PatientRegistration string `json:"patient_registration,omitempty"`
}

// NewGenesis is the document of a new consortium of members: every
// module's section written out, so that an operator sees each setting,
// and patients register with a voucher from a member (no free Sybils).
func NewGenesis(members ...governance.NewMember) *Genesis {
	g := &Genesis{Members: members, Modules: map[string]json.RawMessage{}}
	for _, m := range modules.All() {
		if m.Genesis == nil {
			continue
		}
		var v any = m.Genesis.Default()
		if m.Name == "identity" {
			v = identity.GenesisState{PatientRegistration: identity.PolicyVoucher}
		}
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // a module's default section is a plain struct
		}
		g.Modules[m.Name] = b
	}
	return g
}

// Section is a module's section of the document: as written, or the
// module's default. The legacy top-level patient_registration is the
// identity section's.
func (g *Genesis) Section(m ledger.Module) ([]byte, error) {
	if raw, ok := g.Modules[m.Name]; ok {
		return raw, nil
	}
	var v any = m.Genesis.Default()
	if m.Name == "identity" && g.PatientRegistration != "" {
		v = identity.GenesisState{PatientRegistration: g.PatientRegistration}
	}
	return json.Marshal(v)
}

// Validate returns field-level errors.
func (g *Genesis) Validate() error {
	if len(g.Members) == 0 {
		return fmt.Errorf("genesis: members: at least one founding member is required")
	}
	if _, both := g.Modules["identity"]; both && g.PatientRegistration != "" {
		return fmt.Errorf("genesis: patient_registration is set twice: keep modules.identity.patient_registration only")
	}
	declared := map[string]bool{}
	for _, m := range modules.All() {
		if m.Genesis == nil {
			continue
		}
		declared[m.Name] = true
		raw, err := g.Section(m)
		if err != nil {
			return err
		}
		if err := m.Genesis.Validate(raw); err != nil {
			return fmt.Errorf("genesis: modules.%w", err)
		}
	}
	for name := range g.Modules {
		if !declared[name] {
			return fmt.Errorf("genesis: modules.%s: no module of that name has a genesis section", name)
		}
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

// initModules writes every module's section into the first block's state,
// in the modules' order. The document was validated (ParseGenesis).
func initModules(w ledger.Writer, g *Genesis) error {
	for _, m := range modules.All() {
		if m.Genesis == nil {
			continue
		}
		raw, err := g.Section(m)
		if err == nil {
			err = m.Genesis.Init(w, raw)
		}
		if err != nil {
			return fmt.Errorf("genesis: modules.%s: %w", m.Name, err)
		}
	}
	return nil
}

// ExportModules reads every module's section back from state: the
// "modules" of a genesis document that starts a chain with the same
// settings.
func ExportModules(r ledger.Reader) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for _, m := range modules.All() {
		if m.Genesis == nil {
			continue
		}
		v, err := m.Genesis.Export(r)
		if err != nil {
			return nil, err
		}
		if out[m.Name], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

package identity

import (
	"fmt"

	"github.com/primum-health/primum/ledger"
)

// GenesisState is identity's section of the genesis document.
type GenesisState struct {
	// PatientRegistration is "voucher" when a patient registers only with
	// a voucher a member issued (vouchers.go), "open" when any key may.
	PatientRegistration string `json:"patient_registration"`
}

func decodeGenesis(raw []byte) (*GenesisState, error) {
	var g GenesisState
	if err := ledger.DecodeSection(raw, &g); err != nil {
		return nil, fmt.Errorf("identity: %v", err)
	}
	if g.PatientRegistration != PolicyOpen && g.PatientRegistration != PolicyVoucher {
		return nil, fmt.Errorf("identity.patient_registration must be %q or %q", PolicyVoucher, PolicyOpen)
	}
	return &g, nil
}

// genesis declares the section (ledger.Genesis). A document without it
// is from before vouchers: registration is open, as it was then (primum
// init and the demo write "voucher").
func genesis() *ledger.Genesis {
	return &ledger.Genesis{
		Default: func() any { return GenesisState{PatientRegistration: PolicyOpen} },
		Validate: func(raw []byte) error {
			_, err := decodeGenesis(raw)
			return err
		},
		Init: func(w ledger.Writer, raw []byte) error {
			g, err := decodeGenesis(raw)
			if err == nil && g.PatientRegistration == PolicyVoucher {
				w.Set(keyPolicy, []byte(PolicyVoucher))
			}
			return err
		},
		Export: func(r ledger.Reader) (any, error) {
			p, err := Policy(r)
			return GenesisState{PatientRegistration: p}, err
		},
	}
}

package prove

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/primum-health/primum/consent"
)

// Consents proves a patient's consents, as the node listed them (listed),
// at one header: each listed consent must be in the state exactly as
// listed. A consent that changed in a block between the listing and the
// proofs is not proven: Consents lists them again, once, and returns the
// list it proved. The list itself is the node's: a consent it leaves out
// is not detected.
func (p *Prover) Consents(ctx context.Context, patient string, listed []*consent.Consent) ([]*consent.Consent, []*Proven, error) {
	proven, err := p.consents(ctx, listed)
	if errors.Is(err, ErrNotProven) {
		if listed, err = p.c.Consents(ctx, patient); err == nil {
			proven, err = p.consents(ctx, listed)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return listed, proven, nil
}

// consents proves each listed consent's entry at one header, and that the
// node listed it as the state holds it.
func (p *Prover) consents(ctx context.Context, cs []*consent.Consent) ([]*Proven, error) {
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = "con/" + c.ID
	}
	got, err := p.GetAll(ctx, keys...)
	if err != nil {
		return nil, err
	}
	for i, c := range cs {
		var held consent.Consent
		if !got[i].Exists || json.Unmarshal(got[i].Value, &held) != nil {
			return nil, fmt.Errorf("%w: consent %s is listed but not in the state", ErrNotProven, c.ID)
		}
		listed, _ := json.Marshal(c)
		proven, _ := json.Marshal(&held)
		if !bytes.Equal(listed, proven) {
			return nil, fmt.Errorf("%w: the node lists consent %s as %s, the state holds %s", ErrNotProven, c.ID, listed, proven)
		}
	}
	return got, nil
}

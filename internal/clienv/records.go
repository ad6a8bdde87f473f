package clienv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/fhir"
	"github.com/primum-health/primum/records"
)

// ImportFHIR stores the FHIR R4 resource or Bundle in file at the node, as
// the custodian token names (--token, or else PRIMUM_TOKEN), for patient.
func (e *Env) ImportFHIR(ctx context.Context, token, patient, file string) (*client.FHIRImport, error) {
	token = APIToken(token)
	if token == "" || patient == "" {
		return nil, fmt.Errorf("--token (or PRIMUM_TOKEN) and --patient are required")
	}
	doc, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return e.Client().ImportFHIR(ctx, token, patient, doc)
}

// Fetch fetches record id from its custodian with a request signed by
// from (client.FetchRecord), and writes its content to the file out when
// one is given. A refusal logged on the ledger names its access entry.
func (e *Env) Fetch(ctx context.Context, from, id, purpose, emergency, out string) (*client.Fetched, error) {
	key, err := e.FromKey(ctx, from)
	if err != nil {
		return nil, err
	}
	f, err := e.Client().FetchRecord(ctx, key, id, purpose, emergency)
	if err != nil {
		if f != nil && f.Access != nil {
			return nil, fmt.Errorf("%w (access entry %s)", err, f.Access.ID)
		}
		return nil, err
	}
	if out != "" {
		if err := os.WriteFile(out, f.Content, 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Export is one FHIR Bundle of everything about the patient of from (GDPR
// Art. 15/20): every pseudonym's data, each read as itself — those the key
// file lists or, with search, every one (FindPseudonyms) — and how many
// pseudonyms it holds.
func (e *Env) Export(ctx context.Context, from string, search bool) (fhir.Object, int, error) {
	ps, err := e.FindPseudonyms(ctx, from, search)
	if err != nil {
		return nil, 0, err
	}
	bundle, err := e.Client().ExportEach(ctx, ps)
	return bundle, len(ps), err
}

// Erase erases the records of the patient of from (GDPR Art. 17) under
// every pseudonym, found by asking about every organisation: a key file
// may list none, and an erasure must not miss one. progress hears how many
// records are not reached yet after each transaction (client.EraseEach).
func (e *Env) Erase(ctx context.Context, from string, progress func(left int)) (*client.Erasure, error) {
	ps, err := e.FindPseudonyms(ctx, from, true)
	if err != nil {
		return nil, err
	}
	return e.Client().EraseEach(ctx, ps, progress)
}

// Retention is the retention policy the --hold flags give (each
// CATEGORY:BASIS:YEARS), or with clear none. Neither is refused, since
// without a hold the policy would be removed by accident (the read is
// 'retention-policy'), and so are both.
func Retention(holds []string, clear bool) (records.SetRetention, error) {
	var body records.SetRetention
	switch {
	case len(holds) == 0 && !clear:
		return body, fmt.Errorf("give the policy with --hold CATEGORY:BASIS:YEARS (repeatable), or --clear to remove it; to read it: primum records retention-policy ORG_ID")
	case len(holds) > 0 && clear:
		return body, fmt.Errorf("--clear removes every hold: give it without --hold")
	}
	for _, h := range holds {
		hold, err := records.ParseHold(h)
		if err != nil {
			return body, fmt.Errorf("--hold %w", err)
		}
		body.Holds = append(body.Holds, hold)
	}
	return body, nil
}

// Consents lists a patient's consents: PATIENT's (args) read as from, or
// with from alone every pseudonym's of the patient of from, each read as
// itself. With a trust root, each pseudonym's are proven against a header
// the validators signed (prove.Prover.Consents), and the proofs returned.
func (e *Env) Consents(ctx context.Context, args []string, from string, trust *Trust) ([]*consent.Consent, []*prove.Proven, error) {
	c, ps := e.Client(), []client.Pseudonym(nil)
	if len(args) == 1 || from == "" {
		p, err := e.PatientOf(ctx, args, from)
		if err != nil {
			return nil, nil, err
		}
		if c, err = e.ReadClient(ctx, from); err != nil {
			return nil, nil, err
		}
		ps = []client.Pseudonym{{ID: p}}
	} else {
		var err error
		if ps, err = e.FindPseudonyms(ctx, from, false); err != nil {
			return nil, nil, err
		}
	}
	var proven []*prove.Proven
	var check func(*client.Client, string, []*consent.Consent) ([]*consent.Consent, error)
	if trust != nil {
		check = func(c *client.Client, id string, cs []*consent.Consent) ([]*consent.Consent, error) {
			prover, err := e.Prover(ctx, *trust, c)
			if err != nil {
				return nil, err
			}
			cs, p, err := prover.Consents(ctx, id, cs)
			proven = append(proven, p...)
			return cs, err
		}
	}
	cs, err := c.ConsentsEach(ctx, ps, check)
	return cs, proven, err
}

// WriteJSON writes v as indented JSON to the file path (readable by its
// owner only), or without a path to w.
func WriteJSON(w io.Writer, path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" {
		_, err = w.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

package clienv

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/internal/autocli"
)

// Read asks a generated verb's query (autocli.Env): without an id, a
// patient's query is read as every pseudonym of the patient of --from,
// each read signed by its own key, a list answer merged.
func (e *Env) Read(cmd *cobra.Command, r autocli.Read) ([]byte, url.Values, error) {
	if r.Mine && r.Token == "" {
		return e.readMine(cmd, r.From, func(id string) string { return r.Path([]string{id}) }, r.Params)
	}
	c, err := e.ReadClient(cmd.Context(), r.From)
	if err != nil {
		return nil, nil, err
	}
	args := slices.Clone(r.Args)
	for i, name := range r.Query.PathParams() {
		if i < len(args) && slices.Contains(r.Query.Orgs, name) {
			if args[i], err = e.Client().Organisation(cmd.Context(), args[i]); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", strings.ToUpper(name), err)
			}
		}
	}
	if r.Token != "" {
		c = c.WithToken(r.Token)
	}
	if r.Mine { // the token's own patient
		p, err := e.PatientOf(cmd.Context(), nil, r.From)
		if err != nil {
			return nil, nil, err
		}
		args = []string{p}
	}
	return c.QueryPage(cmd.Context(), r.Path(args), r.Params)
}

package autocli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// QueryVerb reads one query and prints its answer: a table when the
// query declares columns and the output is text, else its JSON.
func QueryVerb(env Env, noun string, q ledger.Query) *cobra.Command {
	verb := q.Name[strings.LastIndexByte(q.Name, ' ')+1:] // a grouped query's second word
	var names []string
	for _, m := range q.PathParams() {
		names = append(names, strings.ToUpper(m))
	}
	values := map[string]*string{}
	var token, from string
	// A patient's query ({id}, the patient) asked with --from alone is
	// about the patient of --from.
	mine := q.Subject == nil && slices.Equal(q.PathParams(), []string{"id"}) &&
		(q.Read == ledger.PatientSelf || q.Read == ledger.PatientCircle || q.Read == ledger.PatientAudit)
	need, use := cobra.ExactArgs(len(names)), strings.TrimSpace(verb+" "+strings.Join(names, " "))
	shows := "its JSON answer"
	if len(q.Columns) > 0 {
		shows = "its answer as a table (-o json: as JSON)"
	}
	long := fmt.Sprintf("%s\n\nReads GET %s from --node and prints %s. Who may read it: %s.", q.Doc, q.Path, shows, q.Read.Describe())
	if mine {
		need, use = cobra.MaximumNArgs(1), verb+" [ID]"
		long += "\nWithout ID: the patient of --from."
	}
	cmd := &cobra.Command{
		Use:         use,
		Annotations: map[string]string{"query": q.Path},
		Short:       strings.TrimSuffix(q.Doc, "."),
		Long:        long,
		Args:        need,
		RunE: func(cmd *cobra.Command, args []string) error {
			params := url.Values{}
			for name, v := range values {
				if *v != "" {
					params.Set(name, *v)
				}
			}
			out, next, err := env.Read(cmd, Read{Query: q, Args: args, Params: params, From: from, Token: token, Mine: mine && len(args) == 0})
			if err != nil {
				return err
			}
			// A table of a list's items, or of one answer's row.
			var items []map[string]any
			if json.Unmarshal(out, &items) != nil {
				var one map[string]any
				if json.Unmarshal(out, &one) == nil && one != nil {
					items = []map[string]any{one}
				}
			}
			if env.Text() && len(q.Columns) > 0 && items != nil {
				Table(cmd.OutOrStdout(), q.Columns, items, env.Names(cmd.Context()))
			} else {
				var indented bytes.Buffer
				if json.Indent(&indented, out, "", "  ") != nil {
					indented.Reset()
					indented.Write(out)
				}
				fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(indented.String()))
			}
			if more := NextFlags(params, next); more != "" {
				// On stderr: what is printed above stays one JSON document.
				fmt.Fprintf(cmd.ErrOrStderr(), "more: for the next page, ask again with%s\n", more)
			}
			return nil
		},
	}
	example := strings.TrimSpace("  primum " + noun + " " + cmd.Use)
	for _, p := range q.Params {
		values[p.Name] = cmd.Flags().String(p.Name, "", p.Doc)
		if p.Required {
			_ = cmd.MarkFlagRequired(p.Name)
			example += " --" + p.Name + " " + strings.ToUpper(p.Name)
		}
	}
	if q.Read != ledger.Public {
		example += " --from KEY"
	}
	cmd.Example = "  " + example + "\n  " + example + " -o json"
	// Public reads too: what a public answer holds can depend on who asks
	// (a patient sees their own pseudonym in identity list), and a noun's
	// --from for its transactions must not be taken silently and ignored.
	cmd.Flags().StringVar(&from, "from", "", "your key, which signs the request (RFC 9421): a name in HOME/keys or a key file path")
	cmd.Flags().StringVar(&token, "token", "", "or: API token of a key the node holds (default: env PRIMUM_TOKEN)")
	cmd.MarkFlagsMutuallyExclusive("from", "token")
	return cmd
}

// Declared is a module's query, by the module's and the query's name.
func Declared(module, name string) ledger.Query {
	for _, m := range modules.All() {
		for _, q := range m.Queries {
			if m.Name == module && q.Name == name {
				return q
			}
		}
	}
	panic("no query " + module + " " + name)
}

// Alias is 'primum MODULE QUERY' under another command, named old: a read
// that is now a module verb, kept under its old spelling for one release.
func Alias(env Env, old, module, query string) *cobra.Command {
	q := Declared(module, query)
	verb := QueryVerb(env, module, q)
	verb.Use = old + strings.TrimPrefix(verb.Use, verb.Name())
	verb.Short = fmt.Sprintf("The old spelling of 'primum %s %s', for one release", module, query)
	return verb
}

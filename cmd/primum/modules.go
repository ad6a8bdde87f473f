package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// One grammar, noun first: every module is a command (primum identity,
// primum supply, ...) and each transaction type and query it declares is a
// verb under it, generated from the declarations (package modules). A
// verb written by hand (with flags of its own) takes the place of the
// generated one; handWritten maps the transaction types whose hand-written
// verb has another name.
var handWritten = map[string]string{
	"records.share_case":               "share",
	"records.case_opinion":             "opinion",
	"records.set_retention":            "retention",
	"identity.set_practitioner_status": "practitioner-status",
	"governance.propose":               "propose-add-member",
}

// addModuleCommands adds each module's noun to root (or completes the
// hand-written one) with a verb for every declared transaction and query.
func addModuleCommands(g *globals, root *cobra.Command) {
	for _, m := range modules.All() {
		noun := subcommand(root, m.Name)
		if noun == nil {
			noun = &cobra.Command{Use: m.Name, Short: m.Doc}
			root.AddCommand(noun)
		}
		for _, r := range m.Txs {
			verb := verbOf(r.Type)
			if subcommand(noun, verb) != nil || (handWritten[r.Type] != "" && subcommand(noun, handWritten[r.Type]) != nil) {
				continue
			}
			noun.AddCommand(txVerb(g, noun, verb, r))
		}
		for _, q := range m.Queries {
			// A query's name clashing with a verb written by hand would
			// hide the query (TestEveryQueryHasAVerb).
			if subcommand(noun, q.Name) == nil {
				noun.AddCommand(queryVerb(g, noun.Name(), q))
			}
		}
	}
}

func subcommand(parent *cobra.Command, name string) *cobra.Command {
	for _, c := range parent.Commands() {
		if c.Name() == name || c.HasAlias(name) {
			return c
		}
	}
	return nil
}

// verbOf is a transaction type's verb: "records.share_case" → "share-case".
func verbOf(typ string) string {
	_, verb, _ := strings.Cut(typ, ".")
	return strings.ReplaceAll(verb, "_", "-")
}

// txVerb signs and submits one transaction type with a JSON body.
func txVerb(g *globals, noun *cobra.Command, verb string, r ledger.Route) *cobra.Command {
	empty := reflect.TypeOf(r.Handle.Body()).Elem().NumField() == 0
	body := ""
	cmd := &cobra.Command{
		Use:   verb,
		Short: strings.TrimSuffix(r.Doc, "."),
		Long: fmt.Sprintf("%s\n\nSends a %s transaction, signed with --from, whose body is --body (JSON, or @FILE).\nWho may send it: %s.",
			r.Doc, r.Type, strings.Join(r.Allow, ", ")),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw := []byte(body)
			if name, ok := strings.CutPrefix(body, "@"); ok {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				raw = b
			}
			if body == "" {
				if !empty {
					return fmt.Errorf("--body is required: the JSON body of %s, e.g. --body '%s'", r.Type, r.Example)
				}
				raw = []byte("{}")
			}
			if !json.Valid(raw) {
				return fmt.Errorf("--body is not valid JSON")
			}
			from, _ := cmd.Flags().GetString("from")
			wait, _ := cmd.Flags().GetBool("wait")
			return g.send(cmd, &txFlags{from: from, wait: wait}, r.Type, json.RawMessage(bytes.TrimSpace(raw)))
		},
	}
	if r.Example != "" {
		cmd.Example = fmt.Sprintf("  primum %s %s --from KEY --body '%s'", noun.Name(), verb, r.Example)
	}
	cmd.Flags().StringVar(&body, "body", "", "the transaction's body: JSON, or @FILE")
	if noun.PersistentFlags().Lookup("from") == nil {
		cmd.Flags().String("from", "", "signing key: a name in HOME/keys or a key file path")
		cmd.Flags().Bool("wait", true, "wait until committed")
	}
	return cmd
}

// queryVerb reads one query and prints its JSON answer.
func queryVerb(g *globals, noun string, q ledger.Query) *cobra.Command {
	var names []string
	for _, m := range q.PathParams() {
		names = append(names, strings.ToUpper(m))
	}
	values := map[string]*string{}
	var token, from string
	cmd := &cobra.Command{
		Use:         strings.TrimSpace(q.Name + " " + strings.Join(names, " ")),
		Annotations: map[string]string{"query": q.Path},
		Short:       strings.TrimSuffix(q.Doc, "."),
		Long:        fmt.Sprintf("%s\n\nReads GET %s from --node and prints its JSON answer. Who may read it: %s.", q.Doc, q.Path, q.Read.Describe()),
		Args:        cobra.ExactArgs(len(names)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := q.Path
			for i, name := range q.PathParams() {
				path = strings.Replace(path, "{"+name+"}", url.PathEscape(args[i]), 1)
			}
			params := url.Values{}
			for name, v := range values {
				if *v != "" {
					params.Set(name, *v)
				}
			}
			c, err := g.readClient(from)
			if err != nil {
				return err
			}
			if token != "" {
				c = c.WithToken(token)
			}
			out, next, err := c.QueryPage(cmd.Context(), path, params)
			if err != nil {
				return err
			}
			var indented bytes.Buffer
			if json.Indent(&indented, out, "", "  ") != nil {
				indented.Reset()
				indented.Write(out)
			}
			fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(indented.String()))
			if more := nextFlags(params, next); more != "" {
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

// nextFlags are the flags that ask for the page a paged answer named next
// (the parameters that differ from those sent), "" when it was the last.
func nextFlags(sent, next url.Values) string {
	var names []string
	for name := range next {
		if next.Get(name) != sent.Get(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out := ""
	for _, name := range names {
		out += fmt.Sprintf(" --%s %q", name, next.Get(name))
	}
	return out
}

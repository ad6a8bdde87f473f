package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/modules"
)

// One grammar, noun first: every module is a command (primum identity,
// primum supply, ...) and each transaction type and query it declares is a
// verb under it, generated from the declarations (package modules). A
// verb written by hand (with flags of its own) takes the place of the
// generated one. handWritten names the verbs whose name is not their
// type's: a hand-written verb's, or an older spelling the generated verb
// answers to as well.
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
			v := txVerb(g, noun, verb, r)
			if old := handWritten[r.Type]; old != "" {
				v.Aliases = append(v.Aliases, old)
			}
			noun.AddCommand(v)
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

// addLegacyTx keeps 'primum tx VERB', the spelling before nouns, for the
// generated identity and governance verbs too (for one release).
func addLegacyTx(g *globals, tx *cobra.Command) {
	for _, m := range modules.All() {
		if m.Name != "identity" && m.Name != "governance" {
			continue
		}
		for _, r := range m.Txs {
			verb := verbOf(r.Type)
			if old := handWritten[r.Type]; old != "" {
				verb = old
			}
			if subcommand(tx, verb) == nil && subcommand(tx, verbOf(r.Type)) == nil {
				tx.AddCommand(txVerb(g, tx, verb, r))
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

// txVerb signs and submits one transaction type. Its body is built from
// the route's positional arguments (Route.Args) and a flag per field of the
// body that a command line can hold (text, numbers, yes/no, lists of text),
// over --body (JSON, or @FILE) for whatever else the body holds.
func txVerb(g *globals, noun *cobra.Command, verb string, r ledger.Route) *cobra.Command {
	fields := bodyFields(reflect.TypeOf(r.Handle.Body()).Elem())
	byName := map[string]*bodyField{}
	for i := range fields {
		byName[fields[i].name] = &fields[i]
	}
	var positional []*bodyField
	use, variadic := verb, false
	for _, a := range r.Args {
		name, rest := strings.CutSuffix(a, "...")
		f := byName[name]
		if f == nil {
			panic(fmt.Sprintf("%s: Args names %q, which is not a field of its body", r.Type, name))
		}
		f.positional, variadic = true, rest
		positional = append(positional, f)
		if arg := strings.ToUpper(strings.ReplaceAll(name, "_", "-")); rest {
			use += " [" + arg + "...]" // none or more
		} else {
			use += " " + arg
		}
	}
	body := ""
	need := cobra.ExactArgs(len(positional))
	if variadic { // the last takes none or more
		need = cobra.MinimumNArgs(len(positional) - 1)
	}
	args := func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && body != "" {
			return nil // all in --body
		}
		return need(cmd, args)
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: strings.TrimSuffix(r.Doc, "."),
		Long: fmt.Sprintf("%s\n\nSends a transaction of type %s, signed with --from. Its body is built from the arguments and flags,\nover --body (JSON, or @FILE) for whatever they do not set. Who may send it: %s.",
			r.Doc, r.Type, strings.Join(r.Allow, ", ")),
		Args: args,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := []byte(body)
			if name, ok := strings.CutPrefix(body, "@"); ok {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				raw = b
			}
			values := map[string]any{}
			if len(bytes.TrimSpace(raw)) > 0 {
				// One JSON object, nothing after it: what is sent is what
				// was typed.
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				if err := dec.Decode(&values); err != nil || values == nil || dec.More() {
					return fmt.Errorf("--body must be one JSON object (e.g. '%s')", r.Example)
				}
			}
			for i, f := range positional {
				var words []string
				if i < len(args) {
					words = args[i : i+1]
				}
				if i == len(positional)-1 && variadic {
					words = args[min(i, len(args)):]
				}
				if len(words) == 0 {
					continue
				}
				v, err := f.parse(words)
				if err != nil {
					return fmt.Errorf("%s: %v", strings.ToUpper(f.flag), err)
				}
				values[f.name] = v
			}
			for _, f := range fields {
				if f.positional || !cmd.Flags().Changed(f.flag) {
					continue
				}
				var words []string
				if f.kind == reflect.Slice {
					words, _ = cmd.Flags().GetStringArray(f.flag)
				} else {
					words = []string{cmd.Flags().Lookup(f.flag).Value.String()}
				}
				v, err := f.parse(words)
				if err != nil {
					return fmt.Errorf("--%s: %v", f.flag, err)
				}
				values[f.name] = v
			}
			from, _ := cmd.Flags().GetString("from")
			wait, _ := cmd.Flags().GetBool("wait")
			key, err := g.fromKey(cmd.Context(), from)
			if err != nil {
				return err
			}
			newKey, err := g.holder(cmd, r.Holder, key, values)
			if err != nil {
				return err
			}
			if r.Type == identity.TypeRotateKey {
				// A patient's pseudonyms are derived from their key: they
				// are rotated with it, first (the old key still derives
				// any left), or the retired key would keep signing as them.
				if err := g.rotatePseudonyms(cmd, r, from, key, newKey); err != nil {
					return err
				}
			}
			if err := g.sendAs(cmd, key, wait, r.Type, values); err != nil {
				return err
			}
			if newKey != nil && r.Holder.As != "" { // a registration: who the new key is now
				fmt.Fprintf(cmd.ErrOrStderr(), "the new %s's identity: %s\n", r.Holder.As, ledger.Address(newKey.Public().(ed25519.PublicKey)))
			}
			return nil
		},
	}
	cmd.Example = txExample(noun.Name(), verb, r.Example, fields, positional, r.Holder)
	for _, f := range fields {
		if f.positional {
			continue
		}
		switch f.kind {
		case reflect.Bool:
			cmd.Flags().Bool(f.flag, false, f.doc)
		case reflect.Slice:
			cmd.Flags().StringArray(f.flag, nil, f.doc+" (repeatable)")
		default:
			cmd.Flags().String(f.flag, "", f.doc)
		}
	}
	cmd.Flags().StringVar(&body, "body", "", "the body as JSON, or @FILE, for what the flags do not set")
	if h := r.Holder; h != nil {
		key, proof := flagOf(h.Key), flagOf(h.Proof)
		cmd.Flags().String(h.Flag, "", "the new key (a name in HOME/keys or a key file): its proof is signed here")
		cmd.MarkFlagsMutuallyExclusive(h.Flag, key)
		cmd.MarkFlagsMutuallyExclusive(h.Flag, proof)
		cmd.Long += fmt.Sprintf("\n\nThe new key's holder agrees to it: --%s opens the key here and signs its proof", h.Flag)
		if h.As != "" {
			cmd.Long += fmt.Sprintf("; where the key is on\nthe holder's own machine, give --%s and --%s, which they print with\n  primum keys prove-possession THEIR_KEY --as %s --for YOUR_ID", key, proof, h.As)
		}
		cmd.Long += "."
	}
	if noun.PersistentFlags().Lookup("from") == nil {
		cmd.Flags().String("from", "", "signing key: a name in HOME/keys or a key file path")
		cmd.Flags().Bool("wait", true, "wait until committed")
	}
	return cmd
}

// holder fills in the new key a body brings and its holder's proof (see
// ledger.KeyHolder), from the key --FLAG opens; a key given without its
// proof is refused here, saying how to get one.
func (g *globals) holder(cmd *cobra.Command, h *ledger.KeyHolder, signer ed25519.PrivateKey, values map[string]any) (ed25519.PrivateKey, error) {
	if h == nil {
		return nil, nil
	}
	name, _ := cmd.Flags().GetString(h.Flag)
	if name == "" {
		if values[h.Key] != nil && values[h.Proof] == nil {
			how := "give the key itself with --" + h.Flag
			if h.As != "" {
				how = fmt.Sprintf("they print it with\n  primum keys prove-possession THEIR_KEY --as %s --for YOUR_ID\nor %s", h.As, how)
			}
			return nil, fmt.Errorf("--%s needs --%s, the key holder's proof: %s", flagOf(h.Key), flagOf(h.Proof), how)
		}
		return nil, nil
	}
	key, err := g.signingKey(name)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", h.Flag, err)
	}
	chainID, id, err := g.client().Registrant(cmd.Context(), signer)
	if err != nil {
		return nil, err
	}
	values[h.Key] = hex.EncodeToString(key.Public().(ed25519.PublicKey))
	values[h.Proof] = h.Prove(key, chainID, id)
	return key, nil
}

// rotatePseudonyms rotates each of a patient's pseudonyms to the pseudonym
// key the new key derives for its organisation, before the key itself (the
// old key still derives any left, should one fail), and lists each in the
// new key's file as soon as it is rotated. It asks about every
// organisation, not only those the key file lists (a key imported or
// restored may list none): the old key is being retired, so showing the
// node its derived keys costs nothing, and a pseudonym left behind would
// stay the old key's to sign for. A pseudonym alone (--at) is not rotated:
// it would no longer follow from the patient's key.
func (g *globals) rotatePseudonyms(cmd *cobra.Command, r ledger.Route, from string, key, newKey ed25519.PrivateKey) error {
	if g.at != "" {
		return fmt.Errorf("a pseudonym is rotated with the patient's own key: rotate that (without --at), and every pseudonym follows")
	}
	ctx := cmd.Context()
	info, err := g.client().Self(ctx, key)
	if err != nil || info.Identity == nil || info.Identity.Kind != ledger.KindPatient {
		return err // not a patient's key: nothing derives from it
	}
	if newKey == nil {
		return fmt.Errorf("a patient's key is rotated with --%s (the new key, opened here): the pseudonyms derived from it are rotated with it", r.Holder.Flag)
	}
	if used, err := g.client().Self(ctx, newKey); err != nil {
		return err
	} else if used.Identity != nil {
		return fmt.Errorf("--%s: that key already signs for %s: choose a new key", r.Holder.Flag, used.Identity.ID)
	}
	ps, err := g.findPseudonyms(ctx, from, true)
	if err != nil {
		return err
	}
	chainID, err := g.client().ChainID(ctx)
	if err != nil {
		return err
	}
	newName, _ := cmd.Flags().GetString(r.Holder.Flag)
	who := g.names(ctx)
	for _, p := range ps {
		if p.Custodian == "" {
			continue
		}
		next := identity.PairwiseKey(newKey, chainID, p.Custodian)
		body := map[string]any{r.Holder.Key: hex.EncodeToString(next.Public().(ed25519.PublicKey)), r.Holder.Proof: r.Holder.Prove(next, chainID, p.ID)}
		if _, err := g.client().Send(ctx, p.Key, r.Type, body, true); err != nil {
			return fmt.Errorf("rotating your pseudonym at %s: %w (those before it are rotated and listed in the new key's file: run the same command again to go on)", who.of(p.Custodian), err)
		}
		if err := g.keys().AddPseudonyms(newName, p.Custodian); err != nil {
			return fmt.Errorf("your pseudonym at %s is rotated, but the new key's file does not list it (%w): add it with 'primum identity pseudonyms --from NEW --search'", who.of(p.Custodian), err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "rotated your pseudonym at %s\n", who.of(p.Custodian))
	}
	return nil
}

func flagOf(field string) string { return strings.ReplaceAll(field, "_", "-") }

// txExample writes the route's example body as a command line: its
// positional values, then a flag per field; what no flag holds stays in
// --body.
func txExample(noun, verb, example string, fields []bodyField, positional []*bodyField, h *ledger.KeyHolder) string {
	line := "  primum " + noun + " " + verb
	var values map[string]any
	if json.Unmarshal([]byte(example), &values) != nil {
		return line + " --from KEY"
	}
	if h != nil { // the key opened here: its holder's proof is signed with it
		delete(values, h.Key)
		delete(values, h.Proof)
		line += " --" + h.Flag + " NEW_KEY"
	}
	words := func(v any) []string {
		var out []string
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				out = append(out, fmt.Sprint(e))
			}
		default:
			out = []string{fmt.Sprint(v)}
		}
		for i, w := range out {
			if w == "" || strings.ContainsAny(w, " ()<>'\"&;|$*?!#") {
				out[i] = "'" + strings.ReplaceAll(w, "'", "'\\''") + "'"
			}
		}
		return out
	}
	for _, f := range positional {
		if v, ok := values[f.name]; ok {
			line += " " + strings.Join(words(v), " ")
			delete(values, f.name)
		}
	}
	for _, f := range fields {
		v, ok := values[f.name]
		if !ok || f.positional {
			continue
		}
		for _, w := range words(v) {
			line += " --" + f.flag + " " + w
		}
		delete(values, f.name)
	}
	line += " --from KEY"
	if len(values) > 0 {
		rest, _ := json.Marshal(values)
		line += " --body '" + string(rest) + "'"
	}
	return line
}

// bodyField is a field of a transaction body a command line can set.
type bodyField struct {
	name, flag, doc string // JSON name, flag name, help
	kind            reflect.Kind
	positional      bool
}

// bodyFields are a body's fields of the kinds a command line holds: text,
// integers, yes/no and lists of text. Others (nested objects, lists of
// them) go in --body.
func bodyFields(t reflect.Type) []bodyField {
	var out []bodyField
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || name == "" {
			continue
		}
		k := sf.Type.Kind()
		switch {
		case k == reflect.String, k == reflect.Bool, k >= reflect.Int && k <= reflect.Uint64:
		case k == reflect.Slice && sf.Type.Elem().Kind() == reflect.String:
		default:
			continue
		}
		doc := sf.Tag.Get("doc")
		if doc == "" {
			doc = strings.ReplaceAll(name, "_", " ")
		}
		flag := sf.Tag.Get("flag") // a shorter name than the field's
		if flag == "" {
			flag = flagOf(name)
		}
		out = append(out, bodyField{name: name, flag: flag, doc: doc, kind: k})
	}
	return out
}

// parse turns the words given for a field into its JSON value: a list
// takes them all, text joins them with spaces, a number or yes/no is one
// word.
func (f *bodyField) parse(words []string) (any, error) {
	switch {
	case f.kind == reflect.Slice:
		return words, nil
	case f.kind == reflect.String:
		return strings.Join(words, " "), nil
	case f.kind == reflect.Bool:
		return strconv.ParseBool(words[0])
	case f.kind >= reflect.Uint && f.kind <= reflect.Uint64:
		if _, err := strconv.ParseUint(words[0], 10, 64); err != nil {
			return nil, fmt.Errorf("%q is not a whole number", words[0])
		}
	default:
		if _, err := strconv.ParseInt(words[0], 10, 64); err != nil {
			return nil, fmt.Errorf("%q is not a whole number", words[0])
		}
	}
	return json.Number(words[0]), nil
}

// queryVerb reads one query and prints its JSON answer.
func queryVerb(g *globals, noun string, q ledger.Query) *cobra.Command {
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
	need, use := cobra.ExactArgs(len(names)), strings.TrimSpace(q.Name+" "+strings.Join(names, " "))
	shows := "its JSON answer"
	if len(q.Columns) > 0 {
		shows = "its answer as a table (-o json: as JSON)"
	}
	long := fmt.Sprintf("%s\n\nReads GET %s from --node and prints %s. Who may read it: %s.", q.Doc, q.Path, shows, q.Read.Describe())
	if mine {
		need, use = cobra.MaximumNArgs(1), q.Name+" [ID]"
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
			pathOf := func(args []string) string {
				path := q.Path
				for i, name := range q.PathParams() {
					path = strings.Replace(path, "{"+name+"}", url.PathEscape(args[i]), 1)
				}
				return path
			}
			var out []byte
			var next url.Values
			if mine && len(args) == 0 && token == "" {
				// Without an id: every pseudonym of the patient of --from,
				// each read signed by its own key, a list answer merged.
				var err error
				if out, next, err = g.readMine(cmd, from, func(c *client.Client, id string) ([]byte, url.Values, error) {
					return c.QueryPage(cmd.Context(), pathOf([]string{id}), params)
				}); err != nil {
					return err
				}
			} else {
				c, err := g.readClient(cmd.Context(), from)
				if err != nil {
					return err
				}
				if token != "" {
					c = c.WithToken(token)
				}
				if mine && len(args) == 0 { // the token's own patient
					p, err := g.patientOf(cmd, args, from)
					if err != nil {
						return err
					}
					args = []string{p}
				}
				if out, next, err = c.QueryPage(cmd.Context(), pathOf(args), params); err != nil {
					return err
				}
			}
			var items []map[string]any
			if g.output == "text" && len(q.Columns) > 0 && json.Unmarshal(out, &items) == nil {
				table(cmd.OutOrStdout(), q.Columns, items, g.names(cmd.Context()))
			} else {
				var indented bytes.Buffer
				if json.Indent(&indented, out, "", "  ") != nil {
					indented.Reset()
					indented.Write(out)
				}
				fmt.Fprintln(cmd.OutOrStdout(), strings.TrimSpace(indented.String()))
			}
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

// readMine reads one patient query as each pseudonym of the patient of
// --from (their own key's, and the pairwise ones they registered; only
// the one --at names with --at), each signed by its own key, and merges
// the answers when they are lists. Another answer (a status) is the first
// pseudonym's, and the others are named on stderr.
func (g *globals) readMine(cmd *cobra.Command, from string, read func(c *client.Client, id string) ([]byte, url.Values, error)) ([]byte, url.Values, error) {
	if from == "" {
		return nil, nil, fmt.Errorf("give a patient's ID, or --from (the patient's key)")
	}
	ps, err := g.pseudonyms(cmd.Context(), from)
	if err != nil {
		return nil, nil, err
	}
	var merged []json.RawMessage
	var first []byte
	var next url.Values
	var who names // read when a message needs them
	name := func(id string) string {
		if who == nil {
			who = g.names(cmd.Context())
		}
		return who.of(id)
	}
	for i, p := range ps {
		out, more, err := read(g.client().WithKey(p.Key), p.ID)
		if err != nil {
			return nil, nil, err
		}
		var items []json.RawMessage
		if json.Unmarshal(out, &items) != nil {
			if i > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "also: your pseudonym %s at %s (ask with --at)\n", p.ID, name(p.Custodian))
				continue
			}
			first = out
			continue
		}
		merged = append(merged, items...)
		if len(more) > 0 && len(ps) > 1 {
			fmt.Fprintf(cmd.ErrOrStderr(), "more for your pseudonym at %s: ask with --at %s\n", name(p.Custodian), p.Custodian)
		} else if len(more) > 0 {
			next = more
		}
	}
	if first != nil {
		return first, nil, nil
	}
	if merged == nil {
		merged = []json.RawMessage{}
	}
	out, err := json.Marshal(merged)
	return out, next, err
}

// pseudonyms are the patient of from's identities: the one --at names, or
// their key's own and those at the organisations its key file lists
// (keyring.File.Pseudonyms; search asks about every organisation); a key
// the ledger does not know reads as itself, and the node answers for it.
func (g *globals) pseudonyms(ctx context.Context, from string) ([]client.Pseudonym, error) {
	return g.findPseudonyms(ctx, from, false)
}

func (g *globals) findPseudonyms(ctx context.Context, from string, search bool) ([]client.Pseudonym, error) {
	key, err := g.fromKey(ctx, from)
	if err != nil {
		return nil, err
	}
	self := []client.Pseudonym{{Key: key, ID: ledger.Address(key.Public().(ed25519.PublicKey))}}
	if g.at != "" {
		info, err := g.client().Self(ctx, key)
		if err != nil {
			return nil, err
		}
		if info.Identity == nil {
			return nil, fmt.Errorf("you hold no pseudonym made for %s. If it knows your key's own number (where you first enrolled), sign without --at; to enrol there with a number of its own:\n  primum identity register-patient --voucher CODE --from %s --at %q", g.at, from, g.at)
		}
		self[0].ID, self[0].Custodian = info.Identity.ID, g.atOrg // a rotated key's identity keeps its first id
		return self, nil
	}
	f, err := g.keys().Find(from)
	if err != nil {
		return nil, err
	}
	orgs := f.Pseudonyms
	if search {
		all, err := g.client().Identities(ctx, "organisation")
		if err != nil {
			return nil, err
		}
		orgs = nil
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	ps, err := g.client().Pseudonyms(ctx, key, orgs)
	if err != nil || len(ps) == 0 {
		return self, err
	}
	return ps, nil
}

// declaredQuery is a module's query, by the module's and the query's name.
func declaredQuery(module, name string) ledger.Query {
	for _, m := range modules.All() {
		for _, q := range m.Queries {
			if m.Name == module && q.Name == name {
				return q
			}
		}
	}
	panic("no query " + module + " " + name)
}

// table writes a list answer's items under the query's columns.
func table(w io.Writer, cols []ledger.Column, items []map[string]any, names names) {
	if len(items) == 0 {
		fmt.Fprintln(w, "(none)")
		return
	}
	cells := make([][]string, len(items))
	used := make([]bool, len(cols)) // a column empty on every row is left out
	for r, item := range items {
		cells[r] = make([]string, len(cols))
		for i, c := range cols {
			var v any = item
			for _, part := range strings.Split(c.Field, ".") {
				m, _ := v.(map[string]any)
				v = m[part]
			}
			cell := cellOf(v)
			if list, ok := v.([]any); ok && c.Who { // a list of identities: each by name
				named := make([]string, len(list))
				for j, e := range list {
					named[j] = names.short(cellOf(e))
				}
				cell = strings.Join(named, ",")
			} else if c.Who && cell != "" {
				cell = names.short(cell)
			}
			cells[r][i] = printable(cell)
			used[i] = used[i] || cell != ""
		}
	}
	var shown []int
	for i := range cols {
		if used[i] {
			shown = append(shown, i)
		}
	}
	var buf bytes.Buffer
	defer func() { // without the padding that ends a line
		for _, line := range strings.SplitAfter(buf.String(), "\n") {
			io.WriteString(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n")))
		}
	}()
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	for j, i := range shown {
		fmt.Fprint(tw, cols[i].Head, tab(j, len(shown)))
	}
	for _, row := range cells {
		for j, i := range shown {
			fmt.Fprint(tw, row[i], tab(j, len(shown)))
		}
	}
	tw.Flush()
}

// printable is s with control characters (a terminal's escapes: a
// member's name could otherwise retitle the window or write the
// clipboard of whoever lists proposals) shown as U+FFFD.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) { // Cf: bidi overrides, which reorder what is shown
			return '\uFFFD'
		}
		return r
	}, s)
}

func tab(i, n int) string {
	if i == n-1 {
		return "\n"
	}
	return "\t"
}

// cellOf is a JSON value as a table shows it: a list comma-separated, yes
// or nothing for yes/no, nothing for null.
func cellOf(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "yes"
		}
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = cellOf(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
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

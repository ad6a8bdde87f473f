package autocli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primum-health/primum/ledger"
)

// txVerb signs and submits one transaction type. Its body is built from
// the route's positional arguments (Route.Args) and a flag per field of the
// body that a command line can hold (text, numbers, yes/no, lists of text),
// over --body (JSON, or @FILE) for whatever else the body holds.
func txVerb(env Env, noun *cobra.Command, verb string, r ledger.Route) *cobra.Command {
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
			return env.Send(cmd, r, values)
		},
	}
	path := noun.Name()
	if noun.Annotations["group"] != "" {
		path = noun.Parent().Name() + " " + path
	}
	cmd.Example = txExample(path, verb, r.Example, fields, positional, r.Holder)
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
		key, proof := FlagOf(h.Key), FlagOf(h.Proof)
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

// FlagOf is a body field's flag: "new_key" → "new-key".
func FlagOf(field string) string { return strings.ReplaceAll(field, "_", "-") }

// txExample writes the route's example body as a command line: its
// positional values, then a flag per field; what no flag holds stays in
// --body.
func txExample(noun, verb, example string, fields []bodyField, positional []*bodyField, h *ledger.KeyHolder) string {
	line := "  primum " + noun + " " + verb
	var values map[string]any
	dec := json.NewDecoder(strings.NewReader(example))
	dec.UseNumber() // 51507400, not 5.15074e+07
	if dec.Decode(&values) != nil {
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
			flag = FlagOf(name)
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

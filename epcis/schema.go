package epcis

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/primum-health/primum/ledger"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// pointer writes a JSON pointer (RFC 6901), each part cut to 64 bytes.
func pointer(at []string) string {
	var b strings.Builder
	for _, p := range at {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(ledger.Echo(p)))
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// describe says why the schema refused, without echoing the document's
// values: types, the names the standard requires, the standard values.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type, *kind.Required, *kind.Enum, *kind.Const, *kind.MinItems, *kind.MaxItems, *kind.MinLength, *kind.MaxLength,
		*kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum, *kind.MinProperties:
		return k.LocalizedString(printer)
	case *kind.AdditionalProperties:
		names := make([]string, 0, 3)
		for _, n := range k.Properties[:min(3, len(k.Properties))] {
			names = append(names, strconv.Quote(ledger.Echo(n)))
		}
		return "unknown field " + strings.Join(names, ", ") + " (a field the standard does not define needs a namespace prefix, e.g. example:name)"
	case *kind.Pattern:
		return "not in the form the standard sets (a URI, a CBV value or a namespaced name)"
	case *kind.Format:
		return "not a valid " + k.Want
	case *kind.FalseSchema:
		return "a field not allowed here"
	}
	return "fails the schema's '" + strings.Join(k.KeywordPath(), "/") + "' rule"
}

// schemaFiles are GS1's EPCIS 2.0 JSON schemas (schema/README.md).
//
//go:embed schema/*.json schema/schemas/*.json
var schemaFiles embed.FS

// documentSchema is the id of the schema a captured document must meet.
const documentSchema = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// compiled compiles the embedded schemas once, each registered under its
// own $id, formats asserted.
func compiled() (*jsonschema.Schema, error) {
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		// The GS1 schemas use ECMAScript look-ahead, which Go's RE2 lacks.
		c.UseRegexpEngine(func(expr string) (jsonschema.Regexp, error) {
			re, err := regexp2.Compile(expr, regexp2.ECMAScript)
			if err != nil {
				return nil, err
			}
			return ecmaRegexp{re}, nil
		})
		schemaErr = fs.WalkDir(schemaFiles, "schema", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := schemaFiles.ReadFile(path)
			if err != nil {
				return err
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			id, _ := doc.(map[string]any)["$id"].(string)
			if id == "" {
				return fmt.Errorf("%s has no $id", path)
			}
			return c.AddResource(id, doc)
		})
		if schemaErr == nil {
			schema, schemaErr = c.Compile(documentSchema)
		}
	})
	return schema, schemaErr
}

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return ok && err == nil
}

func (r ecmaRegexp) String() string { return r.re.String() }

// Validate checks a captured document against the EPCIS 2.0 JSON schemas,
// before anything else reads it. A refusal is ErrDocument naming the
// JSON pointer of what the schema refused (with its event's index, when it
// is in an event) and why: "/epcisBody/eventList/3/quantityList/0/quantity:
// got string, want number". It never echoes a value.
func Validate(raw []byte) error {
	s, err := compiled()
	if err != nil {
		return fmt.Errorf("the EPCIS schemas do not compile: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return ErrDocument.Wrapf("not JSON: %v", err)
	}
	err = s.Validate(doc)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return ErrDocument.Wrapf("%v", err)
	}
	at, why := deepest(doc, ve)
	where := pointer(at)
	if len(at) >= 3 && at[0] == "epcisBody" && at[1] == "eventList" {
		return ErrDocument.Wrapf("event %s, at %s: %s (the EPCIS 2.0 JSON schema)", at[2], where, why)
	}
	return ErrDocument.Wrapf("at %s: %s (the EPCIS 2.0 JSON schema)", where, why)
}

// deepest finds, among a validation error's leaves, the one deepest in the
// document (the most specific: an event's field rather than "not any of
// the event types"), first in order among equals. A refused field name
// (propertyNames) is reported where the field is: the schema reports it
// at its nearest checked object, so the object is searched for it.
func deepest(doc any, ve *jsonschema.ValidationError) ([]string, string) {
	type leaf struct {
		at  []string
		why string
	}
	var leaves []leaf
	var walk func(e *jsonschema.ValidationError, base []string)
	walk = func(e *jsonschema.ValidationError, base []string) {
		if len(e.InstanceLocation) > 0 {
			base = e.InstanceLocation
		}
		if k, ok := e.ErrorKind.(*kind.PropertyNames); ok {
			at := append(append([]string{}, base...), findKey(valueAt(doc, base), k.Property)...)
			leaves = append(leaves, leaf{at, "a field the standard does not define (an extension field needs a namespace prefix, e.g. example:name)"})
			return
		}
		if len(e.Causes) == 0 {
			leaves = append(leaves, leaf{base, describe(e.ErrorKind)})
			return
		}
		for _, c := range e.Causes {
			walk(c, base)
		}
	}
	walk(ve, nil)
	sort.SliceStable(leaves, func(i, j int) bool { return len(leaves[i].at) > len(leaves[j].at) })
	if len(leaves) == 0 {
		return ve.InstanceLocation, "refused"
	}
	return leaves[0].at, leaves[0].why
}

// valueAt is the value at a location in a decoded document.
func valueAt(v any, at []string) any {
	for _, p := range at {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// findKey is the path, under v, to the first object (in document order of
// arrays, name order of objects) holding key, the key included: nil if
// none does. Bounded by the document, which the body limit bounds.
func findKey(v any, key string) []string {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x[key]; ok {
			return []string{key}
		}
		names := make([]string, 0, len(x))
		for n := range x {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if p := findKey(x[n], key); p != nil {
				return append([]string{n}, p...)
			}
		}
	case []any:
		for i, e := range x {
			if p := findKey(e, key); p != nil {
				return append([]string{strconv.Itoa(i)}, p...)
			}
		}
	}
	return nil
}

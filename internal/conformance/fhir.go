package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// FHIR checks resources against the R4 StructureDefinitions in
// fhir-r4/structure-definitions: unknown elements, cardinality (required
// elements, arrays where max is *, single values where max is 1),
// primitive formats, and the codes of required bindings whose value sets
// are listed in requiredCodes. Resources inside a Bundle are checked
// against their own definitions when they are among those kept here.
type FHIR struct {
	defs map[string]map[string]element // resource type -> path -> element
}

type element struct {
	Path  string `json:"path"`
	Min   int    `json:"min"`
	Max   string `json:"max"`
	Types []struct {
		Code string `json:"code"`
	} `json:"type"`
	ContentReference string `json:"contentReference"`
	Binding          *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
}

// LoadFHIR reads the StructureDefinitions.
func LoadFHIR(tb testing.TB) *FHIR {
	tb.Helper()
	dir := Dir(tb, "fhir-r4/structure-definitions")
	files, err := filepath.Glob(filepath.Join(dir, "StructureDefinition-*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no StructureDefinitions in %s", dir)
	}
	v := &FHIR{defs: map[string]map[string]element{}}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var sd struct {
			Type     string `json:"type"`
			Snapshot struct {
				Element []element `json:"element"`
			} `json:"snapshot"`
		}
		if err := json.Unmarshal(b, &sd); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		m := map[string]element{}
		for _, e := range sd.Snapshot.Element {
			m[e.Path] = e
		}
		v.defs[sd.Type] = m
	}
	return v
}

// requiredCodes are the R4 value sets of required bindings the facade
// emits, with their codes (from the R4 specification).
var requiredCodes = map[string][]string{
	"http://hl7.org/fhir/ValueSet/consent-state-codes":        {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
	"http://hl7.org/fhir/ValueSet/consent-provision-type":     {"deny", "permit"},
	"http://hl7.org/fhir/ValueSet/consent-data-meaning":       {"instance", "related", "dependents", "authoredby"},
	"http://hl7.org/fhir/ValueSet/audit-event-action":         {"C", "R", "U", "D", "E"},
	"http://hl7.org/fhir/ValueSet/audit-event-outcome":        {"0", "4", "8", "12"},
	"http://hl7.org/fhir/ValueSet/document-reference-status":  {"current", "superseded", "entered-in-error"},
	"http://hl7.org/fhir/ValueSet/composition-status":         {"preliminary", "final", "amended", "entered-in-error"},
	"http://hl7.org/fhir/ValueSet/document-relationship-type": {"replaces", "transforms", "signs", "appends"},
	"http://hl7.org/fhir/ValueSet/bundle-type":                {"document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection"},
	"http://hl7.org/fhir/ValueSet/search-entry-mode":          {"match", "include", "outcome"},
	"http://hl7.org/fhir/ValueSet/http-verb":                  {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"},
	"http://hl7.org/fhir/ValueSet/administrative-gender":      {"male", "female", "other", "unknown"},
	"http://hl7.org/fhir/ValueSet/link-type":                  {"replaced-by", "replaces", "refer", "seealso"},
	"http://hl7.org/fhir/ValueSet/publication-status":         {"draft", "active", "retired", "unknown"},
	"http://hl7.org/fhir/ValueSet/capability-statement-kind":  {"instance", "capability", "requirements"},
	"http://hl7.org/fhir/ValueSet/restful-capability-mode":    {"client", "server"},
	"http://hl7.org/fhir/ValueSet/type-restful-interaction":   {"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"},
	"http://hl7.org/fhir/ValueSet/system-restful-interaction": {"transaction", "batch", "search-system", "history-system"},
	"http://hl7.org/fhir/ValueSet/search-param-type":          {"number", "date", "string", "token", "reference", "composite", "quantity", "uri", "special"},
	"http://hl7.org/fhir/ValueSet/FHIR-version":               {"4.0.0", "4.0.1"},
	"http://hl7.org/fhir/ValueSet/network-type":               {"1", "2", "3", "4", "5"},
}

var primitive = map[string]*regexp.Regexp{
	"instant":  regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`),
	"dateTime": regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?)?$`),
	"date":     regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`),
	"code":     regexp.MustCompile(`^[^\s]+(\s[^\s]+)*$`),
	"id":       regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`),
}

// Validate returns what is wrong with a resource (nothing: conformant).
func (v *FHIR) Validate(resource []byte) []string {
	var obj map[string]any
	if err := json.Unmarshal(resource, &obj); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	var problems []string
	v.resource(obj, "", &problems)
	sort.Strings(problems)
	return problems
}

func (v *FHIR) resource(obj map[string]any, where string, problems *[]string) {
	typ, _ := obj["resourceType"].(string)
	defs, ok := v.defs[typ]
	if !ok && where != "" {
		return // a contained or bundled resource with no definition here
	}
	if !ok {
		*problems = append(*problems, fmt.Sprintf("%s: no StructureDefinition for resourceType %q", where, typ))
		return
	}
	v.object(defs, typ, obj, where+typ, problems)
}

func (v *FHIR) object(defs map[string]element, path string, obj map[string]any, where string, problems *[]string) {
	report := func(format string, args ...any) {
		*problems = append(*problems, where+": "+fmt.Sprintf(format, args...))
	}
	// Required children present.
	for p, e := range defs {
		if e.Min > 0 && strings.HasPrefix(p, path+".") && !strings.Contains(p[len(path)+1:], ".") {
			name := p[len(path)+1:]
			if strings.HasSuffix(name, "[x]") {
				prefix := strings.TrimSuffix(name, "[x]")
				found := false
				for k := range obj {
					if strings.HasPrefix(k, prefix) && len(k) > len(prefix) && unicode.IsUpper(rune(k[len(prefix)])) {
						found = true
					}
				}
				if !found {
					report("required element %s is missing", name)
				}
			} else if _, ok := obj[name]; !ok {
				report("required element %s is missing", name)
			}
		}
	}
	for k, val := range obj {
		if k == "resourceType" && !strings.Contains(path, ".") || strings.HasPrefix(k, "_") {
			continue
		}
		e, typ, ok := lookup(defs, path, k)
		if !ok {
			report("unknown element %q", k)
			continue
		}
		arr, isArr := val.([]any)
		switch {
		case e.Max == "*" && !isArr:
			report("%s must be an array (max *)", k)
			continue
		case e.Max == "1" && isArr:
			report("%s must not be an array (max 1)", k)
			continue
		case e.Max == "0":
			report("%s is not allowed here", k)
			continue
		}
		items := arr
		if !isArr {
			items = []any{val}
		}
		for i, item := range items {
			at := where + "." + k
			if isArr {
				at = fmt.Sprintf("%s.%s[%d]", where, k, i)
			}
			v.value(defs, e, typ, item, at, problems)
		}
	}
}

// lookup finds the element for key under path, including choice types
// (valueString for value[x]).
func lookup(defs map[string]element, path, key string) (element, string, bool) {
	if e, ok := defs[path+"."+key]; ok {
		typ := ""
		if len(e.Types) == 1 {
			typ = e.Types[0].Code
		}
		if e.Path != path+"."+key { // a contentReference or similar
			typ = ""
		}
		return e, typ, true
	}
	for p, e := range defs {
		if !strings.HasPrefix(p, path+".") || !strings.HasSuffix(p, "[x]") {
			continue
		}
		prefix := strings.TrimSuffix(p[len(path)+1:], "[x]")
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		suffix := key[len(prefix):]
		for _, t := range e.Types {
			if strings.EqualFold(t.Code, suffix) && suffix != "" && unicode.IsUpper(rune(suffix[0])) {
				return e, t.Code, true
			}
		}
	}
	return element{}, "", false
}

func (v *FHIR) value(defs map[string]element, e element, typ string, val any, where string, problems *[]string) {
	report := func(format string, args ...any) {
		*problems = append(*problems, where+": "+fmt.Sprintf(format, args...))
	}
	switch typ {
	case "BackboneElement", "Element", "":
		obj, ok := val.(map[string]any)
		if !ok {
			report("must be an object")
			return
		}
		path := e.Path
		if e.ContentReference != "" { // e.g. Consent.provision.provision
			path = strings.TrimPrefix(e.ContentReference, "#")
		}
		v.object(defs, path, obj, where, problems)
		return
	case "Resource":
		obj, ok := val.(map[string]any)
		if !ok {
			report("must be a resource object")
			return
		}
		v.resource(obj, where+"/", problems)
		return
	case "boolean":
		if _, ok := val.(bool); !ok {
			report("must be a JSON boolean")
		}
		return
	case "integer", "unsignedInt", "positiveInt", "decimal":
		if _, ok := val.(float64); !ok {
			report("must be a JSON number")
		}
		return
	}
	if unicode.IsUpper(rune(typ[0])) { // a complex datatype: shape only
		if _, ok := val.(map[string]any); !ok {
			report("%s must be an object", typ)
		}
		return
	}
	s, ok := val.(string)
	if !ok {
		report("%s must be a JSON string", typ)
		return
	}
	if re, ok := primitive[typ]; ok && !re.MatchString(s) {
		report("%q is not a valid %s", s, typ)
	}
	if e.Binding != nil && e.Binding.Strength == "required" && typ == "code" {
		vs := strings.SplitN(e.Binding.ValueSet, "|", 2)[0]
		if codes, known := requiredCodes[vs]; known && !slices.Contains(codes, s) {
			report("%q is not in the required value set %s", s, vs)
		}
	}
}

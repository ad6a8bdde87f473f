package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/primum-health/primum/ledger"
)

// The API document (openapi.json, served at /api/v1/openapi.json) is
// generated: the node's own routes are described by hand in
// openapi_edge.json, and every module query is added from its declaration
// (ledger.Query: path, parameters, who may read it, answer type), with its
// answer's schema read from the Go type. The generated document is
// committed, so that a change to the API shows as a diff;
// TestOpenAPIIsGenerated fails when it is stale and rewrites it with
// -update.

// GenerateOpenAPI builds the API document from the edge's and the modules'
// declarations.
func GenerateOpenAPI(edge []byte, modules []ledger.Module) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(edge, &doc); err != nil {
		return nil, fmt.Errorf("openapi_edge.json: %w", err)
	}
	paths := doc["paths"].(map[string]any)
	components := doc["components"].(map[string]any)
	schemas := components["schemas"].(map[string]any)
	g := &schemaGen{schemas: schemas, names: map[reflect.Type]string{}, edge: map[string]bool{}}
	for name := range schemas {
		g.edge[name] = true
	}
	var txTypes []any
	for _, m := range modules {
		for _, q := range m.Queries {
			method := strings.ToLower(q.Method)
			if method == "" {
				method = "get"
			}
			item, _ := paths[q.Path].(map[string]any)
			if item == nil {
				item = map[string]any{}
				paths[q.Path] = item
			}
			if _, dup := item[method]; dup {
				return nil, fmt.Errorf("%s %s is declared twice", method, q.Path)
			}
			item[method] = g.operation(m.Name, q)
		}
		for _, r := range m.Txs {
			txTypes = append(txTypes, map[string]any{"type": r.Type, "module": m.Name, "allow": r.Allow, "doc": r.Doc,
				"body": g.schema(reflect.TypeOf(r.Handle.Body()).Elem())})
		}
	}
	// The bodies of the transaction types, for clients that build them
	// (they travel inside signed envelopes, POST /api/v1/txs).
	doc["x-primum-tx-types"] = txTypes
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (g *schemaGen) operation(module string, q ledger.Query) map[string]any {
	params := []any{}
	for _, name := range q.PathParams() {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, p := range q.Params {
		param := map[string]any{"name": p.Name, "in": "query", "schema": map[string]any{"type": "string"}}
		if p.Doc != "" {
			param["description"] = p.Doc
		}
		if p.Required {
			param["required"] = true
		}
		params = append(params, param)
	}
	problem := map[string]any{"$ref": "#/components/responses/Problem"}
	answer := reflect.TypeOf(q.Answer)
	description := "answer"
	if page, ok := q.Answer.(ledger.Page); ok {
		answer = reflect.TypeOf(page.Items)
		next := page.NextParam
		if next == "" {
			next = "after"
		}
		description = fmt.Sprintf(`a page; a Link header with rel="next" names the following page (its %s parameter) when there is one`, next)
	}
	op := map[string]any{
		"summary":       q.Doc,
		"operationId":   module + "." + strings.ReplaceAll(q.Name, " ", "-"),
		"tags":          []any{module},
		"x-primum-read": string(q.Read),
		"description":   "Who may read it: " + q.Read.Describe() + ".",
		"parameters":    params,
		"responses": map[string]any{
			"200": map[string]any{"description": description,
				"content": map[string]any{"application/json": map[string]any{"schema": g.schema(answer)}}},
			"400": problem, "404": problem,
		},
	}
	if q.Read != ledger.Public {
		op["security"] = []any{map[string]any{"httpSignature": []any{}}, map[string]any{"bearer": []any{}}}
		responses := op["responses"].(map[string]any)
		responses["401"], responses["403"] = problem, problem
	}
	return op
}

// schemaGen writes JSON schemas of Go types, named struct types once under
// components/schemas.
type schemaGen struct {
	schemas map[string]any
	names   map[reflect.Type]string
	edge    map[string]bool // schemas described by hand
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	switch {
	case t == nil:
		return map[string]any{}
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name, ok := g.names[t]
		if !ok {
			name = g.name(t)
			g.names[t] = name
			g.schemas[name] = map[string]any{} // a recursive type refers to itself
			g.schemas[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// name is a struct's schema name: its Go name, with its package's in front
// when a schema of the edge or another package has that name.
func (g *schemaGen) name(t reflect.Type) string {
	name := t.Name()
	qualified := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + name
	if g.edge[name] {
		return qualified
	}
	for other, n := range g.names {
		if n == name && other != t {
			return qualified
		}
	}
	return name
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []any
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

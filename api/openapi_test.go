package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/primum-health/primum/modules"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the declarations")

// TestOpenAPIIsGenerated keeps the committed API document what the
// declarations generate: a change to a module's queries or to the edge's
// description shows as a diff of openapi.json. go test ./api -run
// TestOpenAPIIsGenerated -update rewrites it.
func TestOpenAPIIsGenerated(t *testing.T) {
	got, err := GenerateOpenAPI(openapiEdge, modules.All())
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, openapiJSON) {
		t.Fatal("api/openapi.json is not what the declarations generate: run go test ./api -run TestOpenAPIIsGenerated -update, and review the diff")
	}
	// Every reference resolves.
	var doc struct {
		Components struct {
			Schemas   map[string]any `json:"schemas"`
			Responses map[string]any `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	for _, ref := range regexp.MustCompile(`"#/components/(schemas|responses)/([^"]+)"`).FindAllStringSubmatch(string(got), -1) {
		table := doc.Components.Schemas
		if ref[1] == "responses" {
			table = doc.Components.Responses
		}
		if _, ok := table[ref[2]]; !ok {
			t.Errorf("%s is referred to but not defined", ref[0])
		}
	}
}

// TestOpenAPICoversEveryRoute keeps the OpenAPI document true: every route
// the server registers (method and path: the edge's in server.go, and every
// module query) is described in it.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`mux\.Handle(?:Func)?\("(GET|POST|PUT|DELETE) ([^"]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 25 {
		t.Fatalf("found only %d routes in server.go", len(routes))
	}
	for _, q := range modules.Queries() {
		method := q.Method
		if method == "" {
			method = "GET"
		}
		routes = append(routes, []string{"", method, q.Path})
	}
	for _, r := range routes {
		method, path := strings.ToLower(r[1]), r[2]
		if path == "/epcis/events/all" || strings.HasPrefix(path, "/epcis/") && strings.Contains(path, "}/events") {
			path = "/epcis/events" // the GS1 per-resource paths are described with the query they answer
			if _, ok := doc.Paths[r[2]]; ok {
				path = r[2]
			}
		}
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("%s %s is not in api/openapi.json", r[1], r[2])
			continue
		}
		if _, ok := ops[method]; !ok {
			t.Errorf("%s %s: the OpenAPI document lacks the %s operation", r[1], r[2], r[1])
		}
	}
}

// TestRecordStoreHasOneWayOut: the record store is read in exactly one
// place, release, which requires the committed access entry granting the
// request. A new route that reads the store elsewhere fails here.
func TestRecordStoreHasOneWayOut(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	reads := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(f)
		for _, fn := range strings.Split(string(src), "\nfunc ")[1:] {
			n := strings.Count(fn, ".Docs.Get(")
			if n == 0 {
				continue
			}
			reads += n
			if !strings.HasPrefix(fn, "(s *server) release(") {
				t.Errorf("%s: func %s reads the record store outside release", f, strings.SplitN(fn, "(", 3)[1])
			}
		}
	}
	if reads != 1 {
		t.Fatalf("the record store is read %d times in the api package, want once (in release)", reads)
	}
}

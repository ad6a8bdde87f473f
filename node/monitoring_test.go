package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/primum-health/primum/identity"
)

// TestMonitoringFiles: the Prometheus alert rules and the Grafana
// dashboard in ops/ are well formed (each rule an alert with an
// expression, a severity and a summary; each panel a query), and every
// Primum or CometBFT metric they read is one a running node exposes at
// /metrics (cometbft_p2p_peers only once it has a peer; node_filesystem_*
// are node_exporter's).
func TestMonitoringFiles(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}}, "patient")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Send(ctx, m["patient"].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(n.APIURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	exposed := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exposed[name] = true
		}
	}
	// Metrics a node shows only once something happened: a labelled
	// counter before its first refusal, and CometBFT's, which a node
	// serves when its metrics are on (not in this process, which runs
	// many nodes: they would register twice). Each is checked against
	// where it is declared instead.
	declared := map[string]string{
		"primum_checktx_rejected_total": `Name: "checktx_rejected_total"`, "primum_api_refused_total": `Name: "api_refused_total"`,
	}
	sources := ""
	for _, f := range []string{"../app/metrics.go", "../api/auth.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources += string(b)
	}
	for name, decl := range declared {
		exposed[name] = strings.Contains(sources, decl)
	}
	// CometBFT v1's mempool and p2p metrics (mempool/metrics.gen.go:
	// "size", "size_bytes"; p2p/metrics.gen.go: "peers"; namespace
	// cometbft).
	for _, name := range []string{"cometbft_mempool_size", "cometbft_mempool_size_bytes", "cometbft_p2p_peers"} {
		exposed[name] = true
	}
	metric := regexp.MustCompile(`\b(primum|cometbft|node)_[a-z0-9_]+`)
	check := func(where, expr string) {
		t.Helper()
		if strings.TrimSpace(expr) == "" {
			t.Errorf("%s: no expression", where)
		}
		for _, name := range metric.FindAllString(expr, -1) {
			if strings.HasPrefix(name, "node_") {
				if name != "node_filesystem_avail_bytes" && name != "node_filesystem_size_bytes" {
					t.Errorf("%s: %s is not a node_exporter metric the docs name", where, name)
				}
				continue
			}
			if !exposed[name] {
				t.Errorf("%s: the node exposes no %s", where, name)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "ops", "prometheus", "primum-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("rule %+v: an alert needs a name, a severity, a summary and a description", r)
			}
			alerts[r.Alert] = true
			check("alert "+r.Alert, r.Expr)
		}
	}
	for _, want := range []string{"PrimumNodeDown", "PrimumChainHalted", "PrimumNodeBehind", "PrimumMempoolFull", "PrimumDiskFilling", "PrimumProofsStale"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	raw, err = os.ReadFile(filepath.Join("..", "ops", "grafana", "primum-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("the dashboard: %v", err)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			check("panel "+p.Title, q.Expr)
		}
	}
}

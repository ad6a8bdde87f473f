package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/supply"
)

// TestSupplyImport: a large EPCIS document through 'primum supply import';
// every event is reported; a second run records nothing twice.
func TestSupplyImport(t *testing.T) {
	if testing.Short() {
		t.Skip("process test (-short)")
	}
	procs, _ := startConsortium(t, 1, "manufacturer")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	maker := operatorKey(t, procs[0])
	if _, err := client.New(procs[0].API).Send(ctx, maker, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: "09506000134352", Name: "Paracetamol"}, true); err != nil {
		t.Fatal(err)
	}
	token := operatorToken(t, procs[0])
	const good, bad = 1500, 7
	var events []string
	for i := 0; i < good; i++ {
		id := ""
		if i%2 == 0 { // half carry no eventID: the importer derives one
			id = fmt.Sprintf(`"eventID":"urn:uuid:import-%d",`, i)
		}
		events = append(events, fmt.Sprintf(`{%s"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","epcList":["https://id.gs1.org/01/09506000134352/21/IMP%d"],"ilmd":{"cbvmda:lotNumber":"LOT%d","cbvmda:itemExpirationDate":"2029-01-31"}}`, id, i, i/100))
	}
	for i := 0; i < bad; i++ {
		events = append(events, fmt.Sprintf(`{"eventID":"urn:uuid:bad-%d","type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["https://id.gs1.org/01/09506000134352/21/NEVER%d"]}`, i, i))
	}
	dir := t.TempDir()
	doc := filepath.Join(dir, "big.jsonld")
	body := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T00:00:00Z","epcisBody":{"eventList":[` + strings.Join(events, ",\n") + `]}}`
	if err := os.WriteFile(doc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(report string) (map[string]int, string) {
		out, err := exec.Command(primumBinary(t), "supply", "import", doc, "--token", token, "--node", procs[0].API, "--report", report).CombinedOutput()
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		f, err := os.Open(report)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		counts := map[string]int{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var r client.ImportResult
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			counts[r.Status]++
			if r.Status == "refused" && (r.Code != "unknown_serial" || r.Detail == "") {
				t.Fatalf("refusal without its reason: %+v", r)
			}
		}
		return counts, string(out)
	}
	first, out := run(filepath.Join(dir, "first.jsonl"))
	// Not on a terminal: a summary, no progress redrawn with \r.
	if first["accepted"] != good || first["refused"] != bad || strings.Contains(out, "\r") ||
		!strings.Contains(out, fmt.Sprintf("%d events: %d accepted, 0 already recorded, %d refused", good+bad, good, bad)) {
		t.Fatalf("first import: %v\n%s", first, out)
	}
	second, _ := run(filepath.Join(dir, "second.jsonl"))
	if second["already_recorded"] != good || second["refused"] != bad || second["accepted"] != 0 {
		t.Fatalf("second import recorded something twice: %v", second)
	}
	var v supply.Verdict
	if err := client.New(procs[0].API).Get(ctx, "/api/v1/verify?code=%2801%2909506000134352%2821%29IMP1499", &v); err != nil || v.Verdict != supply.VerdictDispensable {
		t.Fatalf("an imported pack: %+v %v", v, err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/supply"
)

// rewriting serves the node's API with the JSON answers of one path
// rewritten by change.
func rewriting(t *testing.T, apiURL, path string, change func(any)) string {
	t.Helper()
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, apiURL))
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.URL.Path != path || res.StatusCode != http.StatusOK {
			return nil
		}
		var m any
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		change(m)
		if b, err = json.Marshal(m); err != nil {
			return err
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
		res.ContentLength = int64(len(b))
		res.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

// SPEC F14 at the pharmacy: a verdict computed by the scanner from entries
// proven against the validators' signed header, not taken from the node; a
// node that hides a recall, or answers a verdict the state does not hold,
// is refused.
func TestProvenVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel() // free ports; mostly waiting for blocks
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, n, c, f := seededDemo(t, ctx)
	pharmacy := f.member("Central Pharmacy").Address
	genesis := n.Comet.GenesisDoc()
	p, err := client.NewProver(ctx, c, n.RPCAddr(), client.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	pack := func(serial string) string { return "(01)" + demoGTIN + "(21)" + serial }
	for _, tc := range []struct {
		code, verdict string
		proofs        int
	}{
		{pack("DEMO002"), supply.VerdictDispensable, 3},
		{pack("DEMO101"), supply.VerdictRecalled, 3},
		{pack("DEMO001"), supply.VerdictDispensed, 3},
		{pack("NOSUCH"), supply.VerdictUnknown, 1},
	} {
		v, proofs, err := p.Verify(ctx, tc.code, pharmacy, time.Now())
		if err != nil || v.Verdict != tc.verdict || len(proofs) != tc.proofs {
			t.Fatalf("%s: %+v, %d proofs, %v", tc.code, v, len(proofs), err)
		}
		for _, pr := range proofs {
			if pr.Header != proofs[0].Header || pr.Signers != 1 {
				t.Fatalf("%s: proofs of different headers, or unsigned: %+v", tc.code, proofs)
			}
		}
	}

	// A node that hides the recall of DEMO101's lot.
	hiding := rewriting(t, n.APIURL(), "/api/v1/proof", func(v any) {
		m := v.(map[string]any)
		if strings.HasPrefix(m["key"].(string), "sup/recall/") {
			m["exists"], m["value"] = false, ""
		}
	})
	liar, err := client.NewProver(ctx, client.New(hiding), n.RPCAddr(), client.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := liar.Verify(ctx, pack("DEMO101"), pharmacy, time.Now()); !errors.Is(err, client.ErrNotProven) {
		t.Fatalf("a hidden recall was not caught: %+v, %v", v, err)
	}

	// The command: the node's verdict must be the proven one.
	bin := primumBinary(t)
	args := func(node string, code string) []string {
		return []string{"verify", code, "--as", pharmacy, "--prove", "--node", node, "--rpc", n.RPCAddr(),
			"--genesis", filepath.Join(home, "config", "genesis.json")}
	}
	b, err := exec.Command(bin, args(n.APIURL(), pack("DEMO002"))...).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "genuine_dispensable") || !strings.Contains(string(b), "proven   sup/recall/"+demoGTIN+"/AMX2026A (absent)") {
		t.Fatalf("verify --prove: %v\n%s", err, b)
	}
	saysFine := rewriting(t, n.APIURL(), "/api/v1/verify", func(v any) {
		m := v.(map[string]any)
		m["verdict"], m["dispensable"], m["message"] = supply.VerdictDispensable, true, "genuine and dispensable"
	})
	b, err = exec.Command(bin, args(saysFine, pack("DEMO101"))...).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "the node says genuine_dispensable, the state the validators signed says recalled") {
		t.Fatalf("a node's false verdict was not caught: %v\n%s", err, b)
	}

	// Patient 1's consent, proven; a node that lists it as revoked is caught.
	patient := f.member("Patient 1").Address
	consents := func(node string) ([]byte, error) {
		return exec.Command(bin, "consent", "list", patient, "--prove", "--node", node, "--rpc", n.RPCAddr(),
			"--genesis", filepath.Join(home, "config", "genesis.json")).CombinedOutput()
	}
	b, err = consents(n.APIURL())
	if err != nil || !strings.Contains(string(b), "observation,condition") || !strings.Contains(string(b), "proven by  header") {
		t.Fatalf("consent list --prove: %v\n%s", err, b)
	}
	revoked := rewriting(t, n.APIURL(), "/api/v1/patients/"+patient+"/consents", func(v any) {
		v.([]any)[0].(map[string]any)["status"] = "revoked"
	})
	if b, err = consents(revoked); err == nil || !strings.Contains(string(b), "not match the state") {
		t.Fatalf("a node listing a consent falsely was not caught: %v\n%s", err, b)
	}
}

package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/consent"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/internal/tamper"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

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
	home, n, c, f := demotest.Seeded(t, ctx)
	pharmacy := f.Member("Central Pharmacy").Address
	genesis := n.Comet.GenesisDoc()
	p, err := prove.New(ctx, c, n.RPCAddr(), prove.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	pack := func(serial string) string { return "(01)" + demo.GTIN + "(21)" + serial }
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

	// The same proven entries answer at several times: a pack is
	// dispensable to the last minute of its expiry day, expired from the
	// next (UTC).
	v, _, err := p.Verify(ctx, pack("DEMO002"), pharmacy, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	expiry, err := time.Parse(time.DateOnly, v.Expiry)
	if err != nil {
		t.Fatalf("DEMO002's expiry %q: %v", v.Expiry, err)
	}
	end := expiry.AddDate(0, 0, 1)
	vs, proofs, err := p.VerifyAt(ctx, pack("DEMO002"), pharmacy, end.Add(-time.Minute), end, time.Now())
	if err != nil || len(vs) != 3 || len(proofs) != 3 {
		t.Fatalf("VerifyAt: %+v, %d proofs, %v", vs, len(proofs), err)
	}
	if vs[0].Verdict != supply.VerdictDispensable || vs[1].Verdict != supply.VerdictExpired || vs[2].Verdict != supply.VerdictDispensable {
		t.Fatalf("DEMO002 (expiry %s) before, at and after the end of its expiry day: %s, %s, %s", v.Expiry, vs[0].Verdict, vs[1].Verdict, vs[2].Verdict)
	}

	// A node that hides the recall of DEMO101's lot.
	hiding := tamper.JSON(t, n.APIURL(), "/api/v1/proof", func(pr *wire.ProofResponse) {
		if strings.HasPrefix(pr.Key, "sup/recall/") {
			pr.Exists, pr.Value = false, ""
		}
	})
	liar, err := prove.New(ctx, client.New(hiding), n.RPCAddr(), prove.TrustRoot{Genesis: genesis})
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := liar.Verify(ctx, pack("DEMO101"), pharmacy, time.Now()); !errors.Is(err, prove.ErrNotProven) {
		t.Fatalf("a hidden recall was not caught: %+v, %v", v, err)
	}

	// The command: the node's verdict must be the proven one.
	bin := primumBinary(t)
	args := func(node string, code string) []string {
		return []string{"verify", code, "--as", pharmacy, "--prove", "--node", node, "--rpc", n.RPCAddr(),
			"--genesis", filepath.Join(home, "config", "genesis.json")}
	}
	b, err := exec.Command(bin, args(n.APIURL(), pack("DEMO002"))...).CombinedOutput()
	if err != nil || !strings.Contains(string(b), "genuine_dispensable") || !strings.Contains(string(b), "proven   sup/recall/"+demo.GTIN+"/AMX2026A (absent)") {
		t.Fatalf("verify --prove: %v\n%s", err, b)
	}
	saysFine := tamper.JSON(t, n.APIURL(), "/api/v1/verify", func(v *supply.Verdict) {
		v.Verdict, v.Dispensable, v.Message = supply.VerdictDispensable, true, "genuine and dispensable"
	})
	b, err = exec.Command(bin, args(saysFine, pack("DEMO101"))...).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "the node says genuine_dispensable, the state the validators signed says recalled") {
		t.Fatalf("a node's false verdict was not caught: %v\n%s", err, b)
	}

	// Patient 1's consent, proven; a node that lists it as revoked is caught.
	patient := f.Member("Patient 1").Address
	consents := func(node string) ([]byte, error) {
		return exec.Command(bin, "consent", "list", patient, "--from", f.Member("Patient 1").KeyFile, "--prove", "--node", node, "--rpc", n.RPCAddr(),
			"--genesis", filepath.Join(home, "config", "genesis.json")).CombinedOutput()
	}
	b, err = consents(n.APIURL())
	if err != nil || !strings.Contains(string(b), "observation,condition") || !strings.Contains(string(b), "proven by  header") {
		t.Fatalf("consent list --prove: %v\n%s", err, b)
	}
	revoked := tamper.JSON(t, n.APIURL(), "/api/v1/patients/"+patient+"/consents", func(cs *[]consent.Consent) {
		(*cs)[0].Status = consent.StatusRevoked
	})
	if b, err = consents(revoked); err == nil || !strings.Contains(string(b), "not match the state") {
		t.Fatalf("a node listing a consent falsely was not caught: %v\n%s", err, b)
	}
}

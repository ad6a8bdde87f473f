package demo_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/demo"
	"github.com/primum-health/primum/internal/demo/demotest"
	"github.com/primum-health/primum/supply"
)

// interrupter stands between the demo's seeding and the node, and stops
// the seeding at its k-th write (1-based) as Ctrl-C would: before sending
// it, or once it is sent but before the seeding hears back.
type interrupter struct {
	next   http.Handler
	k      int
	sent   bool
	cancel context.CancelFunc

	mu     sync.Mutex
	writes int
}

func (i *interrupter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		i.next.ServeHTTP(w, r)
		return
	}
	i.mu.Lock()
	i.writes++
	n := i.writes
	i.mu.Unlock()
	switch {
	case n < i.k:
		i.next.ServeHTTP(w, r)
	case n == i.k && i.sent:
		// The write reaches the node whatever the seeding does next.
		i.next.ServeHTTP(httptest.NewRecorder(), r.WithContext(context.WithoutCancel(r.Context())))
		i.cancel()
		http.Error(w, "interrupted", http.StatusServiceUnavailable)
	default:
		i.cancel()
		http.Error(w, "interrupted", http.StatusServiceUnavailable)
	}
}

// count is how many writes came through so far.
func (i *interrupter) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.writes
}

// demoShape summarises what the seeding made: the demo objects' custody
// trails, the recalls, the members and Patient 1's records and consents.
func demoShape(t *testing.T, ctx context.Context, c *client.Client, f *demo.File) string {
	t.Helper()
	var b strings.Builder
	for _, code := range []string{"(01)" + demo.GTIN + "(21)DEMO001", "(01)" + demo.GTIN + "(21)DEMO101", "(00)106141412345678908", "(8003)00614141123452400"} {
		var o struct {
			Object supply.Object `json:"object"`
			Trail  []supply.Step `json:"trail"`
		}
		if err := c.Get(ctx, "/api/v1/supply/objects/"+url.PathEscape(code), &o); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		fmt.Fprintf(&b, "%s %s:", code, o.Object.Status)
		for _, s := range o.Trail {
			b.WriteString(" " + s.Action)
		}
		b.WriteString("\n")
	}
	var recalls []supply.Recall
	if err := c.Get(ctx, "/api/v1/supply/recalls", &recalls); err != nil {
		t.Fatal(err)
	}
	for _, r := range recalls {
		fmt.Fprintf(&b, "recall %s %s\n", r.GTIN, r.Lot)
	}
	var prefix supply.CompanyPrefix
	if err := c.Get(ctx, "/api/v1/supply/prefixes/"+demo.Prefix, &prefix); err != nil {
		t.Fatal(err)
	}
	name := map[string]string{}
	for _, m := range f.Members {
		name[m.Address] = m.Name
	}
	fmt.Fprintf(&b, "prefix %s held by %s\n", prefix.Prefix, name[prefix.Owner])
	ids, err := c.Identities(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%d identities\n", len(ids))
	var patient string
	for _, m := range f.Members {
		if m.Name == "Patient 1" {
			patient = m.Address
		}
	}
	// What the ledger says about the patient is theirs to read.
	pc := c.WithToken(f.Member("Patient 1").APIToken)
	recs, err := pc.Records(ctx, patient)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range recs {
		lines = append(lines, "record at "+name[r.Custodian]+": "+r.Category)
	}
	consents, err := pc.Consents(ctx, patient)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range consents {
		lines = append(lines, "consent to "+name[g.Grantee]+" for "+strings.Join(g.Scope.Categories, ","))
	}
	for _, m := range f.Members {
		if m.Kind != "organisation" {
			continue
		}
		p, err := c.Retention(ctx, m.Address)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range p.Holds {
			lines = append(lines, fmt.Sprintf("%s keeps %s %d years (%s)", m.Name, h.Category, h.Years, h.Basis))
		}
	}
	slices.Sort(lines)
	b.WriteString(strings.Join(lines, "\n"))
	return b.String()
}

// An interrupted demo (Ctrl-C while it seeds its members) seeds the rest
// when run again, and ends as an uninterrupted one does: nothing left half
// made, nothing made twice.
func TestDemoSeedingResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts demo nodes (-short)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel) // after the parallel subtests
	refHome, ref := demotest.Start(t)
	refClient := client.New(ref.APIURL())
	counter := &interrupter{next: httputil.NewSingleHostReverseProxy(mustURL(t, ref.APIURL())), k: 1 << 30, cancel: func() {}}
	proxy := httptest.NewServer(counter)
	t.Cleanup(proxy.Close)
	// The stories one by one, as demo.Seed runs them, counting the writes
	// each makes.
	env, err := demo.NewEnv(ctx, refHome, client.New(proxy.URL))
	if err != nil {
		t.Fatal(err)
	}
	start, wrote := map[string]int{}, map[string]int{}
	for _, s := range demo.Stories {
		start[s.Name] = counter.count()
		if err := s.Run(ctx, env); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		wrote[s.Name] = counter.count() - start[s.Name]
	}
	f := env.File
	// The writes the cases below cut, in order: the practitioners; the
	// supply chain's 14 steps (the first claims Acme's company prefix); St
	// Luke's vouchers, then the patients; St Luke's retention policy, the
	// records and the consent.
	for story, n := range map[string]int{"practitioners": demo.Practitioners, "supply chain": 14,
		"patients": 1 + demo.Patients, "health records": 1 + demo.Records + 1} {
		if wrote[story] != n {
			t.Fatalf("the %s story wrote %d times, the test counts on %d", story, wrote[story], n)
		}
	}
	firstSupply := start["supply chain"] + 1
	firstPatient := start["patients"] + 2 // after St Luke's vouchers
	retentionWrite := start["health records"] + 1
	firstRecord := retentionWrite + 1
	consentWrite := firstRecord + demo.Records
	want := demoShape(t, ctx, refClient, f)
	for _, s := range []string{"DEMO001 dispensed: commission pack ship receive ship receive unpack dispense", "recall " + demo.GTIN + " AMX2026B", "prefix " + demo.Prefix + " held by Acme Pharma", "asset_fill", "record at Riverside", "consent to Dr Lena Fischer",
		"St Luke's Hospital keeps medication 10 years (legal_obligation)"} {
		if !strings.Contains(want, s) {
			t.Fatalf("an uninterrupted demo lacks %q:\n%s", s, want)
		}
	}

	// Every story resumes: run again on the demo it made, it writes
	// nothing.
	before := counter.count()
	if _, err := demo.Seed(ctx, refHome, client.New(proxy.URL)); err != nil {
		t.Fatalf("seeding again: %v", err)
	}
	if again := counter.count() - before; again != 0 {
		t.Fatalf("seeding a seeded demo again wrote %d times", again)
	}

	for _, tc := range []struct {
		name string
		k    int
		sent bool
	}{
		{"first practitioner, unsent", 1, false},
		{"prefix claim, unsent", firstSupply, false},
		{"product registration, sent", firstSupply + 1, true},
		{"second commission, unsent", firstSupply + 3, false},
		{"first receipt, sent", firstSupply + 6, true},
		{"dispense, sent", firstSupply + 10, true},
		{"asset fill, sent", firstSupply + 13, true},
		{"second patient, sent", firstPatient + 1, true},
		{"retention policy, sent", retentionWrite, true},
		{"second record, unsent", firstRecord + 1, false},
		{"last record, sent", firstRecord + demo.Records - 1, true},
		{"consent, sent", consentWrite, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home, n := demotest.Start(t)
			c := client.New(n.APIURL())
			first, stop := context.WithCancel(ctx)
			defer stop()
			cut := httptest.NewServer(&interrupter{next: httputil.NewSingleHostReverseProxy(mustURL(t, n.APIURL())), k: tc.k, sent: tc.sent, cancel: stop})
			defer cut.Close()
			if _, err := demo.Seed(first, home, client.New(cut.URL)); err == nil {
				t.Fatal("the interrupted seeding reported success")
			}
			// As when the node stops: whatever was sent is committed or
			// gone before the demo runs again.
			for n.Comet.Mempool().Size() > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			f, err := demo.Seed(ctx, home, c)
			if err != nil {
				t.Fatalf("resuming: %v", err)
			}
			if got := demoShape(t, ctx, c, f); got != want {
				t.Fatalf("resumed demo:\n%s\nuninterrupted:\n%s", got, want)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDemoPatientsNeedVouchers: the demo consortium registers a patient
// only with a voucher a member issued; demo-members.json lists St Luke's
// spare ones, each good once; a resumed demo issues none twice and lists
// only those still unused.
func TestDemoPatientsNeedVouchers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home, _, c, f := demotest.Seeded(t, ctx)
	if len(f.Vouchers) != demo.Vouchers-demo.Patients {
		t.Fatalf("%d spare vouchers listed: %v", len(f.Vouchers), f.Vouchers)
	}
	newcomer := func() ed25519.PrivateKey {
		_, k, _ := ed25519.GenerateKey(nil)
		return k
	}
	var p *client.Problem
	if _, err := c.Send(ctx, newcomer(), identity.TypeRegisterPatient, struct{}{}, true); !errors.As(err, &p) || p.Code != "voucher_required" {
		t.Fatalf("without a voucher: %v", err)
	}
	if _, err := c.Send(ctx, newcomer(), identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: strings.ToLower(f.Vouchers[0])}, true); err != nil {
		t.Fatalf("with a spare voucher: %v", err)
	}
	if _, err := c.Send(ctx, newcomer(), identity.TypeRegisterPatient, identity.RegisterPatient{Voucher: f.Vouchers[0]}, true); !errors.As(err, &p) || p.Code != "voucher_unknown" {
		t.Fatalf("the same voucher again: %v", err)
	}
	again, err := demo.Seed(ctx, home, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Vouchers) != len(f.Vouchers)-1 || slices.Contains(again.Vouchers, f.Vouchers[0]) {
		t.Fatalf("after one was used, the demo lists %v", again.Vouchers)
	}
}

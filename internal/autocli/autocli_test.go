package autocli

import (
	"net/url"
	"strings"
	"testing"

	"github.com/primum-health/primum/ledger"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// A table shows the columns some row fills, an identity by its name and
// the start of its id, and no control character.
func TestTable(t *testing.T) {
	var out strings.Builder
	items := []map[string]any{{"id": "c1", "who": strings.Repeat("a", 40), "scope": map[string]any{"all": true, "categories": []any{"observation", "condition"}}, "n": float64(12345678)},
		{"id": "c2", "who": nil, "scope": map[string]any{"all": false}, "n": float64(0)}}
	Table(&out, ledger.Cols("ID", "id", "WHO", "@who", "ALL", "scope.all", "CATEGORIES", "scope.categories", "N", "n", "NONE", "missing.deeper"), items,
		Names{strings.Repeat("a", 40): "St Luke's"})
	// The column empty on every row is left out; an identity shows its name
	// and the start of its id; a control character cannot reach the
	// terminal.
	want := "ID  WHO                        ALL  CATEGORIES             N\n" +
		"c1  St Luke's (aaaaaaaaaaaa…)  yes  observation,condition  12345678\n" +
		"c2                                                         0\n"
	if out.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	Table(&out, ledger.Cols("ID", "id"), []map[string]any{{"id": "evil\x1b]52;c;aGk=\x07"}}, nil)
	if strings.ContainsAny(out.String(), "\x1b\x07") {
		t.Fatalf("a control character reached the terminal: %q", out.String())
	}
	out.Reset()
	Table(&out, ledger.Cols("YES", "@yes"), []map[string]any{{"yes": []any{strings.Repeat("a", 40), strings.Repeat("b", 40)}}}, Names{strings.Repeat("a", 40): "St Luke's"})
	if want := "YES\nSt Luke's (aaaaaaaaaaaa…)," + strings.Repeat("b", 40) + "\n"; out.String() != want {
		t.Fatalf("a list of identities: %q, want %q", out.String(), want)
	}
	out.Reset()
	Table(&out, ledger.Cols("PAID", "$paid"), []map[string]any{{"paid": float64(31005)}, {"paid": float64(7)}, {"paid": float64(-250)}}, nil)
	if want := "PAID\n310.05\n0.07\n-2.50\n"; out.String() != want {
		t.Fatalf("cents: %q, want %q", out.String(), want)
	}
	out.Reset()
	Table(&out, ledger.Cols("FREE", "free"), []map[string]any{{"free": []any{map[string]any{"type": "icu-bed", "units": float64(3)}, map[string]any{"type": "ventilator", "units": float64(0)}}}}, nil)
	if want := "FREE\n3 icu-bed,0 ventilator\n"; out.String() != want {
		t.Fatalf("counts: %q, want %q", out.String(), want)
	}
	out.Reset()
	if Table(&out, ledger.Cols("ID", "id"), nil, nil); out.String() != "(none)\n" {
		t.Fatalf("an empty list: %q", out.String())
	}
}

// An id is shown with the name it has on the ledger before it, where it is
// known; a node's message is read for the ids in it; a patient's
// pseudonym, which no list shows, stays as it is.
func TestNames(t *testing.T) {
	const org, doctor, patient = "c1d3f9fdf157ac1799a6a2a7f26a0a5846745d52", "71a54af32dea973e944c450bf637f467df38a4dd", "0dae1e7dce09d2df63840eb1079a6075129d4847"
	n := Names{org: "Central Pharmacy", doctor: "doctor MD-100231"}
	for _, c := range []struct{ got, want string }{
		{n.Of(org), "Central Pharmacy (" + org + ")"},
		{n.Of(patient), patient},
		{n.OfKind("practitioner", doctor), "doctor MD-100231 (" + doctor + ")"},
		{n.OfKind("patient", patient), "patient " + patient},
		{n.In("dispensed by " + org + " at 2026-12-03T23:06:22Z"), "dispensed by Central Pharmacy (" + org + ") at 2026-12-03T23:06:22Z"},
		{n.In("tx " + org + "ff"), "tx " + org + "ff"}, // part of a longer hex string: not an id
		{n.In(patient + " asked"), patient + " asked"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// A paged answer's next page is named by the flags that ask for it: the
// parameters of the Link header that differ from those sent.
func TestNextFlags(t *testing.T) {
	for _, c := range []struct {
		sent, next url.Values
		want       string
	}{
		{url.Values{"limit": {"10"}}, nil, ""},
		{url.Values{"limit": {"10"}}, url.Values{"limit": {"10"}, "after": {"09506000134352/R10"}}, ` --after "09506000134352/R10"`},
		{url.Values{"limit": {"10"}, "after": {"100"}}, url.Values{"limit": {"10"}, "after": {"110"}}, ` --after "110"`},
		{nil, url.Values{"before": {"15"}}, ` --before "15"`},
	} {
		if got := NextFlags(c.sent, c.next); got != c.want {
			t.Errorf("sent %v, next %v: %q, want %q", c.sent, c.next, got, c.want)
		}
	}
}

// A read kept under its old spelling is the module's verb, named old, its
// arguments and flags the verb's, and says what it is now.
func TestAlias(t *testing.T) {
	for _, c := range []struct{ old, module, query, use string }{
		{"identities", "identity", "list", "identities"},
		{"identity", "identity", "show", "identity ID"},
		{"proposal", "governance", "show", "proposal ID"},
	} {
		a, v := Alias(nil, c.old, c.module, c.query), QueryVerb(nil, c.module, Declared(c.module, c.query))
		flags := func(c *cobra.Command) (n int) {
			c.Flags().VisitAll(func(*pflag.Flag) { n++ })
			return n
		}
		if a.Name() != c.old || a.Use != c.use || strings.TrimPrefix(a.Use, c.old) != strings.TrimPrefix(v.Use, v.Name()) ||
			a.Short != "The old spelling of 'primum "+c.module+" "+c.query+"', for one release" || flags(a) != flags(v) || flags(a) == 0 {
			t.Errorf("%s: %q %q, the verb %q", c.old, a.Use, a.Short, v.Use)
		}
	}
}

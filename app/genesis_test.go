package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/modules"
	"github.com/primum-health/primum/supply"
)

// initWith starts a harness's chain from g and returns its first state's hash.
func initWith(t *testing.T, g *Genesis) (*harness, []byte) {
	t.Helper()
	h := openHarness(t, t.TempDir(), false)
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, InitialHeight: 1, AppStateBytes: raw,
		Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: validatorKey.Public().(ed25519.PublicKey)}}})
	if err != nil {
		t.Fatal(err)
	}
	return h, res.AppHash
}

// TestModuleGenesisRoundTrip: each module's section, default or set,
// is exported from state as it was written, and a chain started from the
// export starts in the same state.
func TestModuleGenesisRoundTrip(t *testing.T) {
	members := testGenesis().Members
	custom := NewGenesis(members...)
	custom.Modules["governance"] = json.RawMessage(`{"voting_period":"48h0m0s"}`)
	custom.Modules["identity"] = json.RawMessage(`{"patient_registration":"open"}`)
	custom.Modules["supply"] = json.RawMessage(`{"prefixes":[{"prefix":"0614141","org":"` + id(pharmacyKey) + `"},{"prefix":"9506000","org":"` + id(hospitalKey) + `"}]}`) // in prefix order, as exported
	cases := []struct {
		name string
		g    *Genesis
	}{
		{"no sections (a document from before them)", &Genesis{Members: members}},
		{"a new consortium's", NewGenesis(members...)},
		{"every setting changed", custom},
		{"the legacy top-level patient_registration", &Genesis{Members: members, PatientRegistration: "voucher"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, hash := initWith(t, c.g)
			exported, err := ExportModules(h.store.Staged())
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range modules.All() {
				if m.Genesis == nil {
					continue
				}
				want, _ := c.g.Section(m)
				if !jsonEqual(t, want, exported[m.Name]) {
					t.Errorf("%s: wrote %s, exported %s", m.Name, want, exported[m.Name])
				}
			}
			h2, hash2 := initWith(t, &Genesis{Members: members, Modules: exported})
			again, err := ExportModules(h2.store.Staged())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(hash, hash2) || !reflect.DeepEqual(exported, again) {
				t.Fatalf("a chain started from the export differs: %X vs %X, %s vs %s", hash, hash2, exported, again)
			}
		})
	}
}

// TestModuleGenesisTakesEffect: the voting period a genesis sets is the
// one a proposal gets.
func TestModuleGenesisTakesEffect(t *testing.T) {
	g := NewGenesis(testGenesis().Members...)
	g.Modules["governance"] = json.RawMessage(`{"voting_period":"2h"}`)
	h, _ := initWith(t, g)
	h.block()
	h.mustOK(h.tx(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionRemoveMember, OrgID: id(insurerKey)}))
	p, err := governance.Get(h.store.Committed(), 1, h.now)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.now.Add(2 * time.Hour).UTC().Format(time.RFC3339); p.Deadline != want {
		t.Fatalf("deadline %s, want %s", p.Deadline, want)
	}
}

// TestGenesisRefusesBadSections: a section that is not what its module
// reads stops the chain from starting, with a message naming the field.
func TestGenesisRefusesBadSections(t *testing.T) {
	cases := []struct {
		name, modules, legacy, want string
	}{
		{"an unknown module", `{"billing":{}}`, "", "modules.billing"},
		{"a misspelt setting", `{"governance":{"voting_periode":"48h"}}`, "", "modules.governance"},
		{"not a duration", `{"governance":{"voting_period":"two days"}}`, "", "voting_period"},
		{"a voting period too short", `{"governance":{"voting_period":"10m"}}`, "", "voting_period"},
		{"a voting period too long", `{"governance":{"voting_period":"9000h"}}`, "", "voting_period"},
		{"an unknown policy", `{"identity":{"patient_registration":"free"}}`, "", "patient_registration"},
		{"the policy set twice", `{"identity":{"patient_registration":"open"}}`, "voucher", "set twice"},
		{"a legacy policy unknown", "", "free", "patient_registration"},
		{"not a company prefix", `{"supply":{"prefixes":[{"prefix":"02123","org":"x"}]}}`, "", "supply.prefixes[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := map[string]any{"members": testGenesis().Members}
			if c.modules != "" {
				g["modules"] = json.RawMessage(c.modules)
			}
			if c.legacy != "" {
				g["patient_registration"] = c.legacy
			}
			raw, _ := json.Marshal(g)
			_, err := ParseGenesis(raw)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestGenesisPrefixesAreClaims: the company prefixes of a genesis are
// held to a claim's rules when the chain starts, and held from block 1.
func TestGenesisPrefixesAreClaims(t *testing.T) {
	hosp, pharm := id(hospitalKey), id(pharmacyKey)
	cases := []struct {
		name, prefixes, want string
	}{
		{"two members' prefixes", `[{"prefix":"9506000","org":"` + hosp + `"},{"prefix":"0614141","org":"` + pharm + `"}]`, ""},
		{"an org not in the genesis", `[{"prefix":"9506000","org":"` + id(testKey("nobody")) + `"}]`, "not a founding member"},
		{"overlapping prefixes", `[{"prefix":"9506000","org":"` + hosp + `"},{"prefix":"95060001","org":"` + pharm + `"}]`, "overlaps"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGenesis(testGenesis().Members...)
			g.Modules["supply"] = json.RawMessage(`{"prefixes":` + c.prefixes + `}`)
			raw, _ := json.Marshal(g)
			h := openHarness(t, t.TempDir(), false)
			_, err := h.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: testChain, InitialHeight: 1, AppStateBytes: raw,
				Validators: []abci.ValidatorUpdate{{Power: 10, PubKeyType: "ed25519", PubKeyBytes: validatorKey.Public().(ed25519.PublicKey)}}})
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error with %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h.block()
			p, err := supply.GetCompanyPrefix(h.store.Committed(), "9506000")
			if err != nil || p.Owner != hosp {
				t.Fatalf("9506000 held by %+v (%v), want the hospital", p, err)
			}
			r := h.block(h.tx(pharmacyKey, supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "9506000"})).TxResults[0]
			wantCode(t, r.Code, r.Codespace, r.Log, supply.ErrPrefixOverlap)
		})
	}
}

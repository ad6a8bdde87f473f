package clienv

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/anchor"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/ledger"
)

// deviceLog writes a log of n heart rates and answers it as it reads.
func deviceLog(t *testing.T, n int) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "watch.log")
	m, _ := devices.MeasureNamed("heart_rate")
	for i := range n {
		if err := devices.Append(path, devices.Reading{Time: int64(1_790_000_000 + 60*i), Code: m.Code, Value: int64(6000 + 100*i)}); err != nil {
			t.Fatal(err)
		}
	}
	log, err := devices.ReadLogFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, log
}

// A device's next batch commits its log after its latest batch, with the
// consistency proof from it, or as its first; a log that is not the one
// the latest batch committed, or not there, is refused.
func TestNextBatch(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	path, log := deviceLog(t, 5)
	root := func(n int) string { r, _ := anchor.Root(log[:n]); return hex.EncodeToString(r) }
	for _, c := range []struct {
		name   string
		latest string // the node's answer to /latest; "": unknown_batch
		status int
		path   string
		proof  bool // a consistency proof
		err    string
	}{
		{"the first batch", "", http.StatusNotFound, path, false, ""},
		{"after a batch of two", fmt.Sprintf(`{"seq":1,"size":2,"root":%q}`, root(2)), http.StatusOK, path, true, ""},
		{"a log rewritten", fmt.Sprintf(`{"seq":1,"size":2,"root":%q}`, root(3)), http.StatusOK, path, false, "are not those the device's batch 1 committed"},
		{"a log no longer", fmt.Sprintf(`{"seq":1,"size":5,"root":%q}`, root(5)), http.StatusOK, path, false, "nothing to commit"},
		{"the node failing", `{"code":"internal","title":"down"}`, http.StatusInternalServerError, path, false, "down"},
		{"no log", "", http.StatusNotFound, path + ".none", false, "watch.log.none"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/devices/"+ledger.Address(pub)+"/latest" {
				t.Errorf("%s: asked %s", c.name, r.URL.Path)
			}
			body := c.latest
			if c.status != http.StatusOK {
				w.Header().Set("Content-Type", "application/problem+json")
				if body == "" {
					body = fmt.Sprintf(`{"code":%q,"title":"no such batch"}`, devices.ErrUnknownBatch.Name)
				}
			}
			w.WriteHeader(c.status)
			fmt.Fprint(w, body)
		}))
		b, err := (&Env{Node: srv.URL}).NextBatch(context.Background(), key, c.path)
		srv.Close()
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || b.Size != 5 || b.Root != root(5) || (len(b.Consistency) > 0) != c.proof):
			t.Errorf("%s: %+v %v", c.name, b, err)
		}
	}
}

// The validators a bundle is checked against are --validators, or the
// genesis's (this home's by default); neither there, or not hex, is
// refused.
func TestTrustedValidators(t *testing.T) {
	home := t.TempDir()
	doc := &types.GenesisDoc{ChainID: "primum-test", GenesisTime: time.Now(),
		Validators: []types.GenesisValidator{{PubKey: cmted25519.GenPrivKey().PubKey(), Power: 10, Name: "v0"}}}
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := doc.SaveAs(filepath.Join(home, "config", "genesis.json")); err != nil {
		t.Fatal(err)
	}
	want, err := prove.TrustedValidators(doc)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Home: home}
	for _, c := range []struct {
		name, genesis, validators, chain string
		wantChain                        string
		want                             []byte
		err                              string
	}{
		{"this home's genesis", "", "", "", "primum-test", want, ""},
		{"--genesis", filepath.Join(home, "config", "genesis.json"), "", "", "primum-test", want, ""},
		{"--validators on --chain-id", filepath.Join(home, "none.json"), "00ff", "primum-prod", "primum-prod", []byte{0, 0xff}, ""},
		{"--validators without --chain-id", "", "00ff", "", "", nil, "--validators needs --chain-id"},
		{"--chain-id without --validators", "", "", "primum-prod", "", nil, "--chain-id goes with --validators"},
		{"--validators not hex", "", "zz", "primum-prod", "", nil, "--validators: hex"},
		{"no genesis", filepath.Join(home, "none.json"), "", "", "", nil, "none.json"},
	} {
		chain, got, err := e.TrustedValidators(c.genesis, c.validators, c.chain)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || !bytes.Equal(got, c.want) || chain != c.wantChain):
			t.Errorf("%s: %s %x %v, want %s %x", c.name, chain, got, err, c.wantChain, c.want)
		}
	}
}

// A bundle that is not there, or not one, and a proof without a log or a
// trust root, are refused before anything is checked or asked.
func TestBundleRefused(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	path, _ := deviceLog(t, 3)
	e := &Env{Home: dir, Node: "http://127.0.0.1:1"}
	for _, c := range []struct {
		name string
		err  func() error
		want string
		is   error
	}{
		{"no bundle", func() error { _, _, err := e.VerifyBundle(filepath.Join(dir, "none.json"), "", "00", "c"); return err }, "none.json", nil},
		{"not a bundle", func() error { _, _, err := e.VerifyBundle(notJSON, "", "00", "c"); return err }, "", prove.ErrBundleFormat},
		{"a trust root not hex", func() error { _, _, err := e.VerifyBundle(empty, "", "zz", "c"); return err }, "--validators: hex", nil},
		{"a proof without a log", func() error {
			_, err := e.Bundle(context.Background(), Trust{}, "", "3a9c", filepath.Join(dir, "none.log"), 1, 0)
			return err
		}, "none.log", nil},
		{"a proof without a trust root", func() error {
			_, err := e.Bundle(context.Background(), Trust{}, "", "3a9c", path, 1, 0)
			return err
		}, "a trust root is needed", nil},
	} {
		err := c.err()
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// A reading is recorded by its measure's name or MDC id, in hundredths of
// its unit, at --at or now; an unknown measure, a time not RFC 3339 or an
// implausible value is refused, and nothing is written.
func TestRecordReading(t *testing.T) {
	if got := MeasureNames(); !strings.HasPrefix(got, "heart_rate, spo2, ") || strings.Count(got, ", ") != len(devices.Measures)-1 {
		t.Errorf("MeasureNames: %q", got)
	}
	path := filepath.Join(t.TempDir(), "watch.log")
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	written := 0
	for _, c := range []struct {
		name, code string
		value      float64
		at         string
		want       devices.Reading
		err        string
	}{
		{"a heart rate now", "heart_rate", 72, "", devices.Reading{Time: now.Unix(), Code: 147842, Value: 7200}, ""},
		{"a saturation by its MDC id, at a time", "mdc_puls_oxim_sat_o2", 97.456, "2026-12-04T08:30:00Z", devices.Reading{Time: now.Unix() - 1800, Code: 150456, Value: 9746}, ""},
		{"a measure not known", "pulse", 72, "", devices.Reading{}, `--code "pulse": one of heart_rate, spo2`},
		{"a time not RFC 3339", "heart_rate", 72, "08:30", devices.Reading{}, "--at: RFC 3339"},
		{"a heart rate not plausible", "heart_rate", 1000, "", devices.Reading{}, "heart"},
		{"a saturation by its MDC code", "150456", 96, "", devices.Reading{Time: now.Unix(), Code: 150456, Value: 9600}, ""},
		{"a code no reading carries", "1", 1, "", devices.Reading{}, `--code "1"`},
		{"a value past any unit", "heart_rate", 1e30, "", devices.Reading{}, "--value: a number in /min"},
	} {
		m, r, err := RecordReading(path, c.code, c.value, c.at, now)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.err))):
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		case c.err == "" && (err != nil || r != c.want || m.Code != c.want.Code):
			t.Errorf("%s: %+v %+v %v, want %+v", c.name, m, r, err, c.want)
		case c.err == "":
			written++
		}
	}
	if log, err := devices.ReadLogFile(path); err != nil || len(log) != written {
		t.Errorf("the log holds %d readings (%v), want %d", len(log), err, written)
	}
}

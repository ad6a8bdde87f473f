package node_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/node"
)

// TestDoctor: a home's checks, its node stopped then running: a key
// readable by others fails, so does an address another program took; a
// running node's ports are its own, its chain the home's, its latest
// block recent.
func TestDoctor(t *testing.T) {
	home := t.TempDir()
	ports := freePorts(t)
	if _, err := node.InitMember(home, node.Member{InitOptions: node.InitOptions{Moniker: "doctor", Ports: ports}, Name: "St Luke's", OrgType: "hospital", Power: 10,
		ChainID: "doctor-test", Unencrypted: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	status := func(checks []node.Check) map[string]string {
		out := map[string]string{}
		for _, c := range checks {
			out[c.Name] = c.Status
		}
		return out
	}
	got := status(node.Doctor(ctx, home, time.Now()))
	for name, want := range map[string]string{"home": "ok", "config": "ok", "genesis": "ok", "keys": "ok", "keys encrypted": "warn", "port api": "ok", "port rpc": "ok", "port p2p": "ok", "node": "warn"} {
		if got[name] != want {
			t.Errorf("stopped: %s is %q, want %q (%v)", name, got[name], want, got)
		}
	}
	// A key readable by others; an address taken by another program.
	key := filepath.Join(home, "config", "priv_validator_key.json")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ports.API))
	if err != nil {
		t.Fatal(err)
	}
	checks := node.Doctor(ctx, home, time.Now())
	l.Close()
	got = status(checks)
	if got["keys"] != "fail" || got["port api"] != "fail" {
		t.Fatalf("a loose key and a taken port: %v", checks)
	}
	for _, c := range checks {
		if c.Name == "keys" && !strings.Contains(c.Detail, "priv_validator_key.json (644)") {
			t.Errorf("the loose key is not named: %s", c.Detail)
		}
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	// Running.
	startHome(t, home)
	checks = node.Doctor(ctx, home, time.Now())
	got = status(checks)
	for name, want := range map[string]string{"keys": "ok", "port api": "ok", "port rpc": "ok", "port p2p": "ok", "node": "ok", "clock": "ok", "peers": "ok"} {
		if got[name] != want {
			t.Errorf("running: %s is %q, want %q (%v)", name, got[name], want, checks)
		}
	}
	// The record store's unseal key, readable by others.
	unseal := filepath.Join(home, "config", "record-store-unseal.json")
	if err := os.Chmod(unseal, 0o640); err != nil {
		t.Fatal(err)
	}
	if got := status(node.Doctor(ctx, home, time.Now())); got["keys"] != "fail" {
		t.Errorf("a loose unseal key: %v", got)
	}
	if err := os.Chmod(unseal, 0o600); err != nil {
		t.Fatal(err)
	}
	// A clock behind the chain's.
	got = status(node.Doctor(ctx, home, time.Now().Add(-time.Minute)))
	if got["clock"] != "fail" {
		t.Errorf("a clock a minute behind: %v", got)
	}
}

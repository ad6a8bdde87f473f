package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cometbft/cometbft/types"

	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/client/prove"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/node"
)

// build is one variant of the command, built once per test run.
type build struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // name -> *build

// primumBinary builds the command once per test run.
func primumBinary(t *testing.T) string {
	t.Helper()
	return buildPrimum(t, "primum")
}

// buildPrimum builds the command once per test run with extra go build
// flags (a test variant: -tags byzantine, a clock-skew overlay); name tells
// the variants apart.
func buildPrimum(t *testing.T, name string, flags ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "primum-bin")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		args := append(append([]string{"build", "-o", b.path}, flags...), ".")
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// proc is one node process.
type proc struct {
	home  string
	level string // node log level; "error" when empty
	api   string
	rpc   string
	env   []string // added to the test's environment
	cmd   *exec.Cmd
	log   *syncBuffer
}

func (p *proc) start(t *testing.T, bin string) {
	t.Helper()
	p.log = &syncBuffer{}
	level := p.level
	if level == "" {
		level = "error"
	}
	p.cmd = exec.Command(bin, "node", "--home", p.home, "--log-level", level)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if len(p.env) > 0 {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
		p.cmd = nil
	}
}

// startConsortium writes an n-validator testnet with the real command and
// starts every node as its own OS process.
func startConsortium(t *testing.T, n int, extra ...string) ([]*proc, string) {
	t.Helper()
	return startConsortiumLogging(t, n, "error", extra...)
}

// startConsortiumLogging is startConsortium with the nodes logging at level.
func startConsortiumLogging(t *testing.T, n int, level string, extra ...string) ([]*proc, string) {
	t.Helper()
	bin := primumBinary(t)
	dir := t.TempDir()
	args := append([]string{"testnet", "--validators", fmt.Sprint(n), "--output", dir, "--free-ports", "--chain-id", "primum-consortium-test"}, extra...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testnet: %v\n%s", err, out)
	}
	procs := make([]*proc, n)
	for i := range procs {
		home := filepath.Join(dir, fmt.Sprintf("node%d", i))
		s, err := node.LoadSettings(home)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := node.CometConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		procs[i] = &proc{home: home, level: level, api: "http://" + s.APIAddr, rpc: strings.Replace(cfg.RPC.ListenAddress, "tcp://", "http://", 1)}
		procs[i].start(t, bin)
	}
	t.Cleanup(func() {
		for i, p := range procs {
			p.kill()
			if t.Failed() {
				t.Logf("node%d log:\n%s", i, p.log.String())
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, p := range procs {
		if err := client.New(p.api).WaitHeight(ctx, 1); err != nil {
			t.Fatalf("%s did not start: %v", p.home, err)
		}
	}
	return procs, dir
}

func operatorKey(t *testing.T, home string) ed25519.PrivateKey {
	t.Helper()
	f, err := keyring.ReadFile(filepath.Join(home, "keys", "operator.json"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.Open("")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// operatorToken is the API token a testnet node holds for its operator key.
func operatorToken(t *testing.T, home string) string {
	t.Helper()
	settings, err := node.LoadSettings(home)
	if err != nil {
		t.Fatal(err)
	}
	for tok := range settings.APITokens {
		return tok
	}
	t.Fatalf("%s has no API token", home)
	return ""
}

// blockAppHash reads the app hash in the header of block h from CometBFT's own RPC.
func blockAppHash(ctx context.Context, rpc string, h int64) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/block?height=%d", rpc, h), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		Result struct {
			Block struct {
				Header struct {
					AppHash string `json:"app_hash"`
				} `json:"header"`
			} `json:"block"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return "", err
	}
	if body.Result.Block.Header.AppHash == "" {
		return "", fmt.Errorf("no block %d at %s", h, rpc)
	}
	return body.Result.Block.Header.AppHash, nil
}

// waitIdentity polls a node until it knows id.
func waitIdentity(ctx context.Context, c *client.Client, id string) error {
	for {
		_, err := c.Identity(ctx, id)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never saw %s: %w", c.BaseURL(), id, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func newPatient(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConsortiumFourProcesses: four validators from 'primum testnet' as
// separate processes; a transaction sent to any node is committed and readable
// on all; one validator killed with SIGKILL, the chain keeps committing;
// restarted, it catches up to the same app hash.
func TestConsortiumFourProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process consortium test (-short)")
	}
	procs, _ := startConsortium(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// One transaction through each node, readable on all four.
	var ids []string
	for i, p := range procs {
		pat := newPatient(t)
		if _, err := client.New(p.api).Send(ctx, pat, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatalf("register via node%d: %v", i, err)
		}
		ids = append(ids, ledger.Address(pat.Public().(ed25519.PublicKey)))
	}
	org := operatorKey(t, procs[1].home)
	doc := newPatient(t)
	if _, err := client.New(procs[2].api).RegisterPractitioner(ctx, org, doc, identity.RegisterPractitioner{
		Licence: "MD-42", Profession: "doctor", ValidUntil: time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339)}, true); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, ledger.Address(doc.Public().(ed25519.PublicKey)))
	for _, p := range procs {
		for _, id := range ids {
			if err := waitIdentity(ctx, client.New(p.api), id); err != nil {
				t.Fatal(err)
			}
		}
	}

	// SIGKILL node3: 30 of 40 power remains (> 2/3), so the chain goes on.
	procs[3].kill()
	c0 := client.New(procs[0].api)
	var during []string
	for i := 0; i < 5; i++ {
		pat := newPatient(t)
		if _, err := c0.Send(ctx, pat, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
			t.Fatalf("commit with one validator down: %v", err)
		}
		during = append(during, ledger.Address(pat.Public().(ed25519.PublicKey)))
	}

	// Restart it: it catches up on its own and agrees on every app hash.
	procs[3].start(t, primumBinary(t))
	s0, err := c0.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c3 := client.New(procs[3].api)
	if err := c3.WaitHeight(ctx, s0.Height); err != nil {
		t.Fatalf("restarted node did not catch up: %v", err)
	}
	for _, id := range during {
		if err := waitIdentity(ctx, c3, id); err != nil {
			t.Fatal(err)
		}
	}
	for h := int64(1); h <= s0.Height; h++ {
		want, err := blockAppHash(ctx, procs[0].rpc, h)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range procs[1:] {
			got, err := blockAppHash(ctx, p.rpc, h)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("height %d: node%d app hash %s, node0 %s", h, i+1, got, want)
			}
		}
	}

	// An answer of node0's proven from the genesis, its headers cross-checked
	// with node3's: signed by at least three of the four validators.
	genesis, err := types.GenesisDocFromFile(filepath.Join(procs[0].home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	prover, err := prove.New(ctx, c0, procs[0].rpc, prove.TrustRoot{Genesis: genesis, Witnesses: []string{procs[3].rpc}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := prover.Get(ctx, "id/"+during[0]); err != nil || !got.Exists || got.Of != 4 || got.Signers < 3 {
		t.Fatalf("proven answer: %+v %v", got, err)
	}
}

package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rebuild static/vendor/go (the portal's record opener) from its sources")

// The portal's record opener is Go compiled to WebAssembly
// (wasm/release over package release/sealed), committed under
// static/vendor/go so that a fresh checkout serves it without a build
// step. SOURCE records what it was built from.
const (
	wasmDir    = "static/vendor/go"
	wasmSource = wasmDir + "/SOURCE"
)

// wasmInputs hashes the opener's sources: its main package and package
// sealed (every .go file but tests), with the Go version that builds it.
func wasmInputs(t *testing.T) string {
	t.Helper()
	var files []string
	for _, dir := range []string{"wasm/release", "../release/sealed"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func buildWasm(t *testing.T, out string) {
	t.Helper()
	// No VCS stamp: the same sources build the same bytes in any
	// checkout, whatever the machine's GOFLAGS.
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "./wasm/release")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the record opener: %v\n%s", err, b)
	}
}

func sum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRecordOpenerIsBuilt: the committed release.wasm is the build of its
// sources as they are (a change to package sealed or wasm/release without
// 'go test ./web -run TestRecordOpenerIsBuilt -update' fails here), and,
// built again with the Go version that built it, the same bytes; its
// wasm_exec.js is that Go version's.
func TestRecordOpenerIsBuilt(t *testing.T) {
	if *update {
		buildWasm(t, filepath.Join(wasmDir, "release.wasm"))
		exec, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wasmDir, "wasm_exec.js"), exec, 0o644); err != nil {
			t.Fatal(err)
		}
		src := fmt.Sprintf("go %s\ninputs %s\nrelease.wasm %s\nwasm_exec.js %s\n", runtime.Version(), wasmInputs(t),
			sum(t, filepath.Join(wasmDir, "release.wasm")), sum(t, filepath.Join(wasmDir, "wasm_exec.js")))
		if err := os.WriteFile(wasmSource, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(wasmSource)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		rec[k] = v
	}
	if got := wasmInputs(t); rec["inputs"] != got {
		t.Fatalf("the record opener's sources changed since %s was built: run go test ./web -run TestRecordOpenerIsBuilt -update", wasmSource)
	}
	for _, f := range []string{"release.wasm", "wasm_exec.js"} {
		if got := sum(t, filepath.Join(wasmDir, f)); rec[f] != got {
			t.Fatalf("%s/%s is not the file %s names (sha256 %s): rebuild it with -update", wasmDir, f, wasmSource, got)
		}
	}
	if rec["go"] != runtime.Version() {
		t.Logf("built with %s, testing with %s: not rebuilt to compare", rec["go"], runtime.Version())
		return
	}
	out := filepath.Join(t.TempDir(), "release.wasm")
	buildWasm(t, out)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := os.ReadFile(filepath.Join(wasmDir, "release.wasm"))
	if !bytes.Equal(got, committed) {
		t.Fatalf("%s/release.wasm is not what its sources build: rebuild it with -update", wasmDir)
	}
	exec, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if sha := sha256.Sum256(exec); hex.EncodeToString(sha[:]) != rec["wasm_exec.js"] {
		t.Fatalf("%s/wasm_exec.js is not %s's", wasmDir, runtime.Version())
	}
}

package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/internal/demo/demotest"
)

// A generated query verb reads as its caller: signed with --from's key, or
// with --token, or else PRIMUM_TOKEN; with none, as anyone. The access
// audit is the regulator's to read.
func TestQueryVerbReadsAsTheCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo node (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, n, _, f := demotest.Seeded(t, ctx)
	regulator := f.Member("National Medicines Agency")
	for _, tc := range []struct {
		name string
		args []string
		env  string
		read bool
	}{
		{"anyone", nil, "", false},
		{"a hospital", []string{"--from", f.Member("St Luke's Hospital").KeyFile}, "", false},
		{"--from", []string{"--from", regulator.KeyFile}, "", true},
		{"--token", []string{"--token", regulator.APIToken}, "", true},
		{"PRIMUM_TOKEN", nil, regulator.APIToken, true},
	} {
		cmd := exec.Command(primumBinary(t), append([]string{"records", "audit", "--node", n.APIURL()}, tc.args...)...)
		cmd.Env = append(os.Environ(), "PRIMUM_TOKEN="+tc.env)
		b, err := cmd.CombinedOutput()
		if (err == nil) != tc.read || !tc.read && !strings.Contains(string(b), "Error [") {
			t.Fatalf("%s: read %v, want %v:\n%s", tc.name, err == nil, tc.read, b)
		}
	}
}

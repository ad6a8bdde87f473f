package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSnapshotsCheck: doctor says whether the node keeps snapshots for
// joining nodes and warns when the newest is older than its interval says.
func TestSnapshotsCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interval  int64
		snapshots []string
		height    int64
		status    string
		says      string
	}{
		{"off", -1, nil, 5000, CheckOK, "none taken"},
		{"none yet", 0, nil, 1500, CheckOK, "the first at height 1000"},
		{"fresh", 100, []string{"100", "200", "200.tmp"}, 250, CheckOK, "newest of height 200"},
		{"stale", 100, []string{"100"}, 450, CheckWarn, "of height 100, at height 450"},
		{"never written", 100, nil, 450, CheckWarn, "of height 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			for _, s := range tc.snapshots {
				if err := os.MkdirAll(filepath.Join(home, snapshotsDir, s), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			c := snapshotsCheck(home, Settings{SnapshotInterval: tc.interval}, tc.height)
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.says) {
				t.Fatalf("got %s %q, want %s saying %q", c.Status, c.Detail, tc.status, tc.says)
			}
		})
	}
}

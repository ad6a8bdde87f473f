package node

import (
	"bytes"
	"log"
	"log/slog"
	"strings"
	"testing"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/primum-health/primum/store"
)

// CometBFT's Pebble databases keep their informational lines (the replay
// of their log on every start) off the console, and their errors reach the
// node's log. Not parallel: it redirects the process's loggers.
func TestCometDBsLogQuietly(t *testing.T) {
	var std bytes.Buffer
	defer log.SetOutput(log.Writer())
	log.SetOutput(&std)
	cfg := cmtcfg.DefaultConfig()
	cfg.SetRoot(t.TempDir())
	cfg.DBBackend = "pebbledb"
	for range 2 { // the second open replays the first one's log
		db, err := cometDBs(&cmtcfg.DBContext{ID: "blockstore", Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetSync([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if std.Len() > 0 {
		t.Fatalf("CometBFT's databases printed:\n%s", std.String())
	}

	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	defer slog.SetDefault(old)
	store.QuietLogger{}.Errorf("background error: %s", "disk full")
	if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "background error: disk full") {
		t.Fatalf("a storage error was not logged: %q", logged.String())
	}
}

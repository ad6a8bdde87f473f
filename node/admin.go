package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// adminSocket is where a running node takes operations that only its own
// operator may ask for, on its machine: a Unix socket in the home, owner-
// only. The file's permissions are the authorisation (the OS account that
// runs the node and owns the home); it is never a network port.
const adminSocket = "data/admin.sock"

// maxSocketPath is the longest path a Unix socket may have (sun_path).
const maxSocketPath = 107

// ErrNoAdminSocket: no node answers on the home's admin socket.
var ErrNoAdminSocket = errors.New("no node answers on the home's admin socket")

// serveAdmin listens on the home's admin socket. A socket left by a node
// that crashed is replaced: the node holds its databases' locks by now, so
// no other node runs on this home.
func (n *Node) serveAdmin() error {
	path := filepath.Join(n.home, adminSocket)
	if len(path) > maxSocketPath {
		n.log.Warn("the home's path is too long for the admin socket: primum backup will need the node stopped", "socket", path)
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot replace the admin socket %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("cannot listen on the admin socket %s: %w", path, err)
	}
	// data/ is the owner's alone (0700) from the start; this is the second lock.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /backup", func(w http.ResponseWriter, r *http.Request) {
		var req backupRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			writeAdmin(w, http.StatusBadRequest, adminAnswer{Error: "cannot read the request: " + err.Error()})
			return
		}
		start := time.Now()
		m, err := n.Backup(r.Context(), req.Out)
		if err != nil {
			n.log.Error("backup failed", "out", req.Out, "err", err)
			status := http.StatusInternalServerError
			if errors.Is(err, ErrBackupBusy) || errors.Is(err, ErrOutNotEmpty) {
				status = http.StatusConflict
			}
			writeAdmin(w, status, adminAnswer{Error: err.Error()})
			return
		}
		n.log.Info("backup written", "out", req.Out, "app_height", m.AppHeight, "pause_ms", m.PauseMS,
			"bytes", m.Size(), "seconds", time.Since(start).Seconds())
		writeAdmin(w, http.StatusOK, adminAnswer{Manifest: m})
	})
	n.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := n.admin.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("admin socket stopped", "err", err)
		}
	}()
	return nil
}

type backupRequest struct {
	Out string `json:"out"`
}

type adminAnswer struct {
	Manifest *Manifest `json:"manifest,omitempty"`
	Error    string    `json:"error,omitempty"`
}

func writeAdmin(w http.ResponseWriter, status int, a adminAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

// adminClient talks to the node of home on its admin socket.
func adminClient(home string) (*http.Client, error) {
	path := filepath.Join(home, adminSocket)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("%w: the home's path is too long for a Unix socket (%d bytes, at most %d)", ErrNoAdminSocket, len(path), maxSocketPath)
	}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}, nil
}

// nodeAnswers says whether a node runs on home: whether its admin socket
// takes a connection.
func nodeAnswers(home string) bool {
	path := filepath.Join(home, adminSocket)
	if len(path) > maxSocketPath {
		return false
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Backup writes a backup of the node in home to out: through the running
// node's admin socket when it runs (the node writes it, pausing its block
// execution for the copy of its ledger), else from the stopped home
// (BackupStopped).
func Backup(ctx context.Context, home, out string) (*Manifest, error) {
	home, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	m, err := backupRunning(ctx, home, out)
	if errors.Is(err, ErrNoAdminSocket) {
		return BackupStopped(home, out)
	}
	return m, err
}

// backupRunning asks the node running on home for a backup to out; it
// returns ErrNoAdminSocket when none answers.
func backupRunning(ctx context.Context, home, out string) (*Manifest, error) {
	c, err := adminClient(home)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(backupRequest{Out: out})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://node/backup", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	res, err := c.Do(req)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		// No socket, or one a stopped node left behind.
		return nil, fmt.Errorf("%w: %v", ErrNoAdminSocket, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node on %s: %w", filepath.Join(home, adminSocket), err)
	}
	defer res.Body.Close()
	var a adminAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		return nil, fmt.Errorf("the node's answer on its admin socket: %w", err)
	}
	if a.Error != "" {
		return nil, fmt.Errorf("the running node: %s", a.Error)
	}
	if res.StatusCode != http.StatusOK || a.Manifest == nil {
		return nil, fmt.Errorf("the node answered %s on its admin socket", res.Status)
	}
	return a.Manifest, nil
}

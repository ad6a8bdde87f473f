package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/primum-health/primum/store"
)

// Errors of restores.
var (
	ErrNodeRunning = errors.New("a node runs on this home: stop it first")
	ErrHomeInUse   = errors.New("the home holds files")
	ErrBadBackup   = errors.New("not a usable backup")
)

// ReadManifest reads and checks a backup's manifest: its format, that its
// heights are ones a node starts from, and that every path stays inside
// the folder. The files themselves are checked as Restore copies them.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (an unfinished backup, or not a backup folder)", ErrBadBackup, dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: cannot parse %s: %v", ErrBadBackup, filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != backupFormat {
		return nil, fmt.Errorf("%w: format %q, this Primum restores %q", ErrBadBackup, m.Format, backupFormat)
	}
	if err := checkHeights(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if _, err := hex.DecodeString(m.AppHash); err != nil || m.ChainID == "" || m.NodeID == "" || len(m.Files) == 0 {
		return nil, fmt.Errorf("%w: %s lacks the chain, the node, the app hash or the files", ErrBadBackup, ManifestFile)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) || seen[f.Path] || f.Path == ManifestFile {
			return nil, fmt.Errorf("%w: file %q in %s", ErrBadBackup, f.Path, ManifestFile)
		}
		seen[f.Path] = true
	}
	for _, need := range []string{"config/genesis.json", "config/node_key.json", "config/priv_validator_key.json"} {
		if !seen[need] {
			return nil, fmt.Errorf("%w: it holds no %s", ErrBadBackup, need)
		}
	}
	return &m, nil
}

// Restore brings back the node of the backup in from into home: home must
// be new or an empty folder, unless force, which moves a stopped node's
// home aside to home.old-<time> (returned). The files are copied into a
// folder beside home, each checked against its size and SHA-256 in the
// manifest, the copy's app state is opened and checked against the
// manifest's height and app hash, and only then does the folder become
// home. Started, the node executes again the last block it had and
// catches up from its peers.
func Restore(from, home string, force bool, now time.Time) (m *Manifest, movedAside string, err error) {
	if from, err = filepath.Abs(from); err != nil {
		return nil, "", err
	}
	if home, err = filepath.Abs(home); err != nil {
		return nil, "", err
	}
	if m, err = ReadManifest(from); err != nil {
		return nil, "", err
	}
	inUse, err := homeInUse(home)
	if err != nil {
		return nil, "", err
	}
	if inUse != "" && !force {
		return nil, "", fmt.Errorf("%w (%s): restore into a new or empty folder, or pass --force to move it aside to %s.old-<time>", ErrHomeInUse, inUse, home)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(home), filepath.Base(home)+".restoring-")
	if err != nil {
		return nil, "", fmt.Errorf("cannot make a folder beside %s: %w", home, err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	for _, f := range m.Files {
		if err := copyChecked(filepath.Join(from, filepath.FromSlash(f.Path)), filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return nil, "", err
		}
	}
	if err := checkRestored(tmp, m); err != nil {
		return nil, "", err
	}
	// Checked again: a node may have started meanwhile.
	if inUse, err = homeInUse(home); err != nil {
		return nil, "", err
	}
	if inUse != "" {
		if !force {
			return nil, "", fmt.Errorf("%w (%s)", ErrHomeInUse, inUse)
		}
		movedAside = fmt.Sprintf("%s.old-%s", home, now.UTC().Format("20060102-150405"))
		if err := os.Rename(home, movedAside); err != nil {
			return nil, "", fmt.Errorf("cannot move %s aside: %w", home, err)
		}
	} else if err := os.Remove(home); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err // an empty folder
	}
	if err := os.Rename(tmp, home); err != nil {
		return nil, movedAside, fmt.Errorf("cannot put the restored home in place: %w", err)
	}
	return m, movedAside, nil
}

// homeInUse says why home may not simply be replaced ("" when it is
// missing or an empty folder); a running node is an error even with
// --force.
func homeInUse(home string) (string, error) {
	entries, err := os.ReadDir(home)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", home, err)
	}
	if len(entries) == 0 {
		return "", nil
	}
	if nodeAnswers(home) {
		return "", fmt.Errorf("%w (%s answers)", ErrNodeRunning, filepath.Join(home, adminSocket))
	}
	// A node with no admin socket (a home path too long for one) holds its
	// state's lock.
	lock := filepath.Join(home, stateDir, "LOCK")
	if _, err := os.Stat(lock); err == nil {
		l, err := vfs.Default.Lock(lock)
		if err != nil {
			return "", fmt.Errorf("%w (its state is locked: %v)", ErrNodeRunning, err)
		}
		l.Close()
	}
	if Initialized(home) {
		return "it holds a node", nil
	}
	return fmt.Sprintf("%d entries", len(entries)), nil
}

// copyChecked copies one file of a backup, owner-only, and checks it
// against the manifest as it goes.
func copyChecked(from, to string, want BackupFile) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot copy %s: %w", from, err)
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("%w: %s is damaged (%d bytes, SHA-256 %x; the manifest says %d bytes, %s)", ErrBadBackup, want.Path, n, h.Sum(nil), want.Size, want.SHA256)
	}
	return nil
}

// checkRestored opens a restored home's app state, which checks that it
// hashes to the app hash it recorded, and compares both with the manifest.
func checkRestored(home string, m *Manifest) error {
	nodeID, chainID, err := identityOf(home)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if nodeID != m.NodeID || chainID != m.ChainID {
		return fmt.Errorf("%w: it holds node %s of chain %s, the manifest says node %s of chain %s", ErrBadBackup, nodeID, chainID, m.NodeID, m.ChainID)
	}
	st, err := store.Open(filepath.Join(home, stateDir))
	if err != nil {
		return fmt.Errorf("%w: its app state: %v", ErrBadBackup, err)
	}
	defer st.Close()
	want, _ := hex.DecodeString(m.AppHash)
	if v, h := st.CommittedVersion(); v != m.AppHeight || (v > 0 && !bytes.Equal(h, want)) {
		return fmt.Errorf("%w: its app state is at height %d with app hash %X, the manifest says %d and %s", ErrBadBackup, v, h, m.AppHeight, m.AppHash)
	}
	return nil
}

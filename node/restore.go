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
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"

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
	if err := checkRequired(m.Files); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	return &m, nil
}

// Restored is what Restore did.
type Restored struct {
	// Manifest is the backup's.
	Manifest *Manifest
	// MovedAside is where the home replaced went ("" when there was none).
	MovedAside string
	// Signing is the restored validator's signing state; SigningKept says
	// it is the replaced home's, which had signed further than the
	// backup's (BackupSigning).
	Signing, BackupSigning SignState
	SigningKept            bool
}

// Restore brings back the node of the backup in from into home: home must
// be new or an empty folder, unless force, which moves a stopped node's
// home aside to home.old-<time>. The files are copied into a folder beside
// home, each checked against its size and SHA-256 in the manifest, the
// copy's app state is opened and checked against the manifest's height and
// app hash, and only then does the folder become home. Started, the node
// executes again the last block it had and catches up from its peers.
//
// When the home replaced is the same validator's and has signed further
// than the backup (keepSigning), its signing state is kept.
func Restore(from, home string, force bool, now time.Time) (r *Restored, err error) {
	if from, err = filepath.Abs(from); err != nil {
		return nil, err
	}
	if home, err = filepath.Abs(home); err != nil {
		return nil, err
	}
	m, err := ReadManifest(from)
	if err != nil {
		return nil, err
	}
	r = &Restored{Manifest: m}
	inUse, err := homeInUse(home)
	if err != nil {
		return nil, err
	}
	if inUse != "" && !force {
		return nil, fmt.Errorf("%w (%s): restore into a new or empty folder, or pass --force to move it aside to %s.old-<time>", ErrHomeInUse, inUse, home)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(home), filepath.Base(home)+".restoring-")
	if err != nil {
		return nil, fmt.Errorf("cannot make a folder beside %s: %w", home, err)
	}
	defer os.RemoveAll(tmp) // gone once renamed
	for _, f := range m.Files {
		if err := copyChecked(filepath.Join(from, filepath.FromSlash(f.Path)), filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return nil, err
		}
	}
	if err := checkRestored(tmp, m); err != nil {
		return nil, err
	}
	// Checked again: a node may have started meanwhile.
	if inUse, err = homeInUse(home); err != nil {
		return nil, err
	}
	if inUse != "" && !force {
		return nil, fmt.Errorf("%w (%s)", ErrHomeInUse, inUse)
	}
	if err := keepSigning(home, tmp, r); err != nil {
		return nil, err
	}
	if inUse != "" {
		r.MovedAside = fmt.Sprintf("%s.old-%s", home, now.UTC().Format("20060102-150405"))
		if err := os.Rename(home, r.MovedAside); err != nil {
			return nil, fmt.Errorf("cannot move %s aside: %w", home, err)
		}
	} else if err := os.Remove(home); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err // an empty folder
	}
	if err := os.Rename(tmp, home); err != nil {
		return r, fmt.Errorf("cannot put the restored home in place: %w", err)
	}
	return r, nil
}

// SignState is where a validator last signed (its priv_validator_state.json):
// CometBFT's privval refuses to sign at or below it.
type SignState struct {
	Height int64 `json:"height"`
	Round  int32 `json:"round"`
	Step   int8  `json:"step"`
}

// After says whether s is further than o, in CometBFT's order: height,
// then round, then step.
func (s SignState) After(o SignState) bool {
	if s.Height != o.Height {
		return s.Height > o.Height
	}
	if s.Round != o.Round {
		return s.Round > o.Round
	}
	return s.Step > o.Step
}

func (s SignState) String() string {
	return fmt.Sprintf("height %d, round %d, step %d", s.Height, s.Round, s.Step)
}

// readSignState reads a priv_validator_state.json (ok false when there is
// none).
func readSignState(path string) (s SignState, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(b, &st); err != nil {
		return s, false, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	return SignState{Height: st.Height, Round: st.Round, Step: st.Step}, true, nil
}

// validatorOf reads the address of a home's validator key and its chain.
func validatorOf(home string, cfg *cmtcfg.Config) (address, chainID string, err error) {
	b, err := os.ReadFile(cfg.PrivValidatorKeyFile())
	if err != nil {
		return "", "", err
	}
	var key privval.FilePVKey
	if err := cmtjson.Unmarshal(b, &key); err != nil || key.PrivKey == nil {
		return "", "", fmt.Errorf("cannot parse %s: %v", cfg.PrivValidatorKeyFile(), err)
	}
	_, chainID, err = identityOf(home)
	return key.PrivKey.PubKey().Address().String(), chainID, err
}

// keepSigning guards against double signing after a restore over a home:
// the home replaced (moved aside, or lost later) may have signed blocks
// after the backup was taken, and a node restarted on the backup's older
// signing state would sign again, perhaps differently, at those heights
// and rounds if the chain still stands there. When home is the restored
// validator's (same key, same chain) and its signing state is further than
// the restored one in tmp, that file is copied over the restored one, with
// its last signature (which CometBFT gives again for the same vote).
func keepSigning(home, tmp string, r *Restored) error {
	cfg, err := CometConfig(tmp)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	restored := cfg.PrivValidatorStateFile()
	if r.BackupSigning, _, err = readSignState(restored); err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	r.Signing = r.BackupSigning
	if !Initialized(home) {
		return nil
	}
	old, err := CometConfig(home)
	if err != nil {
		return fmt.Errorf("cannot read the configuration of the home being replaced, to keep its signing state: %w", err)
	}
	addr, chain, err := validatorOf(tmp, cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadBackup, err)
	}
	if oldAddr, oldChain, err := validatorOf(home, old); err != nil || oldAddr != addr || oldChain != chain {
		return nil // another validator's home (or none readable): its signing state is not this one's
	}
	s, ok, err := readSignState(old.PrivValidatorStateFile())
	if err != nil {
		return fmt.Errorf("the signing state of the home being replaced: %w; it may have signed after the backup: fix it, or remove it if you know the validator signed nothing after the backup, then restore again", err)
	}
	if !ok || !s.After(r.BackupSigning) {
		return nil
	}
	if err := os.Remove(restored); err != nil {
		return err
	}
	if err := copyFile(old.PrivValidatorStateFile(), restored); err != nil {
		return fmt.Errorf("cannot keep the signing state of the home being replaced: %w", err)
	}
	r.Signing, r.SigningKept = s, true
	return nil
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

// Package docstore is a custodian node's off-chain store of health records.
//
// Each record is encrypted with its own data key (AES-256-GCM); data keys are
// wrapped by the node's key-encryption key (KEK), which lives only in memory
// and in a keyring file sealed under the node's unseal key, which an
// [Unsealer] keeps outside the store's folder. Destroying a record's data key
// erases the record for good (crypto-shredding): the ciphertext cannot be
// decrypted anywhere, and the salt that keys the record's on-ledger
// commitment is destroyed with it, so the commitment no longer links to
// anything. Every erasure also rotates the KEK and the unseal key, so that a
// copy of the store taken before it does not open with the keys that remain;
// the rotation is recorded as owed with the erasure itself, and one that a
// crash or an error stops is finished at the next Open or Erase.
//
// This package never writes a record, a data key or the KEK in clear, and
// never logs record content.
package docstore

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/primum-health/primum/records"
	"github.com/primum-health/primum/store"
)

// Errors.
var (
	ErrNotFound = errors.New("docstore: no such record")
	ErrErased   = errors.New("docstore: record erased")
	ErrCorrupt  = errors.New("docstore: record does not decrypt (tampered or wrong key)")
	ErrExists   = errors.New("docstore: record id already used")
)

// Keys inside the store. The layout is part of the on-disk format.
var (
	prefixData    = []byte("d/") // d/<id> -> nonce | AES-GCM(DEK, content)
	prefixKey     = []byte("k/") // k/<id> -> term(4) | nonce | AES-GCM(KEK[term], DEK | salt)
	prefixMeta    = []byte("m/") // m/<id> -> Meta JSON (no health data)
	prefixPatient = []byte("p/") // p/<patient>/<id> -> ""
	prefixErased  = []byte("e/") // e/<id> -> erased-at (RFC 3339)

	// keyRotationOwed -> term(4): the active KEK term when an erasure was
	// last committed, written in the erasure's own batch. It stays until a
	// rotation to a later term has finished (the new unseal key committed).
	keyRotationOwed = []byte("r/rotation-owed")
)

func key(prefix []byte, parts ...string) []byte {
	k := append([]byte{}, prefix...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, '/')
		}
		k = append(k, p...)
	}
	return k
}

// Meta describes a stored record. It holds nothing that is not also on the
// ledger (pseudonym, category, custodian) plus the FHIR resource type.
type Meta struct {
	ID           string `json:"id"`
	Patient      string `json:"patient"`
	Custodian    string `json:"custodian"`
	Category     string `json:"category"`
	ResourceType string `json:"resource_type"`
	Stored       string `json:"stored"`
}

// Record is a decrypted record with the salt of its commitment.
type Record struct {
	Meta
	Content []byte
	Salt    []byte
}

// Store is an open record store.
type Store struct {
	db     *pebble.DB
	unseal Unsealer

	// mu guards ring. Put holds it for reading from wrapping a key until
	// the key is committed, and Get from reading a wrapped key until it is
	// unwrapped: a rotation that changes the active term or drops old terms
	// (holding it for writing) therefore never races a write or a read.
	mu   sync.RWMutex
	ring *keyring

	// keyMu is held while a wrapped key is deleted (erasure, discard) or
	// rewritten (rotation), so a rotation never brings back the key of a
	// record erased while it ran.
	keyMu sync.Mutex

	// rotateMu lets one rotation run at a time.
	rotateMu sync.Mutex
}

// Open opens (creating if needed) the store in dir, whose KEK keyring is
// sealed under the unseal key u keeps. A new store gets a fresh KEK. A KEK
// rotation that a crash interrupted, and one an erasure committed before a
// crash still owes, are finished before Open returns.
func Open(dir string, u Unsealer) (*Store, error) {
	current, next, err := u.Keys()
	if err != nil {
		return nil, fmt.Errorf("cannot read the unseal key of record store %q: %w", dir, err)
	}
	if len(current) != 32 || (next != nil && len(next) != 32) {
		return nil, errors.New("docstore: unseal keys must be 32 bytes")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create record store %q: %w", dir, err)
	}
	ring, usedNext, err := openKeyring(filepath.Join(dir, keyringFile), current, next)
	if err != nil {
		return nil, err
	}
	if usedNext {
		// A rotation resealed the keyring under the next key and stopped
		// before making that key current.
		if err := u.Commit(); err != nil {
			return nil, fmt.Errorf("cannot finish replacing the unseal key of record store %q: %w", dir, err)
		}
	}
	db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{Logger: store.QuietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("cannot open record store %q: %w", dir, err)
	}
	s := &Store{db: db, ring: ring, unseal: u}
	s.rotateMu.Lock()
	err = s.settleRotation()
	s.rotateMu.Unlock()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot finish the interrupted or owed KEK rotation of record store %q: %w", dir, err)
	}
	return s, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

func seal(k, plaintext, ad []byte) []byte {
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err) // keys are always 32 bytes
	}
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return gcm.Seal(nonce, nonce, plaintext, ad)
}

func open(k, sealed, ad []byte) ([]byte, error) {
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, ErrCorrupt
	}
	gcm, _ := cipher.NewGCM(block)
	if len(sealed) < gcm.NonceSize() {
		return nil, ErrCorrupt
	}
	out, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// The record's id is additional data everywhere, so a ciphertext or a
// wrapped key cannot be moved to another record.
func dataAD(id string) []byte { return []byte("primum/record-data/v1\x00" + id) }
func keyAD(id string) []byte  { return []byte("primum/record-key/v1\x00" + id) }

// wrap encrypts a record's DEK and salt under a KEK term. Callers hold mu.
func wrap(term uint32, kek []byte, id string, dek, salt []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, term)
	return append(out, seal(kek, append(append([]byte{}, dek...), salt...), keyAD(id))...)
}

// termOf is the KEK term a wrapped key names (0, no term, if it is too short).
func termOf(wrapped []byte) uint32 {
	if len(wrapped) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(wrapped)
}

// unwrap opens a wrapped key. Callers hold mu.
func (s *Store) unwrap(id string, wrapped []byte) (dek, salt []byte, err error) {
	if len(wrapped) < 4 {
		return nil, nil, ErrCorrupt
	}
	kek, ok := s.ring.term(termOf(wrapped))
	if !ok {
		return nil, nil, ErrCorrupt
	}
	plain, err := open(kek, wrapped[4:], keyAD(id))
	if err != nil || len(plain) != 64 {
		return nil, nil, ErrCorrupt
	}
	return plain[:32], plain[32:], nil
}

// Put encrypts and stores a new record under a fresh data key and salt, and
// returns its commitment.
func (s *Store) Put(m Meta, content []byte) (commitment []byte, err error) {
	if m.ID == "" || m.Patient == "" {
		return nil, errors.New("docstore: record id and patient are required")
	}
	if v, closer, err := s.db.Get(key(prefixMeta, m.ID)); err == nil {
		_ = v
		closer.Close()
		return nil, ErrExists
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, err
	}
	dek, salt := make([]byte, 32), make([]byte, 32)
	if _, err := rand.Read(dek); err != nil {
		return nil, err
	}
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if m.Stored == "" {
		m.Stored = time.Now().UTC().Format(time.RFC3339)
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	b := s.db.NewBatch()
	_ = b.Set(key(prefixData, m.ID), seal(dek, content, dataAD(m.ID)), nil)
	_ = b.Set(key(prefixMeta, m.ID), meta, nil)
	_ = b.Set(key(prefixPatient, m.Patient, m.ID), nil, nil)
	// The key is wrapped and committed under one read lock: once a rotation
	// has switched the active term, no key wrapped under the old term can
	// still be on its way to the store.
	s.mu.RLock()
	defer s.mu.RUnlock()
	term, kek := s.ring.active()
	_ = b.Set(key(prefixKey, m.ID), wrap(term, kek, m.ID, dek, salt), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("cannot store record: %w", err)
	}
	return records.Commitment(salt, content), nil
}

func (s *Store) get(k []byte) ([]byte, error) {
	v, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// Meta reads a record's description (also for erased records).
func (s *Store) Meta(id string) (*Meta, error) {
	b, err := s.get(key(prefixMeta, id))
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, ErrNotFound
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, ErrCorrupt
	}
	return &m, nil
}

// Get decrypts a record. Callers release records only after a committed
// access entry allows it (see the api package's release path).
func (s *Store) Get(id string) (*Record, error) {
	m, err := s.Meta(id)
	if err != nil {
		return nil, err
	}
	if e, err := s.get(key(prefixErased, id)); err != nil {
		return nil, err
	} else if e != nil {
		return nil, ErrErased
	}
	dek, salt, err := s.dataKey(id)
	if err != nil {
		return nil, err
	}
	data, err := s.get(key(prefixData, id))
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, ErrErased
	}
	content, err := open(dek, data, dataAD(id))
	if err != nil {
		return nil, err
	}
	return &Record{Meta: *m, Content: content, Salt: salt}, nil
}

// Commitment is the commitment of a record held here (as Put answered
// it), computed inside the store: what indexes a copy again whose first
// index may not have committed, without its content leaving the store.
func (s *Store) Commitment(id string) ([]byte, error) {
	rec, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	return records.Commitment(rec.Salt, rec.Content), nil
}

// dataKey reads and unwraps a record's data key and salt under one read
// lock, so a rotation cannot drop the term between the two.
func (s *Store) dataKey(id string) (dek, salt []byte, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	wrapped, err := s.get(key(prefixKey, id))
	if err != nil {
		return nil, nil, err
	}
	if wrapped == nil {
		return nil, nil, ErrErased
	}
	return s.unwrap(id, wrapped)
}

// Records lists the records of a patient held here, erased ones included.
func (s *Store) Records(patient string) ([]Meta, error) {
	prefix := key(prefixPatient, patient, "")
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Meta
	for it.First(); it.Valid(); it.Next() {
		m, err := s.Meta(string(it.Key()[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, it.Error()
}

// Patients lists the patients (pseudonyms) with records held here, each
// once, in key order: a study computed at this node starts from them.
func (s *Store) Patients() ([]string, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixPatient, UpperBound: upper(prefixPatient)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []string
	for it.First(); it.Valid(); {
		rest := string(it.Key()[len(prefixPatient):])
		patient, _, ok := strings.Cut(rest, "/")
		if !ok {
			it.Next()
			continue
		}
		out = append(out, patient)
		// Skip this patient's other records: seek past "<patient>/".
		it.SeekGE(upper(key(prefixPatient, patient, "")))
	}
	return out, it.Error()
}

// Matching answers, for each of contents, a record of patient held here
// whose content is the same once both are put in one form by form (say, a
// FHIR resource's canonical JSON), or "": each record answers for one
// content at most. Only records keep accepts count, and never an erased
// one. The records are decrypted to compare them here, in memory: the
// answer is ids only, no content leaves the store this way, and nothing of
// the comparison is kept. A record whose content form refuses matches
// nothing; a content form refuses is an error.
func (s *Store) Matching(patient string, contents [][]byte, form func([]byte) ([]byte, error), keep func(Meta) bool) ([]string, error) {
	want := make([]string, len(contents))
	for i, c := range contents {
		f, err := form(c)
		if err != nil {
			return nil, fmt.Errorf("content %d: %w", i, err)
		}
		want[i] = string(f)
	}
	metas, err := s.Records(patient)
	if err != nil {
		return nil, err
	}
	held := map[string][]string{} // form → ids
	for _, m := range metas {
		if !keep(m) {
			continue
		}
		r, err := s.Get(m.ID)
		if errors.Is(err, ErrErased) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		f, err := form(r.Content)
		if err != nil {
			continue
		}
		held[string(f)] = append(held[string(f)], m.ID)
	}
	out := make([]string, len(contents))
	for i, f := range want {
		if ids := held[f]; len(ids) > 0 {
			out[i], held[f] = ids[0], ids[1:]
		}
	}
	return out, nil
}

// Discard removes a record that never made it onto the ledger.
func (s *Store) Discard(id string) error {
	m, err := s.Meta(id)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	for _, k := range [][]byte{key(prefixData, id), key(prefixKey, id), key(prefixMeta, id), key(prefixPatient, m.Patient, id)} {
		_ = b.Delete(k, nil)
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	return b.Commit(pebble.Sync)
}

// Erased reports whether a record's keys have been destroyed.
func (s *Store) Erased(id string) (bool, error) {
	b, err := s.get(key(prefixErased, id))
	return b != nil, err
}

// Erase destroys the data keys, salts and ciphertexts of the given records
// (those the store holds and has not erased yet: the ledger names what is
// erased, the store erases exactly that), compacts those key ranges, and
// then rotates the KEK and the unseal key: a copy of an erased wrapped key
// that lingers anywhere (a write-ahead log, an old file, a backup) names a
// KEK term that no longer exists, and a copied keyring does not open with
// the unseal key that remains. It is idempotent and returns how many
// records it erased now.
//
// The rotation is owed from the moment the deletions are committed: the
// same batch records it (keyRotationOwed), and it is cleared only once a
// rotation to a later term has committed its new unseal key. A rotation
// that a crash or an error stopped is therefore finished by the next Open
// or, in the running process, by the next Erase, even one that finds
// nothing left to erase.
func (s *Store) Erase(records []string, at time.Time) (int, error) {
	b := s.db.NewBatch()
	var ids []string
	seen := make(map[string]bool, len(records))
	for _, id := range records {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.Meta(id); errors.Is(err, ErrNotFound) {
			continue // not held here
		} else if err != nil {
			return 0, err
		}
		if done, err := s.Erased(id); err != nil {
			return 0, err
		} else if done {
			continue
		}
		_ = b.Delete(key(prefixKey, id), nil)
		_ = b.Delete(key(prefixData, id), nil)
		_ = b.Set(key(prefixErased, id), []byte(at.UTC().Format(time.RFC3339)), nil)
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		if err := s.rotateOwed(); err != nil {
			return 0, fmt.Errorf("cannot finish the KEK rotation an erasure owes: %w", err)
		}
		return 0, nil
	}
	if err := s.commitErasure(b); err != nil {
		return 0, fmt.Errorf("cannot erase records: %w", err)
	}
	if err := rotationStep("erasure-committed"); err != nil {
		return len(ids), err
	}
	// A failed compaction does not hold the rotation back: the rotation is
	// what makes a lingering copy of an erased key useless.
	compacted := s.compact(ids)
	if err := s.rotateOwed(); err != nil {
		return len(ids), errors.Join(compacted, fmt.Errorf("cannot rotate the KEK after erasure: %w", err))
	}
	return len(ids), compacted
}

// commitErasure commits an erasure's deletions together with the rotation
// they owe. keyMu keeps a rotation from rewriting an erased key; mu keeps
// the active term from changing until the commit, so a rotation to a later
// term began after it and never sees an erased key.
func (s *Store) commitErasure(b *pebble.Batch) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	term, _ := s.ring.active()
	_ = b.Set(keyRotationOwed, binary.BigEndian.AppendUint32(nil, term), nil)
	return b.Commit(pebble.Sync)
}

// compact flushes the erased records' deletions and compacts their key
// ranges, so the store's files drop the erased keys and ciphertexts.
func (s *Store) compact(ids []string) error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("cannot flush erased records: %w", err)
	}
	for _, id := range ids {
		for _, p := range [][]byte{prefixKey, prefixData} {
			k := key(p, id)
			if err := s.db.Compact(k, append(k, 0), false); err != nil {
				return fmt.Errorf("cannot compact erased records: %w", err)
			}
		}
	}
	return nil
}

// rotateOwed finishes the rotation an erasure owes, if any (and any other
// interrupted one).
func (s *Store) rotateOwed() error {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	return s.settleRotation()
}

// settleRotation brings the keyring to rest: it finishes a rotation that
// stopped (a crash, or an error in this process), and rotates once more
// if an erasure owes a rotation past the active term. Callers hold
// rotateMu.
func (s *Store) settleRotation() error {
	if err := s.commitResealed(); err != nil {
		return err
	}
	owed, isOwed, err := s.owedTerm()
	if err != nil {
		return err
	}
	s.mu.RLock()
	term, terms := s.ring.Active, len(s.ring.Terms)
	s.mu.RUnlock()
	switch {
	case isOwed && term <= owed:
		// The erasure was committed under the active term: only a term
		// added after it helps, whatever state the keyring is in.
		_, err = s.rotate()
	case terms > 1:
		_, err = s.finishRotation()
	case isOwed:
		// A rotation past the erasure finished; only its marker was left.
		err = s.clearOwed(term)
	}
	return err
}

// owedTerm reads the rotation an erasure owes: a rotation to a term later
// than owed.
func (s *Store) owedTerm() (owed uint32, isOwed bool, err error) {
	b, err := s.get(keyRotationOwed)
	if err != nil || b == nil {
		return 0, false, err
	}
	if len(b) != 4 {
		return 0, false, fmt.Errorf("docstore: the owed KEK rotation is recorded as %d bytes, want 4", len(b))
	}
	return binary.BigEndian.Uint32(b), true, nil
}

// clearOwed clears the owed rotation once a rotation to term has committed
// its unseal key, unless an erasure committed meanwhile owes a later one.
func (s *Store) clearOwed(term uint32) error {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	owed, isOwed, err := s.owedTerm()
	if err != nil || !isOwed || owed >= term {
		return err
	}
	if err := s.db.Delete(keyRotationOwed, pebble.Sync); err != nil {
		return fmt.Errorf("cannot record the KEK rotation as done: %w", err)
	}
	return nil
}

// commitResealed makes current the unseal key a rotation resealed the
// keyring under when that rotation failed to commit it. Preparing another
// key first would replace the only key that opens the keyring on disk.
func (s *Store) commitResealed() error {
	current, next, err := s.unseal.Keys()
	if err != nil {
		return fmt.Errorf("cannot read the unseal key: %w", err)
	}
	s.mu.RLock()
	sealedUnder := s.ring.unseal
	s.mu.RUnlock()
	if next == nil || !bytes.Equal(sealedUnder, next) || bytes.Equal(sealedUnder, current) {
		return nil
	}
	if err := s.unseal.Commit(); err != nil {
		return fmt.Errorf("cannot replace the unseal key: %w", err)
	}
	return nil
}

// Rotate replaces the KEK and the unseal key. It runs while records are
// written and read:
//
//  1. a new term becomes active and the keyring (old terms kept) is saved;
//     from then on every new data key is wrapped under the new term;
//  2. every data key still under an old term is rewrapped under the new one,
//     pass after pass until a pass finds none (the records themselves are
//     not re-encrypted);
//  3. the keyring, now holding the new term only, is resealed under a fresh
//     unseal key, and the old unseal key is destroyed.
//
// The keyring on disk holds the old terms until step 3, so a crash at any
// point loses nothing, and Open finishes what the crash interrupted. It
// returns the new term.
func (s *Store) Rotate() (uint32, error) {
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	if err := s.commitResealed(); err != nil {
		return 0, err
	}
	return s.rotate()
}

// rotate carries out Rotate. Callers hold rotateMu.
func (s *Store) rotate() (uint32, error) {
	s.mu.Lock()
	ring := s.ring.rotated()
	err := ring.save()
	if err == nil {
		s.ring = ring
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := rotationStep("term-added"); err != nil {
		return 0, err
	}
	return s.finishRotation()
}

// rotationStep is where a test stops a rotation as a crash would (nil
// outside tests).
var rotationStep = func(string) error { return nil }

// finishRotation carries out steps 2 and 3 of Rotate, and clears the
// rotation an erasure owed if this one is later than it. Callers hold
// rotateMu.
func (s *Store) finishRotation() (uint32, error) {
	// A pass that starts after the new term became active sees every key
	// wrapped under an old one, since Put wraps and commits under mu: one
	// pass suffices, and a second one proves it before anything is dropped.
	for pass := 0; ; pass++ {
		n, err := s.rewrapPass()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		if pass == 2 {
			return 0, errors.New("docstore: data keys under an old KEK term keep appearing; the old term is kept")
		}
	}
	if err := rotationStep("rewrapped"); err != nil {
		return 0, err
	}
	next, err := s.unseal.Prepare()
	if err != nil {
		return 0, fmt.Errorf("cannot make a new unseal key: %w", err)
	}
	if len(next) != 32 {
		return 0, errors.New("docstore: unseal keys must be 32 bytes")
	}
	if err := rotationStep("unseal-prepared"); err != nil {
		return 0, err
	}
	s.mu.Lock()
	ring := s.ring.only(next)
	err = ring.save()
	if err == nil {
		s.ring = ring
	}
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if err := rotationStep("resealed"); err != nil {
		return 0, err
	}
	if err := s.unseal.Commit(); err != nil {
		return 0, fmt.Errorf("cannot replace the unseal key: %w", err)
	}
	if err := rotationStep("unseal-committed"); err != nil {
		return 0, err
	}
	term := s.Term()
	return term, s.clearOwed(term)
}

// rewrapChunk is how many keys one rewrap batch holds.
const rewrapChunk = 256

// rewrapPass rewraps every data key found under a retiring term and
// returns how many it rewrapped.
func (s *Store) rewrapPass() (int, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefixKey, UpperBound: upper(prefixKey)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	s.mu.RLock()
	ring := s.ring
	s.mu.RUnlock()
	var ids []string
	done := 0
	for it.First(); ; it.Next() {
		valid := it.Valid()
		if valid && ring.retiring(termOf(it.Value())) {
			ids = append(ids, string(it.Key()[len(prefixKey):]))
		}
		if len(ids) == rewrapChunk || (!valid && len(ids) > 0) {
			n, err := s.rewrap(ids)
			if err != nil {
				return done, err
			}
			done += n
			ids = ids[:0]
			if err := rotationStep("rewrapped-chunk"); err != nil {
				return done, err
			}
		}
		if !valid {
			break
		}
	}
	return done, it.Error()
}

// rewrap rewraps the given records' data keys under the active term. Each
// key is read again under keyMu: one erased or discarded since the pass saw
// it stays deleted.
func (s *Store) rewrap(ids []string) (int, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	term, kek := s.ring.active()
	b := s.db.NewBatch()
	n := 0
	for _, id := range ids {
		k := key(prefixKey, id)
		wrapped, err := s.get(k)
		if err != nil {
			return 0, err
		}
		if wrapped == nil || !s.ring.retiring(termOf(wrapped)) {
			continue
		}
		dek, salt, err := s.unwrap(id, wrapped)
		if err != nil {
			return 0, fmt.Errorf("cannot rewrap the data key of record %q: %w", id, err)
		}
		_ = b.Set(k, wrap(term, kek, id, dek, salt), nil)
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("cannot store rewrapped data keys: %w", err)
	}
	return n, nil
}

// Term is the active KEK term.
func (s *Store) Term() uint32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, _ := s.ring.active()
	return t
}

func upper(prefix []byte) []byte {
	u := bytes.Clone(prefix)
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] < 0xff {
			u[i]++
			return u[:i+1]
		}
	}
	return nil
}

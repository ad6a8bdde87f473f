package docstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// putRecords stores n records id-0 … id-(n-1) of one patient.
func putRecords(tb testing.TB, s *Store, prefix, patient string, n int) []string {
	tb.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := s.Put(Meta{ID: id, Patient: patient}, sentinel); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// mustRead fails unless every record decrypts to the sentinel.
func mustRead(tb testing.TB, s *Store, ids []string) {
	tb.Helper()
	lost := 0
	for _, id := range ids {
		if rec, err := s.Get(id); err != nil || !bytes.Equal(rec.Content, sentinel) {
			lost++
		}
	}
	if lost > 0 {
		tb.Fatalf("%d of %d records no longer decrypt", lost, len(ids))
	}
}

// stopAt makes the rotation stop at its first arrival at step, as a crash
// there would, and restores the hook when the test ends.
func stopAt(tb testing.TB, step string, stop func() error) {
	tb.Helper()
	old := rotationStep
	tb.Cleanup(func() { rotationStep = old })
	var once sync.Once
	rotationStep = func(s string) (err error) {
		if s == step {
			once.Do(func() { err = stop() })
		}
		return err
	}
}

var errCrash = errors.New("simulated crash")

// TestRotateUnderConcurrentIngest writes and reads records without pause
// while the KEK rotates, as FHIR ingest does while an erasure rotates, and
// erases a patient half-way; then it reads every record back, also after
// reopening the store. On the code before this test, one rotation lost 21
// of the 22 records written while it ran, and the next rotation failed.
func TestRotateUnderConcurrentIngest(t *testing.T) {
	dir, unseal := t.TempDir(), mustUnsealer(t, t.TempDir())
	s := mustOpen(t, dir, unseal)
	before := putRecords(t, s, "before", "p", 2000) // several rewrap chunks
	erased := putRecords(t, s, "erase", "e", 50)    // after "before" in key order
	var (
		stop            atomic.Bool
		written         []string
		count           atomic.Int64
		wg              sync.WaitGroup
		putErr, readErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			id := fmt.Sprintf("during-%d", i)
			if _, err := s.Put(Meta{ID: id, Patient: "q"}, sentinel); err != nil {
				putErr = err
				return
			}
			written = append(written, id)
			count.Add(1)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if _, err := s.Get(before[i%len(before)]); err != nil {
				readErr = fmt.Errorf("reading during the rotation: %w", err)
				return
			}
		}
	}()
	eraseErr := make(chan error, 1)
	// After the first rewrapped chunk: the erasure's keys are deleted (the
	// pass has already seen them) and ingest has gone on under the new term.
	stopAt(t, "rewrapped-chunk", func() error {
		from := count.Load()
		go func() { _, err := s.Erase(erased, time.Unix(0, 0)); eraseErr <- err }()
		deadline := time.Now().Add(10 * time.Second)
		for count.Load() < from+20 || !allErased(s, erased) {
			if time.Now().After(deadline) {
				return errors.New("ingest or erasure made no progress during the rotation")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	})
	for range 3 {
		if _, err := s.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-eraseErr; err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	if err := errors.Join(putErr, readErr); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		mustRead(t, s, before)
		mustRead(t, s, written)
		for _, id := range erased {
			if _, err := s.Get(id); !errors.Is(err, ErrErased) {
				t.Fatalf("erased during the rotation, %s reads: %v", id, err)
			}
			if k, _ := s.get(key(prefixKey, id)); k != nil {
				t.Fatalf("the rotation wrote back the wrapped key of erased record %s", id)
			}
		}
		if len(s.ring.Terms) != 1 {
			t.Fatalf("old KEK terms kept: %d terms", len(s.ring.Terms))
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, unseal)
	defer s.Close()
	check(s)
	t.Logf("%d records written during the rotations", len(written))
}

func allErased(s *Store, ids []string) bool {
	for _, id := range ids {
		if done, _ := s.Erased(id); !done {
			return false
		}
	}
	return true
}

// TestRotationFinishesAfterCrash stops a rotation at each of its steps, as a
// crash would, and reopens the store from disk: every record reads, the
// rotation is finished, and the unseal key it began with no longer opens the
// keyring.
func TestRotationFinishesAfterCrash(t *testing.T) {
	for _, step := range []string{"term-added", "rewrapped-chunk", "rewrapped", "unseal-prepared", "resealed"} {
		t.Run(step, func(t *testing.T) {
			dir, unseal := t.TempDir(), mustUnsealer(t, t.TempDir())
			s := mustOpen(t, dir, unseal)
			ids := putRecords(t, s, "r", "p", 3*rewrapChunk)
			oldUnseal, _, _ := unseal.Keys()
			stopAt(t, step, func() error { return errCrash })
			if _, err := s.Rotate(); !errors.Is(err, errCrash) {
				t.Fatalf("rotation did not stop at %s: %v", step, err)
			}
			s.Close()
			rotationStep = func(string) error { return nil }

			s = mustOpen(t, dir, unseal)
			defer s.Close()
			mustRead(t, s, ids)
			assertRotated(t, s, dir, unseal, oldUnseal, 2)
		})
	}
}

// assertRotated checks that a store's rotation to term finished: one KEK
// term, no unseal key left prepared, and the old unseal key does not open
// the keyring.
func assertRotated(t *testing.T, s *Store, dir string, u dirUnsealer, oldUnseal []byte, term uint32) {
	t.Helper()
	if len(s.ring.Terms) != 1 || s.Term() != term {
		t.Fatalf("rotation not finished: active term %d of %d terms, want term %d alone", s.Term(), len(s.ring.Terms), term)
	}
	current, next, err := u.Keys()
	if err != nil || next != nil {
		t.Fatalf("an unseal key is still prepared (%v)", err)
	}
	if bytes.Equal(current, oldUnseal) {
		t.Fatal("the unseal key was not replaced")
	}
	if _, _, err := openKeyring(dir+"/"+keyringFile, oldUnseal, nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("the old unseal key still opens the keyring: %v", err)
	}
}

// TestRotationSurvivesKill rotates in a child process that is killed with
// SIGKILL half-way through rewrapping, then opens the store here.
func TestRotationSurvivesKill(t *testing.T) {
	if dir := os.Getenv("DOCSTORE_KILL_STORE"); dir != "" {
		rotateUntilKilled(dir, os.Getenv("DOCSTORE_KILL_UNSEAL"))
		return
	}
	dir, unsealDir := t.TempDir(), t.TempDir()
	unseal := mustUnsealer(t, unsealDir)
	s := mustOpen(t, dir, unseal)
	ids := putRecords(t, s, "r", "p", 4*rewrapChunk)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	oldUnseal, _, _ := unseal.Keys()

	killChildAt(t, "TestRotationSurvivesKill", "half-way", "DOCSTORE_KILL_STORE="+dir, "DOCSTORE_KILL_UNSEAL="+unsealDir)

	// The crash left a rotation on disk: two terms, some keys rewrapped.
	current, next, _ := unseal.Keys()
	ring, _, err := openKeyring(dir+"/"+keyringFile, current, next)
	if err != nil || len(ring.Terms) != 2 {
		t.Fatalf("the child did not stop half-way through a rotation (%v)", err)
	}
	s = mustOpen(t, dir, unseal)
	defer s.Close()
	mustRead(t, s, ids)
	assertRotated(t, s, dir, unseal, oldUnseal, 2)
}

// rotateUntilKilled is the child's side: rotate, and after the first
// rewrapped chunk say so and wait for the kill.
func rotateUntilKilled(dir, unsealDir string) {
	s, err := Open(dir, dirUnsealer(unsealDir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rotationStep = func(step string) error {
		if step == "rewrapped-chunk" {
			fmt.Println("half-way")
			select {}
		}
		return nil
	}
	_, _ = s.Rotate()
	os.Exit(3) // not reached: the parent kills this process first
}

// killChildAt runs the test named test again in a child process with env
// added, and kills it with SIGKILL once it prints a line containing marker.
func killChildAt(t *testing.T, test, marker string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), marker) {
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

package prove

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/primum-health/primum/api"
	"github.com/primum-health/primum/store"
	"github.com/primum-health/primum/wire"
)

// FuzzCheckAnswer: whatever a node answers for a key, an answer that checks
// against the real app hash says exactly what the state holds (present with
// its value, or absent), and nothing panics.
func FuzzCheckAnswer(f *testing.F) {
	st, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range []string{"a/1", "a/2", "b/1", "c/7"} {
		st.Staged().Set([]byte(k), []byte("value of "+k))
	}
	if _, _, err := st.Commit(); err != nil {
		f.Fatal(err)
	}
	truth := map[string][]byte{}
	var rootHex string
	for _, k := range []string{"a/1", "a/2", "b/1", "c/7", "a/9", "z"} {
		honest, err := api.ProveKey(st, k)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := checkAnswer(k, honest); err != nil { // else the property below would hold vacuously
			f.Fatalf("the store's own proof of %s: %v", k, err)
		}
		pb, _ := base64.StdEncoding.DecodeString(honest.Proof)
		var value []byte // the store's answer, not checkAnswer's: nil when absent
		if honest.Exists {
			value, _ = base64.StdEncoding.DecodeString(honest.Value)
		}
		truth[k], rootHex = value, honest.AppHash
		f.Add(k, pb, value, value != nil)
		f.Add(k, pb, []byte("forged"), true)
		f.Add(k, pb, []byte(nil), false)
	}
	if err := st.Close(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key string, proof, value []byte, exists bool) {
		r := &wire.ProofResponse{Key: key, Value: base64.StdEncoding.EncodeToString(value), Exists: exists, Height: 1,
			Proof: base64.StdEncoding.EncodeToString(proof), AppHash: rootHex}
		got, err := checkAnswer(key, r)
		if err != nil {
			return
		}
		want := truth[key] // nil for every key but the four the state holds
		if got.Exists != (want != nil) || !bytes.Equal(got.Value, want) {
			t.Fatalf("accepted for %q: exists %v value %q; the state holds %q", key, got.Exists, got.Value, want)
		}
	})
}

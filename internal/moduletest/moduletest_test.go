package moduletest_test

import (
	"testing"

	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/ledger"
)

var errRefused = ledger.NewError("moduletest", 1, "refused", 400, "refused on purpose")

type note struct {
	Key  string `json:"key"`
	Fail bool   `json:"fail"`
}

// notes is a module that writes its body's key, and the transaction's hash
// under it, then fails if asked: a refusal must leave nothing behind.
var notes = ledger.Module{Name: "notes", Txs: []ledger.Route{{Type: "notes.write", Allow: []string{"organisation:clinic", "patient", "practitioner"},
	Handle: ledger.Handle(func(ctx *ledger.Context, n *note) error {
		ctx.State.Set([]byte("note/"+n.Key), ctx.TxHash)
		if n.Fail {
			return errRefused
		}
		return nil
	})}}}

func TestWorld(t *testing.T) {
	w := moduletest.New(t, notes, identity.Declare())
	w.AddOrg("clinic", "clinic")
	w.AddOrg("lab", "lab")
	w.Commit()
	w.AddPatient("alice")
	w.Try(t, "clinic", "notes.write", note{Key: "a"}, nil)
	w.Try(t, "clinic", "notes.write", note{Key: "b", Fail: true}, errRefused)
	if b, _ := w.St.Committed().Get([]byte("note/b")); b != nil {
		t.Fatal("a refused transaction's write was kept")
	}
	w.Try(t, "lab", "notes.write", note{Key: "c"}, ledger.ErrUnauthorized)
	w.Try(t, "bob", "notes.write", note{Key: "c"}, ledger.ErrUnknownSigner)
	w.Try(t, "alice", "notes.write", note{Key: "c"}, nil)
	// Two transactions of one block get different hashes.
	w.Begin()
	for _, k := range []string{"d", "e"} {
		if err := w.Run("clinic", "notes.write", note{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	w.Commit()
	d, _ := w.St.Committed().Get([]byte("note/d"))
	e, _ := w.St.Committed().Get([]byte("note/e"))
	if len(d) != 32 || string(d) == string(e) {
		t.Fatalf("transaction hashes %x, %x", d, e)
	}
	// Practitioners register through the identity module's transaction.
	w.AddPractitioner("dr", "clinic")
	if s, err := w.Signer("dr"); err != nil || s.Kind != ledger.KindPractitioner || s.OrgID != w.ID("clinic") {
		t.Fatalf("dr: %+v, %v", s, err)
	}
	if w.Name(w.ID("dr")) != "dr" || w.Height != 8 {
		t.Fatalf("name %q, height %d", w.Name(w.ID("dr")), w.Height)
	}
	// A suspended identity is refused before its handler, as the app does.
	w.Try(t, "dr", "notes.write", note{Key: "f"}, nil)
	w.Try(t, "clinic", identity.TypeSetPractitioner, identity.SetPractitionerStatus{ID: w.ID("dr"), Status: identity.StatusSuspended}, nil)
	w.Try(t, "dr", "notes.write", note{Key: "g"}, ledger.ErrSuspended)
}

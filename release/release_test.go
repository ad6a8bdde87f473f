package release

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/primum-health/primum/records"
)

func TestSealOpenVerify(t *testing.T) {
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey()
	content, salt := []byte(`{"resourceType":"Observation"}`), []byte("0123456789abcdef0123456789abcdef")
	commitment := hex.EncodeToString(records.Commitment(salt, content))
	sealed, err := Seal(k.Public(), Payload{Record: "obs-1", Access: "a1", Content: content, Salt: salt})
	if err != nil {
		t.Fatal(err)
	}
	tampered, _ := Seal(k.Public(), Payload{Record: "obs-1", Access: "a1", Content: []byte(`{"resourceType":"Observation","x":1}`), Salt: salt})
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name           string
		key            *Key
		record, access string
		sealed         []byte
		open, verify   error
	}{
		{"genuine", k, "obs-1", "a1", sealed, nil, nil},
		{"another requester's key", other, "obs-1", "a1", sealed, ErrOpen, nil},
		{"bound to another access entry", k, "obs-1", "a2", sealed, ErrOpen, nil},
		{"another record", k, "obs-2", "a1", sealed, ErrWrongRelease, nil},
		{"flipped byte", k, "obs-1", "a1", flipped, ErrOpen, nil},
		{"altered record", k, "obs-1", "a1", tampered, nil, ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.key.Open(tt.record, tt.access, tt.sealed)
			if !errors.Is(err, tt.open) {
				t.Fatalf("open: %v, want %v", err, tt.open)
			}
			if err != nil {
				return
			}
			if err := p.Verify(commitment); !errors.Is(err, tt.verify) {
				t.Fatalf("verify: %v, want %v", err, tt.verify)
			}
		})
	}
	if len(k.Public()) != 1216 {
		t.Fatalf("public key is %d bytes, want 1216 (ML-KEM-768 + X25519)", len(k.Public()))
	}
}

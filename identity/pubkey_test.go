package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"

	"github.com/primum-health/primum/ledger"
)

// The eight small-order points (the torsion subgroup E[8]), canonically
// encoded, and non-canonical encodings of points: y ≥ p (p = 2^255 − 19,
// ed ff … ff 7f), or x = 0 with the sign bit set.
var (
	smallOrder = []struct{ name, hex string }{
		{"identity (order 1)", "0100000000000000000000000000000000000000000000000000000000000000"},
		{"order 2", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"order 4", "0000000000000000000000000000000000000000000000000000000000000000"},
		{"order 4, x negative", "0000000000000000000000000000000000000000000000000000000000000080"},
		{"order 8", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"},
		{"order 8, x negative", "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"},
		{"order 8, other y", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"},
		{"order 8, other y, x negative", "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"},
	}
	nonCanonical = []struct{ name, hex string }{
		{"identity as y = p+1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"identity as y = p+1, sign set", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"identity with x = -0", "0100000000000000000000000000000000000000000000000000000000000080"},
		{"order 2 with x = -0", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"order 4 as y = p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"order 4 as y = p, sign set", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"large order as y = p+3", "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
		{"large order as y = p+18", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
	}
)

func TestCheckNewKey(t *testing.T) {
	seed := sha256.Sum256([]byte("a valid key"))
	valid := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	type tc struct {
		name string
		hex  string
		want error
	}
	cases := []tc{
		{"valid", hex.EncodeToString(valid), nil},
		{"short", "0100", ErrBadKey},
		{"not a point (y = 2)", "0200000000000000000000000000000000000000000000000000000000000000", ErrBadKey},
	}
	for _, k := range smallOrder {
		cases = append(cases, tc{"small order: " + k.name, k.hex, ErrWeakKey})
		if k.name != "identity (order 1)" {
			cases = append(cases, tc{"valid plus a point of " + k.name, mixed(t, valid, k.hex), ErrWeakKey})
		}
	}
	for _, k := range nonCanonical {
		cases = append(cases, tc{"non-canonical: " + k.name, k.hex, ErrWeakKey})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := hex.DecodeString(c.hex)
			err := CheckNewKey(b)
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %s", err, ledger.AsError(c.want).Name)
			}
			if key, perr := ParseNewKey(c.hex); (perr == nil) != (err == nil) || (perr != nil && key != nil) {
				t.Fatalf("ParseNewKey disagrees: %v, %v", key, perr)
			}
		})
	}
}

// TestGhostSignatureVerifies shows why weak keys are refused where they
// enter state, not where signatures are checked: under ZIP-215 the key
// 01 00…00 with the signature (R = identity, S = 0) verifies for any
// message, alone and in a batch. If this ever stops holding, the refusal is
// still right; the test then says the verifier changed.
func TestGhostSignatureVerifies(t *testing.T) {
	ghost, _ := hex.DecodeString(smallOrder[0].hex)
	sig := append(append([]byte{}, ghost...), make([]byte, 32)...)
	var batch []ledger.Signed
	for _, msg := range []string{"", "transfer everything", "break the glass"} {
		if !ledger.VerifySignature(ghost, []byte(msg), sig) {
			t.Fatalf("ghost signature of %q does not verify alone", msg)
		}
		batch = append(batch, ledger.Signed{Pub: ghost, Msg: []byte(msg), Sig: sig}, ledger.Signed{Pub: ghost, Msg: []byte(msg + "!"), Sig: sig})
	}
	for i, ok := range ledger.VerifyBatch(batch) {
		if !ok {
			t.Fatalf("ghost signature %d does not verify in a batch", i)
		}
	}
}

// TestPossessionProofBytesGolden freezes the proof-of-possession format:
// keys' holders sign it outside the node, so it must never change.
func TestPossessionProofBytesGolden(t *testing.T) {
	key := make(ed25519.PublicKey, 32)
	for i := range key {
		key[i] = byte(i)
	}
	got := hex.EncodeToString(PossessionProofBytes("primum-1", ProofValidator, "4b2c", key))
	const want = "7072696d756d2f6b65792d706f7373657373696f6e2f763100" + // primum/key-possession/v1 NUL
		"7072696d756d2d3100" + // primum-1 NUL
		"76616c696461746f7200" + // validator NUL
		"3462326300" + // 4b2c NUL
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	if got != want {
		t.Fatalf("PossessionProofBytes changed:\n got %s\nwant %s", got, want)
	}
}

// TestMemberProofBytesGolden freezes what a proposed member's operator key
// signs: the registrant binds the type, the validator key and the name
// (MemberRegistrant), which joining organisations sign outside the node.
func TestMemberProofBytesGolden(t *testing.T) {
	key, vk := make(ed25519.PublicKey, 32), make(ed25519.PublicKey, 32)
	for i := range key {
		key[i], vk[i] = byte(i), byte(0xa0+i%16)
	}
	cases := []struct {
		name      string
		validator ed25519.PublicKey
		want      string
	}{
		{"with a validator", vk, "7072696d756d2f6b65792d706f7373657373696f6e2f763100" + // primum/key-possession/v1 NUL
			"7072696d756d2d3100" + // primum-1 NUL
			"6d656d62657200" + // member NUL
			"636c696e696300" + // clinic NUL
			"6130613161326133613461356136613761386139616161626163616461656166" + // validator key, hex …
			"6130613161326133613461356136613761386139616161626163616461656166" + // … in lower case
			"00" + "466a6f726400" + // NUL Fjord NUL
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"without", nil, "7072696d756d2f6b65792d706f7373657373696f6e2f763100" +
			"7072696d756d2d3100" + "6d656d62657200" +
			"636c696e696300" + // clinic NUL
			"00" + // no validator key NUL
			"466a6f726400" + // Fjord NUL
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
	}
	for _, c := range cases {
		got := hex.EncodeToString(PossessionProofBytes("primum-1", ProofMember, MemberRegistrant("Fjord", "clinic", c.validator), key))
		if got != c.want {
			t.Fatalf("%s: the member proof's bytes changed:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// TestLicenceKey freezes how licences are compared and indexed (part of the
// state layout), and which licences are refused.
func TestLicenceKey(t *testing.T) {
	cases := []struct {
		licence, key string
		want         *ledger.Error
	}{
		{"GMC-7001234", "GMC7001234", nil},
		{"gmc 7001234", "GMC7001234", nil},
		{" GMC/7001234.", "GMC7001234", nil},
		{"MD-0", "MD0", nil},
		{"GМС-7001234", "G7001234", ErrBadLicence}, // Cyrillic М and С: would pass for another licence
		{"GMC\t7001234", "GMC7001234", ErrBadLicence},
		{"---", "", ErrBadLicence},
		{"", "", ErrMissingField},
		{string(make([]byte, 65)), "", ErrTooLong},
	}
	for _, c := range cases {
		if got := LicenceKey(c.licence); got != c.key {
			t.Errorf("LicenceKey(%q) = %q, want %q", c.licence, got, c.key)
		}
		if err := checkLicence(c.licence); (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("checkLicence(%q) = %v, want %v", c.licence, err, c.want)
		}
	}
}

// mixed is the canonical encoding of key's point plus the small-order
// point encoded as torsion (hex).
func mixed(t *testing.T, key ed25519.PublicKey, torsion string) string {
	t.Helper()
	point := func(b []byte) *curve.EdwardsPoint {
		var enc curve.CompressedEdwardsY
		var p curve.EdwardsPoint
		if _, err := enc.SetBytes(b); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SetCompressedY(&enc); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	tb, _ := hex.DecodeString(torsion)
	var sum curve.EdwardsPoint
	sum.Add(point(key), point(tb))
	var out curve.CompressedEdwardsY
	out.SetEdwardsPoint(&sum)
	return hex.EncodeToString(out[:])
}

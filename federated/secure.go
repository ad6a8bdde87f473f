package federated

// Secure aggregation (Bonawitz et al., CCS 2017, without the threshold
// sharing): in a task marked secure, no one — validators included — sees a
// single site's model, yet the ledger computes the same average.
//
//  1. Each participant posts an X25519 public key for the task
//     (fl.mask_key). The first contribution freezes the key set K: the
//     participants that posted one.
//  2. Each pair i, j in K shares s_ij = X25519(sk_i, pk_j) (computed at the
//     sites, never on the ledger); round r's pair seed is
//     t_ij = HMAC-SHA256(s_ij, "primum/fl/round" || r), and its mask is
//     m_ij[k] = the first 8 bytes of SHA-256("primum/fl/mask/v1" || t_ij || k),
//     a uint64.
//  3. Site i posts y_i[k] = n_i·W_i[k] + Σ_{j>i} m_ij[k] − Σ_{j<i} m_ij[k]
//     (mod 2^64; "j > i" by organisation id), its sample count n_i in the
//     clear, and for each peer a commitment SHA-256("primum/fl/seed/v1" || t_ij).
//  4. When every site of K has posted, the masks cancel in Σ y_i and the
//     ledger has S = Σ n_i·W_i (two's complement) and N = Σ n_i: the model
//     is floor((2S + N) / 2N), as for plain updates.
//  5. A site that drops out after the key set froze leaves masks in the
//     sum. After the round's deadline, each survivor reveals its round
//     seed with each dropped site (fl.unmask), checked against the
//     commitment it posted before anyone knew who would drop; the ledger
//     removes those masks. A round seed tells nothing of other rounds
//     (HMAC), and nothing of the survivor's own model (its masks with the
//     other survivors stay secret). If a survivor does not reveal within
//     another RoundBlocks, the round's model carries over.
//
// The ledger cannot check a masked model against the clipping bound: it
// checks the unmasked sum against N·Clip (a round outside it carries the
// model over), and per-site clipping is the site's duty.

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"

	"github.com/primum-health/primum/ledger"
)

// Transaction types of secure tasks.
const (
	TypeMaskKey = "fl.mask_key"
	TypeUnmask  = "fl.unmask"
)

// MinSecureSites is the fewest sites a secure task, its key set and a
// secure round's average take: with two, each would learn the other's
// model from the average and its own.
const MinSecureSites = 3

// MaxSecureSamples bounds a site's samples in a secure task, so that
// Σ n_i·W_i fits in 64 bits: 20 · 2^24 · 2^31 < 2^63.
const MaxSecureSamples = 1 << 24

// Errors of secure aggregation (codespace "fl").
var (
	ErrBadMaskKey    = ledger.NewError("fl", 17, "bad_mask_key", 400, "a mask key is an X25519 public key (64 hex), posted once by each participant of a secure task before its first contribution")
	ErrNoMaskKey     = ledger.NewError("fl", 18, "no_mask_key", 403, "this participant posted no mask key before the task's first contribution: it takes no part in the secure aggregation")
	ErrBadMasked     = ledger.NewError("fl", 19, "bad_masked_update", 400, "a secure task takes a masked update: one uint64 per weight, a commitment (64 hex) per peer in the key set, no plain weights, and at most 16,777,216 samples")
	ErrNotSecure     = ledger.NewError("fl", 20, "not_secure", 400, "this task takes plain updates: weights, not masked ones")
	ErrNoUnmasking   = ledger.NewError("fl", 21, "no_unmasking", 409, "the round is not waiting for seeds: it has no dropped site, or it is closed")
	ErrBadSeeds      = ledger.NewError("fl", 22, "bad_seeds", 400, "the seeds do not match the commitments this site posted: one seed (64 hex) per dropped site, in the key set's order")
	ErrKeysFrozen    = ledger.NewError("fl", 23, "keys_frozen", 409, "the key set froze at the task's first contribution")
	ErrOnlySurvivors = ledger.NewError("fl", 24, "not_survivor", 403, "only a site that contributed to the round reveals seeds for it")
)

// MaskKey is a participant's X25519 public key for a secure task.
type MaskKey struct {
	Task      string `json:"task"`
	PublicKey string `json:"public_key" doc:"X25519, hex"`
}

// SiteKey is a posted mask key.
type SiteKey struct {
	Site      string `json:"site"`
	PublicKey string `json:"public_key"`
}

// Unmask reveals a survivor's round seeds with the round's dropped sites.
type Unmask struct {
	Task  string   `json:"task"`
	Round int64    `json:"round"`
	Seeds []string `json:"seeds" doc:"one round seed (hex) per dropped site, in the key set's order"`
}

func postMaskKey(ctx *ledger.Context, m *MaskKey) error {
	s, err := Get(ctx.State, m.Task)
	if err != nil {
		return err
	}
	site := ctx.Signer.ActsFor()
	if ctx.Signer.Kind != ledger.KindOrganisation || !slices.Contains(s.Participants, site) {
		return ErrNotParticipant.Wrapf("%s", s.ID)
	}
	if !s.Secure {
		return ErrNotSecure.Wrapf("%s", s.ID)
	}
	if s.KeySet != nil {
		return ErrKeysFrozen.Wrapf("%s", s.ID)
	}
	pk, err := hex.DecodeString(m.PublicKey)
	if err != nil || len(pk) != 32 || slices.ContainsFunc(s.MaskKeys, func(k SiteKey) bool { return k.Site == site }) {
		return ErrBadMaskKey
	}
	pub, err := ecdh.X25519().NewPublicKey(pk)
	if err != nil {
		return ErrBadMaskKey
	}
	// A low-order point makes every peer's key agreement fail: refused
	// (a fixed scalar's agreement with it is all zeros).
	if _, err := keyCheck.ECDH(pub); err != nil {
		return ErrBadMaskKey.Wrapf("a low-order point")
	}
	i, _ := slices.BinarySearchFunc(s.MaskKeys, site, func(k SiteKey, id string) int { return cmpString(k.Site, id) })
	s.MaskKeys = slices.Insert(s.MaskKeys, i, SiteKey{Site: site, PublicKey: m.PublicKey})
	ledger.SetJSON(ctx.State, taskKey(s.ID), s)
	return nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// keyCheck is a fixed X25519 key the ledger agrees keys with to refuse a
// low-order point (the same on every node).
var keyCheck = func() *ecdh.PrivateKey {
	seed := sha256.Sum256([]byte("primum/fl/mask-key-check/v1"))
	k, err := ecdh.X25519().NewPrivateKey(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}()

// checkSecure checks a secure contribution and freezes the key set at the
// first — which may come only once every participant has posted its key,
// or after the key window (the first half of round 1): early contributors
// cannot shut a slower site out by freezing the set before it posts.
func checkSecure(s *State, site string, m *Contribute, height int64) error {
	if s.KeySet == nil {
		if len(s.MaskKeys) < len(s.Participants) && height <= s.Height+s.RoundBlocks/2 {
			return ErrNoMaskKey.Wrapf("the key window is open until height %d, or until every participant has posted its key", s.Height+s.RoundBlocks/2)
		}
		if len(s.MaskKeys) < MinSecureSites {
			return ErrNoMaskKey.Wrapf("at least %d participants post mask keys before the first contribution", MinSecureSites)
		}
		s.KeySet = make([]string, len(s.MaskKeys))
		for i, k := range s.MaskKeys {
			s.KeySet[i] = k.Site
		}
	}
	if !slices.Contains(s.KeySet, site) {
		return ErrNoMaskKey.Wrapf("%s", s.ID)
	}
	if len(m.Weights) != 0 || len(m.Masked) != s.Dim() || len(m.Commitments) != len(s.KeySet)-1 || m.Samples > MaxSecureSamples {
		return ErrBadMasked.Wrapf("%d masked weights for %d, %d commitments for %d peers", len(m.Masked), s.Dim(), len(m.Commitments), len(s.KeySet)-1)
	}
	for i, c := range m.Commitments {
		if !hex64.MatchString(c) {
			return ErrBadMasked.Wrapf("commitments[%d]", i)
		}
	}
	return nil
}

func unmask(ctx *ledger.Context, m *Unmask) error {
	s, err := Get(ctx.State, m.Task)
	if err != nil {
		return err
	}
	site := ctx.Signer.ActsFor()
	if s.Status != StatusTraining || m.Round != s.Round || len(s.Dropped) == 0 || ctx.Height > s.UnmaskDeadline {
		return ErrNoUnmasking.Wrapf("%s round %d", s.ID, m.Round)
	}
	if ctx.Signer.Kind != ledger.KindOrganisation || !slices.Contains(s.Contributed, site) {
		return ErrOnlySurvivors.Wrapf("%s", s.ID)
	}
	var c Contribution
	if found, err := ledger.GetJSON(ctx.State, contribKey(s.ID, s.Round, site), &c); err != nil {
		return err
	} else if !found {
		panic(fmt.Sprintf("fl: %s round %d names %s's contribution, which is missing", s.ID, s.Round, site))
	}
	if c.Seeds != nil {
		return ErrContributed.Wrapf("%s's seeds for round %d are revealed already", site, s.Round)
	}
	if len(m.Seeds) != len(s.Dropped) {
		return ErrBadSeeds.Wrapf("%d seeds for %d dropped sites", len(m.Seeds), len(s.Dropped))
	}
	for i, d := range s.Dropped {
		seed, err := hex.DecodeString(m.Seeds[i])
		if err != nil || len(seed) != 32 || SeedCommitment(seed) != c.Commitments[peerIndex(s.KeySet, site, d)] {
			return ErrBadSeeds.Wrapf("seeds[%d]", i)
		}
	}
	c.Seeds = m.Seeds
	ledger.SetJSON(ctx.State, contribKey(s.ID, s.Round, site), c)
	s.Unmasked++
	if s.Unmasked == int64(len(s.Contributed)) {
		return closeRound(ctx, s)
	}
	ledger.SetJSON(ctx.State, taskKey(s.ID), s)
	return nil
}

// peerIndex is the index of peer j among site i's peers (the key set
// without i), where i's commitment for j is.
func peerIndex(keySet []string, i, j string) int {
	n := 0
	for _, k := range keySet {
		if k == i {
			continue
		}
		if k == j {
			return n
		}
		n++
	}
	return -1
}

// secureSum is Σ n_i·W_i from a round's masked contributions (mod 2^64,
// as two's complement), with the masks toward dropped sites removed from
// the seeds the survivors revealed.
func secureSum(s *State, cs []Contribution) []int64 {
	sum := make([]uint64, s.Dim())
	for _, c := range cs {
		for k, y := range c.Masked {
			sum[k] += y
		}
		for di, d := range s.Dropped {
			seed, _ := hex.DecodeString(c.Seeds[di])
			m := Mask(seed, s.Dim())
			for k := range sum {
				if c.Site < d {
					sum[k] -= m[k] // the survivor added it
				} else {
					sum[k] += m[k] // the survivor subtracted it
				}
			}
		}
	}
	out := make([]int64, len(sum))
	for k, v := range sum {
		out[k] = int64(v)
	}
	return out
}

// averageSums is each S's nearest integer to S/N, by the rule Average
// rounds with.
func averageSums(sums []int64, samples int64) []int64 {
	n := big.NewInt(samples)
	out := make([]int64, len(sums))
	for j, s := range sums {
		out[j] = nearest(big.NewInt(s), n)
	}
	return out
}

// KeySetOf is a secure task's key set: frozen, or the one the next
// contribution freezes (every posted key, in the sites' order).
func KeySetOf(s *State) []string {
	if s.KeySet != nil {
		return s.KeySet
	}
	out := make([]string, len(s.MaskKeys))
	for i, k := range s.MaskKeys {
		out[i] = k.Site
	}
	return out
}

// The site's side: pair and round seeds, masks and commitments.

// RoundSeed is the pair's seed for a round: HMAC-SHA256 keyed by the
// X25519 shared secret.
func RoundSeed(shared []byte, round int64) []byte {
	h := hmac.New(sha256.New, shared)
	h.Write([]byte("primum/fl/round"))
	_ = binary.Write(h, binary.BigEndian, round)
	return h.Sum(nil)
}

// Mask is a round seed's mask: dim uint64s.
func Mask(seed []byte, dim int) []uint64 {
	out := make([]uint64, dim)
	var b [8]byte
	for k := range out {
		h := sha256.New()
		h.Write([]byte("primum/fl/mask/v1\x00"))
		h.Write(seed)
		binary.BigEndian.PutUint64(b[:], uint64(k))
		h.Write(b[:])
		out[k] = binary.BigEndian.Uint64(h.Sum(nil)[:8])
	}
	return out
}

// SeedCommitment is the commitment to a round seed a site posts with its
// masked update.
func SeedCommitment(seed []byte) string {
	h := sha256.New()
	h.Write([]byte("primum/fl/seed/v1\x00"))
	h.Write(seed)
	return hex.EncodeToString(h.Sum(nil))
}

// MaskKeyFor is a site's X25519 key for a task, derived from its
// organisation's key seed (nothing to store: the same key every time).
func MaskKeyFor(seed []byte, task string) (*ecdh.PrivateKey, error) {
	h := hmac.New(sha256.New, seed)
	h.Write([]byte("primum/fl/mask-key/v1\x00" + task))
	return ecdh.X25519().NewPrivateKey(h.Sum(nil))
}

// MaskUpdate is a site's masked update for a round: n·W plus its masks
// with each peer of the key set, mod 2^64, and its commitments (in the
// key set's order, without itself). keys are the task's posted mask keys.
func MaskUpdate(priv *ecdh.PrivateKey, me string, keys []SiteKey, keySet []string, round, samples int64, weights []int64) (masked []uint64, commitments []string, seeds map[string][]byte, err error) {
	masked = make([]uint64, len(weights))
	for k, w := range weights {
		masked[k] = uint64(samples * w)
	}
	seeds = map[string][]byte{}
	for _, peer := range keySet {
		if peer == me {
			continue
		}
		i := slices.IndexFunc(keys, func(k SiteKey) bool { return k.Site == peer })
		if i < 0 {
			return nil, nil, nil, fmt.Errorf("no mask key of %s", peer)
		}
		raw, err := hex.DecodeString(keys[i].PublicKey)
		if err != nil {
			return nil, nil, nil, err
		}
		pk, err := ecdh.X25519().NewPublicKey(raw)
		if err != nil {
			return nil, nil, nil, err
		}
		shared, err := priv.ECDH(pk)
		if err != nil {
			return nil, nil, nil, err
		}
		seed := RoundSeed(shared, round)
		seeds[peer] = seed
		commitments = append(commitments, SeedCommitment(seed))
		m := Mask(seed, len(weights))
		for k := range masked {
			if me < peer {
				masked[k] += m[k]
			} else {
				masked[k] -= m[k]
			}
		}
	}
	return masked, commitments, seeds, nil
}

package app

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/identity"
	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/supply"
)

// TestHostileSupplyBlocks drives random blocks of supply transactions,
// hostile ones among them, through FinalizeBlock and Commit on two App
// instances over their own Pebble stores, as CometBFT would. Beside the
// random steps run scripted scenarios with exact outcomes: cycles (also
// inside one capture), self-packing, nesting past supply.MaxDepth, packing
// into a case in transit, moving a child out of a shipped pallet, receipt
// by the wrong organisation, and a pallet of hundreds of cases (built in
// chunks of supply.MaxCodes and supply.MaxCaptureEvents) that cases are
// taken out of, shipped and received. After every block:
//
//   - FinalizeBlock returned (a runaway transaction is stopped, see
//     readCounter), and both instances gave the same results and app hash;
//   - every refusal carries a registered code other than internal;
//   - each supply transaction made at most readsPerUnit state reads per
//     object it names or moves, per event and one more (readBound), on
//     both instances alike: its cost follows the transaction, not the size
//     of the containers it touches. Taking cases out of a pallet once cost
//     reads in proportion to the pallet (fixed by 9b80e19); this test
//     fails on that code.
func TestHostileSupplyBlocks(t *testing.T) {
	seeds, randomBlocks, bigCases, packsPerCase := []uint64{1, 2, 3, 4}, 30, 400, 3
	if testing.Short() {
		seeds, randomBlocks, bigCases, packsPerCase = seeds[:1], 12, 150, 2
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			c := newSupplyChain(t, seed, bigCases, packsPerCase)
			c.setUp()
			scenarios := hostileScenarios(c)
			for b := 0; ; b++ {
				var steps []supplyStep
				busy := false
				for _, s := range scenarios {
					if b < len(s.blocks) {
						busy = true
						for _, st := range s.blocks[b] {
							st.scenario = s.name
							steps = append(steps, st)
						}
					}
				}
				if !busy && b >= randomBlocks {
					break
				}
				if !busy {
					c.bigFree = true // the big pallet's scenario is over: random steps may take it
				}
				for range 3 + c.rng.IntN(6) {
					steps = append(steps, c.randomStep())
				}
				c.run(steps)
			}
			c.checkSpread()
			t.Logf("%d supply transactions bounded; most reads per unit %.2f of %d (%s); random steps' outcomes %v",
				c.bounded, c.worst, readsPerUnit, c.worstTx, c.outcomes)
		})
	}
}

// readsPerUnit is C in reads ≤ C × units (readBound). The most a unit
// costs: an object named reads its record and, when it is taken out of a
// container, the containers above it (1 + supply.MaxDepth); an object moved
// with its container, its listing entry and its record (2); an event, a
// pack's parent and the containers above it (1 + supply.MaxDepth) and its
// event id and the event counter, or a shipment's destination, a product or
// a recall (at most 4 besides); the transaction, its signer's identity, key
// entry and owner and its nonce, read and written (at most 6).
// supply.MaxDepth + 4 covers each. The test logs the highest ratio it saw.
const readsPerUnit = supply.MaxDepth + 4

// runaway stops a transaction whose reads no bound explains (an endless
// walk), so that the test fails instead of hanging in FinalizeBlock.
const runaway = 5_000_000

const hostileGTIN = "09506000134352"

var distributorKey = testKey("distributor")

// packCode is the code of a pack of hostileGTIN.
func packCode(serial string) string { return "(01)" + hostileGTIN + "(21)" + serial }

// caseCode is the SSCC of case (or pallet) n.
func caseCode(n int) string {
	body := fmt.Sprintf("1061414%010d", n)
	return "(00)" + body + string(gs1.CheckDigit(body))
}

// supplyStep is one transaction of the test. A scripted step must have
// exactly its outcome (want, or success); a random one any stable one.
type supplyStep struct {
	key      ed25519.PrivateKey
	typ      string
	body     any
	scripted bool
	want     *ledger.Error // scripted: the refusal expected, nil for success
	scenario string
}

func succeeds(key ed25519.PrivateKey, typ string, body any) supplyStep {
	return supplyStep{key: key, typ: typ, body: body, scripted: true}
}

func refused(want *ledger.Error, key ed25519.PrivateKey, typ string, body any) supplyStep {
	return supplyStep{key: key, typ: typ, body: body, scripted: true, want: want}
}

// supplyChain is the two instances and what the random steps draw from.
type supplyChain struct {
	t    *testing.T
	a, b *harness
	rng  *rand.Rand

	orgs     []ed25519.PrivateKey // every signer (nonces are resynchronised after each block)
	byID     map[string]ed25519.PrivateKey
	packs    []string // random steps' packs and cases
	cases    []string
	big      []string // the big pallet's cases, and the pallet, taken by random steps once bigFree
	bigFree  bool
	pallet   string
	perCase  int
	fresh    int // serials commissioned by random steps
	scripted []string
	bigPacks []string

	bounded  int            // supply transactions held to readBound
	outcomes map[string]int // random steps' outcomes, by error name
	worst    float64
	worstTx  string
}

func newSupplyChain(t *testing.T, seed uint64, bigCases, perCase int) *supplyChain {
	c := &supplyChain{t: t, a: newHarness(t), b: newHarness(t), rng: rand.New(rand.NewPCG(seed, 9)),
		orgs: []ed25519.PrivateKey{manufacturerKey, distributorKey, pharmacyKey, hospitalKey, insurerKey, hospital2Key, regulatorKey},
		byID: map[string]ed25519.PrivateKey{}, perCase: perCase, pallet: caseCode(5000), outcomes: map[string]int{}}
	for _, k := range c.orgs {
		c.byID[id(k)] = k
	}
	for i := range 60 {
		c.packs = append(c.packs, packCode(fmt.Sprint("P", i)))
	}
	for i := range 15 {
		c.cases = append(c.cases, caseCode(100+i))
	}
	for i := range 100 {
		c.scripted = append(c.scripted, fmt.Sprint("Q", i))
	}
	for i := range bigCases {
		c.big = append(c.big, caseCode(5001+i))
	}
	for i := range bigCases * perCase {
		c.bigPacks = append(c.bigPacks, fmt.Sprint("B", i))
	}
	return c
}

// setUp admits a manufacturer and a distributor by vote, registers the
// product and commissions every pack the test uses.
func (c *supplyChain) setUp() {
	add := func(name, orgType string, key ed25519.PrivateKey, proposal uint64, voters ...ed25519.PrivateKey) []supplyStep {
		steps := []supplyStep{succeeds(hospitalKey, governance.TypePropose, governance.Propose{Action: governance.ActionAddMember,
			Member: newMember(name, orgType, key, nil, 0)})}
		for _, v := range voters {
			steps = append(steps, succeeds(v, governance.TypeVote, governance.Vote{ProposalID: proposal, Vote: "yes"}))
		}
		return steps
	}
	// More than 2/3 of the members: 4 of 5, then 5 of 6.
	c.run(add("Acme Pharma", "manufacturer", manufacturerKey, 1, hospital2Key, pharmacyKey, regulatorKey))
	c.run(add("Northern Wholesale", "distributor", distributorKey, 2, hospital2Key, pharmacyKey, regulatorKey, insurerKey))
	steps := []supplyStep{succeeds(manufacturerKey, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: hostileGTIN, Name: "Amoxicillin"})}
	var serials []string
	for _, p := range c.packs {
		serials = append(serials, strings.TrimPrefix(p, "(01)"+hostileGTIN+"(21)"))
	}
	serials = append(serials, c.scripted...)
	serials = append(serials, c.bigPacks...)
	for from := 0; from < len(serials); from += supply.MaxCodes {
		steps = append(steps, succeeds(manufacturerKey, supply.TypeCommission, supply.Commission{GTIN: hostileGTIN, Lot: "L1",
			Expiry: "2030-01-01", Serials: serials[from:min(len(serials), from+supply.MaxCodes)]}))
	}
	// The random steps' cases exist from the start, holding a pack each.
	for i, cs := range c.cases {
		steps = append(steps, succeeds(manufacturerKey, supply.TypePack, supply.Pack{Parent: cs, Children: []string{packCode(c.scripted[60+i])}}))
	}
	c.run(steps)
}

// scenario is a scripted sequence: block i of each runs in the i-th block
// after set-up, beside the other scenarios' and the random steps. Each uses
// its own codes, which random steps never name.
type scenario struct {
	name   string
	blocks [][]supplyStep
}

func hostileScenarios(c *supplyChain) []scenario {
	maker, dist := manufacturerKey, distributorKey
	q := func(i int) string { return packCode(c.scripted[i]) }
	pack := func(parent string, children ...string) supply.Pack {
		return supply.Pack{Parent: parent, Children: children}
	}
	capture := func(events ...supply.CaptureEvent) supply.Capture { return supply.Capture{Events: events} }
	deep := func(i int) string { return caseCode(10 + i) }

	var nesting [][]supplyStep
	var create, chain []supplyStep
	for i := range 9 {
		create = append(create, succeeds(maker, supply.TypePack, pack(deep(i), q(10+i))))
	}
	for i := range 6 { // deep(0) in deep(1) … in deep(6): 8 levels with the packs
		chain = append(chain, succeeds(maker, supply.TypePack, pack(deep(i+1), deep(i))))
	}
	chain = append(chain, refused(supply.ErrTooDeep, maker, supply.TypePack, pack(deep(7), deep(6))))
	nesting = append(nesting, create, chain,
		[]supplyStep{refused(supply.ErrTooDeep, maker, supply.TypePack, pack(deep(0), deep(8)))}) // below the innermost case

	big := c.big
	var build, fill []supplyStep
	var events []supply.CaptureEvent
	for i, cs := range big {
		var packs []string
		for _, s := range c.bigPacks[i*c.perCase : (i+1)*c.perCase] {
			packs = append(packs, packCode(s))
		}
		events = append(events, supply.CaptureEvent{Step: "pack", Parent: cs, Codes: packs})
		if len(events) == supply.MaxCaptureEvents || i == len(big)-1 {
			build = append(build, succeeds(maker, supply.TypeCapture, capture(events...)))
			events = nil
		}
	}
	for from := 0; from < len(big); from += supply.MaxCodes {
		fill = append(fill, succeeds(maker, supply.TypePack, pack(c.pallet, big[from:min(len(big), from+supply.MaxCodes)]...)))
	}
	n := len(big)
	out := func(from, to int) []string { return big[from:to] }

	return []scenario{
		{"cycle", [][]supplyStep{
			{succeeds(maker, supply.TypePack, pack(caseCode(1), q(0))), succeeds(maker, supply.TypePack, pack(caseCode(2), q(1)))},
			{succeeds(maker, supply.TypePack, pack(caseCode(2), caseCode(1))),
				// all or none: the case it creates is not created either
				refused(supply.ErrCycle, maker, supply.TypeCapture, capture(
					supply.CaptureEvent{Step: "pack", Parent: caseCode(3), Codes: []string{q(2)}},
					supply.CaptureEvent{Step: "pack", Parent: caseCode(4), Codes: []string{caseCode(3)}},
					supply.CaptureEvent{Step: "pack", Parent: caseCode(3), Codes: []string{caseCode(4)}}))},
			{refused(supply.ErrCycle, maker, supply.TypePack, pack(caseCode(1), caseCode(2))),
				refused(supply.ErrUnknownObject, maker, supply.TypeShip, supply.Ship{Codes: []string{caseCode(3)}, To: id(dist)})},
		}},
		{"self-packing", [][]supplyStep{
			{succeeds(maker, supply.TypePack, pack(caseCode(5), q(3)))},
			{refused(supply.ErrCycle, maker, supply.TypePack, pack(caseCode(5), caseCode(5))),
				refused(supply.ErrCycle, maker, supply.TypeCapture, capture(
					supply.CaptureEvent{Step: "pack", Parent: caseCode(6), Codes: []string{q(4)}},
					supply.CaptureEvent{Step: "pack", Parent: caseCode(6), Codes: []string{caseCode(6)}}))},
		}},
		{"nesting past MaxDepth", nesting},
		{"packing into a case in transit", [][]supplyStep{
			{succeeds(maker, supply.TypePack, pack(caseCode(20), q(20))), succeeds(maker, supply.TypePack, pack(caseCode(22), q(22)))},
			{succeeds(maker, supply.TypeShip, supply.Ship{Codes: []string{caseCode(20)}, To: id(dist)}),
				refused(supply.ErrInTransit, maker, supply.TypeCapture, capture(
					supply.CaptureEvent{Step: "ship", Codes: []string{caseCode(22)}, To: id(pharmacyKey)},
					supply.CaptureEvent{Step: "pack", Parent: caseCode(22), Codes: []string{q(23)}}))},
			{refused(supply.ErrInTransit, maker, supply.TypePack, pack(caseCode(20), q(21))),
				refused(supply.ErrNotCustodian, dist, supply.TypePack, pack(caseCode(20), q(21)))},
			{succeeds(dist, supply.TypeReceive, supply.Receive{Codes: []string{caseCode(20)}})},
		}},
		{"a child out of a shipped pallet", [][]supplyStep{
			{succeeds(maker, supply.TypePack, pack(caseCode(31), q(30)))},
			{succeeds(maker, supply.TypePack, pack(caseCode(30), caseCode(31)))},
			{succeeds(maker, supply.TypeShip, supply.Ship{Codes: []string{caseCode(30)}, To: id(pharmacyKey)})},
			{refused(supply.ErrInTransit, maker, supply.TypeUnpack, pack(caseCode(30), caseCode(31))),
				refused(supply.ErrInTransit, maker, supply.TypeUnpack, pack(caseCode(31))),
				refused(supply.ErrInTransit, maker, supply.TypeDecommission, supply.Decommission{Codes: []string{caseCode(31)}, Reason: "stolen"}),
				refused(supply.ErrInTransit, maker, supply.TypeShip, supply.Ship{Codes: []string{caseCode(31)}, To: id(dist)}),
				refused(supply.ErrInContainer, pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{caseCode(31)}}),
				refused(supply.ErrInContainer, pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{q(30)}})},
			{succeeds(pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{caseCode(30)}})},
			{refused(supply.ErrInContainer, pharmacyKey, supply.TypeShip, supply.Ship{Codes: []string{caseCode(31)}, To: id(hospitalKey)}),
				succeeds(pharmacyKey, supply.TypeDecommission, supply.Decommission{Codes: []string{caseCode(31)}, Reason: "damaged"}),
				refused(supply.ErrBadField, pharmacyKey, supply.TypeUnpack, pack(caseCode(30)))}, // emptied by it
		}},
		{"receipt by the wrong organisation", [][]supplyStep{
			{succeeds(maker, supply.TypePack, pack(caseCode(40), q(40)))},
			{succeeds(maker, supply.TypeShip, supply.Ship{Codes: []string{caseCode(40)}, To: id(dist)}),
				succeeds(maker, supply.TypeShip, supply.Ship{Codes: []string{q(41)}}), // open: no receiver named
				refused(supply.ErrUnknownOrg, maker, supply.TypeShip, supply.Ship{Codes: []string{q(42)}, To: "nobody"})},
			{refused(supply.ErrNotReceiver, pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{caseCode(40)}}),
				refused(supply.ErrOpenReceipt, insurerKey, supply.TypeReceive, supply.Receive{Codes: []string{q(41)}})},
			{succeeds(dist, supply.TypeReceive, supply.Receive{Codes: []string{caseCode(40)}}),
				succeeds(hospitalKey, supply.TypeReceive, supply.Receive{Codes: []string{q(41)}})},
		}},
		{fmt.Sprintf("a pallet of %d cases", n), [][]supplyStep{
			build,
			fill,
			// Taking cases out costs what is taken out (the leak of 9b80e19).
			{succeeds(maker, supply.TypeDecommission, supply.Decommission{Codes: out(0, 50), Reason: "destroyed"}),
				succeeds(maker, supply.TypeUnpack, pack(c.pallet, out(50, 70)...)),
				succeeds(maker, supply.TypeCapture, capture(
					supply.CaptureEvent{Step: "unpack", Parent: c.pallet, Codes: out(70, 75)},
					supply.CaptureEvent{Step: "decommission", Codes: out(75, 80), Reason: "damaged"},
					supply.CaptureEvent{Step: "pack", Parent: caseCode(4999), Codes: out(50, 55)},
					supply.CaptureEvent{Step: "pack", Parent: c.pallet, Codes: []string{caseCode(4999)}}))},
			{succeeds(maker, supply.TypeShip, supply.Ship{Codes: []string{c.pallet}, To: id(dist)})},
			{refused(supply.ErrInTransit, maker, supply.TypeDecommission, supply.Decommission{Codes: out(n-3, n), Reason: "stolen"}),
				refused(supply.ErrInTransit, maker, supply.TypeUnpack, pack(c.pallet, out(n-1, n)...)),
				refused(supply.ErrNotReceiver, pharmacyKey, supply.TypeReceive, supply.Receive{Codes: []string{c.pallet}}),
				succeeds(dist, supply.TypeReceive, supply.Receive{Codes: []string{c.pallet}})},
			{succeeds(dist, supply.TypeDecommission, supply.Decommission{Codes: out(n-20, n), Reason: "stolen"}),
				succeeds(dist, supply.TypeUnpack, pack(c.pallet, out(n-30, n-20)...)),
				succeeds(dist, supply.TypeUnpack, pack(caseCode(4999)))}, // with the cases packed in it
		}},
	}
}

// run executes steps as one block on both instances and checks the block.
func (c *supplyChain) run(steps []supplyStep) {
	t := c.t
	t.Helper()
	raw := make([][]byte, len(steps))
	for i, s := range steps {
		raw[i] = c.a.tx(s.key, s.typ, s.body)
	}
	readsA, bounds := observeReads(c.a, steps)
	readsB, _ := observeReads(c.b, steps)
	ra, rb := c.finalize(c.a, raw), c.finalize(c.b, raw)
	height := c.a.height
	if !bytes.Equal(ra.AppHash, rb.AppHash) {
		t.Fatalf("block %d: app hashes differ: %X and %X", height, ra.AppHash, rb.AppHash)
	}
	for i, s := range steps {
		x, y := ra.TxResults[i], rb.TxResults[i]
		scenario := s.scenario
		if scenario == "" {
			scenario = "random"
		}
		body, _ := json.Marshal(s.body)
		what := fmt.Sprintf("block %d tx %d (%s: %s by %s %.160s)", height, i, scenario, s.typ, c.name(s.key), body)
		if x.Code != y.Code || x.Codespace != y.Codespace || x.Log != y.Log {
			t.Fatalf("%s: the instances answered %s/%d %q and %s/%d %q", what, x.Codespace, x.Code, x.Log, y.Codespace, y.Code, y.Log)
		}
		name := "ok"
		if x.Code != 0 {
			e, known := ledger.Lookup(x.Codespace, x.Code)
			if !known || e == ledger.ErrInternal {
				t.Fatalf("%s: refused without a stable code: %s/%d %s", what, x.Codespace, x.Code, x.Log)
			}
			name = e.Name
		}
		if s.scripted {
			if want := s.want; (want == nil && x.Code != 0) || (want != nil && (x.Code != want.Code || x.Codespace != want.Codespace)) {
				t.Fatalf("%s: got %s (%s), want %v", what, name, x.Log, want)
			}
		} else {
			c.outcomes[name]++
		}
		if readsA[i] != readsB[i] {
			t.Fatalf("%s: %d state reads on one instance, %d on the other", what, readsA[i], readsB[i])
		}
		if bounds[i] > 0 {
			c.bounded++
			if readsA[i] > bounds[i] {
				t.Fatalf("%d state reads, bound %d (%d a unit): the cost does not follow what the transaction names and moves (%s); %s",
					readsA[i], bounds[i], readsPerUnit, name, what)
			}
			if r := float64(readsA[i]) * readsPerUnit / float64(bounds[i]); r > c.worst {
				c.worst, c.worstTx = r, what
			}
		}
	}
	// Resynchronise the signing nonces: a transaction refused before its
	// nonce is checked (unauthorized) does not spend one.
	r := c.a.store.Committed()
	for _, k := range c.orgs {
		n, err := identity.Nonce(r, id(k))
		if err != nil {
			t.Fatal(err)
		}
		c.a.nonces[pubHex(k)] = n
	}
}

// finalize executes and commits a block, failing the test if FinalizeBlock
// panics rather than returns.
func (c *supplyChain) finalize(h *harness, raw [][]byte) *abci.FinalizeBlockResponse {
	c.t.Helper()
	defer func() {
		if p := recover(); p != nil {
			c.t.Fatalf("block %d: FinalizeBlock did not return: %v", h.height, p)
		}
	}()
	return h.block(raw...)
}

// observeReads makes h count the state reads of each of the next block's
// transactions, and bound each supply transaction's (readBound; 0: not
// bounded) from the state it starts from.
func observeReads(h *harness, steps []supplyStep) (reads, bounds []int) {
	reads, bounds = make([]int, len(steps)), make([]int, len(steps))
	h.app.observeTx = func(i int, w ledger.Writer) ledger.Writer {
		if strings.HasPrefix(steps[i].typ, "supply.") {
			bounds[i] = readBound(w, steps[i].typ, steps[i].body)
		}
		return &readCounter{Writer: w, n: &reads[i]}
	}
	return reads, bounds
}

// readCounter counts the state reads made through it: each Get, and each
// key a listing returns (a listing costs what it returns).
type readCounter struct {
	ledger.Writer
	n *int
}

func (c *readCounter) read() {
	if *c.n++; *c.n > runaway {
		panic(&ledger.StorageError{Err: fmt.Errorf("a transaction made over %d state reads", runaway)})
	}
}

func (c *readCounter) Get(key []byte) ([]byte, error) {
	c.read()
	return c.Writer.Get(key)
}

func (c *readCounter) Iterate(prefix []byte, fn func(key, value []byte) bool) error {
	return c.Writer.Iterate(prefix, func(k, v []byte) bool { c.read(); return fn(k, v) })
}

// Scan keeps the state a ledger.Seeker, as the store's is.
func (c *readCounter) Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) bool) error {
	return ledger.Scan(c.Writer, prefix, start, reverse, func(k, v []byte) bool { c.read(); return fn(k, v) })
}

// readBound is the most state reads a supply transaction may make, from
// the state r it starts from: readsPerUnit for each object it names or
// moves, each event and the transaction itself. Moving an object moves its
// contents, so a shipment, receipt or decommissioning counts them (and,
// in a capture, whatever the capture packs, which the moved object may
// hold by then); packing and unpacking move only the children named, or
// all of the parent's when none are. The containers an object is taken
// out of or packed into count for nothing, however much they hold.
func readBound(r ledger.Reader, typ string, body any) int {
	events := asEvents(typ, body)
	contents := func(code string) int {
		key, _, err := supply.KeyOf(code)
		if err != nil {
			return 0
		}
		o, err := supply.GetObject(r, key)
		if err != nil {
			return 0
		}
		return int(o.Contents)
	}
	packed := 0
	for _, e := range events {
		if e.Step == "pack" {
			for _, code := range e.Codes {
				packed += 1 + contents(code)
			}
		}
	}
	units := 1 + len(events)
	for _, e := range events {
		switch e.Step {
		case "ship", "receive", "decommission":
			for _, code := range e.Codes {
				units += 1 + contents(code) + packed
			}
		case "unpack":
			units += 1 + len(e.Codes)
			if key, _, err := supply.KeyOf(e.Parent); err == nil && len(e.Codes) == 0 {
				children, _ := supply.Children(r, key)
				units += len(children) + packed
			}
		case "pack":
			units += 1 + len(e.Codes)
		default:
			units += max(1, len(e.Codes))
		}
	}
	return readsPerUnit * units
}

// asEvents is what a supply transaction does, as capture events.
func asEvents(typ string, body any) []supply.CaptureEvent {
	switch m := body.(type) {
	case supply.Capture:
		return m.Events
	case supply.Commission:
		return []supply.CaptureEvent{{Step: "commission", Codes: m.Serials}}
	case supply.Ship:
		return []supply.CaptureEvent{{Step: "ship", Codes: m.Codes}}
	case supply.Receive:
		return []supply.CaptureEvent{{Step: "receive", Codes: m.Codes}}
	case supply.Decommission:
		return []supply.CaptureEvent{{Step: "decommission", Codes: m.Codes}}
	case supply.Dispense:
		return []supply.CaptureEvent{{Step: "dispense", Codes: []string{m.Code}}}
	case supply.Pack:
		if typ == supply.TypeUnpack {
			return []supply.CaptureEvent{{Step: "unpack", Parent: m.Parent, Codes: m.Children}}
		}
		return []supply.CaptureEvent{{Step: "pack", Parent: m.Parent, Codes: m.Children}}
	}
	return []supply.CaptureEvent{{Step: typ}}
}

// randomStep draws a supply transaction, usually signed by whoever holds
// (or is to receive) what it names, sometimes by anyone.
func (c *supplyChain) randomStep() supplyStep {
	rng := c.rng
	code := c.code()
	key := c.org()
	if rng.IntN(6) > 0 {
		key = c.holder(code, key)
	}
	switch rng.IntN(14) {
	case 0, 1, 2:
		parent := c.container()
		children := []string{code}
		if rng.IntN(3) == 0 {
			children = append(children, c.code())
		}
		if rng.IntN(4) > 0 {
			key = c.holder(parent, key)
		}
		return supplyStep{key: key, typ: supply.TypePack, body: supply.Pack{Parent: parent, Children: children}}
	case 3:
		m, holder := c.randomUnpack()
		if rng.IntN(4) > 0 {
			key = holder
		}
		return supplyStep{key: key, typ: supply.TypeUnpack, body: m}
	case 4, 5, 13:
		return supplyStep{key: key, typ: supply.TypeShip, body: supply.Ship{Codes: c.codes(code), To: c.destination()}}
	case 6, 7:
		if rng.IntN(4) > 0 {
			key = c.receiver(code, key)
		}
		return supplyStep{key: key, typ: supply.TypeReceive, body: supply.Receive{Codes: []string{code}}}
	case 8:
		return supplyStep{key: key, typ: supply.TypeDecommission, body: supply.Decommission{Codes: c.codes(code),
			Reason: []string{"stolen", "destroyed", "damaged", "lost"}[rng.IntN(4)]}}
	case 9:
		if rng.IntN(5) == 0 {
			key = insurerKey // may not dispense: refused before its nonce
		}
		return supplyStep{key: key, typ: supply.TypeDispense, body: supply.Dispense{Code: c.packs[rng.IntN(len(c.packs))]}}
	case 10, 11:
		var events []supply.CaptureEvent
		for range 2 + rng.IntN(4) {
			events = append(events, c.randomEvent())
		}
		if len(events[0].Codes) > 0 {
			key = c.holder(events[0].Codes[0], key)
		} else {
			key = c.holder(events[0].Parent, key)
		}
		return supplyStep{key: key, typ: supply.TypeCapture, body: supply.Capture{Events: events}}
	default:
		key = manufacturerKey
		if rng.IntN(5) == 0 {
			key = distributorKey // not the product's manufacturer, nor one
		}
		var serials []string
		for range 1 + rng.IntN(5) {
			if rng.IntN(4) == 0 {
				serials = append(serials, fmt.Sprint("P", rng.IntN(len(c.packs)))) // already commissioned
			} else {
				c.fresh++
				serials = append(serials, fmt.Sprint("R", c.fresh))
			}
		}
		return supplyStep{key: key, typ: supply.TypeCommission, body: supply.Commission{GTIN: hostileGTIN, Lot: "L2", Expiry: "2030-06-30", Serials: serials}}
	}
}

// randomEvent is one event of a random capture.
func (c *supplyChain) randomEvent() supply.CaptureEvent {
	switch c.rng.IntN(8) {
	case 0, 1, 2:
		return supply.CaptureEvent{Step: "pack", Parent: c.container(), Codes: []string{c.code()}}
	case 3, 4:
		m, _ := c.randomUnpack()
		return supply.CaptureEvent{Step: "unpack", Parent: m.Parent, Codes: m.Children}
	case 5:
		return supply.CaptureEvent{Step: "ship", Codes: []string{c.code()}, To: c.destination()}
	case 6:
		return supply.CaptureEvent{Step: "receive", Codes: []string{c.code()}}
	default:
		return supply.CaptureEvent{Step: "decommission", Codes: []string{c.code()}, Reason: "damaged"}
	}
}

// randomUnpack unpacks a container: all of it, a child it holds, or
// something it may not hold; holder is who holds the container.
func (c *supplyChain) randomUnpack() (m supply.Pack, holder ed25519.PrivateKey) {
	parent := c.container()
	m.Parent = parent
	switch c.rng.IntN(6) { // all of it (and a big pallet is big no more) only now and then
	case 0, 1, 2, 3:
		pk, _, _ := supply.KeyOf(parent)
		children, _ := supply.Children(c.a.store.Committed(), pk)
		for range min(len(children), 1+c.rng.IntN(3)) {
			m.Children = append(m.Children, supply.URI(children[c.rng.IntN(len(children))]))
		}
	case 4:
		m.Children = []string{c.code()}
	}
	return m, c.holder(parent, c.org())
}

// code draws a pack or a case: the big pallet's too, once it is free.
func (c *supplyChain) code() string {
	switch n := c.rng.IntN(10); {
	case n < 5:
		return c.packs[c.rng.IntN(len(c.packs))]
	case n < 8 || !c.bigFree:
		return c.cases[c.rng.IntN(len(c.cases))]
	case n == 8:
		return c.pallet
	default:
		return c.big[c.rng.IntN(len(c.big))]
	}
}

// codes is code, sometimes with more.
func (c *supplyChain) codes(code string) []string {
	out := []string{code}
	for c.rng.IntN(3) == 0 {
		out = append(out, c.code())
	}
	return out
}

// container draws a case, or the big pallet or one of its cases once free.
func (c *supplyChain) container() string {
	if c.bigFree && c.rng.IntN(3) == 0 {
		if c.rng.IntN(2) == 0 {
			return c.pallet
		}
		return c.big[c.rng.IntN(len(c.big))]
	}
	return c.cases[c.rng.IntN(len(c.cases))]
}

// name is who key is, for messages.
func (c *supplyChain) name(key ed25519.PrivateKey) string {
	for _, k := range []struct {
		key  ed25519.PrivateKey
		name string
	}{{manufacturerKey, "manufacturer"}, {distributorKey, "distributor"}, {pharmacyKey, "pharmacy"}, {hospitalKey, "hospital"},
		{hospital2Key, "hospital2"}, {insurerKey, "insurer"}, {regulatorKey, "regulator"}} {
		if k.key.Equal(key) {
			return k.name
		}
	}
	return id(key)
}

func (c *supplyChain) org() ed25519.PrivateKey { return c.orgs[c.rng.IntN(len(c.orgs))] }

// destination is another member, or none (an open shipment), or one that
// is no member.
func (c *supplyChain) destination() string {
	switch n := c.rng.IntN(8); {
	case n < 5:
		return id(c.org())
	case n < 7:
		return ""
	default:
		return "urn:primum:org:nobody"
	}
}

// holder is the signer holding code, or fallback.
func (c *supplyChain) holder(code string, fallback ed25519.PrivateKey) ed25519.PrivateKey {
	if o := c.object(code); o != nil {
		if k, ok := c.byID[o.Custodian]; ok {
			return k
		}
	}
	return fallback
}

// receiver is the signer code is shipped to, or fallback.
func (c *supplyChain) receiver(code string, fallback ed25519.PrivateKey) ed25519.PrivateKey {
	if o := c.object(code); o != nil {
		if k, ok := c.byID[o.ShipTo]; ok {
			return k
		}
	}
	return fallback
}

func (c *supplyChain) object(code string) *supply.Object {
	key, _, err := supply.KeyOf(code)
	if err != nil {
		return nil
	}
	o, err := supply.GetObject(c.a.store.Committed(), key)
	if err != nil {
		return nil
	}
	return o
}

// checkSpread fails a run whose random steps were too one-sided to prove
// anything: under a tenth succeeded, or few kinds of refusal.
func (c *supplyChain) checkSpread() {
	steps := 0
	for _, n := range c.outcomes {
		steps += n
	}
	if c.outcomes["ok"] < steps/10 || len(c.outcomes) < 8 {
		c.t.Fatalf("random steps too one-sided: %v", c.outcomes)
	}
}

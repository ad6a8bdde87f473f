package node_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/client"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/gs1"
	"github.com/primum-health/primum/internal/conformance"
	"github.com/primum-health/primum/keyring"
	"github.com/primum-health/primum/node"
	"github.com/primum-health/primum/supply"
	"github.com/primum-health/primum/wire"
)

type member struct {
	key   ed25519.PrivateKey
	id    string
	token string
}

// startSupplyNode runs a one-validator node whose founding members are a
// manufacturer, a distributor and a pharmacy, each with an API token.
func startSupplyNode(t *testing.T) (*node.Node, *client.Client, map[string]*member) {
	return startSupplyNodeB(t)
}

func startSupplyNodeB(t testing.TB) (*node.Node, *client.Client, map[string]*member) {
	return startMembers(t, [][2]string{{"manufacturer", "manufacturer"}, {"distributor", "distributor"}, {"pharmacy", "pharmacy"}})
}

// startMembers runs a one-validator node whose founding members are orgs
// (name, type; the first holds the validator). The node holds an API token
// for each of them and for a key of each of people, whom the test
// registers itself.
func startMembers(t testing.TB, orgs [][2]string, people ...string) (*node.Node, *client.Client, map[string]*member) {
	t.Helper()
	return startMembersWith(t, nil, orgs, people...)
}

// startMembersWith is startMembers with the node's settings changed by tweak.
func startMembersWith(t testing.TB, tweak func(*node.Settings), orgs [][2]string, people ...string) (*node.Node, *client.Client, map[string]*member) {
	t.Helper()
	return startMembersGenesis(t, tweak, nil, orgs, people...)
}

// startMembersGenesis is startMembersWith with the genesis changed by
// tweakGenesis too.
func startMembersGenesis(t testing.TB, tweak func(*node.Settings), tweakGenesis func(*app.Genesis), orgs [][2]string, people ...string) (*node.Node, *client.Client, map[string]*member) {
	t.Helper()
	home := t.TempDir()
	ports := freePorts(t)
	val, _, err := node.InitHome(home, node.InitOptions{Moniker: "members", Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]*member{}
	gen := &app.Genesis{}
	settings, _ := node.LoadSettings(home)
	settings.APITokens = map[string]string{}
	add := func(name string) *member {
		key := newKey(t)
		f, err := keyring.Dir(filepath.Join(home, "keys")).Import(name, key, "", true)
		if err != nil {
			t.Fatal(err)
		}
		m := &member{key: key, id: f.Address, token: node.NewToken()}
		members[name] = m
		settings.APITokens[m.token] = filepath.Join("keys", name+".json")
		return m
	}
	for i, o := range orgs {
		m := add(o[0])
		nm := governance.NewMember{Name: o[0], OrgType: o[1], Key: hex.EncodeToString(m.key.Public().(ed25519.PublicKey))}
		if i == 0 {
			nm.ValidatorKey, nm.Power = hex.EncodeToString(val), 10
		}
		gen.Members = append(gen.Members, nm)
	}
	for _, p := range people {
		add(p)
	}
	if tweak != nil {
		tweak(&settings)
	}
	if tweakGenesis != nil {
		tweakGenesis(gen)
	}
	if err := node.SaveSettings(home, settings); err != nil {
		t.Fatal(err)
	}
	if err := node.WriteGenesis(home, "primum-members-test", gen, time.Now()); err != nil {
		t.Fatal(err)
	}
	n, c := startHome(t, home)
	return n, c, members
}

// capture posts an EPCIS document and waits for its job to finish.
func capture(t *testing.T, base, token, behaviour string, doc []byte) wire.CaptureJob {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/epcis/capture", bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("GS1-EPCIS-Version", "2.0.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if behaviour != "" {
		req.Header.Set("GS1-Capture-Error-Behaviour", behaviour)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return wire.CaptureJob{CaptureID: "", Errors: []wire.CaptureError{{Code: fmt.Sprint(res.StatusCode), Detail: string(body)}}}
	}
	if res.Header.Get("GS1-EPCIS-Capture-Limit") == "" {
		t.Fatal("capture answer lacks GS1-EPCIS-Capture-Limit")
	}
	loc := res.Header.Get("Location")
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var job wire.CaptureJob
		r, err := http.Get(base + loc)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&job)
		r.Body.Close()
		if !job.Running {
			return job
		}
	}
	t.Fatalf("capture job %s never finished", loc)
	return wire.CaptureJob{}
}

func epcisDoc(events ...string) []byte {
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument",
"schemaVersion":"2.0","creationDate":"2026-11-22T10:00:00Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
}

const (
	testGTIN = "09506000134352"
	sgtin1   = "https://id.gs1.org/01/09506000134352/21/P1"
	sgtin2   = "https://id.gs1.org/01/09506000134352/21/P2"
	ssccURN  = "urn:epc:id:sscc:0614141.1234567890"
)

func TestEPCISCaptureQueryAndVerify(t *testing.T) {
	n, c, m := startSupplyNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Send(ctx, m["manufacturer"].key, supply.TypeRegisterProduct, supply.RegisterProduct{GTIN: testGTIN, Name: "Amoxicillin", Form: "capsule", Strength: "500 mg"}, true); err != nil {
		t.Fatal(err)
	}
	base := n.APIURL()
	maker := epcisDoc(
		`{"type":"ObjectEvent","eventID":"urn:uuid:0001","eventTime":"2026-11-01T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","disposition":"active","epcList":["`+sgtin1+`","`+sgtin2+`"],"ilmd":{"cbvmda:lotNumber":"L7","cbvmda:itemExpirationDate":"2029-01-31"}}`,
		`{"type":"AggregationEvent","eventID":"urn:uuid:0002","eventTime":"2026-11-01T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"packing","parentID":"`+ssccURN+`","childEPCs":["`+sgtin1+`","`+sgtin2+`"]}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:0003","eventTime":"2026-11-02T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"https://ref.gs1.org/cbv/BizStep-shipping","epcList":["`+ssccURN+`"],"destinationList":[{"type":"owning_party","destination":"urn:primum:org:`+m["distributor"].id+`"}]}`,
	)
	if job := capture(t, base, "", "", maker); len(job.Errors) == 0 || !strings.HasPrefix(job.Errors[0].Code, "401") {
		t.Fatalf("capture without a token: %+v", job)
	}
	if job := capture(t, base, m["manufacturer"].token, "", maker); !job.Success || job.Accepted != 3 {
		t.Fatalf("manufacturer capture: %+v", job)
	}
	// Idempotent: the same document again changes nothing and says why.
	if job := capture(t, base, m["manufacturer"].token, "rollback", maker); job.Success || job.Errors[0].Code != "duplicate_event" {
		t.Fatalf("replayed capture: %+v", job)
	}
	dist := epcisDoc(
		`{"type":"ObjectEvent","eventID":"urn:uuid:0004","eventTime":"2026-11-03T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["`+ssccURN+`"],"readPoint":{"id":"urn:epc:id:sgln:9506000.00001.dock3","example:door":"3B"},"bizLocation":{"id":"urn:epc:id:sgln:9506000.00001.0"},`+
			`"sourceList":[{"type":"location","source":"urn:epc:id:sgln:9506000.00009.0"}],"destinationList":[{"type":"possessing_party","destination":"urn:epc:id:pgln:9506000.00001"}],"example:site":"urn:epc:id:sgln:9506000.00001.0"}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:0005","eventTime":"2026-11-04T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"shipping","epcList":["`+ssccURN+`"],"destinationList":[{"type":"owning_party","destination":"urn:primum:org:`+m["pharmacy"].id+`"}],"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141073467:PO-77"}],"persistentDisposition":{"set":["completeness_verified"]},"example:colour":"blue"}`,
	)
	// Rollback: a pharmacy cannot receive what was shipped to the distributor; nothing happens.
	if job := capture(t, base, m["pharmacy"].token, "rollback", dist); job.Success || job.Errors[0].Code != "not_receiver" || job.Errors[0].EventIndex != 0 {
		t.Fatalf("wrong receiver: %+v", job)
	}
	if job := capture(t, base, m["distributor"].token, "", dist); !job.Success {
		t.Fatalf("distributor capture: %+v", job)
	}
	pharm := epcisDoc(
		`{"type":"ObjectEvent","eventID":"urn:uuid:0006","eventTime":"2026-11-05T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["`+ssccURN+`"]}`,
		`{"type":"AggregationEvent","eventID":"urn:uuid:0007","eventTime":"2026-11-05T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"DELETE","bizStep":"unpacking","parentID":"`+ssccURN+`","childEPCs":["`+sgtin1+`","`+sgtin2+`"]}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:0008","eventTime":"2026-11-06T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"dispensing","epcList":["`+sgtin1+`"]}`,
		`{"type":"TransformationEvent","eventID":"urn:uuid:0009","eventTime":"2026-11-06T10:00:00Z","eventTimeZoneOffset":"+00:00","inputEPCList":["`+sgtin2+`"],"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:9506000.013435.L7","quantity":2.5,"uom":"KGM"}],"transformationID":"urn:uuid:t1","bizLocation":{"id":"urn:epc:id:sgln:9506000.00002.0"},"ilmd":{"example:batchNote":"milled"},"example:colour":"red","example:reading":{"example:depth":4.5}}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:0010","eventTime":"2026-11-06T10:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"dispensing","epcList":["`+sgtin1+`"],"sensorElementList":[{"sensorReport":[{"type":"Temperature","value":5,"uom":"CEL"}]}]}`,
	)
	// proceed: a TransformationEvent is kept as recorded (it moves no
	// custody); temperatures on a dispensing are refused, the rest goes on.
	job := capture(t, base, m["pharmacy"].token, "proceed", pharm)
	if job.Success || job.Accepted != 4 || len(job.Errors) != 1 || job.Errors[0].EventIndex != 4 || job.Errors[0].Code != "epcis_not_held" {
		t.Fatalf("proceed capture: %+v", job)
	}
	// The kept event answers queries by its own fields.
	if res, err := http.Get(base + "/epcis/events?EQ_transformationID=urn:uuid:t1&GE_quantity_KGM=2&MATCH_inputEPC=" + url.QueryEscape(sgtin2)); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), `"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:9506000.013435.L7","quantity":2.5,"uom":"KGM"}]`) {
			t.Fatalf("the kept transformation: %d %s", res.StatusCode, b)
		}
	}

	// The pharmacist scans.
	verdict := func(code, as string) *supply.Verdict {
		var v supply.Verdict
		q := url.Values{"code": {code}, "as": {as}}
		if err := c.Get(ctx, "/api/v1/verify?"+q.Encode(), &v); err != nil {
			t.Fatal(err)
		}
		return &v
	}
	if v := verdict("(01)09506000134352(17)290131(10)L7(21)P2", m["pharmacy"].id); v.Verdict != supply.VerdictDispensable || len(v.Trail) != 7 {
		t.Fatalf("P2: %s %s, %d steps", v.Verdict, v.Message, len(v.Trail))
	}
	if v := verdict("urn:epc:id:sgtin:9506000.013435.P1", m["pharmacy"].id); v.Verdict != supply.VerdictDispensed || v.DispensedBy != m["pharmacy"].id {
		t.Fatalf("P1: %+v", v)
	}
	if v := verdict(sgtin2, m["distributor"].id); v.Verdict != supply.VerdictWrongHands {
		t.Fatalf("P2 as distributor: %s", v.Verdict)
	}
	var vrs supply.DSCSAResponse
	if err := c.Get(ctx, "/api/v1/dscsa/verify?gtin="+testGTIN+"&serialNumber=P2&lotNumber=L7&expirationDate=290131", &vrs); err != nil || !vrs.Verified || vrs.Recalled {
		t.Fatalf("DSCSA: %+v %v", vrs, err)
	}
	if err := c.Get(ctx, "/api/v1/dscsa/verify?gtin="+testGTIN+"&serialNumber=P2&lotNumber=WRONG", &vrs); err != nil || vrs.Verified || vrs.VerificationFailureReason != "No_match_GTIN_Serial_Lot" {
		t.Fatalf("DSCSA lot mismatch: %+v %v", vrs, err)
	}
	// A recall shows in the next verification.
	if _, err := c.Send(ctx, m["manufacturer"].key, supply.TypeRecall, supply.RecallLot{GTIN: testGTIN, Lot: "L7", Reason: "sterility"}, true); err != nil {
		t.Fatal(err)
	}
	if v := verdict(sgtin2, m["pharmacy"].id); v.Verdict != supply.VerdictRecalled {
		t.Fatalf("after recall: %s", v.Verdict)
	}

	// Query: by EPC, by per-resource path, paged.
	query := func(path string) (map[string]any, http.Header) {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var doc map[string]any
		if res.StatusCode != 200 || json.Unmarshal(raw, &doc) != nil {
			t.Fatalf("%s: HTTP %d", path, res.StatusCode)
		}
		validEPCIS(t, path, raw) // everything Primum emits is valid EPCIS 2.0
		return doc, res.Header
	}
	events := func(doc map[string]any) []any {
		return doc["epcisBody"].(map[string]any)["queryResults"].(map[string]any)["resultsBody"].(map[string]any)["eventList"].([]any)
	}
	doc, _ := query("/epcis/events?MATCH_epc=" + url.QueryEscape(sgtin1))
	if doc["type"] != "EPCISQueryDocument" || len(events(doc)) != 4 { // commission, pack, unpack, dispense (shipments name the case)
		t.Fatalf("MATCH_epc: %d events", len(events(doc)))
	}
	doc, _ = query("/epcis/bizSteps/shipping/events")
	if len(events(doc)) != 2 {
		t.Fatalf("shipping events: %d", len(events(doc)))
	}
	// Where: a custody event's read point and business location, and a
	// kept event's, as captured (WD_ as EQ_: no location hierarchy).
	for _, c := range []struct {
		query, want string
	}{
		{"EQ_bizLocation=" + url.QueryEscape("urn:epc:id:sgln:9506000.00001.0"), "urn:uuid:0004"},
		{"WD_readPoint=" + url.QueryEscape("urn:epc:id:sgln:9506000.00001.dock3"), "urn:uuid:0004"},
		{"EQ_bizLocation=" + url.QueryEscape("urn:epc:id:sgln:9506000.00002.0") + "&eventType=TransformationEvent", "urn:uuid:0009"},
		// A custody event's business transaction and persistent disposition.
		{"EQ_bizTransaction_po=" + url.QueryEscape("urn:epcglobal:cbv:bt:0614141073467:PO-77"), "urn:uuid:0005"},
		{"EQ_persistentDisposition_set=" + url.QueryEscape("https://ref.gs1.org/cbv/Disp-completeness_verified"), "urn:uuid:0005"},
		// A kept event's extension fields and ILMD, as captured.
		{"EQ_example:colour=red&GT_INNER_example:depth=4", "urn:uuid:0009"},
		{"EQ_ILMD_example:batchNote=milled", "urn:uuid:0009"},
		{"EQ_example:colour=blue", "urn:uuid:0005"}, // a custody event's
		// Its other parties and locations, and its read point's own fields.
		{"EQ_source_location=" + url.QueryEscape("urn:epc:id:sgln:9506000.00009.0"), "urn:uuid:0004"},
		{"EQ_destination_possessing_party=" + url.QueryEscape("urn:epc:id:pgln:9506000.00001"), "urn:uuid:0004"},
		{"EQ_readPoint_example:door=3B", "urn:uuid:0004"},
	} {
		doc, _ := query("/epcis/events?" + c.query)
		list := events(doc)
		if len(list) != 1 || list[0].(map[string]any)["eventID"] != c.want {
			t.Fatalf("%s: %v", c.query, list)
		}
	}
	// A location's master data, from a capture's header: the member that
	// registered its GLN sets it; the attributes answer EQ_ATTR_ and
	// HASATTR_.
	gln := "950600000001" + string(gs1.CheckDigit("950600000001"))
	if _, err := c.Send(ctx, m["manufacturer"].key, supply.TypeRegisterLocation, supply.RegisterLocation{GLN: gln}, true); err != nil {
		t.Fatal(err)
	}
	master := []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-22T10:00:00Z",
"epcisHeader":{"epcisMasterData":{"vocabularyList":[{"type":"urn:epcglobal:epcis:vtype:BusinessLocation","vocabularyElementList":[{"id":"urn:epc:id:sgln:9506000.00001.0",
"attributes":[{"id":"urn:epcglobal:cbv:mda#sst","attribute":"201"},{"id":"urn:epcglobal:cbv:mda#name","attribute":"Central warehouse"}]}]}]}},
"epcisBody":{"eventList":[{"type":"ObjectEvent","eventID":"urn:uuid:00md","eventTime":"2026-11-05T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"inspecting",
"quantityList":[{"epcClass":"urn:epc:class:lgtin:9506000.013435.L7","quantity":2}]}]}}`)
	// Another member's document naming the location (a trading partner's)
	// is captured, its master data of the location not read.
	if job := capture(t, base, m["distributor"].token, "", bytes.Replace(master, []byte("urn:uuid:00md"), []byte("urn:uuid:00mx"), 1)); !job.Success {
		t.Fatalf("a document with another member's location master data: %+v", job)
	}
	if doc, _ := query("/epcis/events?EQ_ATTR_bizLocation_sst=201"); len(events(doc)) != 0 {
		t.Fatalf("another member set the location's master data: %v", events(doc))
	}
	if job := capture(t, base, m["manufacturer"].token, "", master); !job.Success {
		t.Fatalf("the location's master data: %+v", job)
	}
	for _, q := range []string{"EQ_ATTR_bizLocation_sst=201", "HASATTR_example:site=sst|nothing", "EQ_ATTR_bizLocation_name=Central+warehouse&EQ_ATTR_readPoint_sst=nothing"} {
		doc, _ := query("/epcis/events?" + q)
		list := events(doc)
		want := 1
		if strings.Contains(q, "readPoint") {
			want = 0
		}
		if len(list) != want || want == 1 && list[0].(map[string]any)["eventID"] != "urn:uuid:0004" {
			t.Fatalf("%s: %v", q, list)
		}
	}
	// A trade item class's master data (its product): the packing of its
	// packs, by the product's name.
	if doc, _ := query("/epcis/events?eventType=AggregationEvent&EQ_action=ADD&EQ_ATTR_epcClass_regulatedProductName=Amoxicillin"); len(events(doc)) != 1 || events(doc)[0].(map[string]any)["eventID"] != "urn:uuid:0002" {
		t.Fatalf("by the product's name: %v", events(doc))
	}
	// An error declaration: its recorder's only, kept beside the event
	// (custody unchanged), answered by the error-declaration parameters.
	declared := epcisDoc(`{"type":"ObjectEvent","eventID":"urn:uuid:0004","eventTime":"2026-11-03T09:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE","bizStep":"receiving","epcList":["` + ssccURN + `"],"errorDeclaration":{"declarationTime":"2026-11-03T12:00:00Z","reason":"incorrect_data","correctiveEventIDs":["urn:uuid:0004b"],"example:issuer":"Employee 123"}}`)
	if job := capture(t, base, m["pharmacy"].token, "", declared); job.Success || job.Errors[0].Code != "not_the_recorder" {
		t.Fatalf("another member's declaration: %+v", job)
	}
	if job := capture(t, base, m["distributor"].token, "", declared); !job.Success {
		t.Fatalf("the recorder's declaration: %+v", job)
	}
	if job := capture(t, base, m["distributor"].token, "", declared); job.Success || job.Errors[0].Code != "already_declared" {
		t.Fatalf("declared twice: %+v", job)
	}
	for _, q := range []string{"EXISTS_errorDeclaration=", "EQ_errorReason=incorrect_data", "EQ_correctiveEventID=urn:uuid:0004b",
		"GE_errorDeclaration_Time=2026-11-03T11:00:00Z&LT_errorDeclaration_Time=2026-11-03T13:00:00Z", "EQ_ERROR_DECLARATION_example:issuer=Employee+123"} {
		doc, _ := query("/epcis/events?" + q)
		list := events(doc)
		if len(list) != 1 || list[0].(map[string]any)["eventID"] != "urn:uuid:0004" || list[0].(map[string]any)["errorDeclaration"].(map[string]any)["example:issuer"] != "Employee 123" {
			t.Fatalf("%s: %v", q, list)
		}
	}
	doc, _ = query("/epcis/events?EQ_bizLocation=" + url.QueryEscape("urn:epc:id:sgln:9506000.00001.0"))
	if e := events(doc)[0].(map[string]any); e["readPoint"].(map[string]any)["id"] != "urn:epc:id:sgln:9506000.00001.dock3" || e["readPoint"].(map[string]any)["example:door"] != "3B" ||
		len(e["sourceList"].([]any)) != 2 || len(e["destinationList"].([]any)) != 1 {
		t.Fatalf("the receiving event's read point: %v", e)
	}
	doc, hdr := query("/epcis/events?eventType=AggregationEvent&perPage=1")
	if len(events(doc)) != 1 || !strings.Contains(hdr.Get("Link"), "nextPageToken=") {
		t.Fatalf("paging: %d events, Link %q", len(events(doc)), hdr.Get("Link"))
	}
	link := strings.TrimSuffix(strings.TrimPrefix(strings.Split(hdr.Get("Link"), ";")[0], "<"), ">")
	doc, hdr = query(link)
	if len(events(doc)) != 1 || hdr.Get("Link") != "" {
		t.Fatalf("second page: %d events, Link %q", len(events(doc)), hdr.Get("Link"))
	}
}

// TestEPCISConformanceExamples: every example document of the GS1 EPCIS
// repository is accepted or refused event by event with a clear reason,
// never an internal error.
func TestEPCISConformanceExamples(t *testing.T) {
	n, _, m := startSupplyNode(t)
	root := conformance.Dir(t, "epcis/JSON")
	var files []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".jsonld") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 10 {
		t.Fatalf("found only %d example documents under %s", len(files), root)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &head)
		job := capture(t, n.APIURL(), m["distributor"].token, "proceed", b)
		name, _ := filepath.Rel(root, f)
		if head.Type != "EPCISDocument" {
			if job.CaptureID != "" {
				t.Errorf("%s: a %s was taken as a capture", name, head.Type)
			}
			continue
		}
		if job.CaptureID == "" {
			t.Errorf("%s: refused outright: %+v", name, job.Errors)
			continue
		}
		for _, e := range job.Errors {
			if e.Code == "internal" || e.Detail == "" {
				t.Errorf("%s event %d: unclear refusal %+v", name, e.EventIndex, e)
			}
		}
		t.Logf("%s: %d events, %d accepted, refusals: %v", name, job.Events, job.Accepted, codes(job.Errors))
	}
}

func codes(errs []wire.CaptureError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Code)
	}
	return out
}

package epcis

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/primum-health/primum/internal/moduletest"
	"github.com/primum-health/primum/supply"
)

// TestShippingToAGLNClaimedFirst: a member that declared another's GLN
// before the other held its company prefix keeps receiving the shipments
// sent to that GLN after the other's own claim (which binds only what comes
// after it), and no longer once the regulator assigns the prefix; once the
// prefix's holder declares the GLN, they go to the holder.
func TestShippingToAGLNClaimedFirst(t *testing.T) {
	w := moduletest.New(t, supply.Declare())
	w.AddOrg("dist", "distributor")
	w.AddOrg("squatter", "pharmacy")
	w.AddOrg("reg", "regulator")
	w.Commit()
	const gln = "0614141000005"
	ship := json.RawMessage(`{"type":"ObjectEvent","eventTime":"2026-11-01T08:00:00Z","action":"OBSERVE","bizStep":"shipping",` +
		`"epcList":["urn:epc:id:sscc:0614141.1234567890"],"destinationList":[{"type":"location","destination":"urn:epc:id:sgln:0614141.00000.0"}]}`)
	to := func() (string, error) {
		out, err := TranslateEvent(w.St.Committed(), ship)
		if err != nil {
			return "", err
		}
		return out[0].To, nil
	}
	w.Try(t, "squatter", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: gln}, nil)
	if got, err := to(); err != nil || got != w.ID("squatter") {
		t.Fatalf("declared first, unclaimed: to %q, %v", got, err)
	}
	w.Try(t, "dist", supply.TypeClaimPrefix, supply.ClaimPrefix{Prefix: "0614141"}, nil)
	if got, err := to(); err != nil || got != w.ID("squatter") {
		t.Fatalf("after the holder's own claim: to %q, %v", got, err)
	}
	w.Try(t, "reg", supply.TypeAssignPrefix, supply.AssignPrefix{Prefix: "0614141", Org: w.ID("dist"), Reason: "GS1 allocation confirmed"}, nil)
	if got, err := to(); !errors.Is(err, supply.ErrUnknownDestination) {
		t.Fatalf("after the regulator's assignment: to %q, %v", got, err)
	}
	w.Try(t, "dist", supply.TypeRegisterLocation, supply.RegisterLocation{GLN: gln}, nil)
	if got, err := to(); err != nil || got != w.ID("dist") {
		t.Fatalf("declared by the holder: to %q, %v", got, err)
	}
}

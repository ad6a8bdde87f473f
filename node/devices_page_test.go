package node_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/primum-health/primum/devices"
	"github.com/primum-health/primum/identity"
)

// TestDevicesPage: a patient's wearable with two batches, kept by a
// hospital. Signed in as the patient, the devices page lists them, the
// commands that prove a reading, and reads a batch's readings from the
// keeper; the keeper, without the patient's consent, is refused them (and
// told why); signed in as a clinic without standing, the wearable answers
// as a device without batches. At phone and desktop sizes, axe clean.
func TestDevicesPage(t *testing.T) {
	n, c, m := startMembers(t, [][2]string{{"hospital", "hospital"}, {"clinic", "clinic"}}, "patient", "watch")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Send(ctx, m["patient"].key, identity.TypeRegisterPatient, struct{}{}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterDevice(ctx, m["patient"].key, m["watch"].key, "wearable", true); err != nil {
		t.Fatal(err)
	}
	var log [][]byte
	for i := range 5 {
		log = append(log, devices.Reading{Time: time.Now().Add(-time.Hour).Unix() + int64(i)*60, Code: 147842, Value: 7000 + int64(i)*100}.Encode())
	}
	first, err := devices.Next(log[:2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["watch"].key, devices.TypeBatch, first, true); err != nil {
		t.Fatal(err)
	}
	var latest devices.Entry
	if err := c.WithKey(m["watch"].key).Get(ctx, "/api/v1/devices/"+m["watch"].id+"/latest", &latest); err != nil {
		t.Fatal(err)
	}
	second, err := devices.Next(log, &latest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["watch"].key, devices.TypeBatch, second, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["hospital"].key, devices.TypeKeeping, devices.Keeping{ReadingsPerDay: 86_400}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, m["patient"].key, devices.TypeKeeper, devices.Keep{Device: m["watch"].id, Keeper: m["hospital"].id}, true); err != nil {
		t.Fatal(err)
	}
	if kept, err := c.WithKey(m["watch"].key).KeepLog(ctx, m["watch"].id, log, c.WithKey(m["watch"].key)); err != nil || len(kept) != 2 {
		t.Fatalf("kept %v, %v", kept, err)
	}

	b := browser(t)
	axe, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	signedIn := func(token string) []chromedp.Action {
		page := n.APIURL() + "/devices.html?device=" + m["watch"].id
		return []chromedp.Action{chromedp.Navigate(page), chromedp.Evaluate(`sessionStorage.clear()`, nil), chromedp.Navigate(page), chromedp.WaitVisible("#token"),
			chromedp.SendKeys("#token", token), chromedp.Click("#signin-button"), chromedp.WaitVisible("#signed-in")}
	}
	for _, size := range phoneAndDesktop {
		t.Run(size.name, func(t *testing.T) {
			checkPage(t, b, axe, "devices", signedIn(m["patient"].token), `document.querySelectorAll("#batches tbody tr").length === 2 && document.querySelectorAll("#keepers tbody tr").length === 1`, nil, size)
			var summary, commands, keepers string
			if err := chromedp.Run(b, chromedp.Text("#device-summary", &summary), chromedp.Text("#prove-commands", &commands), chromedp.Text("#keepers tbody", &keepers)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(summary, "the log holds 5 readings as of batch 2") || !strings.Contains(commands, "--batch 2") || !strings.Contains(commands, m["watch"].id) {
				t.Errorf("the patient's view: %q; %q", summary, commands)
			}
			// Who keeps wearables' readings: the hospital, 86,400 a day.
			if !strings.Contains(keepers, "hospital") || !strings.Contains(keepers, "86,400") {
				t.Errorf("the keepers: %q", keepers)
			}
			// Batch 2's readings, from the keeper.
			checkPage(t, b, axe, "devices-readings", []chromedp.Action{chromedp.WaitVisible("#kept-card"), chromedp.Click("#kept-button")},
				`document.querySelectorAll("#readings tbody tr").length === 3`, nil, size)
			var kept, first string
			if err := chromedp.Run(b, chromedp.Text("#kept-summary", &kept), chromedp.Text("#readings tbody tr", &first)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(kept, "Kept by hospital") || !strings.Contains(first, "Heart rate") || !strings.Contains(first, "72 /min") {
				t.Errorf("the readings: %q; %q", kept, first)
			}
		})
	}
	// The keeper has standing (it holds the patient's records), but no
	// consent to read them.
	var refused string
	err = chromedp.Run(b, append(signedIn(m["hospital"].token), chromedp.WaitVisible("#kept-card"), chromedp.Click("#kept-button"),
		chromedp.Poll(`document.getElementById("kept-message").textContent.startsWith("Refused")`, nil),
		chromedp.Text("#kept-message", &refused))...)
	if err != nil || !strings.Contains(refused, "consent") {
		t.Fatalf("the keeper without consent: %q %v", refused, err)
	}
	// Signed in as the clinic, which has no standing with the patient.
	var summary string
	err = chromedp.Run(b, append(signedIn(m["clinic"].token),
		chromedp.Poll(`document.getElementById("device-summary").textContent.startsWith("No batches")`, nil),
		chromedp.Text("#device-summary", &summary))...)
	if err != nil || !strings.Contains(summary, "no standing") {
		t.Fatalf("the hospital's view: %q %v", summary, err)
	}
}

package main

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestVersion: 'primum version' names the upgrades the binary carries (the
// test build's, v2-test, and none for a release without one) and the app
// version it runs up to.
func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		bin      string
		version  uint64
		upgrades int
	}{
		{primumBinary(t), 1, 0},
		{buildPrimum(t, "primum-upgradetest", "-tags", "upgradetest"), 2, 1},
	} {
		out, err := exec.Command(tc.bin, "version", "-o", "json").Output()
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			AppVersion uint64 `json:"app_version"`
			Upgrades   []struct {
				Name string `json:"name"`
			} `json:"upgrades"`
		}
		if err := json.Unmarshal(out, &v); err != nil || v.AppVersion != tc.version || len(v.Upgrades) != tc.upgrades || v.Upgrades == nil {
			t.Fatalf("%s: %s (%v)", tc.bin, out, err)
		}
	}
}

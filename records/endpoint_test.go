package records

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/ledger"
	"github.com/primum-health/primum/store"
)

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		ok       bool
		why      string // part of the error, when refused
	}{
		{"https://records.stlukes.example", true, ""},
		{"https://records.stlukes.example:8443/primum/", true, ""},
		{"https://[2001:db8::1]:8443", true, ""},
		{"http://127.0.0.1:26680", true, ""},
		{"http://127.5.0.1:26680", true, ""},
		{"http://[::1]:26680", true, ""},
		{"http://localhost:26680", true, ""},
		{"http://records.stlukes.example", false, "loopback"},
		{"http://10.0.0.7:26680", false, "loopback"},
		{"http://0.0.0.0:26680", false, "loopback"},
		{"http://localhost.evil.example", false, "loopback"},
		{"ftp://records.stlukes.example", false, "https"},
		{"file:///etc/passwd", false, "absolute URL"},
		{"https:records.stlukes.example", false, "absolute URL"},
		{"//records.stlukes.example", false, "absolute URL"},
		{"records.stlukes.example", false, "absolute URL"},
		{"https://", false, "absolute URL"},
		{"https://:8443", false, "absolute URL"},
		{"https://admin:s3cret@records.stlukes.example", false, "user name or password"},
		{"https://admin@records.stlukes.example", false, "user name or password"},
		{"https://records.stlukes.example/?x=", false, "query"},
		{"https://records.stlukes.example?", false, "query"},
		{"https://records.stlukes.example/#", false, "fragment"},
		{"https://records.stlukes.example/#top", false, "fragment"},
		{"https://records.stlukes.example/" + strings.Repeat("a", MaxEndpointLen), false, "longer than"},
		{"https://records.stlukes.example:port", false, "absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			err := CheckEndpoint(tt.endpoint)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadEndpoint) || !strings.Contains(err.Error(), tt.why) {
				t.Fatalf("got %v, want bad_endpoint saying %q", err, tt.why)
			}
			// The error is committed in the block's results: it must not
			// repeat the endpoint, which may hold a password.
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "stlukes") {
				t.Fatalf("the error repeats the endpoint: %v", err)
			}
		})
	}
}

// TestRegisterRefusesBadEndpoint: the check runs where endpoints enter
// state, and a refused registration publishes nothing.
func TestRegisterRefusesBadEndpoint(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body, _ := json.Marshal(Register{Endpoint: "https://records.stlukes.example/api?next=", Records: []NewRecord{{ID: "obs-1"}}})
	ctx := &ledger.Context{Height: 1, Time: time.Unix(0, 0), Signer: ledger.Signer{ID: "org-1", Kind: ledger.KindOrganisation, OrgType: "hospital"}, State: st.Staged()}
	if err := ledger.Handle(register).Run(ctx, body); !errors.Is(err, ErrBadEndpoint) {
		t.Fatalf("got %v, want bad_endpoint", err)
	}
	if e, err := Endpoint(st.Staged(), "org-1"); err != nil || e != "" {
		t.Fatalf("endpoint stored: %q, %v", e, err)
	}
}

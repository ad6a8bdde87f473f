package node_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/primum-health/primum/app"
	"github.com/primum-health/primum/governance"
	"github.com/primum-health/primum/node"
)

// TestAPIOverTLS: with tls_cert and tls_key the API speaks only HTTPS (with
// HSTS), a client that trusts the certificate reads it, a plain-HTTP
// request is refused; a key that does not match its certificate, or only
// one of the two, stops the node at start with a message that says so.
func TestAPIOverTLS(t *testing.T) {
	home := t.TempDir()
	val, _, err := node.InitHome(home, node.InitOptions{Moniker: "tls", Ports: freePorts(t)})
	if err != nil {
		t.Fatal(err)
	}
	org := newKey(t)
	gen := &app.Genesis{Members: []governance.NewMember{{Name: "St Luke's", OrgType: "hospital",
		Key: hex.EncodeToString(org.Public().(ed25519.PublicKey)), ValidatorKey: hex.EncodeToString(val), Power: 10}}}
	if err := node.WriteGenesis(home, "primum-tls-test", gen, time.Now()); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := selfSigned(t)
	for name, b := range map[string][]byte{"api.crt": certPEM, "api.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(home, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	for _, bad := range []struct{ cert, key, says string }{
		{"api.crt", "", "needs both"},
		{"api.crt", "api.crt", "certificate and key"},
		{"missing.crt", "api.key", "certificate and key"},
	} {
		if n, err := node.Start(context.Background(), node.Options{Home: home, Logger: quiet, TLSCert: bad.cert, TLSKey: bad.key}); err == nil || !strings.Contains(err.Error(), bad.says) {
			if n != nil {
				n.Stop()
			}
			t.Fatalf("tls %q %q: %v, want %q", bad.cert, bad.key, err, bad.says)
		}
	}

	s, _ := node.LoadSettings(home)
	s.TLSCert, s.TLSKey = "api.crt", "api.key" // relative to the home
	if err := node.SaveSettings(home, s); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Options{Home: home, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	if !strings.HasPrefix(n.APIURL(), "https://") {
		t.Fatalf("API URL %s", n.APIURL())
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	res, err := hc.Get(n.APIURL() + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("HTTPS status: %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	plain := "http://" + strings.TrimPrefix(n.APIURL(), "https://")
	if res, err := (&http.Client{Timeout: 10 * time.Second}).Get(plain + "/api/v1/status"); err == nil {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatalf("plain HTTP answered 200: %s", body)
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1 and its key, in PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "primum test node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

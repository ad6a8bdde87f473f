package node

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAuthorities(t *testing.T) {
	cases := []struct {
		name     string
		settings Settings
		listen   string
		tls      bool
		want     []string
	}{
		{"loopback: the address and localhost's names", Settings{}, "127.0.0.1:8080", false,
			[]string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}},
		{"a public URL behind a proxy, default port dropped", Settings{PublicURL: "https://Primum.StLukes.example"}, "10.0.0.5:8080", false,
			[]string{"primum.stlukes.example", "10.0.0.5:8080"}},
		{"every address with a public URL", Settings{PublicURL: "https://primum.example:8443"}, "0.0.0.0:8443", true,
			[]string{"primum.example:8443", "localhost:8443", "127.0.0.1:8443", "[::1]:8443"}},
		{"configured names too", Settings{Authorities: []string{"Node-A.lan:8080", "node-a"}}, "[::]:8080", false,
			[]string{"node-a.lan:8080", "node-a", "localhost:8080", "127.0.0.1:8080", "[::1]:8080"}},
		{"every address and no name: any", Settings{}, "0.0.0.0:8080", false, nil},
		{"any, said outright", Settings{PublicURL: "https://primum.example", Authorities: []string{"*"}}, "127.0.0.1:8080", false, nil},
		{"TLS on 443", Settings{}, "192.0.2.7:443", true, []string{"192.0.2.7"}},
		{"a configured default port left out", Settings{Authorities: []string{"primum.example:443", "primum.lan:80"}}, "10.0.0.5:8080", false,
			[]string{"primum.example", "primum.lan", "10.0.0.5:8080"}},
	}
	for _, bad := range []string{"https://primum.example", "primum.example/api", "user@primum.example", "primum.example:http", ""} {
		if got, err := authorities(Settings{Authorities: []string{bad}}, "10.0.0.5:8080", false); err == nil {
			t.Errorf("authorities %q taken: %q", bad, got)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, err := authorities(c.settings, c.listen, c.tls); err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("authorities = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// A command finds the API and the RPC of its home's node at the addresses
// the home names, and at the defaults when the folder holds no node.
func TestLocalAddresses(t *testing.T) {
	home := t.TempDir()
	if _, _, err := InitHome(home, InitOptions{Ports: Ports{P2P: 36656, RPC: 36657, API: 38080}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "genesis.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, home, api, rpc string }{
		{"a node's home", home, "http://127.0.0.1:38080", "tcp://127.0.0.1:36657"},
		{"no node", t.TempDir(), "http://127.0.0.1:8080", "tcp://127.0.0.1:26657"},
	} {
		if api, rpc := LocalAPI(c.home), LocalRPC(c.home); api != c.api || rpc != c.rpc {
			t.Errorf("%s: %s, %s; want %s, %s", c.name, api, rpc, c.api, c.rpc)
		}
	}
}

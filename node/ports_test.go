package node

import (
	"fmt"
	"net"
	"testing"
)

// Ports come from below the ephemeral range, where no outgoing
// connection's source port can take one while its node restarts.
func TestFreePortsAreDistinctAndBelowTheEphemeralRange(t *testing.T) {
	ports, err := FreePorts(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	low := ephemeralLow()
	for _, p := range ports {
		for _, port := range []int{p.P2P, p.RPC, p.API} {
			if seen[port] || port < portFloor || port >= low {
				t.Fatalf("port %d: repeated, or outside [%d, %d)", port, portFloor, low)
			}
			seen[port] = true
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				t.Fatalf("port %d is not free after FreePorts: %v", port, err)
			}
			l.Close()
		}
	}
}

// TestSetListen: new listen addresses are kept in the home, where the node
// and the CLI read them on their next start; an empty one stays as it was,
// and an address without a port changes nothing.
func TestSetListen(t *testing.T) {
	cases := []struct {
		name          string
		set           Listen
		api, rpc, p2p string
		wantErr       bool
	}{
		{"nothing", Listen{}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", false},
		{"api only", Listen{API: "127.0.0.1:8081"}, "127.0.0.1:8081", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", false},
		{"all three", Listen{API: "0.0.0.0:9000", RPC: "127.0.0.1:26757", P2P: "127.0.0.1:26756"}, "0.0.0.0:9000", "tcp://127.0.0.1:26757", "tcp://127.0.0.1:26756", false},
		{"no port", Listen{API: "127.0.0.1:8081", RPC: "localhost"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"a host name and IPv6", Listen{API: "localhost:8081", RPC: "[::1]:26757"}, "localhost:8081", "tcp://[::1]:26757", "tcp://127.0.0.1:26656", false},
		{"quotes left in", Listen{RPC: `"127.0.0.1:26757"`}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"a TOML line slipped in", Listen{RPC: "x\"\nunsafe = true #:26657"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"a port out of range", Listen{P2P: "127.0.0.1:99999"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"a named port", Listen{API: "127.0.0.1:http"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"a space", Listen{API: "a b:1"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
		{"CometBFT's own spelling", Listen{RPC: "tcp://127.0.0.1:26757", P2P: "tcp://127.0.0.1:26756"}, "127.0.0.1:8080", "tcp://127.0.0.1:26757", "tcp://127.0.0.1:26756", false},
		{"another scheme", Listen{RPC: "unix:///tmp/x.sock"}, "127.0.0.1:8080", "tcp://127.0.0.1:26657", "tcp://127.0.0.1:26656", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			if _, _, err := InitHome(home, InitOptions{Moniker: "t", Ports: DefaultPorts}); err != nil {
				t.Fatal(err)
			}
			if err := SetListen(home, c.set); (err != nil) != c.wantErr {
				t.Fatalf("SetListen: %v, want error %v", err, c.wantErr)
			}
			s, err := LoadSettings(home)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := CometConfig(home)
			if err != nil {
				t.Fatal(err)
			}
			if s.APIAddr != c.api || cfg.RPC.ListenAddress != c.rpc || cfg.P2P.ListenAddress != c.p2p {
				t.Fatalf("api %s rpc %s p2p %s, want %s %s %s", s.APIAddr, cfg.RPC.ListenAddress, cfg.P2P.ListenAddress, c.api, c.rpc, c.p2p)
			}
		})
	}
}

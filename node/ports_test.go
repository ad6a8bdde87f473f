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

// Package hosts gives a test machines of their own on one Linux machine:
// each host is a network namespace with its own address, and the hosts are
// joined by a bridge in a namespace of its own, so that their traffic
// stays inside the namespaces (none of it reaches the machine's own
// network). Creating namespaces needs root (CI runs as root); New says why
// it cannot rather than let a test skip.
package hosts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Net is a set of hosts on one subnet.
type Net struct {
	prefix string // of the namespaces' names
	Hosts  []*Host
}

// Host is one namespace: a machine with address IP.
type Host struct {
	NS string
	IP string
}

// New creates n hosts, 10.231.0.1 to 10.231.0.n, each in its namespace,
// joined by a bridge. Close removes them (a test's namespaces left by a
// killed run are removed by the next New).
func New(n int) (*Net, error) {
	if n < 1 || n > 250 {
		return nil, fmt.Errorf("hosts: %d hosts", n)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, errors.New("hosts: the ip command (iproute2) is not installed: install it (apt-get install iproute2)")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("hosts: network namespaces need root: run the tests as root (CI does)")
	}
	removeStale()
	nt := &Net{prefix: fmt.Sprintf("primum-%d-", os.Getpid())}
	sw := nt.prefix + "sw"
	steps := [][]string{{"netns", "add", sw}, {"-n", sw, "link", "add", "br0", "type", "bridge"}, {"-n", sw, "link", "set", "br0", "up"}}
	for i := range n {
		h := &Host{NS: nt.prefix + "h" + strconv.Itoa(i), IP: fmt.Sprintf("10.231.0.%d", i+1)}
		port := "p" + strconv.Itoa(i)
		steps = append(steps,
			[]string{"netns", "add", h.NS},
			[]string{"link", "add", "eth0", "netns", h.NS, "type", "veth", "peer", "name", port, "netns", sw},
			[]string{"-n", sw, "link", "set", port, "master", "br0"},
			[]string{"-n", sw, "link", "set", port, "up"},
			[]string{"-n", h.NS, "addr", "add", h.IP + "/24", "dev", "eth0"},
			[]string{"-n", h.NS, "link", "set", "eth0", "up"},
			[]string{"-n", h.NS, "link", "set", "lo", "up"})
		nt.Hosts = append(nt.Hosts, h)
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			nt.Close()
			return nil, fmt.Errorf("hosts: ip %s: %v: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	return nt, nil
}

// Command is name run on the host (ip netns exec).
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Close removes the hosts' namespaces (their links go with them). Processes
// still running in them keep running, without a network.
func (n *Net) Close() {
	for _, h := range n.Hosts {
		_ = exec.Command("ip", "netns", "del", h.NS).Run()
	}
	_ = exec.Command("ip", "netns", "del", n.prefix+"sw").Run()
}

// removeStale removes the namespaces of test processes that are gone.
func removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, "primum-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

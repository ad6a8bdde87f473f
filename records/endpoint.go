package records

import (
	"net"
	"net/url"
	"strings"
)

// MaxEndpointLen bounds a published endpoint.
const MaxEndpointLen = 200

// CheckEndpoint checks an endpoint a custodian publishes: the base URL of
// its node's API, which every other node will send signed record requests
// to. It must be https (plain http only on a loopback host, for tests and
// single-machine networks), and carry nothing but a host, an optional port
// and an optional base path: user-info credentials would be published to
// every member, and a query or fragment would swallow the path that fetches
// append. The error names the rule broken, never the endpoint, which may
// hold a credential. It runs in block execution: no clock, no DNS.
func CheckEndpoint(endpoint string) error {
	if len(endpoint) > MaxEndpointLen {
		return ErrBadEndpoint.Wrapf("longer than %d characters", MaxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return ErrBadEndpoint.Wrapf("not an absolute URL like https://records.example.org")
	case u.User != nil:
		return ErrBadEndpoint.Wrapf("holds a user name or password (credentials would be public on the ledger)")
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(endpoint, "?"):
		return ErrBadEndpoint.Wrapf("has a query ('?')")
	case u.Fragment != "" || strings.Contains(endpoint, "#"):
		return ErrBadEndpoint.Wrapf("has a fragment ('#')")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return ErrBadEndpoint.Wrapf("http:// is only for loopback hosts; publish the node's https:// address (public_url in config/primum.json)")
	default:
		return ErrBadEndpoint.Wrapf("scheme must be https")
	}
}

// loopbackHost reports whether host is this machine by name or address,
// without resolving anything.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

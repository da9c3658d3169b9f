// Package probe observes the lab the way a client does: HTTP requests
// through a service IP that report which node answered, a continuous prober
// (every 10 ms by default) whose samples give client-observed outages for
// failover benchmarks, and the client's neighbour table (who answered
// ARP/NDP for an IP).
//
// Requests are made from inside a namespace (the client's or the outside
// host's) by dialling through netns; every request uses a new connection,
// so each one goes through neighbour resolution and routing afresh.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// DefaultPort is the port of the nodes' HTTP servers.
const DefaultPort = 80

// NewHTTPClient returns an HTTP client whose connections are opened inside
// ns, one per request, each request bounded by timeout.
func NewHTTPClient(ns netns.NS, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:       ns.DialContext,
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}
}

// URL returns http://ip:port/.
func URL(ip netip.Addr, port int) string {
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(port)) + "/"
}

// Get requests URL(ip, port) with client and returns the name of the node
// that answered.
func Get(ctx context.Context, client *http.Client, ip netip.Addr, port int) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, URL(ip, port), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return "", fmt.Errorf("GET %s: read body: %w", req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	node := strings.TrimSpace(string(body))
	if node == "" {
		return "", errors.New("GET " + req.URL.String() + ": empty answer")
	}
	return node, nil
}

// WhoAnswers makes one request from ns through ip and returns the node
// name (a shortcut for one-off checks).
func WhoAnswers(ctx context.Context, ns netns.NS, ip netip.Addr) (string, error) {
	return Get(ctx, NewHTTPClient(ns, 2*time.Second), ip, DefaultPort)
}

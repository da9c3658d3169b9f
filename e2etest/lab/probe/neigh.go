package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
)

// Neighbor is one entry of a host's neighbour table (ARP or NDP).
type Neighbor struct {
	IP  netip.Addr
	MAC net.HardwareAddr // nil while unresolved (INCOMPLETE, FAILED)
	Dev string
	// States as the kernel reports them: REACHABLE, STALE, DELAY, PROBE,
	// FAILED, INCOMPLETE, PERMANENT, NOARP.
	States []string
}

// Resolved reports whether the entry holds a usable MAC address.
func (n Neighbor) Resolved() bool {
	return n.MAC != nil && !slices.Contains(n.States, "FAILED") && !slices.Contains(n.States, "INCOMPLETE")
}

// ParseNeigh parses `ip -j neigh show` output (either family).
func ParseNeigh(b []byte) ([]Neighbor, error) {
	var raw []struct {
		Dst    string   `json:"dst"`
		Dev    string   `json:"dev"`
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse neighbours: %w", err)
	}
	out := make([]Neighbor, 0, len(raw))
	for _, r := range raw {
		ip, err := netip.ParseAddr(r.Dst)
		if err != nil {
			return nil, fmt.Errorf("parse neighbours: dst %q: %w", r.Dst, err)
		}
		n := Neighbor{IP: ip, Dev: r.Dev, States: r.State}
		if r.LLAddr != "" {
			if n.MAC, err = net.ParseMAC(r.LLAddr); err != nil {
				return nil, fmt.Errorf("parse neighbours: lladdr %q: %w", r.LLAddr, err)
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// Neighbors reads the IPv4 and IPv6 neighbour tables of ns (dev "" for all
// interfaces).
func Neighbors(ctx context.Context, ns netns.NS, dev string) ([]Neighbor, error) {
	var all []Neighbor
	for _, fam := range []string{"-4", "-6"} {
		args := []string{"-j", fam, "neigh", "show"}
		if dev != "" {
			args = append(args, "dev", dev)
		}
		out, err := ns.IP(ctx, args...)
		if err != nil {
			return nil, err
		}
		ns, err := ParseNeigh(out)
		if err != nil {
			return nil, err
		}
		all = append(all, ns...)
	}
	return all, nil
}

// NeighborOf returns the entry for ip.
func NeighborOf(list []Neighbor, ip netip.Addr) (Neighbor, bool) {
	for _, n := range list {
		if n.IP == ip {
			return n, true
		}
	}
	return Neighbor{}, false
}

// FlushNeighbor removes ns's neighbour entry for ip, so the next packet to
// ip triggers a fresh ARP request or Neighbor Solicitation.
func FlushNeighbor(ctx context.Context, ns netns.NS, ip netip.Addr) error {
	if _, err := ns.IP(ctx, "neigh", "flush", "to", ip.String()); err != nil {
		return fmt.Errorf("flush neighbour %s in %s: %w", ip, ns, err)
	}
	return nil
}

package topo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrNoHost is returned for a host name the topology does not have.
var ErrNoHost = errors.New("no such host")

func (t *Topology) lanHost(name string) (Host, error) {
	h, ok := t.Host(name)
	if !ok {
		return Host{}, fmt.Errorf("%w: %q", ErrNoHost, name)
	}
	if h.Ifaces[0].BridgePort == "" {
		return Host{}, fmt.Errorf("host %q is not on the LAN", name)
	}
	return h, nil
}

// SetLink takes a LAN host's cable out (up=false) or plugs it back in: the
// bridge's port for the host goes down, so the host's eth0 loses carrier as
// with a pulled cable, while its addresses stay configured.
func (t *Topology) SetLink(ctx context.Context, host string, up bool) error {
	h, err := t.lanHost(host)
	if err != nil {
		return fmt.Errorf("set link of %s: %w", host, err)
	}
	state := "down"
	if up {
		state = "up"
	}
	if _, err := t.Bridge.IP(ctx, "link", "set", h.Ifaces[0].BridgePort, state); err != nil {
		return fmt.Errorf("set link of %s %s: %w", host, state, err)
	}
	return nil
}

// PartitionRoutes computes, for each node in groups, the blackhole routes
// that cut it off from every node of the other groups. Nodes in no group are
// left alone. It is pure.
func (t *Topology) PartitionRoutes(groups [][]string) (map[string][]netip.Prefix, error) {
	groupOf := map[string]int{}
	for g, names := range groups {
		for _, n := range names {
			if _, err := t.lanHost(n); err != nil {
				return nil, fmt.Errorf("partition: %w", err)
			}
			if _, dup := groupOf[n]; dup {
				return nil, fmt.Errorf("partition: %s is in two groups", n)
			}
			groupOf[n] = g
		}
	}
	out := map[string][]netip.Prefix{}
	for n, g := range groupOf {
		for m, h := range groupOf {
			if h == g {
				continue
			}
			peer := t.MustHost(m)
			out[n] = append(out[n], netip.PrefixFrom(peer.IPv4(), 32), netip.PrefixFrom(peer.IPv6(), 128))
		}
	}
	return out, nil
}

// Partition splits the given node groups from each other with blackhole
// routes in each node: nodes of different groups can no longer exchange IP
// packets (memberlist gossip among them fails), while every node still
// reaches the router, the client and the API server. [Topology.Heal] undoes it.
func (t *Topology) Partition(ctx context.Context, groups ...[]string) error {
	routes, err := t.PartitionRoutes(groups)
	if err != nil {
		return err
	}
	for node, prefixes := range routes {
		lines := make([]string, 0, len(prefixes))
		for _, p := range prefixes {
			lines = append(lines, "route replace blackhole "+p.String())
		}
		if err := t.MustHost(node).NS.IPBatch(ctx, lines); err != nil {
			return fmt.Errorf("partition %s: %w", node, err)
		}
	}
	return nil
}

// Heal removes every blackhole route from every node.
func (t *Topology) Heal(ctx context.Context) error {
	var errs []error
	for _, n := range t.Nodes() {
		for _, fam := range []string{"-4", "-6"} {
			if _, err := n.NS.IP(ctx, fam, "route", "flush", "type", "blackhole"); err != nil {
				errs = append(errs, fmt.Errorf("heal %s: %w", n.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// AddServiceIP places ip (as /32 or /128) on host's lo: the lab's
// kube-proxy stand-in, so traffic that reaches the host for ip is delivered
// to the host's HTTP server. With arp_ignore=1 the node never answers ARP for
// it itself; IPv6 needs no setting. Adding twice is not an error.
func (t *Topology) AddServiceIP(ctx context.Context, host string, ip netip.Addr) error {
	h, ok := t.Host(host)
	if !ok {
		return fmt.Errorf("add service IP %s: %w: %q", ip, ErrNoHost, host)
	}
	args := []string{"addr", "replace", netip.PrefixFrom(ip, ip.BitLen()).String(), "dev", "lo"}
	if ip.Is6() {
		args = append(args, "nodad")
	}
	if _, err := h.NS.IP(ctx, args...); err != nil {
		return fmt.Errorf("add service IP %s on %s: %w", ip, host, err)
	}
	return nil
}

// RemoveServiceIP removes ip from host's lo; removing an absent IP is not
// an error.
func (t *Topology) RemoveServiceIP(ctx context.Context, host string, ip netip.Addr) error {
	h, ok := t.Host(host)
	if !ok {
		return fmt.Errorf("remove service IP %s: %w: %q", ip, ErrNoHost, host)
	}
	_, err := h.NS.IP(ctx, "addr", "del", netip.PrefixFrom(ip, ip.BitLen()).String(), "dev", "lo")
	if err != nil && !absentAddr(err) {
		return fmt.Errorf("remove service IP %s from %s: %w", ip, host, err)
	}
	return nil
}

// absentAddr reports whether an `ip addr del` failed because the address
// was not there (the message differs between IPv4 and IPv6).
func absentAddr(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "address not found") || strings.Contains(s, "cannot assign requested address")
}

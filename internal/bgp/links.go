package bgp

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/osrg/gobgp/v4/pkg/config/oc"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// Links is what unnumbered sessions (PeerConfig.Interface) need from the
// node's links. The Server calls it from its loop goroutine only; calls
// must not block for long.
type Links interface {
	// Neighbor returns the router on ifname: the interface's only IPv6
	// link-local neighbour that has not failed, with ifname as zone. It
	// fails when there is none or more than one (not a point-to-point link).
	Neighbor(ifname string) (netip.Addr, error)
	// Solicit makes us known to the router on ifname and asks it to make
	// itself known: routers learn the address of an unnumbered neighbour
	// from its router advertisements (FRR does), and answer a router
	// solicitation with theirs, which puts them in our neighbour table.
	Solicit(ifname string) error
}

// KernelLinks is the Links of this host: the kernel's neighbour table (read
// as gobgp reads it for its own unnumbered neighbors) and ICMPv6 sent on a
// raw socket, which needs CAP_NET_RAW.
type KernelLinks struct{}

var _ Links = KernelLinks{}

// Neighbor implements Links.
func (KernelLinks) Neighbor(ifname string) (netip.Addr, error) {
	s, err := oc.GetIPv6LinkLocalNeighborAddress(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find the router on %s: %w", ifname, err)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find the router on %s: %w", ifname, err)
	}
	return a, nil
}

// ICMPv6 neighbour discovery (RFC 4861 §4.1, §4.2) as Solicit sends it.
const (
	// ndOptSourceLinkAddr is the Source Link-Layer Address option type.
	ndOptSourceLinkAddr = 1
	// ndHopLimit is the hop limit neighbour discovery requires (receivers
	// drop other values).
	ndHopLimit = 255
)

// Solicit implements Links: it sends, from the link-local address of
// ifname, a router advertisement with router lifetime 0 (we are not a
// default router; hop limit, reachable and retransmit times unspecified)
// to all nodes, and a router solicitation to all routers, both with our
// link-layer address.
func (KernelLinks) Solicit(ifname string) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("solicit the router on %s: %w", ifname, err)
	}
	c, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
	if err != nil {
		return fmt.Errorf("solicit the router on %s: %w", ifname, err)
	}
	defer c.Close()
	pc := c.IPv6PacketConn()
	if err := pc.SetMulticastInterface(ifi); err != nil {
		return fmt.Errorf("solicit the router on %s: %w", ifname, err)
	}
	if err := pc.SetMulticastHopLimit(ndHopLimit); err != nil {
		return fmt.Errorf("solicit the router on %s: %w", ifname, err)
	}
	for _, m := range ndMessages(ifi.HardwareAddr) {
		b, err := m.msg.Marshal(nil) // the kernel computes ICMPv6 checksums
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(b, &net.IPAddr{IP: m.to, Zone: ifname}); err != nil {
			return fmt.Errorf("solicit the router on %s: send %v: %w", ifname, m.msg.Type, err)
		}
	}
	return nil
}

type ndMessage struct {
	msg icmp.Message
	to  net.IP
}

// ndMessages builds the router advertisement and the router solicitation
// Solicit sends. Without a link-layer address (a point-to-point device
// with none) the option is left out.
func ndMessages(mac net.HardwareAddr) []ndMessage {
	var opt []byte
	if len(mac) > 0 {
		// Type, length in units of 8 octets, address, padding.
		n := (2 + len(mac) + 7) / 8
		opt = make([]byte, 8*n)
		opt[0], opt[1] = ndOptSourceLinkAddr, byte(n)
		copy(opt[2:], mac)
	}
	// RA: cur hop limit, flags, router lifetime (2), reachable time (4),
	// retrans timer (4): all zero.
	ra := append(make([]byte, 12), opt...)
	// RS: reserved (4).
	rs := append(make([]byte, 4), opt...)
	return []ndMessage{
		{icmp.Message{Type: ipv6.ICMPTypeRouterAdvertisement, Body: &icmp.RawBody{Data: ra}}, net.IPv6linklocalallnodes},
		{icmp.Message{Type: ipv6.ICMPTypeRouterSolicitation, Body: &icmp.RawBody{Data: rs}}, net.IPv6linklocalallrouters},
	}
}

package l2

import (
	"context"
	"net"
	"net/netip"
)

// Link is one network interface as the Host reports it.
type Link struct {
	// Name is the interface name, e.g. "eth0".
	Name string
	// Index is the kernel interface index.
	Index int
	// MAC is the interface's hardware address.
	MAC net.HardwareAddr
	// Flags are the interface flags; FlagRunning means the carrier is up.
	Flags net.Flags
	// HasMaster is true when the interface is enslaved to a bridge, bond
	// or similar device, which then answers for it.
	HasMaster bool
	// Addrs are the interface's IP addresses, without zones.
	Addrs []netip.Prefix
	// Tentative lists the addresses among Addrs that are still in
	// duplicate address detection and must not be used as a source yet.
	Tentative []netip.Addr
}

// Host is the seam between the Announcer and the operating system. The
// Announcer calls Links, ListenARP and ListenNDP from its own loop goroutine
// only, and Watch from one goroutine of its own.
type Host interface {
	// Links returns every network interface with its addresses.
	Links() ([]Link, error)
	// Watch blocks until ctx ends, doing a non-blocking send on changed
	// whenever interfaces or addresses may have changed. It returns nil when
	// ctx ends, or an error when watching stops working (the Announcer then
	// polls and calls Watch again).
	Watch(ctx context.Context, changed chan<- struct{}) error
	// ListenARP opens a connection that reads and writes whole Ethernet
	// frames of EtherType ARP on the interface.
	ListenARP(ifi Interface) (Conn, error)
	// ListenNDP opens a connection that reads whole Ethernet frames carrying
	// IPv6 Neighbor Solicitations and Advertisements on the interface (it
	// may deliver other IPv6 frames too) and writes IPv6 frames.
	ListenNDP(ifi Interface) (NDPConn, error)
}

// Conn is a link-layer connection bound to one interface, in the style of
// net.PacketConn: frames include the Ethernet header. ReadFrom and WriteTo may
// be called concurrently; Close unblocks a pending ReadFrom.
// *packet.Conn from github.com/mdlayher/packet satisfies it.
type Conn interface {
	// ReadFrom reads one frame into b.
	ReadFrom(b []byte) (int, net.Addr, error)
	// WriteTo writes one frame; addr is a *packet.Addr with the
	// destination MAC.
	WriteTo(b []byte, addr net.Addr) (int, error)
	// Close closes the connection.
	Close() error
}

// NDPConn is a Conn for IPv6 frames that can also subscribe the interface
// to IPv6 multicast groups (the solicited-node groups of announced IPs).
// Subscriptions end when the connection is closed.
type NDPConn interface {
	Conn
	// JoinGroup subscribes the interface to an IPv6 multicast group.
	JoinGroup(group netip.Addr) error
	// LeaveGroup ends a subscription made with JoinGroup.
	LeaveGroup(group netip.Addr) error
}

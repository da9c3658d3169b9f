//go:build linux

package l2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// SystemHost returns the Host of the running Linux system: links and
// addresses from rtnetlink, frames through AF_PACKET sockets, multicast
// groups through an IPv6 datagram socket. Opening connections needs
// CAP_NET_RAW.
func SystemHost() Host { return systemHost{} }

type systemHost struct{}

var _ Host = systemHost{}

// dumpAttempts bounds retries of a netlink dump interrupted by a
// concurrent change.
const dumpAttempts = 5

// Links lists links and addresses with two netlink dumps.
func (systemHost) Links() ([]Link, error) {
	var err error
	for range dumpAttempts {
		var links []Link
		if links, err = listLinks(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return links, err
		}
	}
	return nil, err
}

func listLinks() ([]Link, error) {
	nls, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	byIndex := make(map[int]*Link, len(nls))
	out := make([]Link, len(nls))
	for i, nl := range nls {
		at := nl.Attrs()
		out[i] = Link{
			Name: at.Name, Index: at.Index, MAC: at.HardwareAddr, Flags: at.Flags,
			HasMaster: at.MasterIndex != 0,
		}
		byIndex[at.Index] = &out[i]
	}
	for _, a := range addrs {
		l, ok := byIndex[a.LinkIndex]
		ip, ipOK := netip.AddrFromSlice(a.IP)
		if !ok || !ipOK || a.IPNet == nil {
			continue
		}
		ip = ip.Unmap()
		bits, _ := a.Mask.Size()
		l.Addrs = append(l.Addrs, netip.PrefixFrom(ip, bits))
		if a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
			l.Tentative = append(l.Tentative, ip)
		}
	}
	return out, nil
}

// Watch subscribes to link and address notifications.
func (systemHost) Watch(ctx context.Context, changed chan<- struct{}) error {
	done := make(chan struct{})
	links := make(chan netlink.LinkUpdate, 64)
	addrs := make(chan netlink.AddrUpdate, 64)
	var lastErr errorBox
	onErr := func(err error) { lastErr.set(err) }
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{ErrorCallback: onErr}); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{ErrorCallback: onErr}); err != nil {
		close(done)
		drain(links)
		return fmt.Errorf("subscribe to address changes: %w", err)
	}
	defer func() {
		close(done)
		drain(links)
		drain(addrs)
	}()
	for {
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case _, ok = <-links:
		case _, ok = <-addrs:
		}
		if !ok {
			return fmt.Errorf("netlink subscription ended: %w", lastErr.get())
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
}

// drain empties a subscription channel until the library closes it, so its
// goroutine can exit.
func drain[T any](ch <-chan T) {
	for range ch {
	}
}

// errorBox keeps the last error reported by a netlink subscription.
type errorBox struct {
	mu  sync.Mutex
	err error
}

func (b *errorBox) set(err error) { b.mu.Lock(); b.err = err; b.mu.Unlock() }
func (b *errorBox) get() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil {
		return errors.New("closed")
	}
	return b.err
}

// ListenARP opens an AF_PACKET socket for EtherType ARP on the interface.
func (systemHost) ListenARP(ifi Interface) (Conn, error) {
	c, err := packet.Listen(netInterface(ifi), packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return nil, fmt.Errorf("open ARP packet socket: %w", err)
	}
	return c, nil
}

// ListenNDP opens an AF_PACKET socket for IPv6 whose filter passes only
// ICMPv6 Neighbor Solicitations and Advertisements.
func (systemHost) ListenNDP(ifi Interface) (NDPConn, error) {
	c, err := packet.Listen(netInterface(ifi), packet.Raw, unix.ETH_P_IPV6, &packet.Config{Filter: ndpFilter})
	if err != nil {
		return nil, fmt.Errorf("open IPv6 packet socket: %w", err)
	}
	return &ndpConn{Conn: c, index: ifi.Index, fd: -1}, nil
}

func netInterface(ifi Interface) *net.Interface {
	return &net.Interface{Index: ifi.Index, Name: ifi.Name, HardwareAddr: ifi.MAC}
}

// ndpFilter is a classic BPF program over the Ethernet frame that accepts
// IPv6 packets with next header ICMPv6 (offset 14+6) and ICMPv6 type 135 or
// 136 (offset 14+40).
var ndpFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: 20, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 4},
	bpf.LoadAbsolute{Off: 54, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 135, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 136, SkipTrue: 1},
	bpf.RetConstant{Val: 0xffff},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(fmt.Sprintf("assemble BPF filter: %v", err))
	}
	return raw
}

// ndpConn adds IPv6 multicast membership to a packet socket. Memberships
// live on a separate, never-bound UDP socket (created on the first join), so
// the kernel programs the NIC filter and answers MLD queries for them.
type ndpConn struct {
	*packet.Conn
	index int

	mu sync.Mutex
	fd int
}

var _ NDPConn = (*ndpConn)(nil)

// JoinGroup subscribes the interface to group.
func (c *ndpConn) JoinGroup(group netip.Addr) error {
	return c.membership(unix.IPV6_JOIN_GROUP, group)
}

// LeaveGroup ends the subscription to group.
func (c *ndpConn) LeaveGroup(group netip.Addr) error {
	return c.membership(unix.IPV6_LEAVE_GROUP, group)
}

func (c *ndpConn) membership(opt int, group netip.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
		if err != nil {
			return fmt.Errorf("open IPv6 membership socket: %w", err)
		}
		c.fd = fd
	}
	mreq := &unix.IPv6Mreq{Multiaddr: group.As16(), Interface: uint32(c.index)}
	if err := unix.SetsockoptIPv6Mreq(c.fd, unix.IPPROTO_IPV6, opt, mreq); err != nil {
		return fmt.Errorf("setsockopt %d for group %s: %w", opt, group, err)
	}
	return nil
}

// Close closes the packet socket and drops every membership.
func (c *ndpConn) Close() error {
	c.mu.Lock()
	var err error
	if c.fd >= 0 {
		err = unix.Close(c.fd)
		c.fd = -1
	}
	c.mu.Unlock()
	return errors.Join(c.Conn.Close(), err)
}

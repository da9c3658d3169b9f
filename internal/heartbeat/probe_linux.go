//go:build linux

package heartbeat

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// probeTCP opens up to probeAttempts non-blocking TCP connections to to,
// one every timeout/probeAttempts, and polls them. The first accepted
// connection means Alive, the first reset Refused; when every attempt has
// had its share of the timeout without an answer, NoAnswer.
//
// It uses poll(2) rather than Go's dialer on purpose: when this process is
// not scheduled past the deadline, the kernel still reports a handshake
// that completed meanwhile, where a Go dial would report a timeout. And an
// attempt is only counted once it had its full share of time (attempts
// delayed by a stall are made after it), so a stalled prober does not
// report a live node unreachable.
func probeTCP(to netip.AddrPort, timeout time.Duration) Liveness {
	sa, family := sockaddr(to)
	step := max(timeout/probeAttempts, time.Millisecond)
	var as attempts
	defer as.close()
	var next time.Time // when the next attempt is due
	made := 0
	for {
		now := time.Now()
		if made < probeAttempts && !now.Before(next) {
			made++
			next = now.Add(step)
			as.dial(family, sa)
		}
		// After the last attempt, wait one more step for its answer.
		if l, done := as.poll(next.Sub(now)); done {
			return l
		}
		if made == probeAttempts && !time.Now().Before(next) {
			if l, done := as.poll(0); done {
				return l
			}
			return NoAnswer
		}
	}
}

// attempts are a probe's connections in progress.
type attempts struct {
	fds     []unix.PollFd
	refused bool // a connect was refused at once
}

// dial starts a non-blocking connect; one that fails at once (no route:
// our own link is down, typically) is not kept.
func (as *attempts) dial(family int, sa unix.Sockaddr) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		as.refused = as.refused || errors.Is(err, unix.ECONNREFUSED)
		_ = unix.Close(fd)
		return
	}
	as.fds = append(as.fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLOUT})
}

// poll waits up to wait for any attempt to finish; done reports an
// accepted (Alive) or refused (Refused) attempt. Attempts that failed
// otherwise (unreachable) are closed and dropped.
func (as *attempts) poll(wait time.Duration) (Liveness, bool) {
	if as.refused {
		return Refused, true
	}
	if len(as.fds) == 0 {
		return Unprobed, false
	}
	for i := range as.fds {
		as.fds[i].Revents = 0
	}
	ms := int((wait + time.Millisecond - 1) / time.Millisecond)
	if n, err := unix.Poll(as.fds, max(ms, 0)); err != nil || n == 0 {
		return Unprobed, false
	}
	for i := 0; i < len(as.fds); {
		fd := int(as.fds[i].Fd)
		if as.fds[i].Revents == 0 {
			i++
			continue
		}
		// Reading SO_ERROR clears it: each socket is asked once.
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err == nil && soErr == 0:
			return Alive, true
		case err == nil && unix.Errno(soErr) == unix.ECONNREFUSED:
			return Refused, true
		}
		closeReset(fd)
		as.fds = slices.Delete(as.fds, i, i+1)
	}
	return Unprobed, false
}

func (as *attempts) close() {
	for _, p := range as.fds {
		closeReset(int(p.Fd))
	}
	as.fds = nil
}

// closeReset closes a probe socket with a reset, leaving no TIME_WAIT.
func closeReset(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	_ = unix.Close(fd)
}

// sockaddr converts ap for connect(2).
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else if n, err := strconv.ParseUint(z, 10, 32); err == nil {
			sa.ZoneId = uint32(n)
		}
	}
	return sa, unix.AF_INET6
}

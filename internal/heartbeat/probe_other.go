//go:build !linux

package heartbeat

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// probeTCP dials to once with Go's dialer: Alive when it connects, Refused
// when reset, NoAnswer otherwise. (Linux, where Pylon runs, has a version
// that survives stalls of the calling process and makes several attempts.)
func probeTCP(to netip.AddrPort, timeout time.Duration) Liveness {
	c, err := net.DialTimeout("tcp", to.String(), timeout)
	switch {
	case err == nil:
		_ = c.Close()
		return Alive
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	}
	return NoAnswer
}

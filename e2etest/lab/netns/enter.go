package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread switched into the namespace and switches the
// thread back afterwards. Sockets created by fn belong to the namespace for
// their whole life, so a connection dialled or a listener opened inside fn
// may be used from any goroutine afterwards.
//
// fn must not start goroutines that expect to be inside the namespace: they
// run on other threads. If the thread cannot be switched back it stays
// locked, so the Go runtime retires it instead of reusing it.
func (n NS) Do(fn func() error) error {
	if n == Root {
		return fn()
	}
	target, err := os.Open(n.Path())
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", n, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current namespace: %w", err)
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", n, err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

// Sysctl sets network sysctls (keys such as "net.ipv4.ip_forward") inside
// the namespace. Keys are applied in order; the first failure stops.
func (n NS) Sysctl(kv ...[2]string) error {
	return n.Do(func() error {
		for _, p := range kv {
			if err := writeSysctl(p[0], p[1]); err != nil {
				return fmt.Errorf("sysctl in %s: %w", n, err)
			}
		}
		return nil
	})
}

// SysctlIfExists is Sysctl that skips keys the kernel does not offer (for
// example bridge netfilter keys when br_netfilter is absent).
func (n NS) SysctlIfExists(kv ...[2]string) error {
	return n.Do(func() error {
		for _, p := range kv {
			err := writeSysctl(p[0], p[1])
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("sysctl in %s: %w", n, err)
			}
		}
		return nil
	})
}

func writeSysctl(key, value string) error {
	path := filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s=%s: %w", key, value, err)
	}
	return nil
}

// DialContext dials address from inside the namespace. Its signature fits
// http.Transport.DialContext and client-go's rest.Config.Dial. The calling
// goroutine holds an OS thread until the connection is established or fails.
func (n NS) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := n.Do(func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// Listen opens a stream listener inside the namespace.
func (n NS) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacket opens a packet socket (UDP, raw IP) inside the namespace.
func (n NS) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

package netns_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

// newNS creates a uniquely named namespace that the test removes.
func newNS(t *testing.T, suffix string) netns.NS {
	t.Helper()
	prereq.Require(t, "ip", "sleep")
	name := fmt.Sprintf("plabut-%d-%s", os.Getpid(), suffix)
	ns, err := netns.Create(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Delete(context.Background()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return ns
}

func TestDoListenDial(t *testing.T) {
	ns := newNS(t, "dial")
	ctx := context.Background()
	if _, err := ns.IP(ctx, "link", "set", "lo", "up"); err != nil {
		t.Fatal(err)
	}
	l, err := ns.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			io.WriteString(c, "hello")
			c.Close()
		}
	}()
	// The listener lives in the namespace: the root namespace cannot reach it,
	// a dial from inside can.
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatalf("dial %s from the root namespace succeeded, want failure", l.Addr())
	}
	c, err := ns.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	if string(b) != "hello" {
		t.Fatalf("read %q, want hello", b)
	}
}

func TestSysctlAndList(t *testing.T) {
	ns := newNS(t, "sysctl")
	if err := ns.Sysctl([2]string{"net.ipv4.ip_forward", "1"}); err != nil {
		t.Fatal(err)
	}
	out, err := ns.Run(context.Background(), "cat", "/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("ip_forward = %q inside, want 1", out)
	}
	if err := ns.SysctlIfExists([2]string{"net.nonexistent.key", "1"}); err != nil {
		t.Fatalf("SysctlIfExists on a missing key: %v", err)
	}
	list, err := netns.List(string(ns))
	if err != nil || len(list) != 1 || list[0] != ns {
		t.Fatalf("List(%q) = %v, %v", ns, list, err)
	}
}

func TestDeleteKillsProcesses(t *testing.T) {
	ns := newNS(t, "kill")
	cmd := ns.Command(context.Background(), "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// `ip netns exec` enters the namespace shortly after the fork: poll.
	var pids []int
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if pids, err = ns.Pids(); err != nil || len(pids) > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil || len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Fatalf("Pids() = %v, %v; want [%d]", pids, err, cmd.Process.Pid)
	}
	if err := ns.Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("sleep exited cleanly, want killed")
	}
	if ns.Exists() {
		t.Fatal("namespace still exists after Delete")
	}
}

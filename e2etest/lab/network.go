package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/clab"
	"github.com/pylonlb/pylon/e2etest/lab/nodehttp"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/runs"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// RootLinkFor returns the point-to-point link between the root namespace
// and ctl for run id: 169.254.X.Y/31 (one /31 per 15-bit id) and
// fd00:77:ff:ID::/64. It is pure.
func RootLinkFor(id runs.ID) topo.RootLink {
	n := uint16(id) * 2
	v4 := [4]byte{169, 254, byte(n >> 8), byte(n)}
	v6 := [16]byte{0xfd, 0x00, 0x00, 0x77, 0x00, 0xff, byte(id >> 8), byte(id)}
	root6, ctl6 := v6, v6
	root6[15], ctl6[15] = 1, 2
	ctl4 := v4
	ctl4[3]++
	return topo.RootLink{
		Name:   id.LinkName(),
		RootV4: netip.PrefixFrom(netip.AddrFrom4(v4), 31),
		CtlV4:  netip.PrefixFrom(netip.AddrFrom4(ctl4), 31),
		RootV6: netip.PrefixFrom(netip.AddrFrom16(root6), 64),
		CtlV6:  netip.PrefixFrom(netip.AddrFrom16(ctl6), 64),
	}
}

func (l *Lab) upNetwork(ctx context.Context) error {
	t0 := time.Now()
	rl := RootLinkFor(l.ID)
	spec := topo.Spec{Prefix: l.ID.Prefix(), Nodes: l.opts.Nodes, Router2: l.opts.Router2, Unnumbered: l.opts.Unnumbered, Segment2: l.opts.Segment2, RootLink: &rl}
	if l.opts.Topology != "" {
		b, err := os.ReadFile(l.opts.Topology)
		if err != nil {
			return fmt.Errorf("read topology: %w", err)
		}
		t, err := clab.Parse(b)
		if err != nil {
			return fmt.Errorf("topology %s: %w", l.opts.Topology, err)
		}
		if spec, err = topo.SpecFromClab(t, l.ID.Prefix(), &rl); err != nil {
			return fmt.Errorf("topology %s: %w", l.opts.Topology, err)
		}
		l.opts.Nodes, l.opts.Router2, l.opts.Segment2 = spec.Nodes, spec.Router2, spec.Segment2
	}
	tp, err := topo.Plan(spec)
	if err != nil {
		return err
	}
	if err := topo.Build(ctx, tp); err != nil {
		return err
	}
	l.Topo = tp
	l.addUndo("destroy network", func(ctx context.Context) error { return topo.Destroy(ctx, tp) })
	if l.opts.Cluster {
		l.Timings.Network = time.Since(t0)
		return nil // pods serve, not stand-ins
	}
	for _, n := range tp.Nodes() {
		if err := l.startHTTP(n); err != nil {
			return err
		}
	}
	if err := l.waitHTTP(ctx); err != nil {
		return err
	}
	l.Timings.Network = time.Since(t0)
	l.log.Info("network up", "namespaces", len(tp.Namespaces()), "took", l.Timings.Network)
	return nil
}

// startHTTP starts the node's HTTP server (the kube-proxy/backend stand-in).
func (l *Lab) startHTTP(n topo.Host) error {
	_, err := l.startProc(proc.Spec{
		Name: "http-" + n.Name, NS: n.NS, Path: l.opts.HelperPath,
		Args:    []string{"--name", n.Name, "--listen", fmt.Sprintf("[::]:%d", probe.DefaultPort), "--run", l.Dir},
		Env:     []string{nodehttp.EnvHelper + "=" + nodehttp.Role},
		LogPath: l.path("http-" + n.Name + ".log"),
	}, time.Second)
	return err
}

// waitHTTP waits until each node answers on its own address.
func (l *Lab) waitHTTP(ctx context.Context) error {
	client := l.Topo.MustHost("client")
	for _, n := range l.Topo.Nodes() {
		err := wait.For(ctx, 10*time.Second, 5*time.Millisecond, func(ctx context.Context) (bool, error) {
			if p := l.Process("http-" + n.Name); p.Exited() {
				return false, fmt.Errorf("http server of %s exited (is %s a binary that calls nodehttp.MaybeRun?)", n.Name, l.opts.HelperPath)
			}
			got, err := probe.WhoAnswers(ctx, client.NS, n.IPv4())
			return got == n.Name, err
		})
		if err != nil {
			return fmt.Errorf("http server of %s: %w", n.Name, err)
		}
	}
	return nil
}

// Node returns the node host named name (node1..nodeN); it panics on an
// unknown name, which is a bug in the test.
func (l *Lab) Node(name string) topo.Host {
	h := l.Topo.MustHost(name)
	if h.Role != topo.RoleNode {
		panic(fmt.Sprintf("lab: %q is not a node", name))
	}
	return h
}

// NodeNames returns node1..nodeN.
func (l *Lab) NodeNames() []string {
	var out []string
	for _, n := range l.Topo.Nodes() {
		out = append(out, n.Name)
	}
	return out
}

// Client is the LAN host for L2 tests.
func (l *Lab) Client() topo.Host { return l.Topo.MustHost("client") }

// Outside is the host behind the router, for BGP tests.
func (l *Lab) Outside() topo.Host { return l.Topo.MustHost("outside") }

// Router is the router host (FRR or BIRD run there).
func (l *Lab) Router() topo.Host { return l.Topo.MustHost("router") }

// CutLink takes node's cable out (its bridge port down); RestoreLink plugs
// it back in.
func (l *Lab) CutLink(ctx context.Context, node string) error {
	return l.Topo.SetLink(ctx, node, false)
}

// RestoreLink undoes CutLink.
func (l *Lab) RestoreLink(ctx context.Context, node string) error {
	return l.Topo.SetLink(ctx, node, true)
}

// Partition cuts IP traffic between node groups (see topo.Partition);
// Heal undoes it.
func (l *Lab) Partition(ctx context.Context, groups ...[]string) error {
	return l.Topo.Partition(ctx, groups...)
}

// Heal removes every partition.
func (l *Lab) Heal(ctx context.Context) error { return l.Topo.Heal(ctx) }

// ServeIP makes the given nodes (all when none given) accept traffic for a
// service IP, as kube-proxy would: the IP goes on their lo.
func (l *Lab) ServeIP(ctx context.Context, ip netip.Addr, nodes ...string) error {
	if len(nodes) == 0 {
		nodes = l.NodeNames()
	}
	for _, n := range nodes {
		if err := l.Topo.AddServiceIP(ctx, n, ip); err != nil {
			return err
		}
	}
	return nil
}

// UnserveIP removes a service IP from the given nodes (all when none given).
func (l *Lab) UnserveIP(ctx context.Context, ip netip.Addr, nodes ...string) error {
	if len(nodes) == 0 {
		nodes = l.NodeNames()
	}
	for _, n := range nodes {
		if err := l.Topo.RemoveServiceIP(ctx, n, ip); err != nil {
			return err
		}
	}
	return nil
}

// HTTP requests http://ip/ from host (e.g. "client", "outside") and
// returns the node that answered.
func (l *Lab) HTTP(ctx context.Context, host string, ip netip.Addr) (string, error) {
	return probe.WhoAnswers(ctx, l.Topo.MustHost(host).NS, ip)
}

// NewProber returns a 10 ms HTTP prober from host through ip; run it with
// Run(ctx) in a goroutine and read Samples() after.
func (l *Lab) NewProber(host string, ip netip.Addr) (*probe.Prober, error) {
	return probe.NewProber(probe.ProberConfig{Do: probe.ForHTTP(l.Topo.MustHost(host).NS, ip, probe.DefaultPort)})
}

// Announcer returns the node whose MAC the client's neighbour table holds
// for ip (who answered ARP/NDP), or an error if the entry is missing,
// unresolved, or not a node's.
func (l *Lab) Announcer(ctx context.Context, ip netip.Addr) (string, error) {
	ns, err := probe.Neighbors(ctx, l.Client().NS, "eth0")
	if err != nil {
		return "", err
	}
	n, ok := probe.NeighborOf(ns, ip)
	if !ok || !n.Resolved() {
		return "", fmt.Errorf("client has no resolved neighbour entry for %s (%+v)", ip, n)
	}
	h, ok := l.Topo.HostByMAC(n.MAC)
	if !ok || h.Role != topo.RoleNode {
		return "", fmt.Errorf("neighbour %s of the client is %s, not a node", ip, n.MAC)
	}
	return h.Name, nil
}

// RouterDir returns a fresh directory for a router instance on host.
func (l *Lab) RouterDir(host, kind string) string { return l.path("routers", host+"-"+kind) }

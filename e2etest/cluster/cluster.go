// Package cluster turns the lab into a real Kubernetes cluster, built only
// from upstream parts: the lab's ctl namespace is the control-plane node
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and each
// lab node namespace is a worker running Debian's containerd and runc, the
// CNI plugins (bridge, host-local, portmap), a real kubelet and kube-proxy.
// Images come from archives built locally (hack/images.sh): nothing is
// pulled. Pylon is then installed the way users install it (helm or
// kubectl apply -k), as pods from its own image.
//
// Each worker is a network namespace (its LAN address, as in the process
// lab) plus a mount namespace of its own: private /run and kubelet,
// containerd and CNI state (tmpfs), its configuration and pod logs bound
// from the run directory, and the machine's cgroup hierarchies mounted
// again. The kubelets share those hierarchies, so each gets a cgroupRoot of
// its own named from the run id (the reaper finds a dead run's pods there).
//
// kube-proxy runs in nftables mode (see [DefaultProxyMode]). Pods reach
// other nodes' pods through static routes via the nodes' LAN addresses (no
// overlay), which ctl has too: the API server reaches webhooks at their
// Service's endpoints.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// DefaultProxyMode is kube-proxy's mode. nftables rather than iptables: it
// is the mode upstream develops (iptables mode is kept, not extended), it
// needs only the nft program beside the kernel's nf_tables, whose support
// this kernel has built in, and it updates one table per sync as one
// transaction, where iptables mode rewrites whole chains; LoadBalancer
// addresses are matched in a map instead of a chain per Service.
const DefaultProxyMode = "nftables"

// Images the cluster's nodes hold (hack/images.sh builds them).
const (
	PylonImage   = "ghcr.io/pylonlb/pylon:dev"
	PylonTag     = "dev"
	BackendImage = "docker.io/pylonlab/backend:lab"
	PauseImage   = "docker.io/pylonlab/pause:lab"
)

// ImageArchives are the archives of ImagesDir every node imports.
var ImageArchives = []string{"pause.tar", "backend.tar", "pylon.tar"}

// Options configures a cluster. The zero value gives three workers.
type Options struct {
	// Workers is the number of worker nodes (default 3).
	Workers int
	// ProxyMode is kube-proxy's mode (default DefaultProxyMode).
	ProxyMode string
	// ImagesDir holds the image archives (default prereq.ImagesDir()).
	ImagesDir string
	// Lab passes further lab options (BaseDir, KeepDir, Logger, ...);
	// Nodes and Cluster are set from the fields above.
	Lab lab.Options
}

// Cluster is a running cluster on a lab. Its methods are safe for
// concurrent use.
type Cluster struct {
	*lab.Lab
	// Kubeconfig is the admin's kubeconfig, usable from this machine.
	Kubeconfig string
	Nodes      []*Node
	Timings    Timings

	opts   Options
	log    *slog.Logger
	cg     []CgroupMount // the machine's cgroup hierarchies
	images []string      // image archives every node imports
	mu     sync.Mutex
	procs  []*proc.Process // controller manager, scheduler
}

// Timings says how long bringing the cluster up took.
type Timings struct {
	Lab          time.Duration // network, etcd, kube-apiserver
	Nodes        time.Duration // mount namespaces, containerd, images, kubelets
	NodesReady   time.Duration // until every Node is Ready
	Total        time.Duration
	ImagesLoaded time.Duration // slowest node's image import
}

// Users of the API server's token file besides the admin: the control
// plane's components, kube-proxy and one per kubelet.
func users(workers int) []kube.User {
	out := []kube.User{
		{Name: "system:kube-controller-manager"},
		{Name: "system:kube-scheduler"},
		{Name: "system:kube-proxy"},
	}
	for i := 1; i <= workers; i++ {
		out = append(out, kube.User{Name: fmt.Sprintf("system:node:node%d", i), Groups: []string{"system:nodes"}})
	}
	return out
}

// Missing lists what a cluster needs and this machine lacks.
func Missing(opts Options) []string {
	opts = withDefaults(opts)
	kb := opts.Lab.KubeBinDir
	var progs []string
	for _, b := range []string{"kubelet", "kube-proxy", "kube-controller-manager", "kube-scheduler", "kubectl"} {
		progs = append(progs, filepath.Join(kb, b))
	}
	progs = append(progs, "containerd", "containerd-shim-runc-v2", "runc", "ctr", "nsenter", "nft",
		filepath.Join(cniBinDir, "bridge"), filepath.Join(cniBinDir, "host-local"), filepath.Join(cniBinDir, "portmap"))
	missing := append(lab.MissingPrograms(opts.Lab), prereq.Missing(progs...)...)
	for _, a := range ImageArchives {
		if _, err := os.Stat(filepath.Join(opts.ImagesDir, a)); err != nil {
			missing = append(missing, fmt.Sprintf("image archive %s (run hack/images.sh or make images)", filepath.Join(opts.ImagesDir, a)))
		}
	}
	return slices.Compact(missing)
}

func withDefaults(o Options) Options {
	if o.Workers == 0 {
		o.Workers = 3
	}
	if o.ProxyMode == "" {
		o.ProxyMode = DefaultProxyMode
	}
	if o.ImagesDir == "" {
		o.ImagesDir = prereq.ImagesDir()
	}
	if o.Lab.KubeBinDir == "" {
		o.Lab.KubeBinDir = prereq.KubeBinDir()
	}
	if o.Lab.Topology == "" && o.Workers == 3 && !o.Lab.Router2 {
		// The network the cluster runs on, as shipped for containerlab.
		if p := prereq.Topology("l2"); p != "" {
			if _, err := os.Stat(p); err == nil {
				o.Lab.Topology = p
			}
		}
	}
	o.Lab.Nodes, o.Lab.Cluster = o.Workers, true
	o.Lab.APIServerUsers = append(slices.Clone(o.Lab.APIServerUsers), users(o.Workers)...)
	if o.Lab.Logger == nil {
		o.Lab.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Up brings a cluster up and waits until every worker is Ready. On
// failure it tears down what it made and says which part failed.
func Up(ctx context.Context, opts Options) (c *Cluster, err error) {
	t0 := time.Now()
	opts = withDefaults(opts)
	if m := Missing(opts); len(m) > 0 {
		return nil, fmt.Errorf("cluster: missing %s", strings.Join(m, "; "))
	}
	l, err := lab.Up(ctx, opts.Lab)
	if err != nil {
		return nil, err
	}
	c = &Cluster{Lab: l, opts: opts, log: opts.Lab.Logger}
	defer func() {
		if err != nil {
			c.KeepDir()
			err = errors.Join(fmt.Errorf("cluster %s up: %w", l.ID, err), c.Close(context.WithoutCancel(ctx)))
		}
	}()
	c.Timings.Lab = time.Since(t0)
	c.Kubeconfig = l.AdminKubeconfig
	if err := c.startControlPlane(); err != nil {
		return c, err
	}
	if err := c.addPodRoutes(ctx); err != nil {
		return c, err
	}
	t1 := time.Now()
	if err := c.startNodes(ctx); err != nil {
		return c, err
	}
	c.Timings.Nodes = time.Since(t1)
	if err := c.WaitNodesReady(ctx, 2*time.Minute); err != nil {
		return c, err
	}
	c.Timings.NodesReady = time.Since(t1)
	c.Timings.Total = time.Since(t0)
	c.log.Info("cluster up", "id", l.ID, "lab", c.Timings.Lab, "nodes", c.Timings.Nodes,
		"images", c.Timings.ImagesLoaded, "ready", c.Timings.NodesReady, "total", c.Timings.Total)
	return c, nil
}

// startControlPlane starts kube-controller-manager and kube-scheduler in
// ctl, beside the API server.
func (c *Cluster) startControlPlane() error {
	s := c.Server
	dir := c.Dir
	for _, comp := range []struct{ name, user string }{
		{"kube-controller-manager", "system:kube-controller-manager"},
		{"kube-scheduler", "system:kube-scheduler"},
	} {
		kc := filepath.Join(dir, comp.name+".kubeconfig")
		if err := kube.WriteKubeconfig(kc, c.LANAPIServerURL(), s.CACert(), comp.user, s.Token(comp.user)); err != nil {
			return err
		}
		args := []string{"--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc, "--authorization-kubeconfig=" + kc,
			"--leader-elect=false", "--bind-address=127.0.0.1", "--v=1"}
		if comp.name == "kube-controller-manager" {
			args = append(args,
				"--service-account-private-key-file="+s.SAKeyFile(),
				"--root-ca-file="+s.CAFile(),
				"--use-service-account-credentials=true",
				"--cluster-name=pylon-lab",
				// Tests time node loss through the speakers, not the node
				// controller: keep its usual pace.
				"--node-monitor-grace-period=40s")
		}
		p, err := proc.Start(proc.Spec{Name: comp.name, NS: c.Topo.MustHost("ctl").NS,
			Path: filepath.Join(c.opts.Lab.KubeBinDir, comp.name), Args: args, LogPath: filepath.Join(dir, comp.name+".log")})
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.procs = append(c.procs, p)
		c.mu.Unlock()
	}
	return nil
}

// addPodRoutes routes every node's pod ranges through its LAN address, on
// the other nodes and on ctl (the API server calls webhooks on pod IPs).
func (c *Cluster) addPodRoutes(ctx context.Context) error {
	nodes := c.Topo.Nodes()
	hosts := append(slices.Clone(nodes), c.Topo.MustHost("ctl"))
	for _, h := range hosts {
		var lines []string
		for i, n := range nodes {
			if n.Name == h.Name {
				continue
			}
			cidrs := PodCIDRsOf(i + 1)
			lines = append(lines,
				fmt.Sprintf("route add %s via %s", cidrs[0], n.IPv4()),
				fmt.Sprintf("route add %s via %s", cidrs[1], n.IPv6()))
		}
		if err := h.NS.IPBatch(ctx, lines); err != nil {
			return fmt.Errorf("pod routes on %s: %w", h.Name, err)
		}
	}
	return nil
}

func (c *Cluster) startNodes(ctx context.Context) error {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	if c.cg, err = ParseCgroupMounts(mi); err != nil {
		return err
	}
	for _, a := range ImageArchives {
		c.images = append(c.images, filepath.Join(c.opts.ImagesDir, a))
	}
	for i, h := range c.Topo.Nodes() {
		n := &Node{
			Name: h.Name, Host: h, Dir: filepath.Join(c.Dir, "nodes", h.Name), kubeBin: c.opts.Lab.KubeBinDir,
			Cfg: NodeConfig{
				Name: h.Name, IPv4: h.IPv4(), IPv6: h.IPv6(), PodCIDRs: PodCIDRsOf(i + 1),
				CgroupRoot: "/" + c.ID.Prefix() + h.Name, ProxyMode: c.opts.ProxyMode, SandboxImage: PauseImage,
			},
		}
		if err := n.writeFiles(c.Server, c.LANAPIServerURL()); err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
	}
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Go(func() { errs[i] = n.start(ctx, c.cg, c.images) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopNode takes a worker down as a power cut would (see Node.Stop).
func (c *Cluster) StopNode(ctx context.Context, name string) error {
	n := c.Node(name)
	if n == nil {
		return fmt.Errorf("stop node %s: no such worker", name)
	}
	return n.Stop(ctx)
}

// StartNode boots a stopped worker again: a fresh mount namespace,
// containerd with the images, the kubelet and kube-proxy. Its Node object
// becomes Ready again and its DaemonSet pods come back.
func (c *Cluster) StartNode(ctx context.Context, name string) error {
	n := c.Node(name)
	if n == nil {
		return fmt.Errorf("start node %s: no such worker", name)
	}
	return n.start(ctx, c.cg, c.images)
}

// Node returns the worker named name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// WaitNodesReady waits until every running worker's Node is Ready.
func (c *Cluster) WaitNodesReady(ctx context.Context, timeout time.Duration) error {
	var last string
	err := wait.For(ctx, timeout, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		if err := c.CheckNodes(); err != nil {
			return false, err
		}
		nodes, err := c.Admin.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		ready := map[string]bool{}
		for _, n := range nodes.Items {
			ready[n.Name] = nodeReady(&n)
		}
		var notReady []string
		for _, n := range c.Nodes {
			if !ready[n.Name] {
				notReady = append(notReady, n.Name)
			}
		}
		last = fmt.Sprintf("not Ready: %v", notReady)
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("wait for Ready nodes: %w (%s)", err, last)
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// CheckNodes returns an error when a daemon of a worker or of the control
// plane exited unexpectedly.
func (c *Cluster) CheckNodes() error {
	c.mu.Lock()
	procs := slices.Clone(c.procs)
	c.mu.Unlock()
	for _, p := range procs {
		if p.Exited() {
			return fmt.Errorf("%s exited: %s", p.Name(), proc.Tail(p.LogPath(), 5))
		}
	}
	for _, n := range c.Nodes {
		if err := n.Check(); err != nil {
			return err
		}
	}
	return nil
}

// Processes returns the cluster's daemons (control plane and workers)
// beside the lab's.
func (c *Cluster) Processes() []*proc.Process {
	c.mu.Lock()
	out := slices.Clone(c.procs)
	c.mu.Unlock()
	for _, n := range c.Nodes {
		out = append(out, n.Processes()...)
	}
	return append(out, c.Lab.Processes()...)
}

// Close stops every worker (pods, daemons, cgroups, mount namespaces), the
// control plane's components and then the lab. The nodes' state lived in
// tmpfs and goes with them; logs stay in the run directory only when it is
// kept.
func (c *Cluster) Close(ctx context.Context) error {
	var errs []error
	var wg sync.WaitGroup
	nerrs := make([]error, len(c.Nodes))
	for i, n := range c.Nodes {
		wg.Go(func() { nerrs[i] = n.Stop(ctx) })
	}
	wg.Wait()
	errs = append(errs, nerrs...)
	c.mu.Lock()
	procs := slices.Clone(c.procs)
	c.mu.Unlock()
	for _, p := range procs {
		errs = append(errs, p.Stop(ctx, 2*time.Second))
	}
	errs = append(errs, c.Lab.Close(ctx))
	return errors.Join(errs...)
}

// PodIPs returns a pod's addresses.
func PodIPs(p *corev1.Pod) []netip.Addr {
	var out []netip.Addr
	for _, ip := range p.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			out = append(out, a)
		}
	}
	return out
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// clusterCmd is `make cluster`: a real cluster (package cluster) with
// Pylon installed by its chart, the sample configuration, a demo
// workload behind an L2 and a BGP Service, what they show and what to
// try; kept until Ctrl-C or `make cluster-down`.
func clusterCmd(args []string) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	workers := fs.Int("workers", 3, "number of worker nodes")
	keep := fs.Bool("keep", false, "keep the run directory (logs) after Ctrl-C")
	verbose := fs.Bool("v", false, "log the cluster's progress in detail")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "pylon-lab cluster: must run as root (it creates network namespaces): sudo make cluster")
		return 1
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	opts := cluster.Options{Workers: *workers, Lab: lab.Options{KeepDir: *keep,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}}
	if missing := cluster.Missing(opts); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "pylon-lab cluster: missing: %s (make cluster builds and installs them)\n", strings.Join(missing, "; "))
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if done, err := lab.Reap(ctx); err != nil || len(done) > 0 {
		fmt.Fprintf(os.Stderr, "reaped leftovers of dead labs: %v (errors: %v)\n", done, err)
	}
	done := step("Bringing the cluster up: control plane in ctl; %d workers with containerd, kubelet, kube-proxy; images loaded (~15 s)", *workers)
	c, err := cluster.Up(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab cluster:", err)
		return 1
	}
	done()
	return closeAfter("cluster", "cluster", c.ID.String(), runCluster(ctx, c), c.Close)
}

// runCluster installs Pylon and the demo, serves the control socket and
// prints what to try until ctx ends.
func runCluster(ctx context.Context, c *cluster.Cluster) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "pylon-lab cluster:", err)
		if ctx.Err() == nil {
			c.KeepDir()
			fmt.Fprintf(os.Stderr, "logs kept in %s\n", c.Dir)
		}
		return 1
	}
	done := step("FRR on the router (BGP with BFD and graceful restart, ECMP)")
	frr, err := c.StartRouter(ctx)
	if err != nil {
		return fail(err)
	}
	done()
	done = step("helm install pylon charts/pylon (image %s, built by hack/images.sh)", cluster.PylonImage)
	if err := c.InstallChart(ctx); err != nil {
		return fail(err)
	}
	done()
	done = step("Sample configuration (L2 pool, BGP pool and peers) and demo workload: 3 backends, Services demo/web-l2 and demo/web-bgp")
	if err := c.Apply(ctx, cluster.SampleConfig); err != nil {
		return fail(err)
	}
	if err := c.Apply(ctx, cluster.Docs(cluster.DemoNamespace, cluster.Backends("web", 3),
		cluster.LoadBalancer("web-l2", "web", "lan", false), cluster.LoadBalancer("web-bgp", "web", "routed", false))); err != nil {
		return fail(err)
	}
	if _, err := c.Kubectl(ctx, "rollout", "status", "-n", "demo", "deployment/web", "--timeout=2m"); err != nil {
		return fail(err)
	}
	done()
	srv := &controlServer{lab: clusterOps{c}, show: func(ctx context.Context, w io.Writer) error { return showCluster(ctx, c, frr, w) }}
	waitCtl, err := serveControl(ctx, c.Dir, srv)
	if err != nil {
		return fail(err)
	}
	defer waitCtl()
	fmt.Println()
	if err := showCluster(ctx, c, frr, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pylon-lab cluster:", err)
	}
	printClusterTry(os.Stdout, c)
	fmt.Printf("Cluster %s up in %v (lab %v, nodes Ready after %v more). Ctrl-C or `make cluster-down` removes it.\n", c.ID,
		c.Timings.Total.Round(time.Millisecond), c.Timings.Lab.Round(time.Millisecond), c.Timings.NodesReady.Round(time.Millisecond))
	<-ctx.Done()
	return 0
}

// showCluster prints each demo address, who announces it and who answers
// a request through it.
func showCluster(ctx context.Context, c *cluster.Cluster, frr *routers.FRR, w io.Writer) error {
	for _, s := range []struct{ name, from, mode string }{{"web-l2", "client", "L2"}, {"web-bgp", "outside", "BGP"}} {
		var ips []netip.Addr
		err := wait.For(ctx, time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			svc, err := c.Admin.Kube.CoreV1().Services("demo").Get(ctx, s.name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			ips = ips[:0]
			for _, in := range svc.Status.LoadBalancer.Ingress {
				if a, err := netip.ParseAddr(in.IP); err == nil {
					ips = append(ips, a)
				}
			}
			return len(ips) == 2, nil
		})
		if err != nil {
			return fmt.Errorf("Service demo/%s: %w", s.name, err)
		}
		for _, ip := range ips {
			var answer string
			// kube-proxy may still be programming a fresh Service's backends.
			herr := wait.For(ctx, 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
				a, err := c.HTTP(ctx, s.from, ip)
				answer = a
				return err == nil, err
			})
			if herr != nil {
				answer = "no answer: " + herr.Error()
			}
			by := announcedBy(ctx, c, s.mode, ip)
			fmt.Fprintf(w, "  demo/%-8s %-16s %s announced by %-22s %s → %s\n", s.name, ip, s.mode, by, s.from, answer)
		}
	}
	fmt.Fprintln(w)
	return nil
}

// announcedBy names who announces ip: the client's neighbour entry (L2) or
// the router's next hops (BGP).
func announcedBy(ctx context.Context, c *cluster.Cluster, mode string, ip netip.Addr) string {
	if mode == "L2" {
		if n, err := c.Announcer(ctx, ip); err == nil {
			return n
		}
		return "?"
	}
	rs, err := c.KernelRoutes(ctx, "router")
	if err != nil {
		return "?"
	}
	r, ok := routers.KernelRouteTo(rs, netip.PrefixFrom(ip, ip.BitLen()))
	if !ok {
		return "nobody"
	}
	var names []string
	for _, gw := range r.NextHops {
		if h, ok := c.Topo.HostByAddr(gw); ok {
			names = append(names, h.Name)
		}
	}
	return strings.Join(names, "+")
}

// printClusterTry prints how to reach the cluster and what to try.
func printClusterTry(w io.Writer, c *cluster.Cluster) {
	kubectl := filepath.Join(prereq.KubeBinDir(), "kubectl")
	fmt.Fprintln(w, "Use the cluster with the kubectl built here:")
	fmt.Fprintf(w, "  export KUBECONFIG=%s PATH=%s:$PATH\n\n", c.Kubeconfig, filepath.Dir(kubectl))
	try := func(cmd, why string) { fmt.Fprintf(w, "  %-70s # %s\n", cmd, why) }
	fmt.Fprintln(w, "What to try next:")
	try("kubectl get nodes -o wide", "three workers: kubelet, containerd, kube-proxy (nftables)")
	try("kubectl -n pylon-system get pods -o wide", "the controller (2 replicas) and a speaker per node")
	try("kubectl -n demo get svc", "the demo Services and their addresses")
	try("kubectl get servicel2statuses -A; kubectl -n pylon-system get servicebgpstatuses", "who announces what")
	try(fmt.Sprintf("ip netns exec %s curl -s http://IP/", c.Client().NS), "the LAN client: which backend pod answers")
	try(fmt.Sprintf("ip netns exec %s curl -s http://IP/", c.Outside().NS), "from behind the router (BGP)")
	try("kubectl -n pylon-system rollout restart ds/pylon-speaker", "restart every speaker: no request fails")
	try("kubectl drain NODE --ignore-daemonsets", "the node's addresses move away first")
	try("bin/pylon-lab show", "the addresses again, who announces them, who answers")
	try("bin/pylon-lab cut-link NODE / restore-link NODE", "pull a node's cable")
	fmt.Fprintln(w)
}

// clusterOps acts on a cluster through the control socket: speakers are
// pods, so killing one deletes its pod (the DaemonSet starts a new one).
type clusterOps struct{ c *cluster.Cluster }

func (o clusterOps) NodeNames() []string { return o.c.NodeNames() }

func (o clusterOps) KillSpeaker(ctx context.Context, node string) error {
	return o.deleteSpeaker(ctx, node, "--grace-period=0", "--force")
}

func (o clusterOps) StopSpeaker(ctx context.Context, node string, _ time.Duration) error {
	return o.deleteSpeaker(ctx, node)
}

func (o clusterOps) StartSpeaker(context.Context, string, ...string) (*proc.Process, error) {
	return nil, errors.New("speakers are pods here: the DaemonSet starts them again by itself")
}

func (o clusterOps) CutLink(ctx context.Context, node string) error { return o.c.CutLink(ctx, node) }

func (o clusterOps) RestoreLink(ctx context.Context, node string) error {
	return o.c.RestoreLink(ctx, node)
}

func (o clusterOps) deleteSpeaker(ctx context.Context, node string, flags ...string) error {
	args := append([]string{"delete", "pod", "-n", "pylon-system", "-l", "app.kubernetes.io/component=speaker",
		"--field-selector", "spec.nodeName=" + node, "--wait=false"}, flags...)
	_, err := o.c.Kubectl(ctx, args...)
	return err
}

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/cgroups"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/proc"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// Node is one worker: a lab node namespace whose own mount namespace runs
// containerd, the kubelet and kube-proxy, the way a machine of the cluster
// would. Its methods are safe for concurrent use.
type Node struct {
	Name string
	Host topo.Host
	Cfg  NodeConfig
	// Dir holds the node's configuration, daemon logs and pod logs.
	Dir string

	kubeBin string

	mu sync.Mutex
	// holder keeps the node's mount namespace; the daemons enter it.
	holder, containerd, kubelet, proxy *proc.Process
	stopped                            bool
}

func (n *Node) path(parts ...string) string {
	return filepath.Join(append([]string{n.Dir}, parts...)...)
}

// writeFiles writes the node's configuration into its directory (what the
// node sees as /etc/kubernetes, /etc/containerd and /etc/cni/net.d).
func (n *Node) writeFiles(s *kube.Server, apiURL string) error {
	cni, err := CNIConflist(n.Cfg)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"etc/kubernetes/kubelet-config.yaml":    []byte(KubeletYAML(n.Cfg)),
		"etc/kubernetes/kube-proxy-config.yaml": []byte(KubeProxyYAML(n.Cfg)),
		"etc/kubernetes/pki/ca.crt":             s.CACert(),
		"etc/containerd/config.toml":            []byte(ContainerdTOML(n.Cfg)),
		"etc/cni/net.d/10-pylon-lab.conflist":   cni,
	}
	for name, want := range KubeletSysctls {
		files["sysctl/"+strings.ReplaceAll(name, "/", ".")] = []byte(want + "\n")
	}
	for name, b := range files {
		p := n.path(name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	for _, kc := range []struct{ file, user string }{
		{"etc/kubernetes/kubelet.conf", "system:node:" + n.Name},
		{"etc/kubernetes/kube-proxy.conf", "system:kube-proxy"},
	} {
		if err := kube.WriteKubeconfig(n.path(kc.file), apiURL, s.CACert(), kc.user, s.Token(kc.user)); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// mountNS describes the node's mount namespace.
func (n *Node) mountNS(cg []CgroupMount) MountNS {
	m := MountNS{
		Cgroups: cg,
		Tmpfs:   []string{"/run", "/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni"},
		Binds: map[string]string{
			etcKubernetes:         n.path("etc/kubernetes"),
			"/etc/containerd":     n.path("etc/containerd"),
			cniConfDir:            n.path("etc/cni/net.d"),
			"/var/log/pods":       n.path("log/pods"),
			"/var/log/containers": n.path("log/containers"),
		},
		Sysctls: map[string]string{},
		Ready:   n.path("holder.ready"),
	}
	for name := range KubeletSysctls {
		m.Sysctls[name] = n.path("sysctl", strings.ReplaceAll(name, "/", "."))
	}
	return m
}

// start brings the node up: its cgroup subtree, its mount namespace,
// containerd (then the images), the kubelet and kube-proxy. It does not
// wait for the Node object to be Ready.
func (n *Node) start(ctx context.Context, cg []CgroupMount, images []string) error {
	if err := cgroups.Create(strings.TrimPrefix(n.Cfg.CgroupRoot, "/")); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	_ = os.Remove(n.path("holder.ready"))
	holder, err := proc.Start(proc.Spec{
		Name: n.Name + "-mountns", NS: n.Host.NS, Path: "bash", Args: []string{"-c", HolderScript(n.mountNS(cg))},
		LogPath: n.path("mountns.log"),
	})
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.holder, n.stopped = holder, false
	n.mu.Unlock()
	if err := wait.For(ctx, 10*time.Second, 5*time.Millisecond, func(context.Context) (bool, error) {
		if holder.Exited() {
			return false, fmt.Errorf("setting up its mount namespace failed: %s", proc.Tail(holder.LogPath(), 3))
		}
		_, err := os.Stat(n.path("holder.ready"))
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("node %s: %w", n.Name, err)
	}
	if err := n.startContainerd(ctx); err != nil {
		return err
	}
	if err := n.importImages(ctx, images); err != nil {
		return err
	}
	return n.startKube()
}

// enter returns a spec that runs path with args inside the node (its
// network and mount namespaces) through nsenter, which execs it.
func (n *Node) enter(name, path string, args ...string) proc.Spec {
	n.mu.Lock()
	pid := n.holder.Pid()
	n.mu.Unlock()
	return proc.Spec{Name: n.Name + "-" + name, NS: netns.Root, Path: "nsenter", Args: nsenterArgs(pid, path, args), LogPath: n.path(name + ".log")}
}

// nsenterArgs are nsenter's arguments to run path with args in the
// network and mount namespaces of pid (nsenter execs it: same pid).
func nsenterArgs(pid int, path string, args []string) []string {
	return append([]string{"--target", strconv.Itoa(pid), "--mount", "--net", "--", path}, args...)
}

func (n *Node) startContainerd(ctx context.Context) error {
	p, err := proc.Start(n.enter("containerd", "containerd", "--config", containerdConfig))
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.containerd = p
	n.mu.Unlock()
	err = wait.For(ctx, 20*time.Second, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("containerd exited: %s", proc.Tail(p.LogPath(), 5))
		}
		_, err := n.Run(ctx, "ctr", "--address", containerdSock, "version")
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("node %s: containerd: %w", n.Name, err)
	}
	return nil
}

// importImages loads image archives (docker save format) into the node's
// containerd, for the kubelet (namespace k8s.io).
func (n *Node) importImages(ctx context.Context, archives []string) error {
	for _, a := range archives {
		if _, err := n.Run(ctx, "ctr", "--address", containerdSock, "-n", "k8s.io", "images", "import", a); err != nil {
			return fmt.Errorf("node %s: import image %s: %w", n.Name, filepath.Base(a), err)
		}
	}
	return nil
}

func (n *Node) startKube() error {
	kl, err := proc.Start(n.enter("kubelet", filepath.Join(n.kubeBin, "kubelet"), KubeletArgs(n.Cfg)...))
	if err != nil {
		return err
	}
	kp, err := proc.Start(n.enter("kube-proxy", filepath.Join(n.kubeBin, "kube-proxy"), "--config="+proxyConfPath, "--v=1"))
	if err != nil {
		_ = kl.Kill(context.Background())
		return err
	}
	n.mu.Lock()
	n.kubelet, n.proxy = kl, kp
	n.mu.Unlock()
	return nil
}

// Run runs a program inside the node (network and mount namespaces) and
// returns its standard output.
func (n *Node) Run(ctx context.Context, path string, args ...string) ([]byte, error) {
	n.mu.Lock()
	h := n.holder
	n.mu.Unlock()
	if h == nil || h.Exited() {
		return nil, fmt.Errorf("node %s is not running", n.Name)
	}
	cmd := exec.CommandContext(ctx, "nsenter", nsenterArgs(h.Pid(), path, args)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s on %s: %w: %s", path, strings.Join(args, " "), n.Name, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Processes returns the node's running daemons.
func (n *Node) Processes() []*proc.Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []*proc.Process
	for _, p := range []*proc.Process{n.containerd, n.kubelet, n.proxy} {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// Stopped reports whether the node was stopped (Stop) and not started
// again.
func (n *Node) Stopped() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopped
}

// Check returns an error when one of the node's daemons exited while the
// node was not stopped on purpose.
func (n *Node) Check() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	for _, p := range []*proc.Process{n.holder, n.containerd, n.kubelet, n.proxy} {
		if p != nil && p.Exited() {
			return fmt.Errorf("node %s: %s exited: %s", n.Name, p.Name(), proc.Tail(p.LogPath(), 5))
		}
	}
	return nil
}

// Stop takes the node down as a power cut would: every daemon, container
// and pod is killed at once, its cgroups and mount namespace go away. Its
// network namespace (and so its LAN address) stays, silent.
func (n *Node) Stop(ctx context.Context) error {
	n.mu.Lock()
	n.stopped = true
	procs := []*proc.Process{n.proxy, n.kubelet, n.containerd}
	holder := n.holder
	n.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if p != nil {
			errs = append(errs, p.Kill(ctx))
		}
	}
	// Containers and their shims outlive containerd: the shims sit in the
	// node's network namespace, the pods' processes in its cgroups.
	errs = append(errs, cgroups.Remove(strings.TrimPrefix(n.Cfg.CgroupRoot, "/"), 10*time.Second))
	if holder != nil {
		errs = append(errs, killMountNS(ctx, holder.Pid()), holder.Kill(ctx))
	}
	return errors.Join(errs...)
}

// killMountNS kills every process in the mount namespace of pid except pid
// itself (the container shims, which containerd leaves behind).
func killMountNS(ctx context.Context, pid int) error {
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		return nil // already gone
	}
	return wait.For(ctx, 10*time.Second, 10*time.Millisecond, func(context.Context) (bool, error) {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return false, err
		}
		left := 0
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil || p == pid {
				continue
			}
			if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", p)); err == nil && got == want {
				left++
				_ = killPid(p)
			}
		}
		return left == 0, nil
	})
}

func killPid(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

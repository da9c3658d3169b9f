package cluster

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// Address plan of the cluster (beside the lab's LAN and service ranges).
var (
	// PodCIDRs are the cluster's pod ranges; node i gets PodCIDRsOf(i).
	PodCIDRs = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16"), netip.MustParsePrefix("fd00:10:244::/56")}
)

// PodCIDRsOf returns node i's pod ranges (i from 1): 10.244.i.0/24 and
// fd00:10:244:i::/64.
func PodCIDRsOf(i int) []netip.Prefix {
	v6 := PodCIDRs[1].Addr().As16()
	v6[7] = byte(i)
	return []netip.Prefix{
		netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(i), 0}), 24),
		netip.PrefixFrom(netip.AddrFrom16(v6), 64),
	}
}

// NodeConfig is what a worker's configuration files are made from.
type NodeConfig struct {
	Name       string
	IPv4, IPv6 netip.Addr
	PodCIDRs   []netip.Prefix
	// CgroupRoot is the node's own cgroup (every v1 hierarchy): the
	// kubelets of the machine share the hierarchies, so each gets a subtree.
	CgroupRoot string
	// ProxyMode is kube-proxy's mode ("nftables" or "iptables").
	ProxyMode string
	// SandboxImage is containerd's pause image.
	SandboxImage string
}

// Paths inside a node's mount namespace: the usual ones, private to the
// node (see HolderScript).
const (
	etcKubernetes    = "/etc/kubernetes"
	kubeletConfPath  = etcKubernetes + "/kubelet-config.yaml"
	kubeletKubecfg   = etcKubernetes + "/kubelet.conf"
	proxyConfPath    = etcKubernetes + "/kube-proxy-config.yaml"
	proxyKubecfg     = etcKubernetes + "/kube-proxy.conf"
	caPath           = etcKubernetes + "/pki/ca.crt"
	containerdConfig = "/etc/containerd/config.toml"
	containerdSock   = "/run/containerd/containerd.sock"
	cniConfDir       = "/etc/cni/net.d"
	cniBinDir        = "/usr/lib/cni" // Debian's containernetworking-plugins
)

// ContainerdTOML renders containerd 1.6's configuration for a node. Its
// state, root and socket are the defaults, which the node's mount namespace
// makes private.
func ContainerdTOML(c NodeConfig) string {
	return fmt.Sprintf(`version = 2
# Plugins a lab node never uses (and /opt/containerd, which the opt plugin would create).
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # The kubelet asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE;
  # this machine withholds it even from root. Clamp instead of failing.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
    max_conf_num = 1
`, c.SandboxImage, cniBinDir, cniConfDir)
}

// CNIConflist renders the node's pod network: a bridge (cni0) with the
// node's pod ranges from host-local, the node as the pods' gateway, and
// portmap. Pods on other nodes are reached through routes the cluster adds
// on every node (one per node's pod ranges, via its LAN address).
func CNIConflist(c NodeConfig) ([]byte, error) {
	type rng struct {
		Subnet string `json:"subnet"`
	}
	var ranges [][]rng
	for _, p := range c.PodCIDRs {
		ranges = append(ranges, []rng{{Subnet: p.String()}})
	}
	conf := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "pylon-lab",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": ranges,
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}, {"dst": "::/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// KubeletYAML renders the kubelet's configuration.
func KubeletYAML(c NodeConfig) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The machine's cgroups are v1 (hybrid); the kubelet refuses v1 unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %s
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
clusterDomain: cluster.local
failSwapOn: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
# Lab nodes share one disk and its free space: evict only when it is gone,
# and never garbage-collect images (they cannot be pulled again here).
evictionHard: {memory.available: 50Mi, nodefs.available: 1%%, imagefs.available: 1%%, nodefs.inodesFree: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Tests watch Node conditions: report them often.
nodeStatusUpdateFrequency: 4s
nodeStatusReportFrequency: 20s
syncFrequency: 20s
serializeImagePulls: false
`, c.CgroupRoot, containerdSock, caPath)
}

// KubeletArgs returns the kubelet's command line.
func KubeletArgs(c NodeConfig) []string {
	return []string{
		"--config=" + kubeletConfPath,
		"--kubeconfig=" + kubeletKubecfg,
		"--hostname-override=" + c.Name,
		"--node-ip=" + c.IPv4.String() + "," + c.IPv6.String(),
		"--v=1",
	}
}

// KubeProxyYAML renders kube-proxy's configuration. Conntrack limits are
// left alone (they are machine-wide, not the node's).
func KubeProxyYAML(c NodeConfig) string {
	cidrs := make([]string, len(PodCIDRs))
	for i, p := range PodCIDRs {
		cidrs[i] = p.String()
	}
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: %s
hostnameOverride: %s
clientConnection: {kubeconfig: %s}
clusterCIDR: %s
detectLocalMode: ClusterCIDR
healthzBindAddress: 0.0.0.0:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, c.ProxyMode, c.Name, proxyKubecfg, strings.Join(cidrs, ","))
}

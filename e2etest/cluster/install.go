package cluster

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// StartRouter starts FRR on the router: AS lab.RouterASN, accepting every
// node (AS lab.NodeASN) over IPv4 and IPv6 with BFD and graceful restart,
// ECMP over them into its kernel table. SampleConfig peers with it. BFD
// detects a dead node in 900 ms (ClusterBFD).
func (c *Cluster) StartRouter(ctx context.Context) (*routers.FRR, error) {
	cfg := c.RouterBGPConfig("router", lab.RouterASN, lab.NodeASN)
	cfg.GracefulRestart = true
	cfg.BFD = ClusterBFD
	for i := range cfg.Listen {
		cfg.Listen[i].BFD = true
	}
	return c.StartFRR(ctx, "router", cfg)
}

// ClusterBFD are the BFD timers of the cluster's sessions (SampleConfig's
// BFDProfile has the same). The process lab's 300 ms (routers.DefaultBFD)
// is too short here: three kubelets, containerd and the API server share
// two cores, and a speaker's pod starting during a rolling update stalled
// the other nodes' BFD for over 300 ms. gobgp answers an expired BFD
// session with a NOTIFICATION, which ends graceful restart, so the router
// dropped those nodes' routes ("BFD is down" in FRR's log) and the cluster
// suite saw web-bgp's next hops move during rollouts.
var ClusterBFD = routers.BFDTimers{RxInterval: 300 * time.Millisecond, TxInterval: 300 * time.Millisecond, Multiplier: 3}

// InstallChart runs `helm install pylon charts/pylon` into pylon-system
// with the locally built image (tag PylonTag) and further helm flags, and
// waits until every workload is ready.
func (c *Cluster) InstallChart(ctx context.Context, flags ...string) error {
	args := append([]string{"install", "pylon", filepath.Join(prereq.RepoRoot(), "charts", "pylon"),
		"--namespace", "pylon-system", "--create-namespace", "--set", "image.tag=" + PylonTag,
		"--wait", "--timeout", "3m"}, flags...)
	_, err := c.Helm(ctx, args...)
	return err
}

// Apply applies YAML with kubectl (server-side). While the webhook cannot
// be called (its endpoints follow the controller's readiness, so for a
// moment after the controller's pods changed) it tries again, up to a
// minute.
func (c *Cluster) Apply(ctx context.Context, yaml string) error {
	return wait.For(ctx, time.Minute, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := c.KubectlIn(ctx, []byte(yaml), "apply", "--server-side", "--force-conflicts", "-f", "-")
		if err != nil && strings.Contains(err.Error(), "failed calling webhook") {
			return false, nil
		}
		return err == nil, err
	})
}

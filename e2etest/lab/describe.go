package lab

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/runs"
)

// Reap removes the leftovers of dead lab runs on this machine (see
// runs.ReapDead) and returns a line per thing removed. Live labs are left
// alone.
func Reap(ctx context.Context) ([]string, error) {
	return runs.ReapDead(ctx, runs.DefaultStateDir)
}

// Leftovers lists what of this lab still exists on the machine
// (namespaces, root link, processes mentioning the run directory): after
// Close it should be empty.
func (l *Lab) Leftovers() []string { return runs.Leftovers(l.ID, l.Dir) }

// Describe returns a human summary of the lab: hosts, addresses, files,
// processes, and what to try next.
func (l *Lab) Describe() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("Pylon lab %s (directory %s)", l.ID, l.Dir)
	w("")
	w("Hosts (network namespaces; LAN %s + %s on bridge %s in %s):", "192.168.77.0/24", "fd00:77::/64", "br0", l.Topo.Bridge)
	for _, h := range l.Topo.Hosts {
		var addrs []string
		for _, i := range h.Ifaces {
			addrs = append(addrs, fmt.Sprintf("%s %s %s %s", i.Name, i.V4.Addr(), i.V6.Addr(), i.MAC))
		}
		w("  %-8s %-22s %s", h.Name, h.NS, strings.Join(addrs, "; "))
	}
	if l.Server != nil {
		w("")
		w("Kubernetes API: %s (from this machine), %s (inside the lab)", l.APIServerURL(), l.LANAPIServerURL())
		w("  admin kubeconfig:      %s", l.AdminKubeconfig)
		w("  controller kubeconfig: %s", l.ControllerKubeconfig)
		w("  speaker kubeconfig:    %s", l.SpeakerKubeconfig)
	}
	w("")
	w("Processes (logs in %s):", l.Dir)
	for _, p := range l.Processes() {
		state := "running"
		if p.Exited() {
			state = fmt.Sprintf("exited (%v)", p.ExitError())
		}
		w("  %-16s pid %-7d %s", p.Name(), p.Pid(), state)
	}
	w("")
	w("What to try next:")
	try := func(cmd, why string) { w("  %-62s # %s", cmd, why) }
	try(fmt.Sprintf("ip netns exec %s bash", l.Client().NS), "a shell on the LAN client")
	try(fmt.Sprintf("ip netns exec %s curl -s http://IP/", l.Client().NS), "which node answers for a service IP")
	try(fmt.Sprintf("ip -n %s neigh", l.Client().NS), "who answered ARP/NDP")
	try(fmt.Sprintf("ip netns exec %s curl -s http://IP/", l.Outside().NS), "from behind the router (BGP)")
	try(fmt.Sprintf("ip -n %s route", l.Router().NS), "the router's kernel routes")
	try(fmt.Sprintf("vtysh --vty_socket %s -c 'show bgp summary'", l.RouterDir("router", "frr")), "FRR's sessions (with --router frr)")
	if l.Server != nil {
		try(fmt.Sprintf("KUBECONFIG=%s %s get svc -A", l.AdminKubeconfig, filepath.Join(prereq.KubeBinDir(), "kubectl")), "kubectl, as make built it")
	}
	try(fmt.Sprintf("ip -n %s link set v-node1 down", l.Topo.Bridge), "pull node1's cable")
	try(fmt.Sprintf("pylon-lab down %s", l.ID), "or Ctrl-C: remove everything")
	return b.String()
}

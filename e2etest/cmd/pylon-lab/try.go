package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

// printHosts prints the lab's hosts in a few lines.
func printHosts(w io.Writer, l *lab.Lab) {
	fmt.Fprintf(w, "Lab %s: hosts are network namespaces on one LAN (192.168.77.0/24, fd00:77::/64):\n", l.ID)
	for _, h := range l.Topo.Hosts {
		if len(h.Ifaces) == 0 {
			continue
		}
		i := h.Ifaces[0]
		fmt.Fprintf(w, "  %-8s %-20s %-15s %-14s %s\n", h.Name, h.NS, i.V4.Addr(), i.V6.Addr(), i.MAC)
	}
	fmt.Fprintln(w, "  (outside sits behind the router on 192.168.78.0/24: it reaches Services only through BGP routes)")
}

// selfPath is how the user should call this binary: relative to the
// working directory when below it (bin/pylon-lab), else absolute.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil {
		return "pylon-lab"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return exe
}

// printTryNext prints what a user can do with the running demo lab.
func printTryNext(w io.Writer, l *lab.Lab, facts *demo.Facts) {
	self := selfPath()
	victim, l2IP, bgpIP := "node2", "IP", "IP"
	if facts != nil {
		for _, s := range facts.Services {
			for _, ip := range s.IPs {
				switch {
				case s.Mode == demo.L2 && ip.IP.Is4() && l2IP == "IP":
					l2IP = ip.IP.String()
					if ip.Announcer != "" {
						victim = ip.Announcer
					}
				case s.Mode == demo.BGP && ip.IP.Is4() && bgpIP == "IP":
					bgpIP = ip.IP.String()
				}
			}
		}
	}
	token := filepath.Join(l.Dir, "admin.token")
	if err := os.WriteFile(token, []byte(l.Server.AdminToken()+"\n"), 0o600); err != nil {
		token = "(could not write the admin token: " + err.Error() + ")"
	}
	p := func(cmd, why string) { fmt.Fprintf(w, "    %-58s # %s\n", cmd, why) }
	fmt.Fprintln(w, "\nWhat to try next:")
	kubectl := filepath.Join(prereq.KubeBinDir(), "kubectl")
	fmt.Fprintln(w, "  Look (kubectl is the one make built; these talk to the lab's API server):")
	p("export KUBECONFIG="+l.AdminKubeconfig, "then:")
	p(kubectl+" get svc -A", "Services and their IPs")
	p(kubectl+" get servicel2statuses -A", "who answers ARP/NDP for what")
	p(self+" show", "the facts above again, after you broke something")
	p(self+" get svc", "Services and their IPs (all namespaces)")
	p(self+" get pools", "also: l2status, bgpstatus, bgppeers, nodes, events, any resource; -o yaml")
	fmt.Fprintf(w, "    curl -s --cacert %s -H \"Authorization: Bearer $(cat %s)\" \\\n      %s/api/v1/namespaces/%s/services\n",
		l.Server.CAFile(), token, l.APIServerURL(), demo.Namespace)
	fmt.Fprintln(w, "  Be a client:")
	p("ip netns exec "+string(l.Client().NS)+" bash", "a shell on the LAN client; then: curl "+l2IP+"; ip neigh")
	p("ip netns exec "+string(l.Outside().NS)+" curl -s "+bgpIP, "from behind the router: BGP")
	p("vtysh --vty_socket "+l.RouterDir("router", "frr")+" -c 'show bgp ipv4'", "the router's BGP table")
	fmt.Fprintln(w, "  Break things (then run show again):")
	p(self+" kill-speaker "+victim, "SIGKILL the speaker announcing "+l2IP+": another node takes over")
	p(self+" start-speaker "+victim, "bring it back")
	p(self+" stop-speaker "+victim, "graceful hand-over (SIGTERM)")
	p(self+" cut-link "+victim, "pull its cable: L2 moves, BFD takes its BGP routes away (~1 s)")
	p(self+" restore-link "+victim, "plug it back in")
	fmt.Fprintf(w, "  Logs: %s/*.log (controller.log, speaker-node1.log, ...)\n", l.Dir)
	fmt.Fprintln(w, "  Stop: Ctrl-C here, or `make lab-down` from another shell: removes every namespace, process and file of the lab.")
	fmt.Fprintln(w)
}

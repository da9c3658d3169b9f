// Command pylon-lab runs Pylon's one-machine lab (see package
// e2etest/lab): `up` builds a lab and keeps it until Ctrl-C (`up --demo`
// is `make lab`: Pylon with a sample configuration and demo Services),
// `cluster` builds a real cluster on it with Pylon installed by its chart
// (`make cluster`, package e2etest/cluster),
// `down` removes running or leftover labs, `list` shows them, `bench` runs
// the lab benchmarks (package bench), and `serve-http` is the per-node HTTP
// server the lab starts inside each node namespace. `show`, `get`,
// `kill-speaker`, `stop-speaker`, `start-speaker`, `cut-link` and
// `restore-link` act on a lab that `up` runs, through its control socket or
// its admin kubeconfig.
package main

import (
	"fmt"
	"os"

	"github.com/pylonlb/pylon/e2etest/lab/nodehttp"
)

const usage = `usage: pylon-lab COMMAND [flags]

commands:
  up          bring a lab up, print what it made, keep it until Ctrl-C
  cluster     bring a real cluster up (kubelets, containerd, kube-proxy) with Pylon
              installed by its chart, keep it until Ctrl-C (make cluster)
  down [ID..] remove the given labs, or every lab and leftover (no ID)
  list        list the labs on this machine
  bench       run the lab benchmarks and print a report (--only, --trials, --list)

commands acting on a running lab (started by up or cluster; --id ID when several run):
  show                the demo's facts: IPs, who announces each, who answers HTTP
  get RESOURCE [NAME] list API objects as kubectl would (-n NS, -o yaml|json|wide)
  kill-speaker NODE   SIGKILL a node's speaker (a crash)
  stop-speaker NODE   SIGTERM a node's speaker (graceful hand-over)
  start-speaker NODE  start a node's speaker again
  cut-link NODE       pull a node's cable (its bridge port down)
  restore-link NODE   plug it back in
  serve-http  the node HTTP server (run by the lab inside node namespaces)

Run "pylon-lab COMMAND -h" for a command's flags.
`

func main() {
	nodehttp.MaybeRun() // the lab re-executes this binary as the node HTTP server
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var code int
	switch cmd {
	case "up":
		code = up(args)
	case "cluster":
		code = clusterCmd(args)
	case "down":
		code = down(args)
	case "list":
		code = list(args)
	case "bench":
		code = benchCmd(args)
	case "get":
		code = get(args)
	case "show", "kill-speaker", "stop-speaker", "start-speaker", "cut-link", "restore-link":
		code = labAction(cmd, args)
	case "serve-http":
		code = nodehttp.Main(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "pylon-lab: unknown command %q\n%s", cmd, usage)
		code = 2
	}
	os.Exit(code)
}

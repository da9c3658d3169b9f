package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

func init() { commands = append(commands, newWhoHas) }

// Holding is who-has's answer for one address.
type Holding struct {
	Address netip.Addr `json:"address"`
	// Pool is the configured pool containing the address, if any.
	Pool string `json:"pool,omitempty"`
	// Services are the Services holding it, with who announces them.
	Services []ServiceReport `json:"services,omitempty"`
	// Free is true when no Service holds the address.
	Free bool `json:"free"`
	// Reserved says why the controller never hands the address out (a
	// Node's or a BGPPeer's address, a subnet end), when it does not.
	Reserved string `json:"reserved,omitempty"`
}

func newWhoHas(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "who-has ADDRESS",
		Short: "Show the Service holding an address and who announces it",
		Long: `Show the Services (of every namespace) whose status holds the address, and
who announces them: the L2 owner node, the BGP nodes. An address no Service
holds is reported with its pool, as free.`,
		Example: "  kubectl pylon who-has 192.0.2.10",
		Args:    exactArgs(1, "ADDRESS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ip, err := netip.ParseAddr(args[0])
			if err != nil || ip.Zone() != "" {
				return &ExitError{Code: ExitInvalid, Msg: fmt.Sprintf("%q is not an IP address", args[0])}
			}
			return runWhoHas(cmd.Context(), o, ip.Unmap(), output)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

func runWhoHas(ctx context.Context, o *Options, ip netip.Addr, output string) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	snap, err := load(ctx, c, o.PylonNamespace, "")
	if err != nil {
		return err
	}
	w := newWorld(snap, o.LBClass, nil)
	h := w.whoHas(ip)
	if !h.Free || h.Pool != "" {
		if output == outputJSON || output == outputYAML {
			return printStructured(o.Out, output, h)
		}
		printHolding(o, &h)
		return nil
	}
	return &ExitError{Code: ExitInvalid, Msg: fmt.Sprintf("address %s is held by no Service and is in no pool", ip)}
}

// whoHas finds the Services holding ip and its pool.
func (w *world) whoHas(ip netip.Addr) Holding {
	h := Holding{Address: ip, Free: true}
	if w.cfg != nil {
		if p := w.cfg.PoolFor(ip); p != nil {
			h.Pool = p.Name
		}
		h.Reserved, _ = w.alloc.Reserved(ip)
	}
	for i := range w.snap.services {
		svc := &w.snap.services[i]
		if slices.Contains(addrs(ingressStrings(svc)), ip) {
			h.Services = append(h.Services, w.report(svc))
			h.Free = false
		}
	}
	slices.SortFunc(h.Services, func(x, y ServiceReport) int {
		return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
	})
	return h
}

func ingressStrings(svc *corev1.Service) []string {
	out := make([]string, len(svc.Status.LoadBalancer.Ingress))
	for i, in := range svc.Status.LoadBalancer.Ingress {
		out[i] = in.IP
	}
	return out
}

// printHolding writes who-has's answer.
func printHolding(o *Options, h *Holding) {
	out := o.Out
	pool := "in no configured pool"
	if h.Pool != "" {
		pool = fmt.Sprintf("in pool %q", h.Pool)
	}
	if h.Free && h.Reserved != "" {
		fmt.Fprintf(out, "%s (%s) is reserved: %s; the controller never hands it out.\n", h.Address, pool, h.Reserved)
		return
	}
	if h.Free {
		fmt.Fprintf(out, "%s is free (%s): no Service holds it.\n", h.Address, pool)
		return
	}
	if h.Reserved != "" {
		fmt.Fprintf(out, "%s is reserved (%s) but held from before.\n", h.Address, h.Reserved)
	}
	fmt.Fprintf(out, "%s (%s) is held by:\n", h.Address, pool)
	now := o.Now()
	for _, r := range h.Services {
		by, since := announcedBy(&r)
		fmt.Fprintf(out, "  Service %s/%s\n", r.Namespace, r.Name)
		if by == "" {
			by = "nobody"
		}
		if s := age(now, since); s != "" {
			by += ", for " + s
		}
		fmt.Fprintf(out, "    announced by: %s\n", by)
		printBGPSessions(out, &r)
		if r.Problem != "" {
			fmt.Fprintf(out, "    problem: %s\n", r.Problem)
		}
	}
}

// printBGPSessions lists the sessions carrying a Service.
func printBGPSessions(out io.Writer, r *ServiceReport) {
	for _, n := range r.BGP {
		var s []string
		for _, ss := range n.Sessions {
			s = append(s, fmt.Sprintf("%s %s", ss.Peer, ss.State))
		}
		fmt.Fprintf(out, "    %s advertises %s to %s\n", n.Node, strings.Join(n.Prefixes, ", "), cmp.Or(strings.Join(s, ", "), "no session"))
	}
}

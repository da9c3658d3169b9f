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
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/internal/speaker/plan"
)

func init() { commands = append(commands, newExplain) }

// Explanation is explain's answer for one Service.
type Explanation struct {
	Service ServiceReport `json:"service"`
	// NotServed says why Pylon does not serve the Service at all.
	NotServed string `json:"notServed,omitempty"`
	// Config is the configuration's problems, when invalid.
	Config string `json:"config,omitempty"`
	// Allocation is the controller's answer for the Service now.
	Allocation string `json:"allocation,omitempty"`
	// Pools are every pool's verdict.
	Pools []PoolReport `json:"pools,omitempty"`
	// L2 and BGP explain each address's announcement, node by node.
	L2  []plan.AddressVerdict `json:"l2,omitempty"`
	BGP []plan.AddressVerdict `json:"bgp,omitempty"`
	// Notes are caveats about what the plugin cannot see.
	Notes []string `json:"notes,omitempty"`
}

// PoolReport is one pool's verdict for a Service.
type PoolReport struct {
	Pool string `json:"pool"`
	// FreeIPv4 and FreeIPv6 count the pool's free addresses, as the
	// controller's books show them.
	FreeIPv4 *int64       `json:"freeIPv4,omitempty"`
	FreeIPv6 *int64       `json:"freeIPv6,omitempty"`
	Serves   bool         `json:"serves"`
	IPs      []netip.Addr `json:"ips,omitempty"`
	Why      string       `json:"why,omitempty"`
}

func newExplain(o *Options) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "explain SERVICE",
		Short: "Explain why a Service has no address or is not announced",
		Long: `Explain, in plain words, what Pylon does with a Service: for every pool,
whether it can give the Service an address and why not; for every node,
whether it may announce each address (L2 and BGP) and why not, and which
node is elected. The answers come from the controller's and the speakers'
own decision code, run on what the cluster shows now.`,
		Example: "  kubectl pylon explain -n shop web",
		Args:    exactArgs(1, "SERVICE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			return runExplain(cmd.Context(), o, args[0], output)
		},
	}
	addOutputFlag(cmd, &output)
	return cmd
}

// exactArgs requires n arguments, naming what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return &ExitError{Code: ExitInvalid, Msg: fmt.Sprintf("want %s, got %d arguments", what, len(args))}
		}
		return nil
	}
}

func runExplain(ctx context.Context, o *Options, name, output string) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ns, err := o.Namespace()
	if err != nil {
		return err
	}
	snap, err := load(ctx, c, o.PylonNamespace, ns)
	if err != nil {
		return err
	}
	w := newWorld(snap, o.LBClass, nil)
	svc, err := w.service(types.NamespacedName{Namespace: ns, Name: name})
	if err != nil {
		return err
	}
	e := w.explain(svc)
	if output == outputJSON || output == outputYAML {
		return printStructured(o.Out, output, e)
	}
	printExplanation(o.Out, &e)
	return nil
}

// explain runs the controller's and the speakers' decisions for a Service.
func (w *world) explain(svc *corev1.Service) Explanation {
	e := Explanation{Service: w.report(svc)}
	key := types.NamespacedName{Namespace: svc.Namespace, Name: svc.Name}
	switch {
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		e.NotServed = fmt.Sprintf("it is of type %s: Pylon serves LoadBalancer Services only", svc.Spec.Type)
		return e
	case e.Service.Problem != "" && strings.HasPrefix(e.Service.Problem, "not served by Pylon"):
		e.NotServed = e.Service.Problem
		return e
	case w.cfgErr != nil:
		e.Config = w.cfgErr.Error()
		return e
	}
	e.Allocation, e.Pools = w.explainAllocation(svc)
	if ps, ok := w.planService(key); ok {
		e.L2 = w.explainL2(key)
		e.BGP = w.withSpeakers(plan.ExplainBGP(w.cfg, w.nodeList, &ps))
		if !covered(e.L2) {
			e.L2 = nil
		}
		if !covered(e.BGP) {
			e.BGP = nil
		}
		if e.L2 != nil && slices.ContainsFunc(w.members, func(m plan.Member) bool { return !m.AddrsKnown }) {
			e.Notes = append(e.Notes, "some speakers publish no interfaces in their ConfigurationState (an earlier version): the plugin assumes they have the interfaces the L2Advertisements name, on every subnet")
		}
		if w.membersFromStates && (e.L2 != nil || e.BGP != nil) {
			e.Notes = append(e.Notes, "no speaker pod found: the speakers that published a ConfigurationState are taken as live")
		}
		if len(w.members) == 0 && e.L2 != nil {
			e.Notes = append(e.Notes, fmt.Sprintf("no running, ready speaker pod found (label %s in namespace of Pylon)", "app.kubernetes.io/component=speaker"))
		}
	}
	return e
}

// withSpeakers marks the BGP verdicts of nodes without a live speaker:
// the plan judges every Node, but only a speaker advertises. Without any
// speaker pod found (an install with other labels), the verdicts stay.
func (w *world) withSpeakers(vs []plan.AddressVerdict) []plan.AddressVerdict {
	if len(w.members) == 0 {
		return vs
	}
	live := map[string]bool{}
	for _, m := range w.members {
		live[m.Name] = true
	}
	for i := range vs {
		v := &vs[i]
		announced := false
		for j := range v.Nodes {
			n := &v.Nodes[j]
			if !live[n.Node] {
				n.Eligible, n.Announces, n.Why = false, false, "no live speaker on it"
			}
			announced = announced || n.Announces
		}
		if v.Reason == "" && !announced && len(v.Nodes) > 0 {
			v.Reason, v.Why = plan.ReasonNoCandidate, "no node with a live speaker can advertise it"
		}
	}
	return vs
}

// explainAllocation is the controller's answer and every pool's verdict.
func (w *world) explainAllocation(svc *corev1.Service) (string, []PoolReport) {
	req, err := w.request(svc)
	if err != nil {
		return "the Service's request is invalid: " + stripInput(err), nil
	}
	var answer string
	asg, err := w.alloc.Try(req)
	switch {
	case err != nil:
		answer = "no address: " + stripPrefix(err.Error())
	case len(svc.Status.LoadBalancer.Ingress) == 0:
		answer = fmt.Sprintf("the controller would assign %s from pool %q (it has not yet: is it running?)", joinAddrs(asg.IPs), asg.Pool)
	default:
		answer = fmt.Sprintf("holds %s from pool %q", joinAddrs(asg.IPs), asg.Pool)
	}
	if why := w.notRestored[req.Key]; why != nil {
		answer += "; the controller would not keep the addresses its status shows: " + why.Error()
	}
	verdicts, err := w.alloc.Explain(req)
	if err != nil {
		return answer, nil
	}
	var pools []PoolReport
	for _, v := range verdicts {
		pr := PoolReport{Pool: v.Pool, Serves: v.Serves, IPs: v.IPs, Why: v.Why}
		st := w.alloc.Stats(v.Pool)
		if p := w.cfg.Pool(v.Pool); p != nil {
			for _, r := range p.Ranges {
				if r.First.Is4() {
					pr.FreeIPv4 = &st.AvailableIPv4
				} else {
					pr.FreeIPv6 = &st.AvailableIPv6
				}
			}
		}
		pools = append(pools, pr)
	}
	return answer, pools
}

// stripInput drops the marker of the controller's input errors.
func stripInput(err error) string {
	return strings.TrimPrefix(err.Error(), "invalid Service input: ")
}

func joinAddrs(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}

// printExplanation writes the explanation for a reader.
func printExplanation(out io.Writer, e *Explanation) {
	r := &e.Service
	fmt.Fprintf(out, "Service %s/%s\n", r.Namespace, r.Name)
	if len(r.Addresses) > 0 {
		fmt.Fprintf(out, "  Addresses: %s (pool %s)\n", strings.Join(r.Addresses, ", "), cmp.Or(r.Pool, "<none>"))
	} else {
		fmt.Fprintln(out, "  Addresses: <none>")
	}
	if by, _ := announcedBy(r); by != "" {
		fmt.Fprintf(out, "  Announced: %s\n", by)
	}
	printBGPSessions(out, r)
	if r.Problem != "" {
		fmt.Fprintf(out, "  Problem:   %s\n", r.Problem)
	}
	switch {
	case e.NotServed != "":
		fmt.Fprintf(out, "\nPylon does not serve it: %s\n", e.NotServed)
		return
	case e.Config != "":
		fmt.Fprintf(out, "\nPylon's configuration objects are invalid; the controller keeps its last valid configuration, which the plugin cannot see:\n%s\n", indent(e.Config))
		return
	}
	fmt.Fprintf(out, "\nAllocation: %s\n", e.Allocation)
	for _, p := range e.Pools {
		name := fmt.Sprintf("%s (%s)", quote(p.Pool), freeText(p))
		if p.Serves {
			fmt.Fprintf(out, "  pool %-32s serves it: %s\n", name, joinAddrs(p.IPs))
		} else {
			fmt.Fprintf(out, "  pool %-32s does not: %s\n", name, p.Why)
		}
	}
	printAnnouncement(out, "L2", e.L2)
	printAnnouncement(out, "BGP", e.BGP)
	if len(r.Addresses) > 0 && e.L2 == nil && e.BGP == nil {
		fmt.Fprintln(out, "\nAnnouncement: no L2Advertisement or BGPAdvertisement covers its pool and selects it")
	}
	for _, n := range e.Notes {
		fmt.Fprintf(out, "\nNote: %s\n", n)
	}
}

func printAnnouncement(out io.Writer, mode string, vs []plan.AddressVerdict) {
	for _, v := range vs {
		state := "announced"
		if v.Reason != "" {
			state = "NOT announced: " + v.Why
		}
		fmt.Fprintf(out, "\nAnnouncement of %s (%s): %s\n", v.IP, mode, state)
		for _, n := range v.Nodes {
			mark := "-"
			switch {
			case n.Announces:
				mark = "*"
			case n.Eligible:
				mark = "+"
			}
			fmt.Fprintf(out, "  %s %-24s %s\n", mark, n.Node, n.Why)
		}
	}
}

// freeText says how many addresses a pool has free, per family it has.
func freeText(p PoolReport) string {
	var parts []string
	if p.FreeIPv4 != nil {
		parts = append(parts, fmt.Sprintf("%d IPv4", *p.FreeIPv4))
	}
	if p.FreeIPv6 != nil {
		parts = append(parts, fmt.Sprintf("%d IPv6", *p.FreeIPv6))
	}
	return strings.Join(parts, " + ") + " free"
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func init() { commands = append(commands, newStatus) }

// statusFlags are the status command's flags.
type statusFlags struct {
	all    bool
	output string
}

func newStatus(o *Options) *cobra.Command {
	f := &statusFlags{}
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show each LoadBalancer Service's addresses, pool, mode and who announces them",
		Long: `Show, for each LoadBalancer Service of the namespace (or of all with -A), its
addresses and pool as the controller assigned them, the announcement modes
its advertisements give it (L2, BGP), who announces it as the speakers
report it (the L2 owner node and since when; the BGP nodes with their
sessions), the last event that moved it, and the problem if any.`,
		Example: "  kubectl pylon status -A\n  kubectl pylon status -n shop web -o yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output); err != nil {
				return err
			}
			if f.all && len(args) > 0 {
				return &ExitError{Code: ExitInvalid, Msg: "a Service name cannot be given with --all-namespaces"}
			}
			return runStatus(cmd.Context(), o, f, args)
		},
	}
	cmd.Flags().BoolVarP(&f.all, "all-namespaces", "A", false, "list the Services of every namespace")
	addOutputFlag(cmd, &f.output)
	return cmd
}

func runStatus(ctx context.Context, o *Options, f *statusFlags, args []string) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	ns := ""
	if !f.all {
		if ns, err = o.Namespace(); err != nil {
			return err
		}
	}
	snap, err := load(ctx, c, o.PylonNamespace, ns)
	if err != nil {
		return err
	}
	w := newWorld(snap, o.LBClass, nil)
	var reports []ServiceReport
	if len(args) == 1 {
		svc, err := w.service(types.NamespacedName{Namespace: ns, Name: args[0]})
		if err != nil {
			return err
		}
		reports = append(reports, w.report(svc))
	} else {
		for _, svc := range w.loadBalancers(ns) {
			reports = append(reports, w.report(svc))
		}
	}
	if f.output == outputJSON || f.output == outputYAML {
		if len(args) == 1 {
			return printStructured(o.Out, f.output, reports[0])
		}
		return printStructured(o.Out, f.output, map[string]any{"services": reports})
	}
	if len(reports) == 0 {
		where := fmt.Sprintf("in namespace %s", ns)
		if f.all {
			where = "in any namespace"
		}
		fmt.Fprintf(o.Err, "No LoadBalancer Services found %s.\n", where)
		return nil
	}
	return printStatusTable(o, reports, f.all, f.output == outputWide)
}

// service returns a Service of the snapshot, or an invalid-input error.
func (w *world) service(key types.NamespacedName) (*corev1.Service, error) {
	svc := w.services[key]
	if svc == nil {
		return nil, &ExitError{Code: ExitInvalid, Msg: fmt.Sprintf("Service %q not found in namespace %q", key.Name, key.Namespace)}
	}
	return svc, nil
}

// loadBalancers returns the LoadBalancer Services of a namespace ("" for
// all), by namespace and name.
func (w *world) loadBalancers(ns string) []*corev1.Service {
	var out []*corev1.Service
	for i := range w.snap.services {
		svc := &w.snap.services[i]
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (ns == "" || svc.Namespace == ns) {
			out = append(out, svc)
		}
	}
	slices.SortFunc(out, func(x, y *corev1.Service) int {
		return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
	})
	return out
}

// printStatusTable prints the reports as kubectl prints resources.
func printStatusTable(o *Options, reports []ServiceReport, all, wide bool) error {
	headers := []string{"NAME", "ADDRESSES", "POOL", "MODE", "ANNOUNCED BY", "SINCE", "PROBLEM"}
	if all {
		headers = append([]string{"NAMESPACE"}, headers...)
	}
	if wide {
		headers = append(headers, "LAST MOVE")
	}
	t := newTable(o.Out, headers...)
	now := o.Now()
	for _, r := range reports {
		by, since := announcedBy(&r)
		row := []string{r.Name, strings.Join(r.Addresses, ","), r.Pool, strings.Join(r.Modes, "+"), by, age(now, since), r.Problem}
		if r.Problem == "" {
			row[len(row)-1] = "-"
		}
		if all {
			row = append([]string{r.Namespace}, row...)
		}
		if wide {
			move := ""
			if r.LastMove != nil {
				move = fmt.Sprintf("%s ago: %s", age(now, r.LastMove.Time), r.LastMove.Message)
			}
			row = append(row, move)
		}
		t.row(row...)
	}
	return t.flush()
}

// announcedBy renders who announces a Service, and since when: the L2
// owner since it took the addresses over; the BGP nodes, with how many of
// their sessions carrying the Service are up, since the last move.
func announcedBy(r *ServiceReport) (string, metav1.Time) {
	var parts []string
	var since metav1.Time
	if r.L2 != nil {
		parts = append(parts, r.L2.Node+" (L2)")
		since = r.L2.Since
	}
	if len(r.BGP) > 0 {
		var nodes []string
		up, total := 0, 0
		for _, n := range r.BGP {
			nodes = append(nodes, n.Node)
			for _, s := range n.Sessions {
				total++
				if s.State == "Established" {
					up++
				}
			}
		}
		parts = append(parts, fmt.Sprintf("%s (BGP, %d/%d sessions up)", strings.Join(nodes, ","), up, total))
		if since.IsZero() && r.LastMove != nil {
			since = r.LastMove.Time
		}
	}
	return strings.Join(parts, " "), since
}

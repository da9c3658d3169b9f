package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/cli/configfile"
)

func init() { commands = append(commands, newValidate) }

func newValidate(o *Options) *cobra.Command {
	var files []string
	var output string
	cmd := &cobra.Command{
		Use:   "validate -f FILE...",
		Short: "Dry-run a configuration change against the live cluster",
		Long: `Dry-run applying Pylon configuration objects (multi-document YAML; "-" reads
standard input) to the live cluster, writing nothing: each object is judged
by the admission webhook's own decision, in order, with its messages; then
the controller's allocation and the speakers' plans run on the resulting
configuration, and the Services whose addresses or announcement would
change are listed.

Exit status: 0 harmless, 1 a Service would lose or change its address or
stop being announced (or the configuration would stay invalid), 2 invalid
input (unreadable file, not YAML, unknown kind, refused by the webhook).`,
		Example: "  kubectl pylon validate -f pools.yaml -f l2.yaml\n  helm template ... | kubectl pylon validate -f -",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			if len(files) == 0 {
				return &ExitError{Code: ExitInvalid, Msg: "no file given: use -f FILE (or -f - for standard input)"}
			}
			objs, err := readFiles(o, files)
			if err != nil {
				return &ExitError{Code: ExitInvalid, Msg: err.Error()}
			}
			return runValidate(cmd.Context(), o, objs, output)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, `files of Pylon objects to check ("-": standard input)`)
	addOutputFlag(cmd, &output)
	return cmd
}

// readFiles decodes every file's objects, checking their namespace.
func readFiles(o *Options, files []string) ([]client.Object, error) {
	var all []client.Object
	for _, name := range files {
		var r io.Reader = o.In
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, fmt.Errorf("read %w", err)
			}
			defer f.Close()
			r = f
		}
		objs, err := configfile.Decode(name, r)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			if ns := obj.GetNamespace(); ns != "" && ns != o.PylonNamespace {
				return nil, fmt.Errorf("%s: %s %q is in namespace %q; Pylon reads its configuration from %q only (--pylon-namespace)",
					name, obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), ns, o.PylonNamespace)
			}
		}
		all = append(all, objs...)
	}
	return all, nil
}

func runValidate(ctx context.Context, o *Options, objs []client.Object, output string) error {
	c, err := o.Client()
	if err != nil {
		return err
	}
	snap, err := load(ctx, c, o.PylonNamespace, o.PylonNamespace)
	if err != nil {
		return err
	}
	d := dryRun(snap, o.LBClass, objs)
	if output == outputJSON || output == outputYAML {
		if err := printStructured(o.Out, output, d); err != nil {
			return err
		}
	} else {
		printDryRun(o.Out, &d)
	}
	switch {
	case d.Refused != "":
		return &ExitError{Code: ExitInvalid}
	case d.Breaks():
		return &ExitError{Code: ExitBadNews}
	}
	return nil
}

// printDryRun writes validate's answer.
func printDryRun(out io.Writer, d *DryRun) {
	for _, a := range d.Accepted {
		fmt.Fprintf(out, "%s: valid\n", a)
	}
	if d.Refused != "" {
		fmt.Fprintf(out, "refused: %s\n", d.Refused)
		return
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	if d.StillInvalid != "" {
		fmt.Fprintf(out, "the configuration would still be invalid, so the controller and the speakers would not load it:\n%s\n", indent(d.StillInvalid))
		return
	}
	if len(d.Changes) == 0 {
		fmt.Fprintln(out, "No Service would change.")
		return
	}
	fmt.Fprintln(out, "Services:")
	for _, c := range d.Changes {
		mark := " "
		if c.Breaks {
			mark = "!"
		}
		fmt.Fprintf(out, "%s %s: %s\n", mark, c.Service, c.What)
	}
}

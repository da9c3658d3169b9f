package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/pylonlb/pylon/internal/migrate"
)

func init() { commands = append(commands, newMigrate) }

// migrateOptions are the migrate command's flags.
type migrateOptions struct {
	*Options
	files     []string
	allowLoss bool
	metallbNS string
}

func newMigrate(o *Options) *cobra.Command {
	m := &migrateOptions{Options: o}
	cmd := &cobra.Command{
		Use:   "migrate metallb [-f FILE...]",
		Short: "Print the Pylon objects equivalent to MetalLB's configuration",
		Long: `Print the Pylon objects equivalent to MetalLB's configuration, as YAML ready for
kubectl apply. MetalLB's objects (metallb.io IPAddressPool, L2Advertisement,
BGPAdvertisement, BGPPeer v1beta1 and v1beta2, BFDProfile, Community) are read
from the cluster (namespace --metallb-namespace) or, with -f, from files ("-"
is standard input; multi-document YAML). Names are kept, so Services' MetalLB
annotations keep naming the right pools. This command never writes to the
cluster.

Every MetalLB field without a Pylon equivalent, or with a value Pylon would not
honour, is reported in a "# LOST" comment in the object it came from; "# NOTE"
comments name a step to take (such as copying a password Secret).

Exit status: 0 everything was converted; 1 something was lost (unless
--allow-loss); 2 invalid input (not YAML, an object of another kind) or no
cluster.`,
		Example: `  kubectl pylon migrate metallb > pylon.yaml
  kubectl pylon migrate metallb -f metallb-config.yaml --allow-loss | kubectl apply -f -`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] != "metallb" {
				return &ExitError{Code: ExitInvalid, Msg: `migrate: say what to migrate from: "migrate metallb"`}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return m.run(cmd.Context()) },
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&m.files, "filename", "f", nil, `file with MetalLB's objects ("-" for standard input); repeatable. Default: read the cluster`)
	fs.BoolVar(&m.allowLoss, "allow-loss", false, "exit 0 even when some MetalLB setting has no Pylon equivalent")
	fs.StringVar(&m.metallbNS, "metallb-namespace", migrate.DefaultMetalLBNamespace, "namespace of MetalLB's objects")
	return cmd
}

// run reads, converts and prints.
func (m *migrateOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	objs, err := m.read(ctx)
	if err != nil {
		return &ExitError{Code: ExitInvalid, Msg: oneLine(err.Error())}
	}
	if len(objs) == 0 {
		if len(m.files) > 0 {
			return &ExitError{Code: ExitInvalid, Msg: "no MetalLB objects in the input"}
		}
		fmt.Fprintf(m.Err, "no MetalLB objects in namespace %s: nothing to migrate\n", m.metallbNS)
		return nil
	}
	res, err := migrate.Convert(objs, migrate.Options{MetalLBNamespace: m.metallbNS, PylonNamespace: m.PylonNamespace})
	if err != nil {
		return &ExitError{Code: ExitInvalid, Msg: oneLine(err.Error())}
	}
	if err := migrate.Render(m.Out, res); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return m.report(res)
}

// report sums up the findings on the error stream and sets the status.
func (m *migrateOptions) report(res *migrate.Result) error {
	lost := 0
	for _, f := range res.Findings() {
		if f.Loss {
			lost++
			fmt.Fprintf(m.Err, "lost: %s\n", f)
		}
	}
	if lost == 0 {
		return nil
	}
	if m.allowLoss {
		fmt.Fprintf(m.Err, "%d MetalLB setting(s) have no Pylon equivalent (allowed by --allow-loss)\n", lost)
		return nil
	}
	return &ExitError{Code: ExitBadNews, Msg: fmt.Sprintf("%d MetalLB setting(s) have no Pylon equivalent (see the LOST comments); rerun with --allow-loss to accept", lost)}
}

// read gets MetalLB's objects from the files or the cluster.
func (m *migrateOptions) read(ctx context.Context) ([]migrate.Object, error) {
	if len(m.files) > 0 {
		return m.readFiles()
	}
	cfg, err := m.RESTConfig()
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	return readCluster(ctx, dc, m.metallbNS)
}

// readFiles parses every file ("-": standard input).
func (m *migrateOptions) readFiles() ([]migrate.Object, error) {
	var out []migrate.Object
	for _, name := range m.files {
		var data []byte
		var err error
		if name == "-" {
			data, err = io.ReadAll(m.In)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		objs, err := migrate.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", displayName(name), err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// readCluster lists MetalLB's objects in the namespace, each kind in the
// first version the API server serves (BGPPeer: v1beta2, else v1beta1;
// the server serves the same objects under both). Kinds the cluster does
// not know are skipped; a cluster without any is an error.
func readCluster(ctx context.Context, dc dynamic.Interface, ns string) ([]migrate.Object, error) {
	var out []migrate.Object
	known := 0
	for _, kind := range migrate.Kinds {
		for _, v := range migrate.Versions(kind) {
			gvr := schema.GroupVersionResource{Group: migrate.Group, Version: v, Resource: migrate.Resources[kind]}
			list, err := dc.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list %s.%s/%s in %s: %w", gvr.Resource, gvr.Group, v, ns, err)
			}
			known++
			for i := range list.Items {
				o, err := migrate.FromUnstructured(&list.Items[i])
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
			break
		}
	}
	if known == 0 {
		return nil, errors.New("the cluster serves none of MetalLB's kinds (API group metallb.io); use -f to read MetalLB's objects from files")
	}
	return out, nil
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

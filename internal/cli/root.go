package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/internal/scheme"
)

// Exit statuses of the plugin.
const (
	ExitOK      = 0 // done; nothing to report
	ExitBadNews = 1 // done, and the answer is a problem (validate, migrate)
	ExitInvalid = 2 // invalid input, or the command could not run
)

// Streams are the plugin's standard input, output and error.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// ExitError ends a command with a status other than ExitInvalid. Its
// message, when not empty, is printed on the error stream.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// Options are what every command shares: the streams, the kubeconfig
// flags and a client built from them on first use.
type Options struct {
	Streams
	kube clientcmd.ClientConfig
	// Namespace of Pylon's configuration objects (--pylon-namespace).
	PylonNamespace string
	// LBClass is the loadBalancerClass Pylon serves (--lb-class), as
	// given to the controller and the speakers.
	LBClass string
	// Now is the clock for ages; time.Now unless a test sets it.
	Now func() time.Time

	restConfig *rest.Config
	client     client.Client
}

// Main runs the plugin with args (without the program name) and returns
// the exit status.
func Main(args []string, s Streams) int {
	root := NewRoot(s)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Msg != "" {
			fmt.Fprintln(s.Err, "error:", ee.Msg)
		}
		return ee.Code
	}
	fmt.Fprintln(s.Err, "error:", err)
	return ExitInvalid
}

// NewRoot builds the plugin's command tree.
func NewRoot(s Streams) *cobra.Command {
	o := &Options{Streams: s, Now: time.Now}
	root := &cobra.Command{
		Use:           "kubectl-pylon",
		Short:         "See, explain, dry-run and migrate Pylon's load balancing",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Unknown commands and bad flags are invalid input.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: ExitInvalid, Msg: err.Error()}
	})
	o.bindKubeFlags(root)
	root.PersistentFlags().StringVar(&o.PylonNamespace, "pylon-namespace", "pylon-system", "namespace of Pylon's configuration objects")
	root.PersistentFlags().StringVar(&o.LBClass, "lb-class", "", "spec.loadBalancerClass Pylon serves (its controller's --lb-class); empty: Services without a class")
	for _, add := range commands {
		root.AddCommand(add(o))
	}
	return root
}

// commands are the subcommands' constructors; each command's file adds
// its own in an init function, so the commands stay apart.
var commands []func(*Options) *cobra.Command

// bindKubeFlags adds kubectl's connection flags (--kubeconfig, --context,
// -n/--namespace, ...), honouring $KUBECONFIG as kubectl does.
func (o *Options) bindKubeFlags(root *cobra.Command) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{}
	fs := root.PersistentFlags()
	fs.StringVar(&rules.ExplicitPath, "kubeconfig", "", "path to the kubeconfig file")
	clientcmd.BindOverrideFlags(overrides, fs, clientcmd.RecommendedConfigOverrideFlags(""))
	o.kube = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
}

// Namespace is the namespace of -n, else the kubeconfig context's, else
// "default".
func (o *Options) Namespace() (string, error) {
	ns, _, err := o.kube.Namespace()
	if err != nil {
		return "", fmt.Errorf("namespace from kubeconfig: %w", err)
	}
	return ns, nil
}

// RESTConfig is the API server's connection from the kubeconfig.
func (o *Options) RESTConfig() (*rest.Config, error) {
	if o.restConfig == nil {
		c, err := o.kube.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
		c.UserAgent = "kubectl-pylon"
		o.restConfig = c
	}
	return o.restConfig, nil
}

// Client is a client of the API server knowing Pylon's and Kubernetes'
// types (no cache: every read is live).
func (o *Options) Client() (client.Client, error) {
	if o.client == nil {
		c, err := o.RESTConfig()
		if err != nil {
			return nil, err
		}
		s, err := scheme.All()
		if err != nil {
			return nil, err
		}
		cl, err := client.New(c, client.Options{Scheme: s})
		if err != nil {
			return nil, fmt.Errorf("API client: %w", err)
		}
		o.client = cl
	}
	return o.client, nil
}

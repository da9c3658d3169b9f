package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab/kube"
)

// ServiceAccounts Pylon's components run as (defined by config/rbac; the
// lab creates them if the manifests do not).
const (
	ControllerServiceAccount = "pylon-controller"
	SpeakerServiceAccount    = "pylon-speaker"
)

// clusterAPIServerArgs set the API server up for real kubelets (which the
// Node authorizer authorizes too). Kubelets are restricted by
// NodeRestriction. The API server
// runs in ctl, which runs no kube-proxy: it reaches webhooks at their
// Service's endpoints (pod IPs, routed to the nodes) instead of the
// ClusterIP.
var clusterAPIServerArgs = []string{
	"--enable-admission-plugins=NodeRestriction",
	"--enable-aggregator-routing=true",
	// Node names do not resolve here: reach kubelets (logs, exec) by address.
	"--kubelet-preferred-address-types=InternalIP",
}

// tokenTTL is how long the components' ServiceAccount tokens are valid.
const tokenTTL = 48 * time.Hour

func (l *Lab) upControlPlane(ctx context.Context) error {
	t0 := time.Now()
	ctl := l.Topo.MustHost("ctl")
	rl := l.Topo.Spec.RootLink
	apiArgs := slices.Clone(l.opts.APIServerArgs)
	if os.Getenv(PprofEnv) != "" {
		apiArgs = append(apiArgs, "--profiling=true")
	}
	authz := ""
	if l.opts.Cluster {
		apiArgs = append(apiArgs, clusterAPIServerArgs...)
		authz = "Node,RBAC"
	}
	s, err := kube.StartServer(ctx, kube.ServerOptions{
		NS: ctl.NS, Dir: l.Dir, BinDir: l.opts.KubeBinDir, AdvertiseAddr: ctl.IPv4(),
		ServingIPs:         []netip.Addr{ctl.IPv6(), rl.CtlV4.Addr(), rl.CtlV6.Addr()},
		ExtraAPIServerArgs: apiArgs, Users: l.opts.APIServerUsers, AuthorizationMode: authz,
	})
	if err != nil {
		return err
	}
	l.Server = s
	l.addUndo("stop control plane", s.Kill) // its data dies with the lab
	l.Timings.ControlPlane = time.Since(t0)
	l.log.Info("control plane ready", "took", l.Timings.ControlPlane, "url", l.APIServerURL())

	if l.Admin, err = kube.NewClient(s.AdminConfig(l.APIServerURL(), nil)); err != nil {
		return err
	}
	l.AdminKubeconfig = l.path("admin.kubeconfig")
	if err := kube.WriteKubeconfig(l.AdminKubeconfig, l.APIServerURL(), s.CACert(), kube.AdminUser, s.AdminToken()); err != nil {
		return err
	}
	if l.opts.Cluster {
		return nil // kubelets register their nodes; Pylon is installed as users do
	}
	if err := l.createNodes(ctx); err != nil {
		return err
	}
	if err := l.applyManifests(ctx); err != nil {
		return err
	}
	return l.writeComponentCredentials(ctx)
}

// APIServerURL is the API server's URL from the root namespace (over the
// run's root link). Inside the lab, use LANAPIServerURL.
func (l *Lab) APIServerURL() string {
	return l.Server.URL(l.Topo.Spec.RootLink.CtlV4.Addr())
}

// LANAPIServerURL is the API server's URL on the lab's LAN.
func (l *Lab) LANAPIServerURL() string {
	return l.Server.URL(l.Topo.MustHost("ctl").IPv4())
}

func (l *Lab) createNodes(ctx context.Context) error {
	for _, n := range l.Topo.Nodes() {
		spec := kube.NodeSpec{Name: n.Name, Addresses: []netip.Addr{n.IPv4(), n.IPv6()}}
		if _, err := l.Admin.CreateNode(ctx, spec); err != nil {
			return err
		}
	}
	return nil
}

// applyManifests applies Pylon's CRDs and RBAC (when they exist), after
// making sure Pylon's namespace exists.
func (l *Lab) applyManifests(ctx context.Context) error {
	if err := l.Admin.EnsureNamespace(ctx, PylonNamespace); err != nil {
		return err
	}
	files, err := kube.ManifestFiles(l.opts.ManifestDirs...)
	if err != nil {
		return err
	}
	if err := l.Admin.ApplyFiles(ctx, PylonNamespace, files...); err != nil {
		return err
	}
	l.log.Info("manifests applied", "files", len(files))
	return nil
}

// writeComponentCredentials writes the controller's and speakers'
// kubeconfigs (ServiceAccount tokens from the TokenRequest API, the LAN
// URL) and the speakers' memberlist key.
func (l *Lab) writeComponentCredentials(ctx context.Context) error {
	for _, c := range []struct {
		sa   string
		path *string
		file string
	}{
		{ControllerServiceAccount, &l.ControllerKubeconfig, "controller.kubeconfig"},
		{SpeakerServiceAccount, &l.SpeakerKubeconfig, "speaker.kubeconfig"},
	} {
		if err := l.Admin.EnsureServiceAccount(ctx, PylonNamespace, c.sa); err != nil {
			return err
		}
		tok, err := l.Admin.ServiceAccountToken(ctx, PylonNamespace, c.sa, tokenTTL)
		if err != nil {
			return err
		}
		*c.path = l.path(c.file)
		if err := kube.WriteKubeconfig(*c.path, l.LANAPIServerURL(), l.Server.CACert(), c.sa, tok); err != nil {
			return err
		}
	}
	key := make([]byte, 32)
	rand.Read(key)
	l.MemberlistKeyFile = l.path("memberlist.key")
	// The speaker reads the file as text (a mounted Secret value) and
	// derives the AES key from it.
	if err := os.WriteFile(l.MemberlistKeyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write memberlist key: %w", err)
	}
	return nil
}

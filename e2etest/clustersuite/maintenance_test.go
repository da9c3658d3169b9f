//go:build e2e

package clustersuite

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/cluster"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
)

// testDrain: `kubectl drain` of the node answering for web-l2 moves its
// L2 addresses and its BGP routes away while the node still forwards, so
// when the node then goes down (its speaker with it) no client request
// fails. The node comes back and is uncordoned afterwards.
func testDrain(t *testing.T, e *env) {
	l2 := e.ingress(t, "demo", "web-l2", 2)
	bgp := e.ingress(t, "demo", "web-bgp", 2)
	node := e.l2Owner(t, "demo", "web-l2")
	t.Cleanup(func() { e.ensureNodeUp(t, node) })
	e.settle(t)
	probes := e.probeAll(t)
	e.kubectl(t, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=2m")
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		for _, ip := range l2 {
			if owner, err := e.c.Announcer(ctx, ip); err != nil || owner == node {
				return false, fmt.Errorf("%s still resolves to %s (%v)", ip, owner, err)
			}
		}
		for _, ip := range bgp {
			if hops, err := e.nextHops(ctx, ip); err != nil || slices.Contains(hops, node) || len(hops) == 0 {
				return false, fmt.Errorf("%s routed over %v (%v)", ip, hops, err)
			}
		}
		return true, nil
	}, "drained %s's addresses move while its speaker runs", node)
	if !e.speakerRunsOn(t, node) {
		t.Errorf("%s's speaker stopped during the drain; the addresses should have moved before", node)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.c.StopNode(stopCtx, node); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the speaker's peers notice it is gone
	probes.settleAndCheck(t, false)
}

// ensureNodeUp boots node again when it is down and uncordons it, so the
// next case finds the cluster whole whatever happened in this one.
func (e *env) ensureNodeUp(t *testing.T, node string) {
	if n := e.c.Node(node); n != nil && n.Check() == nil && !n.Stopped() {
		e.kubectl(t, "uncordon", node)
		return
	}
	e.restartNode(t, node)
	e.kubectl(t, "uncordon", node)
}

// setGracefulRestart turns graceful restart on or off on the sample
// configuration's BGP sessions and waits until every node's sessions are
// up again.
func (e *env) setGracefulRestart(t *testing.T, on bool) {
	t.Helper()
	for _, p := range []string{"frr4", "frr6"} {
		e.kubectl(t, "patch", "bgppeer", "-n", "pylon-system", p, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"enableGracefulRestart":%v}}`, on))
	}
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		ss, err := e.frr.Sessions(ctx)
		return err == nil && routers.CountEstablished(ss) == 2*len(e.c.Nodes), err
	}, "every node's sessions are up again")
}

// speakerRunsOn reports whether node's speaker pod is running and ready.
func (e *env) speakerRunsOn(t testing.TB, node string) bool {
	t.Helper()
	pods, err := e.readyPods(context.Background(), "pylon-system", "app.kubernetes.io/component=speaker")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if p.Spec.NodeName == node {
			return true
		}
	}
	return false
}

// restartNode boots a stopped node and waits for its speaker.
func (e *env) restartNode(t testing.TB, node string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.c.StartNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := e.c.WaitNodesReady(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	e.eventually(t, 2*time.Minute, func(context.Context) (bool, error) { return e.speakerRunsOn(t, node), nil },
		"%s's speaker runs again", node)
}

// testNodeLoss: a node that dies (every process at once, as in a power
// cut) loses its L2 addresses to another node and its BGP routes (BFD);
// clients reach the Service again. How long that takes is measured by the
// cluster benchmark, not here.
func testNodeLoss(t *testing.T, e *env) {
	// With graceful restart, the router keeps a dead node's routes for the
	// restart time (FRR 8.4 does so even when BFD saw the node die): that
	// is the trade graceful restart makes. Here BFD alone must withdraw
	// them.
	e.setGracefulRestart(t, false)
	t.Cleanup(func() { e.setGracefulRestart(t, true) })
	l2 := e.ingress(t, "demo", "web-l2", 2)
	bgp := e.ingress(t, "demo", "web-bgp", 2)
	node := e.l2Owner(t, "demo", "web-l2")
	t.Cleanup(func() { e.ensureNodeUp(t, node) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := e.c.StopNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
		for _, ip := range l2 {
			_, _ = e.get(ctx, "client", ip) // makes the client resolve the address again
			owner, err := e.c.Announcer(ctx, ip)
			if err != nil || owner == node {
				return false, fmt.Errorf("%s resolves to %s (%v)", ip, owner, err)
			}
		}
		for _, ip := range bgp {
			hops, err := e.nextHops(ctx, ip)
			if err != nil || slices.Contains(hops, node) || len(hops) == 0 {
				return false, fmt.Errorf("%s routed over %v (%v)", ip, hops, err)
			}
		}
		return true, nil
	}, "%s's addresses move after it died", node)
	t.Logf("%s died: its addresses moved within %v", node, time.Since(t0).Round(time.Millisecond))
	// Requests that kube-proxy sends to the dead node's backend fail until
	// the node controller marks the node NotReady (40 s) and the backend
	// leaves the EndpointSlice: Kubernetes's part, not Pylon's.
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		for _, p := range []struct {
			host string
			ips  []netip.Addr
		}{{"client", l2}, {"outside", bgp}} {
			for _, ip := range p.ips {
				for range 5 {
					if _, err := e.get(ctx, p.host, ip); err != nil {
						return false, err
					}
				}
			}
		}
		return true, nil
	}, "every request reaches a live backend after %s died", node)
	t.Logf("%s died: every request answered again after %v", node, time.Since(t0).Round(time.Millisecond))
}

// testHelmUpgradeUninstall: `helm upgrade` with changed values rolls the
// components without moving any address or failing a request; `helm
// uninstall` leaves nothing of Pylon behind but its CRDs and the
// configuration objects the user made with them.
func testHelmUpgradeUninstall(t *testing.T, e *env) {
	e.settle(t)
	before := e.allIngress(t)
	probes := e.probeAll(t)
	e.helm(t, "upgrade", "pylon", filepath.Join(e.root, "charts", "pylon"), "--namespace", "pylon-system",
		"--reuse-values", "--set", "logLevel=debug", "--set", "speaker.extraArgs={--handoff-timeout=3s}", "--wait", "--timeout", "3m")
	e.waitRollout(t, "pylon-system", "daemonset/pylon-speaker")
	e.waitRollout(t, "pylon-system", "deployment/pylon-controller")
	probes.settleAndCheck(t, true)
	if after := e.allIngress(t); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("addresses changed across helm upgrade:\nbefore %v\nafter  %v", before, after)
	}
	ds := e.kubectl(t, "get", "daemonset", "-n", "pylon-system", "pylon-speaker", "-o", "jsonpath={.spec.template.spec.containers[0].args}")
	if !strings.Contains(ds, "--handoff-timeout=3s") || !strings.Contains(ds, "--log-level=debug") {
		t.Errorf("speaker args after upgrade: %s", ds)
	}

	e.helm(t, "uninstall", "pylon", "--namespace", "pylon-system", "--wait", "--timeout", "3m")
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		left, err := e.pylonLeftovers(ctx)
		if len(left) > 0 {
			return false, fmt.Errorf("left behind: %v", left)
		}
		return err == nil, err
	}, "helm uninstall leaves only the CRDs")
}

// pylonLeftovers lists Pylon's objects still in the cluster, except its
// CRDs and the configuration objects users make (pools, advertisements,
// peers, profiles, communities): anything else in pylon-system but the
// namespace's own defaults, Pylon's status objects anywhere, and
// cluster-scoped objects named pylon.
func (e *env) pylonLeftovers(ctx context.Context) ([]string, error) {
	var left []string
	for _, kinds := range []string{
		"all,secrets,configmaps,serviceaccounts,roles,rolebindings,leases,endpointslices,poddisruptionbudgets",
		"ipaddresspools,l2advertisements,bgpadvertisements,bgppeers,bfdprofiles,communities,servicel2statuses,servicebgpstatuses,configurationstates",
	} {
		out, err := e.c.Kubectl(ctx, "get", kinds, "-A", "--ignore-not-found",
			"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name} {.metadata.namespace}{"\n"}{end}`)
		if err != nil && strings.Contains(err.Error(), "doesn't have a resource type") {
			continue // the CRDs are gone (kubectl delete -k), and their objects with them
		}
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			name, ns, _ := strings.Cut(line, " ")
			if name == "" {
				continue
			}
			inNS := ns == "pylon-system" && name != "ConfigMap/kube-root-ca.crt" && name != "ServiceAccount/default"
			pylonStatus := strings.HasPrefix(name, "ServiceL2Status/") || strings.HasPrefix(name, "ServiceBGPStatus/") ||
				strings.HasPrefix(name, "ConfigurationState/")
			if (inNS || pylonStatus) && !userKind(name) {
				left = append(left, ns+"/"+name)
			}
		}
	}
	out, err := e.c.Kubectl(ctx, "get", "clusterroles,clusterrolebindings,validatingwebhookconfigurations,mutatingwebhookconfigurations", "-o", "name")
	if err != nil {
		return nil, err
	}
	for _, n := range strings.Fields(string(out)) {
		if strings.Contains(n, "pylon") {
			left = append(left, n)
		}
	}
	return left, nil
}

// testKustomizeReinstall: after helm uninstall, `kubectl apply -k` of
// config/default (an overlay that only sets the image tag, as the README
// tells users) installs Pylon again; every Service keeps the address it
// had, and clients reach it over L2 and BGP. `kubectl delete -k` then
// removes everything, CRDs included.
func testKustomizeReinstall(t *testing.T, e *env) {
	before := e.allIngress(t)
	dir := filepath.Join(e.c.Dir, "overlay")
	rel, err := filepath.Rel(dir, filepath.Join(e.root, "config", "default"))
	if err != nil {
		t.Fatal(err)
	}
	overlay := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\nimages:\n- name: ghcr.io/pylonlb/pylon\n  newTag: %s\n", rel, cluster.PylonTag)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o644); err != nil {
		t.Fatal(err)
	}
	e.kubectl(t, "apply", "--server-side", "--force-conflicts", "-k", dir)
	e.waitRollout(t, "pylon-system", "deployment/pylon-controller")
	e.waitRollout(t, "pylon-system", "daemonset/pylon-speaker")
	e.apply(t, cluster.SampleConfig)
	if after := e.allIngress(t); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("addresses changed across the reinstall:\nbefore %v\nafter  %v", before, after)
	}
	for host, svc := range map[string]string{"client": "web-l2", "outside": "web-bgp"} {
		for _, ip := range e.ingress(t, "demo", svc, 2) {
			e.eventually(t, time.Minute, func(ctx context.Context) (bool, error) {
				_, err := e.get(ctx, host, ip)
				return err == nil, err
			}, "%s reaches %s (%s) after the reinstall", host, ip, svc)
		}
	}
	e.kubectl(t, "delete", "-n", "demo", "service", "--all")
	e.kubectl(t, "delete", "-k", dir, "--wait=true", "--timeout=3m")
	e.eventually(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		left, err := e.pylonLeftovers(ctx)
		if err == nil {
			out, _ := e.c.Kubectl(ctx, "get", "crds", "-o", "name")
			for _, n := range strings.Fields(string(out)) {
				if strings.HasSuffix(n, ".pylonlb.io") {
					left = append(left, n)
				}
			}
		}
		if len(left) > 0 {
			return false, fmt.Errorf("left behind: %v", left)
		}
		return err == nil, err
	}, "kubectl delete -k leaves nothing of Pylon")
}

// userKind reports whether a "Kind/name" is a configuration object
// users create (they stay with the CRDs, as with any chart).
func userKind(name string) bool {
	for _, k := range []string{"IPAddressPool/", "L2Advertisement/", "BGPAdvertisement/", "BGPPeer/", "BFDProfile/", "Community/"} {
		if strings.HasPrefix(name, k) {
			return true
		}
	}
	return false
}

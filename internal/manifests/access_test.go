package manifests_test

import (
	"context"
	"fmt"
	gostrings "strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// An access is one request a component makes, written like
// "verb resource[.group][/subresource] [ns=NS] [name=NAME]"; "$NS" stands
// for Pylon's namespace.
type access string

// configKinds are Pylon's configuration kinds.
var configKinds = []string{"ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities"}

// read expands to get, list and watch of each resource in $NS.
func read(resources ...string) []access {
	var out []access
	for _, r := range resources {
		for _, v := range []string{"get", "list", "watch"} {
			out = append(out, access(v+" "+r+" ns=$NS"))
		}
	}
	return out
}

// readWrite expands to every verb on the status kinds and their status.
func readWrite(resources ...string) []access {
	var out []access
	for _, r := range resources {
		for _, v := range []string{"get", "list", "watch", "create", "update", "patch", "delete"} {
			out = append(out, access(v+" "+r+" ns=$NS"))
		}
	}
	return out
}

func pylon(kinds ...string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k + ".pylonlb.io"
	}
	return out
}

const vwc = "validatingwebhookconfigurations.admissionregistration.k8s.io"

// controllerAllowed is everything the controller needs.
var controllerAllowed = concat(
	[]access{
		"get services ns=default", "list services", "watch services", "patch services ns=default", "update services ns=default",
		"get services/status ns=default", "patch services/status ns=default", "update services/status ns=default",
		"get namespaces name=default", "list namespaces", "watch namespaces",
		"get nodes name=n1", "list nodes", "watch nodes", // reserved addresses
		"create events ns=default", "patch events ns=default", "update events ns=default",
		"create events.events.k8s.io ns=default", "patch events.events.k8s.io ns=default",
		"get " + vwc + " name=pylon-validating-webhook", "list " + vwc + " name=pylon-validating-webhook",
		"watch " + vwc + " name=pylon-validating-webhook", "patch " + vwc + " name=pylon-validating-webhook",
		"update " + vwc + " name=pylon-validating-webhook",
		"get ipaddresspools.pylonlb.io/status ns=$NS", "patch ipaddresspools.pylonlb.io/status ns=$NS",
		"update ipaddresspools.pylonlb.io/status ns=$NS",
		"get secrets ns=$NS name=bgp-password", "list secrets ns=$NS", "watch secrets ns=$NS", "create secrets ns=$NS",
		"update secrets ns=$NS name=pylon-memberlist", "update secrets ns=$NS name=pylon-webhook-cert",
		"get leases.coordination.k8s.io ns=$NS name=pylon-controller", "create leases.coordination.k8s.io ns=$NS",
		"update leases.coordination.k8s.io ns=$NS name=pylon-controller",
		"get clusterroles.rbac.authorization.k8s.io name=pylon-controller",
	},
	read(pylon(configKinds...)...),
	readWrite(pylon("configurationstates")...),
)

// controllerDenied are requests the controller must not be able to make.
var controllerDenied = []access{
	"create services ns=default", "delete services ns=default", "update services/finalizers ns=default",
	"list secrets", "get secrets ns=default name=x", "update secrets ns=$NS name=other", "patch secrets ns=$NS name=pylon-memberlist",
	"delete secrets ns=$NS name=pylon-memberlist",
	"list " + vwc, "patch " + vwc + " name=other", "create " + vwc, "delete " + vwc + " name=pylon-validating-webhook",
	"list validatingadmissionpolicies.admissionregistration.k8s.io",
	"update nodes name=n1", "patch nodes/status name=n1",
	"list ipaddresspools.pylonlb.io ns=default", "update ipaddresspools.pylonlb.io ns=$NS name=p",
	"create bgppeers.pylonlb.io ns=$NS", "delete ipaddresspools.pylonlb.io ns=$NS name=p",
	"create servicel2statuses.pylonlb.io ns=$NS", "create configurationstates.pylonlb.io ns=default",
	"create leases.coordination.k8s.io ns=default", "delete leases.coordination.k8s.io ns=$NS name=pylon-controller",
	"get pods ns=$NS", "create pods ns=$NS", "create serviceaccounts/token ns=$NS name=pylon-speaker",
	"create clusterroles.rbac.authorization.k8s.io", "get clusterroles.rbac.authorization.k8s.io name=pylon-speaker",
	"list clusterroles.rbac.authorization.k8s.io", "update clusterroles.rbac.authorization.k8s.io name=pylon-controller",
	"update customresourcedefinitions.apiextensions.k8s.io name=bgppeers.pylonlb.io",
}

// speakerAllowed is everything the speaker needs.
var speakerAllowed = concat(
	[]access{
		"get services ns=default", "list services", "watch services",
		"list endpointslices.discovery.k8s.io", "watch endpointslices.discovery.k8s.io", "get endpointslices.discovery.k8s.io ns=default",
		"get nodes name=n1", "list nodes", "watch nodes", "get namespaces name=default", "list namespaces", "watch namespaces",
		"create events ns=default", "patch events ns=default", "update events ns=default",
		"create events.events.k8s.io ns=default", "patch events.events.k8s.io ns=default",
		"get secrets ns=$NS name=pylon-memberlist", "list secrets ns=$NS", "watch secrets ns=$NS",
		"get clusterroles.rbac.authorization.k8s.io name=pylon-speaker",
		"get daemonsets.apps ns=$NS name=pylon-speaker",
	},
	read(pylon(configKinds...)...),
	readWrite(pylon("servicebgpstatuses", "configurationstates")...),
	[]access{"create servicel2statuses.pylonlb.io ns=default", "delete servicel2statuses.pylonlb.io ns=default name=s",
		"list servicel2statuses.pylonlb.io", "watch servicel2statuses.pylonlb.io"},
)

// speakerDenied are requests the speaker must not be able to make.
var speakerDenied = []access{
	"update nodes name=n1", "patch nodes/status name=n1", "patch services ns=default", "update services/status ns=default",
	"delete endpointslices.discovery.k8s.io ns=default name=e", "get secrets ns=default name=x", "list secrets",
	"create secrets ns=$NS", "update secrets ns=$NS name=pylon-memberlist",
	"update ipaddresspools.pylonlb.io/status ns=$NS name=p", "create ipaddresspools.pylonlb.io ns=$NS",
	"list ipaddresspools.pylonlb.io ns=default", "create servicebgpstatuses.pylonlb.io ns=default",
	"create leases.coordination.k8s.io ns=$NS", "list pods", "get pods ns=$NS",
	"patch " + vwc + " name=pylon-validating-webhook", "create serviceaccounts/token ns=$NS name=pylon-controller",
	"get clusterroles.rbac.authorization.k8s.io name=pylon-controller",
	"get daemonsets.apps ns=$NS name=other", "update daemonsets.apps ns=$NS name=pylon-speaker",
}

func concat(lists ...[]access) []access {
	var out []access
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// attributes parses an access for namespace ns.
func (a access) attributes(ns string) (*authorizationv1.ResourceAttributes, error) {
	fields := gostrings.Fields(gostrings.ReplaceAll(string(a), "$NS", ns))
	if len(fields) < 2 {
		return nil, fmt.Errorf("access %q: want a verb and a resource", a)
	}
	ra := &authorizationv1.ResourceAttributes{Verb: fields[0]}
	res, sub, _ := gostrings.Cut(fields[1], "/")
	ra.Resource, ra.Group, _ = gostrings.Cut(res, ".")
	ra.Subresource = sub
	for _, f := range fields[2:] {
		k, v, _ := gostrings.Cut(f, "=")
		switch k {
		case "ns":
			ra.Namespace = v
		case "name":
			ra.Name = v
		default:
			return nil, fmt.Errorf("access %q: unknown field %q", a, f)
		}
	}
	return ra, nil
}

// allowed asks the API server whether ServiceAccount ns/sa may make the
// request.
func allowed(ctx context.Context, c client.Client, ns, sa string, a access) (bool, error) {
	ra, err := a.attributes(ns)
	if err != nil {
		return false, err
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + ns + ":" + sa,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: ra,
	}}
	if err := c.Create(ctx, sar); err != nil {
		return false, fmt.Errorf("review %q: %w", a, err)
	}
	return sar.Status.Allowed, nil
}

// checkAccess checks a component's allowed and denied requests in ns.
func checkAccess(t *testing.T, c client.Client, ns, sa string, allow, deny []access) {
	t.Helper()
	ctx := context.Background()
	for want, list := range map[bool][]access{true: allow, false: deny} {
		for _, a := range list {
			got, err := allowed(ctx, c, ns, sa, a)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s: %q allowed = %t, want %t", sa, a, got, want)
			}
		}
	}
}

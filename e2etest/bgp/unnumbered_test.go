//go:build e2e

package bgp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// testUnnumbered: a BGPPeer with interface p2p0 opens, from every node, an
// unnumbered session over the node's point-to-point link to the router,
// where FRR runs "neighbor p2p-nodeN interface". Both families of a
// dual-stack Service travel over it with the node's link-local address as
// next hop (IPv4 too: RFC 8950), reach the router's kernel that way, and
// carry traffic from outside; the node's status reports the session with
// the router's link-local address. A peer on an interface the nodes lack
// is reported down with the reason, without an address.
func testUnnumbered(t *testing.T, e *env) {
	nodes := e.l.NodeNames()
	e.frrUnnumbered(t, nodes)
	e.apply(t, peer("p2p", `{myASN: 64501, peerASN: 64500, interface: p2p0, connectTime: 1s}`)+
		peer("nolink", `{myASN: 64501, peerASN: 64500, interface: nope0}`)+
		adv("p2p", "{ipAddressPools: [main], peers: [p2p]}"))
	e.waitUnnumbered(t, nodes)
	e.waitSessionStatus(t, "nolink", len(nodes), func(_ string, s v1beta1.BGPSessionStatus) error {
		if s.State != "Idle" || s.Address != "" || !strings.Contains(s.LastError, "nope0") {
			return fmt.Errorf("session %+v, want Idle without address, the reason naming nope0", s)
		}
		return nil
	})

	ips := e.service(t, svc{name: "unnumbered", families: dualStack, ready: []string{"node1"}})
	want := e.p2pAddrs(nodes)
	for _, ip := range ips {
		dst := host(ip)
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.frr.Routes(ctx)
			if err != nil {
				return false, err
			}
			var got []netip.Addr
			for _, r := range rs {
				if r.Prefix == dst {
					got = append(got, r.LinkLocalNextHop)
				}
			}
			slices.SortFunc(got, netip.Addr.Compare)
			if !slices.Equal(got, want) {
				return false, fmt.Errorf("link-local next hops %v", got)
			}
			return true, nil
		}, "FRR has %s from every node via its link-local address %v", dst, want)
		e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
			rs, err := e.l.KernelRoutes(ctx, "router")
			if err != nil {
				return false, err
			}
			r, _ := routers.KernelRouteTo(rs, dst)
			if !slices.Equal(r.NextHops, want) || !strings.HasPrefix(r.Dev, "p2p-") {
				return false, fmt.Errorf("route %+v", r)
			}
			return true, nil
		}, "the router's kernel routes %s via %v on the point-to-point links", dst, want)
		e.serve(t, ip)
		t.Logf("outside → %s answered by %s", ip, e.waitHTTP(t, ip))
	}
}

// frrUnnumbered adds FRR's unnumbered neighbours on the router's ends of
// the nodes' point-to-point links (both families), and removes them when t
// ends.
func (e *env) frrUnnumbered(t *testing.T, nodes []string) {
	t.Helper()
	router := fmt.Sprintf("router bgp %d", lab.RouterASN)
	add := []string{"configure terminal", router}
	del := []string{"configure terminal", router}
	for _, n := range nodes {
		ifname := topo.RouterP2PIface(n)
		add = append(add, fmt.Sprintf("neighbor %s interface remote-as external", ifname))
		del = append(del, "no neighbor "+ifname)
	}
	for _, af := range []string{"ipv4", "ipv6"} {
		add = append(add, "address-family "+af+" unicast")
		for _, n := range nodes {
			add = append(add, fmt.Sprintf("neighbor %s activate", topo.RouterP2PIface(n)))
		}
		add = append(add, "exit-address-family")
	}
	if _, err := e.frr.Vtysh(ctx(t), add...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := e.frr.Vtysh(context.Background(), del...); err != nil {
			t.Error(err)
		}
	})
}

// waitUnnumbered waits until FRR's session on every node's link is
// Established and each node's ServiceBGPStatus reports the session p2p
// Established with the router's link-local address on p2p0.
func (e *env) waitUnnumbered(t *testing.T, nodes []string) {
	t.Helper()
	e.eventually(t, 60*time.Second, func(ctx context.Context) (bool, error) {
		out, err := e.frr.Vtysh(ctx, "show bgp neighbors json")
		if err != nil {
			return false, err
		}
		var ns map[string]frrNeighbor
		if err := json.Unmarshal(out, &ns); err != nil {
			return false, err
		}
		for _, n := range nodes {
			if s := ns[topo.RouterP2PIface(n)]; s.State != "Established" {
				return false, fmt.Errorf("%s is %q", topo.RouterP2PIface(n), s.State)
			}
		}
		return true, nil
	}, "FRR's unnumbered sessions with %v are Established", nodes)
	router := e.l.Router()
	e.waitSessionStatus(t, "p2p", len(nodes), func(node string, s v1beta1.BGPSessionStatus) error {
		rif, _ := router.Iface(topo.RouterP2PIface(node))
		if want := rif.LinkLocal().WithZone(topo.NodeP2PIface).String(); s.State != "Established" || s.Address != want {
			return fmt.Errorf("session %+v, want Established with %s", s, want)
		}
		return nil
	})
}

// waitSessionStatus waits until n nodes report the session with peer in
// their ServiceBGPStatus, each passing check.
func (e *env) waitSessionStatus(t *testing.T, peer string, n int, check func(node string, s v1beta1.BGPSessionStatus) error) {
	t.Helper()
	e.eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		list, err := e.l.Admin.Dynamic.Resource(v1beta1.GroupVersion.WithResource("servicebgpstatuses")).
			Namespace(lab.PylonNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		seen := 0
		for _, u := range list.Items {
			var st v1beta1.ServiceBGPStatus
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &st); err != nil {
				return false, err
			}
			for _, s := range st.Status.Sessions {
				if s.Peer != peer {
					continue
				}
				if err := check(st.Status.Node, s); err != nil {
					return false, fmt.Errorf("%s: %w", st.Status.Node, err)
				}
				seen++
			}
		}
		if seen != n {
			return false, fmt.Errorf("%d nodes report the session", seen)
		}
		return true, nil
	}, "%d nodes report their session with %s as expected", n, peer)
}

// p2pAddrs returns, sorted, the link-local addresses of the nodes' ends of
// their point-to-point links.
func (e *env) p2pAddrs(nodes []string) []netip.Addr {
	var out []netip.Addr
	for _, n := range nodes {
		i, _ := e.l.Node(n).Iface(topo.NodeP2PIface)
		out = append(out, i.LinkLocal())
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

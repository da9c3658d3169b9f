package demo

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/kube"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// Namespace holds the demo Services.
const Namespace = "demo"

// Mode is how a demo Service's IPs reach clients.
type Mode string

// The two modes of the demo.
const (
	L2  Mode = "L2"  // ARP/NDP answers on the LAN: the client host reaches it
	BGP Mode = "BGP" // routes at the router: the outside host reaches it
)

// Service is a demo Service: dual-stack, in one pool, with a ready
// endpoint on every node.
type Service struct {
	Name string
	Pool string
	Mode Mode
}

// Services are the demo's Services, one per pool of Config.
var Services = []Service{
	{Name: "demo-l2", Pool: L2Pool, Mode: L2},
	{Name: "demo-bgp", Pool: BGPPool, Mode: BGP},
}

// Facts is what the demo found out about its Services.
type Facts struct {
	Services []ServiceFacts
}

// ServiceFacts are one Service's facts.
type ServiceFacts struct {
	Service
	// IPs in the Service's status, each with what was seen of it.
	IPs []IPFacts
	// Err says why the Service has no IPs, if so.
	Err string
}

// IPFacts is what was seen of one assigned IP.
type IPFacts struct {
	IP netip.Addr
	// MAC and Announcer (L2): the client's neighbour entry for the IP and
	// the node owning that MAC.
	MAC, Announcer string
	// RouterPaths (BGP) is the number of paths in FRR's BGP table;
	// NextHops the nodes the router's kernel route goes through.
	RouterPaths int
	NextHops    []string
	// From is the host that sent the HTTP request; Answer the node that
	// answered it.
	From, Answer string
	// Err says what could not be seen, if anything.
	Err string
}

// Create creates the demo Services (in Namespace) with a ready IPv4 and
// IPv6 endpoint on every node. Existing ones are left as they are.
func Create(ctx context.Context, l *lab.Lab) error {
	if err := l.Admin.EnsureNamespace(ctx, Namespace); err != nil {
		return err
	}
	for _, s := range Services {
		svc := kube.NewLoadBalancer(Namespace, s.Name)
		svc.Annotations = map[string]string{v1beta1.AnnotationAddressPool: s.Pool}
		svc.Spec.IPFamilyPolicy = new(corev1.IPFamilyPolicyPreferDualStack)
		_, err := l.Admin.Kube.CoreV1().Services(Namespace).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create service %s/%s: %w", Namespace, s.Name, err)
		}
		var eps []kube.Endpoint
		for _, n := range l.Topo.Nodes() {
			eps = append(eps, kube.Endpoint{Node: n.Name, Addr: n.IPv4(), Ready: true},
				kube.Endpoint{Node: n.Name, Addr: n.IPv6(), Ready: true})
		}
		if err := l.Admin.SetEndpoints(ctx, types.NamespacedName{Namespace: Namespace, Name: s.Name}, eps); err != nil {
			return err
		}
	}
	return nil
}

// Run creates the demo Services, waits for their IPs, makes every node
// serve them (the kube-proxy stand-in) and collects the facts, waiting up
// to timeout for each to be complete.
func Run(ctx context.Context, l *lab.Lab, frr *routers.FRR, timeout time.Duration) (*Facts, error) {
	if err := Create(ctx, l); err != nil {
		return nil, err
	}
	return Collect(ctx, l, frr, timeout)
}

// Collect reads the demo Services' IPs and, for each, who announces it
// and who answers an HTTP request through it, polling up to timeout until
// each fact is complete (L2: the announcing node answers; BGP: a route
// through every node with a speaker and an answer). Incomplete facts carry
// an Err; the error is only for a failure to read the Services.
func Collect(ctx context.Context, l *lab.Lab, frr *routers.FRR, timeout time.Duration) (*Facts, error) {
	f := &Facts{}
	for _, s := range Services {
		sf := ServiceFacts{Service: s}
		ips, err := waitIPs(ctx, l, s.Name, timeout)
		if err != nil {
			sf.Err = err.Error()
		}
		for _, ip := range ips {
			if err := l.ServeIP(ctx, ip); err != nil {
				return f, err
			}
			sf.IPs = append(sf.IPs, collectIP(ctx, l, frr, s.Mode, ip, timeout))
		}
		f.Services = append(f.Services, sf)
	}
	return f, nil
}

// waitIPs waits until the Service has an IP of each family the lab can
// give it (two: the pools are dual-stack), or timeout, and returns what it
// has.
func waitIPs(ctx context.Context, l *lab.Lab, name string, timeout time.Duration) ([]netip.Addr, error) {
	var ips []netip.Addr
	err := WaitPylon(ctx, l, timeout, 20*time.Millisecond, func(ctx context.Context) (bool, error) {
		svc, err := l.Admin.Kube.CoreV1().Services(Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ips = kube.IngressIPs(svc)
		return len(ips) >= 2, nil
	})
	if err != nil && len(ips) == 0 {
		return nil, fmt.Errorf("no IP in the status of %s/%s: %w", Namespace, name, err)
	}
	return ips, nil
}

func collectIP(ctx context.Context, l *lab.Lab, frr *routers.FRR, m Mode, ip netip.Addr, timeout time.Duration) IPFacts {
	f := IPFacts{IP: ip}
	cond := func(ctx context.Context) (bool, error) { return l2Facts(ctx, l, &f) }
	if m == BGP {
		cond = func(ctx context.Context) (bool, error) { return bgpFacts(ctx, l, frr, &f) }
	}
	err := wait.For(ctx, timeout, 50*time.Millisecond, cond)
	if err != nil && f.Err == "" {
		f.Err = err.Error()
	}
	if err == nil {
		f.Err = ""
	}
	return f
}

// l2Facts asks the client for the IP, then reads who answered its ARP/NDP
// request; complete when both are known and agree.
func l2Facts(ctx context.Context, l *lab.Lab, f *IPFacts) (bool, error) {
	f.From = "client"
	f.Answer, f.Announcer, f.MAC, f.Err = "", "", "", ""
	answer, err := l.HTTP(ctx, f.From, f.IP)
	if err != nil {
		f.Err = fmt.Sprintf("HTTP from client: %v", err)
	}
	f.Answer = answer
	ns, nerr := probe.Neighbors(ctx, l.Client().NS, "eth0")
	if nerr == nil {
		if n, ok := probe.NeighborOf(ns, f.IP); ok && n.Resolved() {
			f.MAC = n.MAC.String()
			if h, ok := l.Topo.HostByMAC(n.MAC); ok {
				f.Announcer = h.Name
			}
		}
	}
	if err != nil {
		return false, err
	}
	if f.Announcer != f.Answer {
		f.Err = fmt.Sprintf("client's neighbour entry says %q but %q answered", f.Announcer, f.Answer)
		return false, nil
	}
	return true, nil
}

// bgpFacts reads the router's BGP table and kernel route for the IP, then
// asks the outside host for it; complete when the route goes through
// every node with a speaker and the request was answered.
func bgpFacts(ctx context.Context, l *lab.Lab, frr *routers.FRR, f *IPFacts) (bool, error) {
	f.From = "outside"
	f.Answer, f.NextHops, f.RouterPaths, f.Err = "", nil, 0, ""
	if frr == nil {
		f.Err = "no router running"
		return false, nil
	}
	dst := netip.PrefixFrom(f.IP, f.IP.BitLen())
	if rs, err := frr.Routes(ctx); err == nil {
		f.RouterPaths = len(routers.NextHops(rs, dst))
	}
	krs, err := l.KernelRoutes(ctx, "router")
	if err != nil {
		return false, err
	}
	if r, ok := routers.KernelRouteTo(krs, dst); ok {
		for _, nh := range r.NextHops {
			name := nh.String()
			if h, ok := l.Topo.HostByAddr(nh); ok {
				name = h.Name
			}
			f.NextHops = append(f.NextHops, name)
		}
	}
	answer, err := l.HTTP(ctx, f.From, f.IP)
	f.Answer = answer
	if err != nil {
		f.Err = fmt.Sprintf("HTTP from outside: %v", err)
		return false, nil
	}
	if want := liveSpeakers(l); len(f.NextHops) < want {
		f.Err = fmt.Sprintf("router's route has %d next hops, %d speakers run", len(f.NextHops), want)
		return false, nil
	}
	return true, nil
}

// liveSpeakers counts the speakers running now.
func liveSpeakers(l *lab.Lab) int {
	n := 0
	for _, node := range l.NodeNames() {
		if p := l.Speaker(node); p != nil && !p.Exited() {
			n++
		}
	}
	return n
}

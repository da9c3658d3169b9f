package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
	"github.com/pylonlb/pylon/e2etest/lab/wait"
)

// Pool and Service names of the sample configuration.
const (
	L2Pool  = "demo-l2"
	BGPPool = "demo-bgp"
)

// Config is the sample configuration: an L2 pool on the LAN (dual-stack)
// with its L2Advertisement, and a BGP pool off the LAN (dual-stack, only
// for Services that ask for it) announced to the router over one IPv4 and
// one IPv6 session per node, with BFD (100 ms × 3) so a cut link takes a
// node's routes away in about a second rather than the 9 s hold time.
const Config = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: demo-l2}
spec:
  addresses: [192.168.77.128/26, "fd00:77::100/120"]
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: demo-l2}
spec:
  ipAddressPools: [demo-l2]
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: demo-bgp}
spec:
  addresses: [198.51.100.0/24, "2001:db8:100::/64"]
  autoAssign: false
  avoidBuggyIPs: true
---
apiVersion: pylonlb.io/v1beta1
kind: BFDProfile
metadata: {name: fast}
spec: {receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: router-v4}
spec: {myASN: 64501, peerASN: 64500, peerAddress: 192.168.77.254, holdTime: 9s, bfdProfile: fast}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPPeer
metadata: {name: router-v6}
spec: {myASN: 64501, peerASN: 64500, peerAddress: "fd00:77::254", holdTime: 9s, bfdProfile: fast}
---
apiVersion: pylonlb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: demo-bgp}
spec:
  ipAddressPools: [demo-bgp]
`

// Options tunes Prepare.
type Options struct {
	// NoRouter skips FRR and the wait for BGP sessions.
	NoRouter bool
	// Config replaces the sample configuration (YAML) when not empty.
	Config string
	// Pylon is passed to StartPylon (speaker and controller flags).
	Pylon lab.PylonOptions
	// Timeout bounds the wait for readiness (default 90 s).
	Timeout time.Duration
}

// RouterConfig is the router's side of the sample configuration: dynamic
// neighbours from the whole LAN (both families) in the nodes' AS, with BFD.
func RouterConfig(l *lab.Lab) routers.BGPConfig {
	return routers.BGPConfig{
		ASN:      lab.RouterASN,
		RouterID: l.Router().IPv4(),
		Listen: []routers.ListenRange{
			{Prefix: topo.LANv4, ASN: lab.NodeASN, BFD: true},
			{Prefix: topo.LANv6, ASN: lab.NodeASN, BFD: true},
		},
	}
}

// Prepare makes l a running Pylon installation: FRR on the router, the
// configuration applied, the controller and a speaker per node started; it
// returns once the controller is ready and (with a router) every speaker
// has an established IPv4 and IPv6 session. The FRR instance is nil with
// NoRouter. Everything started is removed by l.Close.
func Prepare(ctx context.Context, l *lab.Lab, opts Options) (*routers.FRR, error) {
	if opts.Timeout == 0 {
		opts.Timeout = 90 * time.Second
	}
	var frr *routers.FRR
	if !opts.NoRouter {
		var err error
		if frr, err = l.StartFRR(ctx, "router", RouterConfig(l)); err != nil {
			return nil, fmt.Errorf("start FRR: %w", err)
		}
	}
	cfg := opts.Config
	if cfg == "" {
		cfg = Config
	}
	if err := l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(cfg)); err != nil {
		return nil, fmt.Errorf("apply configuration: %w", err)
	}
	if err := l.StartPylon(ctx, opts.Pylon); err != nil {
		return nil, err
	}
	if err := WaitControllerReady(ctx, l, opts.Timeout); err != nil {
		return nil, err
	}
	if frr != nil {
		want := 2 * len(speakerNodes(l, opts.Pylon))
		if err := WaitSessions(ctx, l, frr, want, opts.Timeout); err != nil {
			return nil, err
		}
	}
	return frr, nil
}

func speakerNodes(l *lab.Lab, o lab.PylonOptions) []string {
	if o.Nodes != nil {
		return o.Nodes
	}
	return l.NodeNames()
}

// WaitControllerReady polls the controller's /readyz (inside ctl) until it
// answers 200: the controller has loaded a valid configuration.
func WaitControllerReady(ctx context.Context, l *lab.Lab, timeout time.Duration) error {
	ns := l.Topo.MustHost("ctl").NS
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DialContext: ns.DialContext}}
	url := "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(lab.ControllerHealthPort)) + "/readyz"
	err := WaitPylon(ctx, l, timeout, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil // not listening yet
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("wait for the controller to be ready: %w", err)
	}
	return nil
}

// WaitSessions waits until FRR has want established sessions.
func WaitSessions(ctx context.Context, l *lab.Lab, frr *routers.FRR, want int, timeout time.Duration) error {
	err := WaitPylon(ctx, l, timeout, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		ss, err := frr.Sessions(ctx)
		return err == nil && routers.CountEstablished(ss) >= want, nil
	})
	if err != nil {
		return fmt.Errorf("wait for %d BGP sessions at the router: %w", want, err)
	}
	return nil
}

// WaitPylon polls cond like wait.For, but stops at once with the log's
// end when a Pylon process of l exited unexpectedly.
func WaitPylon(ctx context.Context, l *lab.Lab, timeout, interval time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var dead error
	err := wait.For(ctx, timeout, interval, func(ctx context.Context) (bool, error) {
		if dead = l.CheckPylon(); dead != nil {
			cancel()
			return false, dead
		}
		return cond(ctx)
	})
	if dead != nil {
		return dead
	}
	return err
}

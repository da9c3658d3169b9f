package lab

import (
	"context"
	"path/filepath"

	"github.com/pylonlb/pylon/e2etest/lab/prereq"
	"github.com/pylonlb/pylon/e2etest/lab/routers"
	"github.com/pylonlb/pylon/e2etest/lab/topo"
)

// Default AS numbers of the lab: the router's and the nodes'.
const (
	RouterASN = 64500
	NodeASN   = 64501
)

// RouterBGPConfig returns a router configuration that accepts sessions from
// any LAN address (IPv4 and IPv6 dynamic neighbours) of peerASN (0: any
// external AS), for the router host (router or router2).
func (l *Lab) RouterBGPConfig(host string, asn, peerASN uint32) routers.BGPConfig {
	return routers.BGPConfig{
		ASN:      asn,
		RouterID: l.Topo.MustHost(host).IPv4(),
		Listen: []routers.ListenRange{
			{Prefix: topo.LANv4, ASN: peerASN},
			{Prefix: topo.LANv6, ASN: peerASN},
		},
	}
}

// StartFRR starts FRR (zebra, bgpd, bfdd when needed) on host; Close stops it.
func (l *Lab) StartFRR(ctx context.Context, host string, cfg routers.BGPConfig) (*routers.FRR, error) {
	return l.startFRR(ctx, routers.FRROptions{Name: host, Config: cfg})
}

// StartFRRRaw starts FRR on host with a hand-written bgpd.conf (e.g. a
// test speaker announcing prefixes).
func (l *Lab) StartFRRRaw(ctx context.Context, host, bgpdConf string) (*routers.FRR, error) {
	return l.startFRR(ctx, routers.FRROptions{Name: host, RawBGPD: bgpdConf})
}

func (l *Lab) startFRR(ctx context.Context, opts routers.FRROptions) (*routers.FRR, error) {
	host := opts.Name
	opts.NS, opts.Dir = l.Topo.MustHost(host).NS, l.RouterDir(host, "frr")
	f, err := routers.StartFRR(ctx, opts)
	if err != nil {
		return nil, err
	}
	l.addUndo("stop FRR on "+host, f.Stop)
	for _, p := range f.Processes() {
		l.track(p)
	}
	return f, nil
}

// StartBIRD starts BIRD 2 on host; Close stops it.
func (l *Lab) StartBIRD(ctx context.Context, host string, cfg routers.BGPConfig) (*routers.BIRD, error) {
	return l.startBIRD(ctx, routers.BIRDOptions{Name: host, Config: cfg})
}

// StartBIRDRaw starts BIRD on host with a hand-written bird.conf.
func (l *Lab) StartBIRDRaw(ctx context.Context, host, birdConf string) (*routers.BIRD, error) {
	return l.startBIRD(ctx, routers.BIRDOptions{Name: host, Raw: birdConf})
}

func (l *Lab) startBIRD(ctx context.Context, opts routers.BIRDOptions) (*routers.BIRD, error) {
	host := opts.Name
	opts.NS, opts.Dir = l.Topo.MustHost(host).NS, l.RouterDir(host, "bird")
	b, err := routers.StartBIRD(ctx, opts)
	if err != nil {
		return nil, err
	}
	l.addUndo("stop BIRD on "+host, b.Stop)
	l.track(b.Process())
	return b, nil
}

// StartGoBGP starts gobgpd on host; Close stops it.
func (l *Lab) StartGoBGP(ctx context.Context, host string, cfg routers.BGPConfig) (*routers.GoBGP, error) {
	opts := routers.GoBGPOptions{Name: host, NS: l.Topo.MustHost(host).NS, Dir: l.RouterDir(host, "gobgp"), Config: cfg}
	g, err := routers.StartGoBGP(ctx, opts)
	if err != nil {
		return nil, err
	}
	l.addUndo("stop gobgpd on "+host, g.Stop)
	l.track(g.Process())
	return g, nil
}

// KernelRoutes reads host's main routing table (both families).
func (l *Lab) KernelRoutes(ctx context.Context, host string) ([]routers.KernelRoute, error) {
	return routers.KernelRoutes(ctx, l.Topo.MustHost(host).NS)
}

// MissingPrograms lists the prerequisites a lab with opts lacks on this
// machine (root, ip, ping, FRR, BIRD, gobgpd, and the control plane's
// binaries).
func MissingPrograms(opts Options) []string {
	progs := []string{"ip", "ping", routers.BIRDPath, routers.BIRDCPath, routers.VtyshPath, routers.GoBGPDPath, routers.GoBGPPath,
		filepath.Join(routers.FRRDir, "zebra"), filepath.Join(routers.FRRDir, "bgpd")}
	if !opts.NetworkOnly {
		bin := opts.KubeBinDir
		if bin == "" {
			bin = prereq.KubeBinDir()
		}
		progs = append(progs, filepath.Join(bin, "etcd"), filepath.Join(bin, "kube-apiserver"))
	}
	return prereq.Missing(progs...)
}

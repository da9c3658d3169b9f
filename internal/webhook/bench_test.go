package webhook

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

// bigConfig is a large installation: 200 pools with an L2 advertisement
// each, 50 BGP advertisements, 20 peers and 5000 Services.
func bigConfig() (model.Objects, []corev1.Service) {
	var o model.Objects
	var svcs []corev1.Service
	for i := range 200 {
		name := fmt.Sprintf("pool-%03d", i)
		o.Pools = append(o.Pools, *pool(name, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)))
		o.L2Advertisements = append(o.L2Advertisements, v1beta1.L2Advertisement{ObjectMeta: meta(name),
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{name}}})
	}
	for i := range 50 {
		o.BGPAdvertisements = append(o.BGPAdvertisements, v1beta1.BGPAdvertisement{ObjectMeta: meta(fmt.Sprintf("bgp-%02d", i)),
			Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{fmt.Sprintf("pool-%03d", i)}, Communities: []string{"gold"}}})
	}
	o.Communities = existing().Communities
	o.BFDProfiles = []v1beta1.BFDProfile{*bfd("fast")}
	for i := range 20 {
		p := peer(fmt.Sprintf("peer-%02d", i), "fast", 0)
		p.Spec.PeerAddress = fmt.Sprintf("192.168.77.%d", i+1)
		o.Peers = append(o.Peers, *p)
	}
	for i := range 5000 {
		svcs = append(svcs, lbService("app", fmt.Sprintf("svc-%04d", i), fmt.Sprintf("10.%d.%d.%d", i/256/256, i/256%256, i%256+1), nil))
	}
	return o, svcs
}

// BenchmarkDecideCreate is the webhook's work for one new pool in a large
// installation (two model conversions).
func BenchmarkDecideCreate(b *testing.B) {
	o, _ := bigConfig()
	ch := change(Create, KindPool, pool("new", "172.16.0.0/24"))
	for b.Loop() {
		if v := Decide(Input{Existing: o, Change: ch}); !v.Allowed {
			b.Fatal(v.Message)
		}
	}
}

// BenchmarkDecideDeletePool is the refusal of a pool in use: a scan of
// 5000 Services.
func BenchmarkDecideDeletePool(b *testing.B) {
	o, svcs := bigConfig()
	ch := del(KindPool, "pool-010")
	for b.Loop() {
		if v := Decide(Input{Existing: o, Change: ch, Services: svcs}); v.Allowed {
			b.Fatal("delete of a pool in use allowed")
		}
	}
}

package plan

import (
	"fmt"
	"testing"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

// BenchmarkL2Plan plans 2,000 single-address Services on 100 speakers
// (what every speaker computes after each membership change).
func BenchmarkL2Plan(b *testing.B) { benchmarkL2Plan(b, benchMembers) }

// BenchmarkL2PlanTwoSegments: half the speakers are on another segment,
// so every address narrows its candidates.
func BenchmarkL2PlanTwoSegments(b *testing.B) {
	benchmarkL2Plan(b, func(names []string) []Member {
		ms := benchMembers(names)
		for k := range ms {
			if k%2 == 1 {
				ms[k] = member(ms[k].Name, "eth0:10.30.0.0/20,fd00:30::/64", "eth1:172.16.0.0/16")
			}
		}
		return ms
	})
}

func benchmarkL2Plan(b *testing.B, members func([]string) []Member) {
	cfg, err := model.From(model.Objects{
		Pools: []v1beta1.IPAddressPool{{ObjectMeta: meta("l2"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.20.0.0/20"}}}},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{
			IPAddressPools: []string{"l2"}}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for n := range 100 {
		names = append(names, fmt.Sprintf("node-%03d", n))
	}
	in := L2Input{Config: cfg, Nodes: nodes(names...), Members: members(names)}
	for n := range 2000 {
		s := svc(fmt.Sprintf("ns/s%d", n), fmt.Sprintf("10.20.%d.%d", n/250, 1+n%250))
		s.ReadyNodes = names
		in.Services = append(in.Services, s)
	}
	b.ReportAllocs()
	for b.Loop() {
		L2(in)
	}
}

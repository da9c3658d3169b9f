package annotations

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        map[string]string
		pool, ips string
		shared    string
		alias     string
		conflict  string
	}{
		{name: "none"},
		{name: "pylon only", in: map[string]string{"pylonlb.io/address-pool": "a"}, pool: "a"},
		{name: "metallb.io", in: map[string]string{"metallb.io/address-pool": "a", "metallb.io/allow-shared-ip": "k"}, pool: "a", shared: "k",
			alias: "Honouring MetalLB annotation metallb.io/address-pool as pylonlb.io/address-pool, metallb.io/allow-shared-ip as pylonlb.io/allow-shared-ip; prefer the pylonlb.io/ annotation"},
		{name: "legacy", in: map[string]string{"metallb.universe.tf/loadBalancerIPs": "10.0.0.1"}, ips: "10.0.0.1",
			alias: "Honouring MetalLB annotation metallb.universe.tf/loadBalancerIPs as pylonlb.io/loadBalancerIPs; prefer the pylonlb.io/ annotation"},
		{name: "agreeing", in: map[string]string{"pylonlb.io/address-pool": "a", "metallb.io/address-pool": "a", "metallb.universe.tf/address-pool": "a"}, pool: "a"},
		{name: "pylon wins", in: map[string]string{"pylonlb.io/address-pool": "a", "metallb.io/address-pool": "b", "metallb.universe.tf/address-pool": "c"}, pool: "a",
			conflict: `Conflicting annotations: pylonlb.io/address-pool="a" wins over metallb.io/address-pool="b", metallb.universe.tf/address-pool="c"`},
		{name: "metallb.io wins over legacy", in: map[string]string{"metallb.io/allow-shared-ip": "x", "metallb.universe.tf/allow-shared-ip": "y"}, shared: "x",
			alias:    "Honouring MetalLB annotation metallb.io/allow-shared-ip as pylonlb.io/allow-shared-ip; prefer the pylonlb.io/ annotation",
			conflict: `Conflicting annotations: metallb.io/allow-shared-ip="x" wins over metallb.universe.tf/allow-shared-ip="y"`},
		{name: "empty value counts", in: map[string]string{"pylonlb.io/allow-shared-ip": "", "metallb.io/allow-shared-ip": "k"},
			conflict: `Conflicting annotations: pylonlb.io/allow-shared-ip="" wins over metallb.io/allow-shared-ip="k"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Resolve(tc.in)
			got := []string{r.Get(AddressPool).Value, r.Get(LoadBalancerIPs).Value, r.Get(AllowSharedIP).Value, r.AliasMessage(), r.ConflictMessage()}
			want := []string{tc.pool, tc.ips, tc.shared, tc.alias, tc.conflict}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	got := [][]string{LoadBalancerIPs.Aliases(), AddressPool.Aliases(), AllowSharedIP.Aliases()}
	want := [][]string{
		{"metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"},
		{"metallb.io/address-pool", "metallb.universe.tf/address-pool"},
		{"metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

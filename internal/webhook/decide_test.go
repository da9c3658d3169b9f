package webhook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

const ns = "pylon-system"

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }

func pool(name string, addrs ...string) *v1beta1.IPAddressPool {
	return &v1beta1.IPAddressPool{ObjectMeta: meta(name), Spec: v1beta1.IPAddressPoolSpec{Addresses: addrs}}
}

func peer(name, bfd string, hold time.Duration) *v1beta1.BGPPeer {
	p := &v1beta1.BGPPeer{ObjectMeta: meta(name), Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513,
		PeerAddress: "192.168.77.1", BFDProfile: bfd}}
	if hold != 0 {
		p.Spec.HoldTime = &metav1.Duration{Duration: hold}
	}
	return p
}

func labelled(p *v1beta1.IPAddressPool) *v1beta1.IPAddressPool {
	p.Labels = map[string]string{"team": "blue"}
	return p
}

func bfd(name string) *v1beta1.BFDProfile { return &v1beta1.BFDProfile{ObjectMeta: meta(name)} }

// existing is a valid configuration using every kind.
func existing() model.Objects {
	return model.Objects{
		Pools:            []v1beta1.IPAddressPool{*pool("a", "192.0.2.0/25")},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"a"}}}},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{{ObjectMeta: meta("bgp"), Spec: v1beta1.BGPAdvertisementSpec{
			Communities: []string{"gold"}}}},
		Peers:       []v1beta1.BGPPeer{*peer("tor", "fast", 0)},
		BFDProfiles: []v1beta1.BFDProfile{*bfd("fast"), *bfd("slow")},
		Communities: []v1beta1.Community{{ObjectMeta: meta("aliases"), Spec: v1beta1.CommunitySpec{
			Communities: []v1beta1.CommunityAlias{{Name: "gold", Value: "65000:1"}}}}},
	}
}

// broken is existing plus two overlapping pools.
func broken() model.Objects {
	o := existing()
	o.Pools = append(o.Pools, *pool("x", "198.51.100.0/24"), *pool("y", "198.51.100.128/25"))
	return o
}

func lbService(namespace, name, ip string, annotations map[string]string) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Annotations: annotations},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
	if ip != "" {
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	}
	return s
}

func change(op Operation, kind string, obj client.Object) Change {
	return Change{Op: op, Kind: kind, Name: obj.GetName(), Object: obj}
}

func del(kind, name string) Change { return Change{Op: Delete, Kind: kind, Name: name} }

func TestDecide(t *testing.T) {
	inUse := []corev1.Service{
		lbService("app", "web", "192.0.2.10", map[string]string{v1beta1.AnnotationAllocatedFromPool: "a"}),
		lbService("app", "db", "192.0.2.11", nil), // no annotation: found by its address
		lbService("other", "x", "203.0.113.1", nil),
	}
	tests := []struct {
		name        string
		existing    model.Objects
		change      Change
		services    []corev1.Service
		terminating bool
		want        Verdict
	}{
		{name: "valid new pool", existing: existing(), change: change(Create, KindPool, pool("b", "192.0.2.128/25")),
			want: Verdict{Allowed: true}},
		{name: "overlapping pool", existing: existing(), change: change(Create, KindPool, pool("b", "192.0.2.64/26")),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindPool, Name: "b", Field: "spec.addresses[0]",
				Message: `192.0.2.64/26 overlaps 192.0.2.0/25 of IPAddressPool "a"`}}}},
		{name: "hold time 2s", existing: existing(), change: change(Create, KindPeer, peer("edge", "", 2*time.Second)),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindPeer, Name: "edge", Field: "spec.holdTime",
				Message: "must be 0 or between 3s and 65535s, got 2s"}, {Kind: KindPeer, Name: "tor", Field: "spec.peerAddress",
				Message: `192.168.77.1:179 is already the address of BGPPeer "edge" on the same nodes`}}}},
		{name: "unknown BFD profile", existing: existing(), change: change(Update, KindPeer, peer("tor", "nope", 0)),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindPeer, Name: "tor", Field: "spec.bfdProfile",
				Message: `unknown BFDProfile "nope"`}}}},
		{name: "valid update", existing: existing(), change: change(Update, KindPool, pool("a", "192.0.2.0/24")),
			want: Verdict{Allowed: true}},
		{name: "deleting a used community alias", existing: existing(), change: del(KindCommunity, "aliases"),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindBGP, Name: "bgp", Field: "spec.communities[0]",
				Message: `unknown community alias "gold" (define it in a Community object)`}}}},
		{name: "deleting a pool an advertisement names", existing: existing(), change: del(KindPool, "a"),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindL2, Name: "l2", Field: "spec.ipAddressPools[0]",
				Message: `unknown IPAddressPool "a"`}}}},
		{name: "deleting a pool in use", existing: existing(), change: del(KindPool, "a"), services: inUse,
			want: Verdict{Reason: InUse, Message: `IPAddressPool "a" is in use by 2 Services: app/db, app/web. Delete them or make them use another pool first`}},
		{name: "deleting a BFD profile in use", existing: existing(), change: del(KindBFD, "fast"),
			want: Verdict{Reason: InUse, Message: `BFDProfile "fast" is in use by BGPPeer "tor" (spec.bfdProfile). Change or delete that peer first`}},
		{name: "deleting an unused BFD profile", existing: existing(), change: del(KindBFD, "slow"),
			want: Verdict{Allowed: true}},
		{name: "anything goes while the namespace terminates", existing: existing(), change: del(KindPool, "a"), services: inUse,
			terminating: true, want: Verdict{Allowed: true}},
		{name: "old problems do not block an unrelated change", existing: broken(), change: change(Create, KindBFD, bfd("new")),
			want: Verdict{Allowed: true, Warnings: []string{"Pylon's configuration has 1 other problem that existed before this change; " +
				"the controller keeps its last valid configuration until they are fixed"}}},
		{name: "old problems of the object itself are warnings", existing: broken(), change: change(Update, KindPool, labelled(pool("y", "198.51.100.128/25"))),
			want: Verdict{Allowed: true, Warnings: []string{`IPAddressPool "y": spec.addresses[0]: 198.51.100.128/25 overlaps 198.51.100.0/24 of IPAddressPool "x" (this problem existed before this change)`}}},
		{name: "a new entry that still overlaps is a new problem", existing: broken(), change: change(Update, KindPool, pool("y", "198.51.100.128/26")),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindPool, Name: "y", Field: "spec.addresses[0]",
				Message: `198.51.100.128/26 overlaps 198.51.100.0/24 of IPAddressPool "x"`}}}},
		{name: "new problems still count amid old ones", existing: broken(), change: change(Create, KindPool, pool("z", "192.0.2.1/32")),
			want: Verdict{Reason: Invalid, Problems: []model.FieldError{{Kind: KindPool, Name: "z", Field: "spec.addresses[0]",
				Message: `192.0.2.1/32 overlaps 192.0.2.0/25 of IPAddressPool "a"`}}}},
		{name: "fixing an old problem", existing: broken(), change: del(KindPool, "y"), want: Verdict{Allowed: true}},
		{name: "kind not checked", existing: existing(), change: Change{Op: Create, Kind: "Secret", Name: "s", Object: &corev1.Secret{}},
			want: Verdict{Reason: Unsupported}},
		{name: "object of the wrong kind", existing: existing(), change: Change{Op: Create, Kind: KindPool, Name: "p", Object: bfd("p")},
			want: Verdict{Reason: Unsupported}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(Input{Existing: tc.existing, Change: tc.change, Services: tc.services, NamespaceTerminating: tc.terminating})
			if tc.want.Message == "" {
				got.Message = "" // checked by TestRefusalMessages
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRefusalMessages(t *testing.T) {
	tests := []struct {
		name     string
		existing model.Objects
		change   Change
		want     []string // lines
	}{
		{"create", existing(), change(Create, KindPool, pool("b", "192.0.2.64/26")), []string{
			`this create of IPAddressPool "b" would make Pylon's configuration invalid:`,
			`- IPAddressPool "b": spec.addresses[0]: 192.0.2.64/26 overlaps 192.0.2.0/25 of IPAddressPool "a"`,
		}},
		{"delete", existing(), del(KindCommunity, "aliases"), []string{
			`deleting Community "aliases" would make Pylon's configuration invalid:`,
			`- BGPAdvertisement "bgp": spec.communities[0]: unknown community alias "gold" (define it in a Community object)`,
		}},
		{"old problems are mentioned", broken(), change(Update, KindPeer, peer("tor", "nope", 0)), []string{
			`this update of BGPPeer "tor" would make Pylon's configuration invalid:`,
			`- BGPPeer "tor": spec.bfdProfile: unknown BFDProfile "nope"`,
			`(1 problem that existed before this change is not counted)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(Input{Existing: tc.existing, Change: tc.change})
			if diff := cmp.Diff(tc.want, strings.Split(got.Message, "\n")); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefusalListsAtMost20 checks that a delete breaking many objects
// lists 20 problems and counts the rest.
func TestRefusalListsAtMost20(t *testing.T) {
	o := existing()
	for i := range 25 {
		o.L2Advertisements = append(o.L2Advertisements, v1beta1.L2Advertisement{ObjectMeta: meta(fmt.Sprintf("l2-%02d", i)),
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"a"}}})
	}
	got := Decide(Input{Existing: o, Change: del(KindPool, "a")})
	lines := strings.Split(got.Message, "\n")
	if len(got.Problems) != 26 || len(lines) != 22 || lines[21] != "- and 6 more" {
		t.Fatalf("%d problems, message:\n%s", len(got.Problems), got.Message)
	}
}

// TestDecideDoesNotModifyInput checks that the existing objects are not
// changed by a decision.
func TestDecideDoesNotModifyInput(t *testing.T) {
	o := existing()
	before := existing()
	Decide(Input{Existing: o, Change: change(Update, KindPool, pool("a", "10.0.0.0/8"))})
	Decide(Input{Existing: o, Change: del(KindBFD, "slow")})
	if diff := cmp.Diff(before, o); diff != "" {
		t.Errorf("existing objects changed (-before +after):\n%s", diff)
	}
}

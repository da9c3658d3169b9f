package migrate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/model"
)

func convertText(t *testing.T, text string) *Result {
	t.Helper()
	objs, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res, err := Convert(objs, Options{})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return res
}

func ptr[T any](v T) *T { return &v }

func meta(name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "pylon-system", Labels: labels}
}

func TestConvertDocumentedConfiguration(t *testing.T) {
	res := convertText(t, metallbConfig)
	var got []any
	for _, c := range res.Objects {
		got = append(got, c.Object)
	}
	tm := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: "pylonlb.io/v1beta1", Kind: kind}
	}
	want := []any{
		&v1beta1.IPAddressPool{TypeMeta: tm("IPAddressPool"), ObjectMeta: meta("lan", map[string]string{"zone": "a"}),
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"192.168.10.0/24", "192.168.9.1-192.168.9.5", "fc00:f853:ccd:e799::/124"}, AvoidBuggyIPs: true}},
		&v1beta1.IPAddressPool{TypeMeta: tm("IPAddressPool"), ObjectMeta: meta("routed", nil),
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{"10.20.0.0/28"}, AutoAssign: ptr(false),
				ServiceAllocation: &v1beta1.ServiceAllocation{Priority: 50, Namespaces: []string{"web"},
					NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "front"}}},
					ServiceSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
						{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"shop"}}}}}}}},
		&v1beta1.L2Advertisement{TypeMeta: tm("L2Advertisement"), ObjectMeta: meta("l2", nil),
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}, Interfaces: []string{"eth1"},
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": "node-a"}}}}},
		&v1beta1.BGPAdvertisement{TypeMeta: tm("BGPAdvertisement"), ObjectMeta: meta("bgp", nil),
			Spec: v1beta1.BGPAdvertisementSpec{AggregationLength: ptr(int32(32)), AggregationLengthV6: ptr(int32(128)), LocalPref: 100,
				Communities: []string{"65535:65282", "no-advertise", "large:1:2:3"}, IPAddressPools: []string{"routed"},
				IPAddressPoolSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"zone": "b"}}}, Peers: []string{"tor-v4"}}},
		&v1beta1.BGPPeer{TypeMeta: tm("BGPPeer"), ObjectMeta: meta("old-peer", nil),
			Spec: v1beta1.BGPPeerSpec{MyASN: 64500, PeerASN: 64502, PeerAddress: "10.0.0.2", Password: "secret", EBGPMultiHop: true,
				NodeSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "rack", Operator: metav1.LabelSelectorOpIn, Values: []string{"r2"}}}}}}},
		&v1beta1.BGPPeer{TypeMeta: tm("BGPPeer"), ObjectMeta: meta("tor-v4", nil),
			Spec: v1beta1.BGPPeerSpec{MyASN: 64500, PeerASN: 64501, PeerAddress: "10.0.0.1", SourceAddress: "10.0.0.10", PeerPort: 180,
				HoldTime: &metav1.Duration{Duration: 9 * time.Second}, KeepaliveTime: &metav1.Duration{Duration: 3 * time.Second},
				ConnectTime: &metav1.Duration{Duration: 2 * time.Second}, RouterID: "10.10.10.10", BFDProfile: "fast",
				EnableGracefulRestart: true, DualStackAddressFamily: true, PasswordSecret: &corev1.SecretReference{Name: "tor-pass"},
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "r1"}}}}},
		&v1beta1.BFDProfile{TypeMeta: tm("BFDProfile"), ObjectMeta: meta("fast", nil),
			Spec: v1beta1.BFDProfileSpec{ReceiveInterval: ptr(uint32(100)), TransmitInterval: ptr(uint32(100)), DetectMultiplier: ptr(uint32(5))}},
		&v1beta1.Community{TypeMeta: tm("Community"), ObjectMeta: meta("communities", nil),
			Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "no-advertise", Value: "65535:65282"}}}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("objects (-want +got):\n%s", d)
	}

	var lines []string
	for _, f := range res.Findings() {
		lines = append(lines, f.String()+lossMark(f))
	}
	wantFindings := []string{
		`IPAddressPool metallb-system/routed: spec.addresses[0] = "10.20.0.5/28": written as 10.20.0.0/28, the network MetalLB used`,
		`BGPPeer metallb-system/tor-v4: spec.vrf = "red": dropped: Pylon opens sessions in the node's default VRF only (loss)`,
		`BGPPeer metallb-system/tor-v4: spec.passwordSecret = "tor-pass": Pylon reads the Secret from pylon-system: copy Secret metallb-system/tor-pass there (key "password")`,
		`BFDProfile metallb-system/fast: spec.echoMode = true: dropped: Pylon's BFD has no echo mode (loss)`,
		`BFDProfile metallb-system/fast: spec.echoInterval = 50: dropped: Pylon's BFD has no echo mode (loss)`,
		`BFDProfile metallb-system/fast: spec.minimumTtl = 10: dropped: it applies to multi-hop BFD, which Pylon does not run; single-hop packets carry TTL 255 (loss)`,
	}
	if d := cmp.Diff(wantFindings, lines); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if !res.Lossy() {
		t.Error("Lossy() = false, want true")
	}
}

func lossMark(f Finding) string {
	if f.Loss {
		return " (loss)"
	}
	return ""
}

// The rendered YAML decodes to the same objects, and Pylon's validation
// accepts them.
func TestRenderRoundTrip(t *testing.T) {
	res := convertText(t, metallbConfig)
	var buf bytes.Buffer
	if err := Render(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"# From MetalLB BGPPeer metallb-system/tor-v4 (metallb.io/v1beta2)\n",
		"spec:\n  # LOST spec.vrf = \"red\": dropped:",
		"  # NOTE spec.passwordSecret = \"tor-pass\":",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "status") || strings.Contains(out, "creationTimestamp") {
		t.Errorf("output has server-side fields:\n%s", out)
	}
	var in model.Objects
	docs := strings.Split(out, "\n---\n")
	n := 0
	for _, doc := range docs {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatalf("output document does not decode: %v\n%s", err, doc)
		}
		if u.Object == nil {
			continue
		}
		n++
		switch u.GetKind() {
		case "IPAddressPool":
			var p v1beta1.IPAddressPool
			mustDecode(t, doc, &p)
			in.Pools = append(in.Pools, p)
		case "L2Advertisement":
			var a v1beta1.L2Advertisement
			mustDecode(t, doc, &a)
			in.L2Advertisements = append(in.L2Advertisements, a)
		case "BGPAdvertisement":
			var a v1beta1.BGPAdvertisement
			mustDecode(t, doc, &a)
			in.BGPAdvertisements = append(in.BGPAdvertisements, a)
		case "BGPPeer":
			var p v1beta1.BGPPeer
			mustDecode(t, doc, &p)
			p.Spec.PasswordSecret = nil // the Secret is not part of the test
			in.Peers = append(in.Peers, p)
		case "BFDProfile":
			var b v1beta1.BFDProfile
			mustDecode(t, doc, &b)
			in.BFDProfiles = append(in.BFDProfiles, b)
		case "Community":
			var c v1beta1.Community
			mustDecode(t, doc, &c)
			in.Communities = append(in.Communities, c)
		default:
			t.Errorf("unexpected kind %q", u.GetKind())
		}
	}
	if n != len(res.Objects) {
		t.Errorf("%d documents, want %d", n, len(res.Objects))
	}
	if _, err := model.From(in); err != nil {
		t.Errorf("Pylon rejects the output: %v", err)
	}
}

func mustDecode(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("decode: %v\n%s", err, doc)
	}
}

func TestConvertReportsWhatPylonRejects(t *testing.T) {
	res := convertText(t, `
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: unnumbered, namespace: metallb-system}
spec:
  myASN: 64500
  dynamicASN: external
  interface: eth2
  bfdProfile: fast
  futureKnob: 3
---
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: zero}
spec: {myASN: 0, peerASN: 64500, peerAddress: 10.0.0.1}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: fast}
spec: {passiveMode: true, echoMode: false, echoInterval: 20}
`)
	var lines []string
	for _, f := range res.Findings() {
		lines = append(lines, f.String()+lossMark(f))
	}
	want := []string{
		`BGPPeer metallb-system/unnumbered: spec.bfdProfile = "fast": dropped: Pylon's BFD runs on single-hop numbered sessions only, not on an unnumbered session (interface) (loss)`,
		`BGPPeer metallb-system/unnumbered: spec.futureKnob = 3: a field this converter does not know (a newer MetalLB's?): not migrated (loss)`,
		`BGPPeer zero: spec.myASN: Pylon would reject this: ASN 0 is reserved; set the speakers' ASN (loss)`,
		`BFDProfile fast: spec.echoInterval = 20: dropped: Pylon's BFD has no echo mode`,
		`BFDProfile fast: spec.passiveMode = true: dropped: Pylon's BFD always starts the session (active mode) (loss)`,
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
}

func TestConvertSkipsOtherNamespaces(t *testing.T) {
	res := convertText(t, `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: stray, namespace: default}
spec: {addresses: [10.0.0.0/30]}
`)
	if len(res.Objects) != 0 || len(res.Skipped) != 1 || res.Lossy() {
		t.Fatalf("got %d objects, skipped %v", len(res.Objects), res.Skipped)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		unknownKind    bool
	}{
		{"not yaml", "{{{: [", "document 1: not YAML", false},
		{"scalar", "just some words", "document 1: not an object but a string", false},
		{"other kind", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", `Service "web" (apiVersion "v1"): not a MetalLB object`, true},
		{"unknown metallb kind", "apiVersion: metallb.io/v1beta1\nkind: ServiceL2Status\nmetadata: {name: x}\n", "unknown MetalLB kind", true},
		{"legacy", "apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: x}\n", "legacy AddressPool", true},
		{"peer version", "apiVersion: metallb.io/v1alpha1\nkind: BGPPeer\nmetadata: {name: x}\n", "unknown version of BGPPeer", true},
		{"no kind", "metadata: {name: x}\n", "object without kind", false},
		{"no name", "apiVersion: metallb.io/v1beta1\nkind: Community\n", "without metadata.name", false},
		{"list item", "apiVersion: v1\nkind: List\nitems: [3]\n", "items[0]: not an object", false},
		{"second document", "apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c}\n---\n- a\n", "document 2: not an object but a list", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if errors.Is(err, ErrUnknownKind) != tc.unknownKind {
				t.Errorf("errors.Is(err, ErrUnknownKind) = %v, want %v", !tc.unknownKind, tc.unknownKind)
			}
		})
	}
}

func TestConvertRejectsBadTypes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"kind: IPAddressPool\nspec: {addresses: 10.0.0.0/24}", "IPAddressPool metallb-system/x: spec.addresses: want a list of strings, got a string"},
		{"kind: BGPPeer\nspec: {myASN: -1}", "spec.myASN: -1 is out of range 0-4294967295"},
		{"kind: BGPPeer\nspec: {myASN: 1, holdTime: 90}", "spec.holdTime: want a duration"},
		{"kind: BGPPeer\nspec: {peerPort: 70000}", "spec.peerPort: 70000 is out of range 0-65535"},
		{"kind: L2Advertisement\nspec: {nodeSelectors: [{matchLabelz: {}}]}", "spec.nodeSelectors[0]: not a label selector"},
		{"kind: IPAddressPool\nspec: {serviceAllocation: {priority: 1.5}}", "spec.serviceAllocation.priority: want a whole number"},
		{"kind: Community\nspec: {communities: [{name: a, value: 1:2, extra: 1}]}", "spec.communities[0]: want {name, value}"},
	} {
		objs, err := Parse([]byte("apiVersion: metallb.io/v1beta1\nmetadata: {name: x, namespace: metallb-system}\n" + tc.in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		_, err = Convert(objs, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Convert(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestConvertRejectsDuplicates(t *testing.T) {
	objs, err := Parse([]byte("apiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c}\n---\napiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: c, namespace: metallb-system}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(objs, Options{}); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("err = %v, want defined twice", err)
	}
}

func TestFromUnstructured(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer",
		"metadata": map[string]any{"name": "p", "namespace": "metallb-system"},
		"spec":     map[string]any{"myASN": int64(64500), "peerASN": int64(64501), "peerAddress": "10.0.0.1", "passwordSecret": map[string]any{}},
	}}
	o, err := FromUnstructured(u)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Convert([]Object{o}, Options{PylonNamespace: "lb"})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Objects[0].Object.(*v1beta1.BGPPeer)
	if p.Namespace != "lb" || p.Spec.MyASN != 64500 || p.Spec.PeerASN != 64501 || p.Spec.PasswordSecret != nil || res.Lossy() {
		t.Errorf("got %+v, findings %v", p, res.Findings())
	}
}

package migrate

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// noteFunc records a finding on the object being converted.
type noteFunc func(Finding)

// convertPool converts an IPAddressPool: every field has its equivalent.
func convertPool(f *fields, meta metav1.ObjectMeta, note noteFunc) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: meta}
	for i, a := range f.strs("addresses") {
		p.Spec.Addresses = append(p.Spec.Addresses, poolEntry(a, fmt.Sprintf("spec.addresses[%d]", i), note))
	}
	p.Spec.AutoAssign = f.boolean("autoAssign")
	if b := f.boolean("avoidBuggyIPs"); b != nil {
		p.Spec.AvoidBuggyIPs = *b
	}
	if sa := f.sub("serviceAllocation"); sa != nil {
		alloc := &v1beta1.ServiceAllocation{}
		if n := sa.uint("priority", math.MaxInt32); n != nil {
			alloc.Priority = int(*n)
		}
		alloc.Namespaces = sa.strs("namespaces")
		alloc.NamespaceSelectors = sa.selectors("namespaceSelectors")
		alloc.ServiceSelectors = sa.selectors("serviceSelectors")
		for _, fd := range sa.unread() {
			note(fd)
		}
		p.Spec.ServiceAllocation = alloc
	}
	return p
}

// poolEntry normalises one address entry. MetalLB reads a CIDR with host
// bits set ("10.0.0.5/24") as its network; Pylon asks for the network
// itself, so it is written so, with a note.
func poolEntry(s, field string, note noteFunc) string {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "-") || !strings.Contains(t, "/") {
		return s
	}
	p, err := netip.ParsePrefix(t)
	if err != nil || p.Masked() == p {
		return s
	}
	note(Finding{Field: field, Value: show(s), Message: fmt.Sprintf("written as %s, the network MetalLB used", p.Masked())})
	return p.Masked().String()
}

// convertL2 converts an L2Advertisement: every field has its equivalent.
func convertL2(f *fields, meta metav1.ObjectMeta) *v1beta1.L2Advertisement {
	a := &v1beta1.L2Advertisement{ObjectMeta: meta}
	a.Spec.IPAddressPools = f.strs("ipAddressPools")
	a.Spec.IPAddressPoolSelectors = f.selectors("ipAddressPoolSelectors")
	a.Spec.NodeSelectors = f.selectors("nodeSelectors")
	a.Spec.Interfaces = f.strs("interfaces")
	return a
}

// convertBGPAdv converts a BGPAdvertisement: every field has its
// equivalent.
func convertBGPAdv(f *fields, meta metav1.ObjectMeta) *v1beta1.BGPAdvertisement {
	a := &v1beta1.BGPAdvertisement{ObjectMeta: meta}
	a.Spec.AggregationLength = int32p(f.uint("aggregationLength", math.MaxInt32))
	a.Spec.AggregationLengthV6 = int32p(f.uint("aggregationLengthV6", math.MaxInt32))
	if n := f.u32("localPref"); n != nil {
		a.Spec.LocalPref = *n
	}
	a.Spec.Communities = f.strs("communities")
	a.Spec.IPAddressPools = f.strs("ipAddressPools")
	a.Spec.IPAddressPoolSelectors = f.selectors("ipAddressPoolSelectors")
	a.Spec.NodeSelectors = f.selectors("nodeSelectors")
	a.Spec.Peers = f.strs("peers")
	return a
}

func int32p(n *int64) *int32 {
	if n == nil {
		return nil
	}
	v := int32(*n)
	return &v
}

// convertPeer converts a BGPPeer of v1beta1 or v1beta2.
func convertPeer(f *fields, meta metav1.ObjectMeta, opts Options, note noteFunc) *v1beta1.BGPPeer {
	p := &v1beta1.BGPPeer{ObjectMeta: meta}
	s := &p.Spec
	v1 := f.obj.Version() == "v1beta1"
	s.MyASN = deref(f.u32("myASN"))
	s.PeerASN = deref(f.u32("peerASN"))
	s.PeerAddress = f.str("peerAddress")
	s.SourceAddress = f.str("sourceAddress")
	s.PeerPort = uint16(deref(f.uint("peerPort", math.MaxUint16)))
	s.HoldTime = f.duration("holdTime")
	s.KeepaliveTime = f.duration("keepaliveTime")
	if v1 {
		// v1beta1's timers are not pointers: "0s" is MetalLB's unset.
		s.HoldTime, s.KeepaliveTime = nonZero(s.HoldTime), nonZero(s.KeepaliveTime)
	}
	s.RouterID = f.str("routerID")
	s.NodeSelectors = f.selectors("nodeSelectors")
	s.Password = f.str("password")
	s.BFDProfile = f.str("bfdProfile")
	s.EBGPMultiHop = deref(f.boolean("ebgpMultiHop"))
	if !v1 {
		convertPeerV1beta2(f, p, opts, note)
	}
	if s.BFDProfile != "" && (s.EBGPMultiHop || s.Interface != "") {
		how := "a multi-hop session (ebgpMultiHop)"
		if s.Interface != "" {
			how = "an unnumbered session (interface)"
		}
		note(Finding{Field: "spec.bfdProfile", Value: show(s.BFDProfile), Loss: true,
			Message: "dropped: Pylon's BFD runs on single-hop numbered sessions only, not on " + how})
		s.BFDProfile = ""
	}
	return p
}

// convertPeerV1beta2 reads the fields v1beta2 added.
func convertPeerV1beta2(f *fields, p *v1beta1.BGPPeer, opts Options, note noteFunc) {
	s := &p.Spec
	s.DynamicASN = v1beta1.DynamicASNMode(f.str("dynamicASN"))
	s.Interface = f.str("interface")
	s.ConnectTime = f.duration("connectTime")
	s.EnableGracefulRestart = deref(f.boolean("enableGracefulRestart"))
	s.DualStackAddressFamily = deref(f.boolean("dualStackAddressFamily"))
	// disableMP (deprecated) separates the families, as Pylon does unless
	// dualStackAddressFamily is set: nothing to carry over.
	f.boolean("disableMP")
	if vrf := f.str("vrf"); vrf != "" {
		note(Finding{Field: "spec.vrf", Value: show(vrf), Loss: true,
			Message: "dropped: Pylon opens sessions in the node's default VRF only"})
	}
	if ps := f.sub("passwordSecret"); ps != nil {
		name := ps.str("name")
		ns := ps.str("namespace")
		for _, fd := range ps.unread() {
			note(fd)
		}
		if name != "" {
			s.PasswordSecret = &corev1.SecretReference{Name: name}
			note(Finding{Field: "spec.passwordSecret", Value: show(name),
				Message: fmt.Sprintf("Pylon reads the Secret from %s: copy Secret %s/%s there (key %q)",
					opts.PylonNamespace, cmp.Or(ns, opts.MetalLBNamespace), name, "password")})
		}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func nonZero(d *metav1.Duration) *metav1.Duration {
	if d == nil || d.Duration == 0 {
		return nil
	}
	return d
}

// convertBFD converts a BFDProfile. Pylon's BFD runs single-hop
// asynchronous mode only: echo and passive mode and the multi-hop minimum
// TTL are dropped.
func convertBFD(f *fields, meta metav1.ObjectMeta, note noteFunc) *v1beta1.BFDProfile {
	b := &v1beta1.BFDProfile{ObjectMeta: meta}
	b.Spec.ReceiveInterval = f.u32("receiveInterval")
	b.Spec.TransmitInterval = f.u32("transmitInterval")
	b.Spec.DetectMultiplier = f.u32("detectMultiplier")
	echo := f.boolean("echoMode")
	if deref(echo) {
		note(Finding{Field: "spec.echoMode", Value: "true", Loss: true, Message: "dropped: Pylon's BFD has no echo mode"})
	}
	if n := f.u32("echoInterval"); n != nil {
		note(Finding{Field: "spec.echoInterval", Value: fmt.Sprint(*n), Loss: deref(echo),
			Message: "dropped: Pylon's BFD has no echo mode"})
	}
	if deref(f.boolean("passiveMode")) {
		note(Finding{Field: "spec.passiveMode", Value: "true", Loss: true,
			Message: "dropped: Pylon's BFD always starts the session (active mode)"})
	}
	if n := f.u32("minimumTtl"); n != nil {
		note(Finding{Field: "spec.minimumTtl", Value: fmt.Sprint(*n), Loss: true,
			Message: "dropped: it applies to multi-hop BFD, which Pylon does not run; single-hop packets carry TTL 255"})
	}
	return b
}

// convertCommunity converts a Community: the aliases carry over as they
// are.
func convertCommunity(f *fields, meta metav1.ObjectMeta) *v1beta1.Community {
	c := &v1beta1.Community{ObjectMeta: meta}
	v := f.get("communities")
	if v == nil {
		return c
	}
	list, ok := v.([]any)
	if !ok {
		f.fail("communities", "want a list, got %s", typeName(v))
		return c
	}
	for i, x := range list {
		var a v1beta1.CommunityAlias
		if err := decodeStrict(x, &a); err != nil {
			f.fail(fmt.Sprintf("communities[%d]", i), "want {name, value}: %v", err)
			return c
		}
		c.Spec.Communities = append(c.Spec.Communities, a)
	}
	return c
}

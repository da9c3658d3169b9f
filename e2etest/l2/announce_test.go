//go:build e2e

package l2

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/probe"
)

// testIPv4: the elected node answers ARP for the address and HTTP through
// it reaches that node; the Service says so in an event.
func testIPv4(t *testing.T, s *suite) {
	testFamily(t, s, "v4", corev1.IPv4Protocol)
}

// testIPv6: the same with NDP.
func testIPv6(t *testing.T, s *suite) {
	testFamily(t, s, "v6", corev1.IPv6Protocol)
}

func testFamily(t *testing.T, s *suite, name string, fam corev1.IPFamily) {
	svc := s.create(t, svcSpec{name: name, families: []corev1.IPFamily{fam}})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	s.waitAnnouncedEvent(t, svc, svc.ips[0], owner)
}

// testDualStack: both addresses of a dual-stack Service are answered by
// the same node, the owner of the group's key.
func testDualStack(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "dual", families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	if len(svc.ips) != 2 || svc.ips[0].Is4() == svc.ips[1].Is4() {
		t.Fatalf("dual-stack Service got %v", svc.ips)
	}
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	for _, ip := range svc.ips {
		s.waitAnnouncedEvent(t, svc, ip, owner)
	}
}

// testSharedIP: two Services with the same sharing key get one address,
// announced by one node, which answers for both (on their two ports).
func testSharedIP(t *testing.T, s *suite) {
	a := s.create(t, svcSpec{name: "shared-a", shareKey: "e2e"})
	b := s.create(t, svcSpec{name: "shared-b", shareKey: "e2e", port: altPort})
	if len(a.ips) != 1 || len(b.ips) != 1 || a.ips[0] != b.ips[0] {
		t.Fatalf("Services with one sharing key got %v and %v", a.ips, b.ips)
	}
	owner := predict(t, a.ips, s.live())
	s.waitOwner(t, a, owner)
	client := probe.NewHTTPClient(s.l.Client().NS, httpTimeout)
	labtest.EventuallyPylon(t, s.l, settleTimeout, func(ctx context.Context) (bool, error) {
		who, err := probe.Get(ctx, client, b.ips[0], altPort)
		return who == owner, err
	}, "%s: HTTP on port %d reaches %s", b.nn, altPort, owner)
	s.waitAnnouncedEvent(t, a, a.ips[0], owner)
	s.waitAnnouncedEvent(t, b, b.ips[0], owner)
}

// testUnready: a Service whose endpoints all become unready is no longer
// answered for (the client cannot resolve its address, HTTP fails), and is
// announced again once they are ready.
func testUnready(t *testing.T, s *suite) {
	svc := s.create(t, svcSpec{name: "unready", families: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}})
	owner := predict(t, svc.ips, s.live())
	s.waitOwner(t, svc, owner)
	s.setReady(t, svc, s.l.NodeNames(), false)
	for _, ip := range svc.ips {
		s.waitUnresolved(t, ip)
	}
	s.setReady(t, svc, s.l.NodeNames(), true)
	s.waitOwner(t, svc, owner)
}

//go:build e2e

package l2

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
	"github.com/pylonlb/pylon/e2etest/lab/nodehttp"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// baseConfig is the configuration every subtest starts from: pool "l2" is
// announced from every node; pools "sel" and "seg2" are only assigned on
// request and get their advertisements from the subtests that use them.
const baseConfig = `apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: l2}
spec:
  addresses: [192.168.77.128/27, "fd00:77::100/121"]
---
apiVersion: pylonlb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2}
spec:
  ipAddressPools: [l2]
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: sel}
spec:
  addresses: [192.168.77.160/28, "fd00:77::180/122"]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: seg2}
spec:
  addresses: [192.168.80.128/27]
  autoAssign: false
---
apiVersion: pylonlb.io/v1beta1
kind: IPAddressPool
metadata: {name: even}
spec:
  addresses: [192.168.77.192/27]
  autoAssign: false
`

// altPort is a second HTTP port every node serves (for two Services
// sharing one address on different ports).
const altPort = 8080

// testLabel is the node label the node-selector subtest sets.
const testLabel = "e2e.pylonlb.io/announce"

// extraAdvertisements are the L2Advertisements subtests may create; the
// baseline has none of them.
var extraAdvertisements = []string{"sel", "seg2", "even"}

var l2AdvertisementsGVR = schema.GroupVersionResource{Group: "pylonlb.io", Version: "v1beta1", Resource: "l2advertisements"}

// TestL2 brings one lab up and runs every behaviour against it.
func TestL2(t *testing.T) {
	labtest.RequirePylon(t, lab.Options{})
	l := labtest.Start(t, lab.Options{})
	ctx := context.Background()
	if err := l.Admin.ApplyYAML(ctx, lab.PylonNamespace, []byte(baseConfig)); err != nil {
		t.Fatal(err)
	}
	if err := l.StartPylon(ctx, lab.PylonOptions{}); err != nil {
		t.Fatal(err)
	}
	s := &suite{l: l}
	s.serveAltPort(t)
	for _, c := range []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"IPv4", testIPv4},
		{"IPv6", testIPv6},
		{"DualStack", testDualStack},
		{"SharedIP", testSharedIP},
		{"Unready", testUnready},
		{"TrafficPolicyLocal", testTrafficPolicyLocal},
		{"NodeSelectors", testNodeSelectors},
		{"ExclusionLabel", testExclusionLabel},
		{"Interfaces", testInterfaces},
		{"Kill", testKill},
		{"LinkDown", testLinkDown},
		{"SIGTERM", testSIGTERM},
		{"Partition", testPartition},
		{"NodeWithoutSpeaker", testNodeWithoutSpeaker},
		{"Balanced", testBalanced},
		{"Plugin", testPlugin},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.reset(t)
			c.run(t, s)
		})
	}
}

// suite is the shared lab and what the subtests need around it.
type suite struct {
	l *lab.Lab
}

// serveAltPort makes every node answer HTTP on altPort too, for as long as
// the test runs.
func (s *suite) serveAltPort(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(s.l.NodeNames()))
	t.Cleanup(func() {
		cancel()
		for range s.l.NodeNames() {
			<-done
		}
	})
	for _, n := range s.l.NodeNames() {
		ln, err := s.l.Node(n).NS.Listen("tcp", fmt.Sprintf("[::]:%d", altPort))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer func() { done <- struct{}{} }()
			_ = nodehttp.Serve(ctx, ln, n)
		}()
	}
}

// reset brings the lab back to the baseline: no partition, every link up, every speaker
// running, no test labels, no extra advertisements. Services are removed
// by the subtests that made them (t.Cleanup).
func (s *suite) reset(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.l.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range s.l.NodeNames() {
		if err := s.l.RestoreLink(ctx, n); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{testLabel, v1beta1.LabelExcludeFromLB} {
			if err := s.l.Admin.LabelNode(ctx, n, key, nil); err != nil {
				t.Fatal(err)
			}
		}
		if p := s.l.Speaker(n); p == nil || p.Exited() {
			if _, err := s.l.StartSpeaker(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.waitMembers(t, s.l.NodeNames())
	for _, name := range extraAdvertisements {
		err := s.l.Admin.Dynamic.Resource(l2AdvertisementsGVR).Namespace(lab.PylonNamespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
}

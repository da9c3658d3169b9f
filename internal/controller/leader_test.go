package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/controller"
	"github.com/pylonlb/pylon/internal/testenv"
)

// replica is one leader-elected controller with its own health address.
type replica struct {
	health  string
	elected <-chan struct{}
	stop    func()
}

// leads reports whether the replica won the election.
func (r *replica) leads() bool {
	select {
	case <-r.elected:
		return true
	default:
		return false
	}
}

// startReplica runs a leader-elected controller for h's namespaces.
func (h *harness) startReplica(name string) *replica {
	h.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	health := l.Addr().String()
	l.Close()
	opts := controller.Options{Namespace: h.ns, MetricsAddr: "0", HealthAddr: health, LeaderElection: true,
		Registerer: prometheus.NewRegistry(), PoolStatusInterval: 50 * time.Millisecond, SkipNameValidation: true}
	cfg := *env.Config
	cfg.UserAgent = name
	mgr, stop := runController(h.t, &cfg, opts)
	r := &replica{health: health, elected: mgr.Elected(), stop: stop}
	h.t.Cleanup(r.stop)
	return r
}

// ready reports whether the replica's /readyz answers 200.
func (r *replica) ready() (bool, string) {
	resp, err := http.Get("http://" + r.health + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, fmt.Sprintf("readyz %s", resp.Status)
}

// TestLeaderElection: two replicas; the standby is ready (it would serve
// the webhook) without leading; when the leader stops it gives the lease
// up and the standby leads at once, keeps every address and allocates.
func TestLeaderElection(t *testing.T) {
	testenv.Require(t, env)
	h := &harness{t: t, c: env.Client,
		ns:  testenv.Namespace(t, env, "pylon", nil),
		app: testenv.Namespace(t, env, "app", nil)}
	t.Cleanup(h.deleteServices)
	h.pool("main", spec("10.70.0.0/24"))
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: anchor.ControllerRole}}
	if err := h.c.Create(context.Background(), role); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: anchor.ControllerRole}, role); err != nil {
		t.Fatal(err)
	}
	first := h.startReplica("first")
	testenv.Eventually(t, func() (bool, string) { return h.holder() != "", "no leader yet" })
	second := h.startReplica("second")
	h.service("before")
	before := h.waitIPs("before", 1)
	for _, r := range []*replica{first, second} {
		testenv.Eventually(t, r.ready)
	}
	leader := h.holder()
	old, standby := first, second
	if second.leads() {
		old, standby = second, first
	}
	if !old.leads() || standby.leads() {
		t.Fatalf("leads: first %v, second %v; want exactly one", first.leads(), second.leads())
	}
	t0 := time.Now()
	old.stop()
	testenv.Eventually(t, func() (bool, string) {
		got := h.holder()
		return got != "" && got != leader, fmt.Sprintf("holder %q, was %q", got, leader)
	})
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("the standby took %v to lead: the stopped leader did not give the lease up", d)
	}
	testenv.Eventually(t, func() (bool, string) { return standby.leads(), "the standby has not won" })
	testenv.Eventually(t, standby.ready)
	h.service("after")
	h.waitIPs("after", 1)
	if got := h.ips(h.app, "before"); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("address moved with the leader: %v → %v", before, got)
	}
	// What the controller wrote belongs to the installation (its
	// ClusterRole), so that uninstalling removes it.
	for _, obj := range []client.Object{&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "pylon-controller"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: controller.MemberlistSecretName}},
		&v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Name: "controller"}}} {
		testenv.Eventually(t, func() (bool, string) {
			err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: obj.GetName()}, obj)
			refs := obj.GetOwnerReferences()
			return err == nil && len(refs) == 1 && refs[0].UID == role.UID,
				fmt.Sprintf("%T %s: owners %+v, %v; want ClusterRole %s", obj, obj.GetName(), refs, err, role.UID)
		})
	}
}

// holder returns the lease's holder identity ("" when none).
func (h *harness) holder() string {
	var l coordinationv1.Lease
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: "pylon-controller"}, &l); err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

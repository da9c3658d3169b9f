package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/configwatch"
	"github.com/pylonlb/pylon/internal/controller"
)

func TestConfigChangesTakeEffect(t *testing.T) {
	h := newHarness(t, "")
	h.service("early")
	// No pool yet: the Service waits.
	stays(t, 200*time.Millisecond, func() (bool, string) { return len(h.ips(h.app, "early")) == 0, "address without a pool" })
	p := h.pool("grow", spec("192.168.40.1/32"))
	if got := h.waitIPs("early", 1); got[0] != "192.168.40.1" {
		t.Fatalf("early = %v", got)
	}
	h.service("late")
	h.waitEvent(h.app, "late", "AllocationFailed", "no free")
	// Adding a range serves the waiting Service and moves nobody.
	h.update(p, func() { p.Spec.Addresses = append(p.Spec.Addresses, "192.168.40.2/31") })
	h.waitIPs("late", 1)
	if got := h.ips(h.app, "early"); got[0] != "192.168.40.1" {
		t.Errorf("early moved to %v after a range was added", got)
	}
}

func TestInvalidConfigKeepsLastGood(t *testing.T) {
	h := newHarness(t, "")
	good := h.pool("good", spec("192.168.41.0/29"))
	h.service("a")
	if got := h.waitIPs("a", 1); got[0] != "192.168.41.0" {
		t.Fatalf("a = %v", got)
	}
	// A malformed pool makes the configuration invalid...
	h.pool("bad", spec("192.168.41.300/32"))
	h.waitEvent(h.ns, "bad", configwatch.ReasonInvalidConfiguration, `spec.addresses[0]: invalid CIDR "192.168.41.300/32"`)
	// ...so moving the good pool elsewhere must not take effect.
	h.update(good, func() { good.Spec.Addresses = []string{"192.168.42.0/29"} })
	h.service("b")
	if got := h.waitIPs("b", 1); got[0] != "192.168.41.1" {
		t.Errorf("b = %v, want an address from the last valid configuration", got)
	}
	stays(t, 300*time.Millisecond, func() (bool, string) {
		got := h.ips(h.app, "a")
		return len(got) == 1 && got[0] == "192.168.41.0", fmt.Sprintf("a changed to %v under an invalid configuration", got)
	})
	// Fixing the configuration applies the newest valid state: the
	// Services move into the good pool's new range.
	bad := &v1beta1.IPAddressPool{}
	bad.Name, bad.Namespace = "bad", h.ns
	if err := h.c.Delete(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		eventually(t, func() (bool, string) {
			got := h.ips(h.app, name)
			return len(got) == 1 && strings.HasPrefix(got[0], "192.168.42."), fmt.Sprintf("%s = %v, want the new range", name, got)
		})
	}
}

func TestPoolStatus(t *testing.T) {
	h := newHarness(t, "")
	p := h.pool("counted", spec("192.168.43.0/29", "fd00:43::/120"))
	for i := range 3 {
		h.service(fmt.Sprintf("s%d", i))
	}
	want := v1beta1.IPAddressPoolStatus{AssignedIPv4: 3, AvailableIPv4: 5, AssignedIPv6: 0, AvailableIPv6: 256}
	eventually(t, func() (bool, string) {
		_ = h.c.Get(context.Background(), client.ObjectKeyFromObject(p), p)
		return p.Status == want, fmt.Sprintf("status = %+v, want %+v", p.Status, want)
	})
}

// update applies a change to a pool, retrying on conflicts.
func (h *harness) update(p *v1beta1.IPAddressPool, change func()) {
	h.t.Helper()
	for range 10 {
		_ = h.c.Get(context.Background(), client.ObjectKeyFromObject(p), p)
		change()
		if err := h.c.Update(context.Background(), p); err == nil {
			return
		}
	}
	h.t.Fatalf("update pool %s: too many conflicts", p.Name)
}

func TestCreatesMemberlistSecret(t *testing.T) {
	h := newHarness(t, "")
	s := &corev1.Secret{}
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: controller.MemberlistSecretName}, s)
		return err == nil && len(s.Data[controller.MemberlistSecretKey]) >= 32, fmt.Sprintf("no gossip key Secret: %v", err)
	})
	key, version := string(s.Data[controller.MemberlistSecretKey]), s.ResourceVersion
	h.restart()
	// The restarted controller checks the Secret (one read) as it takes
	// the lead, together with its reconcilers: a new Service's address
	// shows it is serving.
	h.pool("after-restart", spec("192.168.45.0/30"))
	h.service("after-restart")
	h.waitIPs("after-restart", 1)
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.ns, Name: controller.MemberlistSecretName}, s); err != nil {
		t.Fatalf("read the gossip key Secret after a restart: %v", err)
	}
	if string(s.Data[controller.MemberlistSecretKey]) != key || s.ResourceVersion != version {
		t.Error("a restart replaced the gossip key")
	}
}

func TestConfigurationState(t *testing.T) {
	h := newHarness(t, "")
	h.pool("ok", spec("192.168.44.0/30"))
	state := &v1beta1.ConfigurationState{}
	key := client.ObjectKey{Namespace: h.ns, Name: "controller"}
	condition := func(typ string) string {
		for _, c := range state.Status.Conditions {
			if c.Type == typ {
				return string(c.Status)
			}
		}
		return ""
	}
	eventually(t, func() (bool, string) {
		_ = h.c.Get(context.Background(), key, state)
		return condition("Valid") == "True" && condition("Loaded") == "True" && state.Status.LastLoaded != nil,
			fmt.Sprintf("state = %+v", state.Status)
	})
	h.pool("broken", spec("not-an-address"))
	eventually(t, func() (bool, string) {
		_ = h.c.Get(context.Background(), key, state)
		return condition("Valid") == "False" && condition("Loaded") == "True" &&
			strings.Contains(state.Status.Error, `IPAddressPool "broken": spec.addresses[0]`), fmt.Sprintf("state = %+v", state.Status)
	})
}

package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/certs"
	"github.com/pylonlb/pylon/internal/model"
	"github.com/pylonlb/pylon/internal/testenv"
	"github.com/pylonlb/pylon/internal/webhook"
)

func pool(name string, addrs ...string) *v1beta1.IPAddressPool {
	return &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1beta1.IPAddressPoolSpec{Addresses: addrs}}
}

func peer(name, addr, bfd string, hold time.Duration) *v1beta1.BGPPeer {
	p := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: addr, BFDProfile: bfd}}
	if hold != 0 {
		p.Spec.HoldTime = &metav1.Duration{Duration: hold}
	}
	return p
}

func profile(name string) *v1beta1.BFDProfile {
	return &v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// modelSays returns what the controller reports about the named object
// for the namespace's objects plus extra: model.From's problems of it.
func (f *fixture) modelSays(kind, name string, extra func(*model.Objects)) []string {
	f.t.Helper()
	objs, err := webhook.LoadObjects(context.Background(), env.Client, f.ns)
	if err != nil {
		f.t.Fatal(err)
	}
	extra(&objs)
	_, err = model.From(objs)
	var out []string
	for _, fe := range model.ObjectErrors(err, kind, name) {
		out = append(out, fe.Error())
	}
	if len(out) == 0 {
		f.t.Fatalf("the model finds no problem with %s %s", kind, name)
	}
	return out
}

// wantMessages checks that err carries every message.
func wantMessages(t *testing.T, err error, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("refusal %q does not say %q", err, m)
		}
	}
}

// TestAdmission runs two controllers with leader election and registers
// the webhook of the one that is not the leader: every replica serves it.
func TestAdmission(t *testing.T) {
	f := newFixture(t, fixtureOpts{replicas: 2})
	ctx := context.Background()

	t.Run("caBundle injected from the Secret", func(t *testing.T) {
		sec := &corev1.Secret{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: webhook.DefaultSecretName}, sec); err != nil {
			t.Fatal(err)
		}
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: f.config}, vwc); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(vwc.Webhooks[0].ClientConfig.CABundle, sec.Data[certs.SecretTrust]) {
			t.Error("caBundle differs from the Secret's trust bundle")
		}
	})

	t.Run("valid objects are accepted", func(t *testing.T) {
		f.mustCreate(pool("lan", "192.0.2.0/25"))
		f.mustCreate(&v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "lan"}, Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"lan"}}})
		f.mustCreate(profile("fast"))
		f.mustCreate(peer("tor", "192.168.77.1", "fast", 9*time.Second))
		f.mustCreate(&v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "aliases"},
			Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "gold", Value: "65000:1"}}}})
		f.mustCreate(&v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "bgp"},
			Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"lan"}, Communities: []string{"gold"}}})
	})

	t.Run("overlapping pool is refused with the model's message", func(t *testing.T) {
		wan := pool("wan", "192.0.2.64/26")
		want := f.modelSays(webhook.KindPool, "wan", func(o *model.Objects) { o.Pools = append(o.Pools, *wan) })
		err := f.refused(f.createOp(wan))
		wantMessages(t, err, want...)
		wantMessages(t, err, `IPAddressPool "wan": spec.addresses[0]: 192.0.2.64/26 overlaps 192.0.2.0/25 of IPAddressPool "lan"`)
		if !isInvalid(err) {
			t.Errorf("refusal is not 422 Invalid: %v", err)
		}
	})

	t.Run("hold time of 2s is refused", func(t *testing.T) {
		err := f.refused(f.createOp(peer("edge", "192.168.77.2", "", 2*time.Second)))
		wantMessages(t, err, `BGPPeer "edge": spec.holdTime: must be 0 or between 3s and 65535s, got 2s`)
	})

	t.Run("unknown BFD profile is refused", func(t *testing.T) {
		err := f.refused(f.createOp(peer("edge", "192.168.77.2", "nope", 0)))
		wantMessages(t, err, `BGPPeer "edge": spec.bfdProfile: unknown BFDProfile "nope"`)
	})

	t.Run("unnumbered peers: CRD rules and the model", func(t *testing.T) {
		for _, c := range []struct {
			addr, iface string
			multiHop    bool
			msg         string
		}{
			{"192.168.77.3", "eth1", false, "exactly one of peerAddress and interface must be set"},
			{"", "", false, "exactly one of peerAddress and interface must be set"},
			{"", "eth1", true, "interface cannot be used with ebgpMultiHop"},
			{"", "eth/1", false, "spec.interface"},
		} {
			p := peer("link", c.addr, "", 0)
			p.Spec.Interface, p.Spec.EBGPMultiHop = c.iface, c.multiHop
			p.SetNamespace(f.ns)
			err := f.c.Create(ctx, p)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("create with peerAddress %q, interface %q, ebgpMultiHop %v: %v; want it refused with %q", c.addr, c.iface, c.multiHop, err, c.msg)
			}
		}
		withBFD := peer("link", "", "fast", 0)
		withBFD.Spec.Interface = "eth1"
		wantMessages(t, f.refused(f.createOp(withBFD)), `BGPPeer "link": spec.bfdProfile: BFD is not supported on unnumbered sessions`)
		ok := peer("link", "", "", 0)
		ok.Spec.Interface = "eth1"
		f.mustCreate(ok)
	})

	t.Run("updates are checked", func(t *testing.T) {
		tor := &v1beta1.BGPPeer{}
		if err := f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "tor"}, tor); err != nil {
			t.Fatal(err)
		}
		bad := tor.DeepCopy()
		bad.Spec.HoldTime = &metav1.Duration{Duration: time.Second}
		wantMessages(t, f.refused(f.updateOp(bad)), `BGPPeer "tor": spec.holdTime: must be 0 or between 3s and 65535s, got 1s`)
		good := tor.DeepCopy()
		good.Spec.HoldTime = &metav1.Duration{Duration: 30 * time.Second}
		if err := f.c.Update(ctx, good); err != nil {
			t.Fatalf("valid update refused: %v", err)
		}
	})

	t.Run("deleting a pool in use names the Service", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: f.app,
			Annotations: map[string]string{v1beta1.AnnotationAddressPool: "lan"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
		if err := env.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, func() (bool, string) {
			_ = env.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc)
			return len(svc.Status.LoadBalancer.Ingress) > 0, "the controller gave the Service no address yet"
		})
		err := f.refused(f.deleteOp(pool("lan")))
		wantMessages(t, err, fmt.Sprintf(`IPAddressPool "lan" is in use by 1 Service: %s/web.`, f.app))
		if !isForbidden(err) {
			t.Errorf("refusal is not 403 Forbidden: %v", err)
		}
	})

	t.Run("deleting a BFD profile in use names the peer", func(t *testing.T) {
		err := f.refused(f.deleteOp(profile("fast")))
		wantMessages(t, err, `BFDProfile "fast" is in use by BGPPeer "tor" (spec.bfdProfile)`)
	})

	t.Run("deleting a community alias in use is refused with the model's message", func(t *testing.T) {
		err := f.refused(f.deleteOp(&v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "aliases"}}))
		wantMessages(t, err, `deleting Community "aliases" would make Pylon's configuration invalid`,
			`BGPAdvertisement "bgp": spec.communities[0]: unknown community alias "gold"`)
	})

	t.Run("deleting an unused BFD profile is accepted", func(t *testing.T) {
		f.mustCreate(profile("slow"))
		testenv.Eventually(t, func() (bool, string) {
			err := f.c.Delete(ctx, &v1beta1.BFDProfile{ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: f.ns}})
			return err == nil, fmt.Sprintf("delete: %v", err)
		})
	})
}

// TestOldProblemsDoNotBlock starts with two overlapping pools created
// before the webhook existed.
func TestOldProblemsDoNotBlock(t *testing.T) {
	f := newFixture(t, fixtureOpts{before: func(f *fixture) {
		for _, p := range []*v1beta1.IPAddressPool{pool("x", "198.51.100.0/24"), pool("y", "198.51.100.128/25")} {
			p.Namespace = f.ns
			if err := env.Client.Create(context.Background(), p); err != nil {
				f.t.Fatal(err)
			}
		}
	}})
	ctx := context.Background()
	f.warnings.take()

	t.Run("an unrelated valid change is accepted with a warning", func(t *testing.T) {
		f.mustCreate(profile("fast"))
		want := "Pylon's configuration has 1 other problem that existed before this change"
		if w := f.warnings.take(); len(w) != 1 || !strings.HasPrefix(w[0], want) {
			t.Errorf("warnings %q, want one starting %q", w, want)
		}
	})

	t.Run("a new problem is still refused", func(t *testing.T) {
		err := f.refused(f.createOp(pool("z", "198.51.100.1/32")))
		wantMessages(t, err, `IPAddressPool "z": spec.addresses[0]: 198.51.100.1/32 overlaps 198.51.100.0/24 of IPAddressPool "x"`,
			"(1 problem that existed before this change is not counted)")
	})

	t.Run("fixing the old problem is accepted", func(t *testing.T) {
		y := &v1beta1.IPAddressPool{}
		if err := f.c.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "y"}, y); err != nil {
			t.Fatal(err)
		}
		y.Spec.Addresses = []string{"203.0.113.0/25"}
		if err := f.c.Update(ctx, y); err != nil {
			t.Fatalf("fix refused: %v", err)
		}
	})
}

// TestCARotation moves the controller's clock to the CA's renewal time
// while requests keep flowing: the successor CA is trusted before any
// certificate it signs is served, so no request fails.
func TestCARotation(t *testing.T) {
	f := newFixture(t, fixtureOpts{interval: 100 * time.Millisecond,
		lifetimes: certs.Lifetimes{CA: time.Hour, Serving: 30 * time.Minute, TrustDelay: 2 * time.Second}})
	ctx := context.Background()
	before := servedIssuer(t, f.port)

	probe := startProbe(f)
	start := time.Now()
	f.clock.shift(41 * time.Minute) // a third of the CA's life left
	var staged time.Duration
	testenv.Eventually(t, func() (bool, string) {
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: f.config}, vwc); err != nil {
			return false, err.Error()
		}
		n := bytes.Count(vwc.Webhooks[0].ClientConfig.CABundle, []byte("BEGIN CERTIFICATE"))
		staged = time.Since(start)
		return n == 2, fmt.Sprintf("caBundle holds %d CAs, want 2", n)
	})
	var after string
	testenv.Eventually(t, func() (bool, string) {
		after = servedIssuer(t, f.port)
		return after != before, "still serving a certificate of " + before
	})
	promoted := time.Since(start)
	time.Sleep(time.Second) // requests after the switch
	ok, failed := probe()
	t.Logf("CA rotation: successor trusted after %s, served after %s; %d requests answered, %d failed",
		staged.Round(time.Millisecond), promoted.Round(time.Millisecond), ok, len(failed))
	if len(failed) > 0 {
		t.Errorf("%d requests failed during the rotation, first: %v", len(failed), failed[0])
	}
	if ok == 0 {
		t.Error("no request answered during the rotation")
	}
}

// startProbe sends dry-run requests the webhook refuses until the
// returned function is called, which reports how many were answered and
// the errors of those that were not.
func startProbe(f *fixture) func() (int, []error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var ok int
	var failed []error
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := f.c.Create(ctx, invalidProfile(f.ns), client.DryRunAll)
			switch {
			case denied(err):
				ok++
			case ctx.Err() == nil:
				failed = append(failed, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() (int, []error) {
		cancel()
		<-done
		return ok, failed
	}
}

// servedIssuer returns the issuer of the certificate the webhook serves.
func servedIssuer(t *testing.T, port int) string {
	t.Helper()
	cert, err := servedCert(port)
	if err != nil {
		t.Fatal(err)
	}
	return cert.Issuer.CommonName
}

var errNoCert = errors.New("no certificate served")

// BenchmarkAdmission measures a refused dry-run create through the API
// server: the round trip a `kubectl apply` of an invalid object pays.
func BenchmarkAdmission(b *testing.B) {
	f := newFixture(b, fixtureOpts{})
	for b.Loop() {
		if err := f.c.Create(context.Background(), invalidProfile(f.ns), client.DryRunAll); !denied(err) {
			b.Fatal(err)
		}
	}
}

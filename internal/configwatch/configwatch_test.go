package configwatch

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/kube"
	"github.com/pylonlb/pylon/internal/model"
)

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) Eventf(regarding, _ runtime.Object, typ, reason, _, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := regarding.(kube.Object).GetName()
	r.events = append(r.events, fmt.Sprintf("%s %s %s: %s", typ, reason, name, fmt.Sprintf(note, args...)))
}

// writer collects status objects.
type writer struct{ objs []kube.Object }

func (w *writer) Put(o kube.Object, _ time.Duration) { w.objs = append(w.objs, o) }

func pool(name, addr string) *v1beta1.IPAddressPool {
	return &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "pylon"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []string{addr}}}
}

func TestSyncAppliesValidAndKeepsLastGood(t *testing.T) {
	objs := model.Objects{Pools: []v1beta1.IPAddressPool{*pool("a", "10.0.0.0/24")}}
	source := func(context.Context) (model.Objects, error) { return objs, nil }
	var got []*model.Config
	rec, st := &recorder{}, &writer{}
	w, err := New(source, Options{Namespace: "pylon", Component: "test", Recorder: rec, Status: st, StateName: "test",
		Clock:    clocktesting.NewFakePassiveClock(time.Unix(1000, 0)),
		OnConfig: func(_ context.Context, cfg *model.Config) { got = append(got, cfg) }})
	if err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, w)
	if len(got) != 1 || got[0].Pools[0].Name != "a" || !w.Status().Valid {
		t.Fatalf("first load: configs %v, status %+v", got, w.Status())
	}
	reconcileOnce(t, w) // nothing changed: no new configuration
	if len(got) != 1 {
		t.Errorf("unchanged objects delivered again")
	}
	objs.Pools = append(objs.Pools, *pool("b", "10.0.0.128/25"))
	reconcileOnce(t, w)
	if len(got) != 1 || w.Status().Valid || !w.Status().Loaded {
		t.Errorf("overlap accepted: configs %d, status %+v", len(got), w.Status())
	}
	if len(rec.events) != 1 || !strings.Contains(rec.events[0], `Warning InvalidConfiguration b: IPAddressPool "b": spec.addresses[0]: 10.0.0.128/25 overlaps`) {
		t.Errorf("events = %q", rec.events)
	}
	last := st.objs[len(st.objs)-1].(*v1beta1.ConfigurationState)
	if last.Name != "test" || last.Status.Error == "" || last.Status.Conditions[0].Status != metav1.ConditionFalse {
		t.Errorf("ConfigurationState = %+v", last.Status)
	}
}

func TestInputHash(t *testing.T) {
	a, b := *pool("a", "10.0.0.0/24"), *pool("b", "10.0.1.0/24")
	a.Generation, b.Generation, a.ResourceVersion, b.ResourceVersion = 1, 1, "1", "2"
	hash := func(p ...v1beta1.IPAddressPool) uint64 { return inputHash(model.Objects{Pools: p}) }
	base := hash(a, b)
	if hash(b, a) != base {
		t.Error("hash depends on order")
	}
	b.ResourceVersion = "3" // a status write
	if hash(a, b) != base {
		t.Error("a status-only change (resource version) changed the hash")
	}
	b.Generation = 2
	if hash(a, b) == base {
		t.Error("a spec change (generation) did not change the hash")
	}
	b.Generation, b.Labels = 1, map[string]string{"tier": "gold"}
	if hash(a, b) == base {
		t.Error("a label change did not change the hash")
	}
}

func reconcileOnce(t *testing.T, w *Watcher) {
	t.Helper()
	if err := w.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSetConditionsPublishesOnChangeOnly(t *testing.T) {
	source := func(context.Context) (model.Objects, error) {
		return model.Objects{Pools: []v1beta1.IPAddressPool{*pool("a", "10.0.0.0/24")}}, nil
	}
	st := &writer{}
	w, err := New(source, Options{Namespace: "pylon", Component: "test", Recorder: &recorder{}, Status: st, StateName: "test",
		Clock: clocktesting.NewFakePassiveClock(time.Unix(1000, 0)), OnConfig: func(context.Context, *model.Config) {}})
	if err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, w)
	extra := metav1.Condition{Type: "Extra", Status: metav1.ConditionTrue, Reason: "Because", Message: "m"}
	w.SetConditions(extra)
	w.SetConditions(extra) // unchanged: not published again
	if len(st.objs) != 2 {
		t.Fatalf("published %d states, want 2 (load, condition)", len(st.objs))
	}
	var types []string
	for _, c := range st.objs[1].(*v1beta1.ConfigurationState).Status.Conditions {
		types = append(types, c.Type+"="+string(c.Status))
	}
	if got := strings.Join(types, ","); got != "Valid=True,Loaded=True,Extra=True" {
		t.Errorf("conditions = %s", got)
	}
	extra.Status = metav1.ConditionFalse
	w.SetConditions(extra)
	if len(st.objs) != 3 {
		t.Errorf("a changed condition was not published")
	}
}

// TestSetInterfacesPublishesAfterTheFirstState: a speaker's interfaces
// wait for the first load (no state claiming a rejection before), then
// each change is published once.
func TestSetInterfacesPublishesAfterTheFirstState(t *testing.T) {
	source := func(context.Context) (model.Objects, error) {
		return model.Objects{Pools: []v1beta1.IPAddressPool{*pool("a", "10.0.0.0/24")}}, nil
	}
	st := &writer{}
	w, err := New(source, Options{Namespace: "pylon", Component: "speaker", Recorder: &recorder{}, Status: st, StateName: "speaker-n1",
		StateNode: "n1", Clock: clocktesting.NewFakePassiveClock(time.Unix(1000, 0)), OnConfig: func(context.Context, *model.Config) {}})
	if err != nil {
		t.Fatal(err)
	}
	eth0 := []v1beta1.SpeakerInterface{{Name: "eth0", IPv4: true, Subnets: []string{"192.168.77.0/24"}}}
	w.SetInterfaces(eth0)
	if len(st.objs) != 0 {
		t.Fatalf("published %d states before the first load", len(st.objs))
	}
	reconcileOnce(t, w)
	w.SetInterfaces(eth0) // unchanged
	w.SetInterfaces(append(eth0, v1beta1.SpeakerInterface{Name: "eth1", IPv6: true}))
	if len(st.objs) != 2 {
		t.Fatalf("published %d states, want 2 (load, changed interfaces)", len(st.objs))
	}
	for i, want := range []int{1, 2} {
		if got := len(st.objs[i].(*v1beta1.ConfigurationState).Status.Interfaces); got != want {
			t.Errorf("state %d has %d interfaces, want %d", i, got, want)
		}
	}
}

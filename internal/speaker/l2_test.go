package speaker_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1beta1"
	"github.com/pylonlb/pylon/internal/anchor"
	"github.com/pylonlb/pylon/internal/election"
	"github.com/pylonlb/pylon/internal/speaker"
	corev1 "k8s.io/api/core/v1"
)

// addressWonBy returns the first address of prefix whose expected owner
// among shorts is want.
func (h *harness) addressWonBy(prefix, want string, shorts ...string) string {
	h.t.Helper()
	p := netip.MustParsePrefix(prefix)
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		if h.winner(a.String(), shorts...) == want {
			return a.String()
		}
	}
	h.t.Fatalf("no address in %s that %s wins among %v", prefix, want, shorts)
	return ""
}

// winner returns the short name of the expected owner of ip among nodes.
func (h *harness) winner(ip string, shorts ...string) string {
	var names []string
	for _, s := range shorts {
		names = append(names, h.nodeName(s))
	}
	w, _ := election.Winner(ip, names)
	for _, s := range shorts {
		if h.nodeName(s) == w {
			return s
		}
	}
	return ""
}

func TestL2ElectsOneOwnerAndFailsOver(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.100/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{"192.168.77.100"}, "a")
	first := h.winner("192.168.77.100", "a", "b", "c")
	h.waitOwner("192.168.77.100", first)
	// The owner dies: the next node by hash takes over.
	h.cluster.Kill(h.nodeName(first))
	rest := []string{}
	for _, s := range []string{"a", "b", "c"} {
		if s != first {
			rest = append(rest, s)
		}
	}
	h.nodes[first].announcer.SetAnnouncements(nil) // a dead node answers nothing
	h.waitOwner("192.168.77.100", h.winner("192.168.77.100", rest...))
}

func TestL2WithdrawsWithoutReadyEndpoints(t *testing.T) {
	h := newHarness(t, "a", "b")
	h.apply(l2Pool("l2", "192.168.77.104/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{"192.168.77.104"}, "a", "b")
	h.waitOwner("192.168.77.104", h.winner("192.168.77.104", "a", "b"))
	h.endpoints("web", false, "a", "b")
	h.waitOwner("192.168.77.104", "")
	h.endpoints("web", true, "b")
	h.waitOwner("192.168.77.104", h.winner("192.168.77.104", "a", "b"))
}

func TestL2LocalFollowsEndpoints(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.108/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("local", true, []string{"192.168.77.108"}, "b")
	h.waitOwner("192.168.77.108", "b")
	h.endpoints("local", true, "c")
	h.waitOwner("192.168.77.108", "c")
	h.endpoints("local", true, "b")
	h.waitOwner("192.168.77.108", "b")
}

func TestL2ExclusionLabelAndSelectors(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.112/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"},
		Spec: v1beta1.L2AdvertisementSpec{NodeSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "short", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}}}})
	h.service("web", false, []string{"192.168.77.112"}, "a", "b", "c")
	owner := h.winner("192.168.77.112", "a", "b")
	h.waitOwner("192.168.77.112", owner)
	other := map[string]string{"a": "b", "b": "a"}[owner]
	n := &corev1.Node{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: h.nodeName(owner)}, n); err != nil {
		t.Fatal(err)
	}
	n.Labels[v1beta1.LabelExcludeFromLB] = ""
	if err := h.c.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	h.waitOwner("192.168.77.112", other)
}

// TestL2CordonMovesAddresses: a cordoned Node (kubectl cordon or drain)
// gives its addresses to nodes that are not cordoned, and takes them back
// when uncordoned.
func TestL2CordonMovesAddresses(t *testing.T) {
	h, owner, rest := ownedOnThree(t, "192.168.77.124")
	h.setUnschedulable(owner, true)
	h.waitOwner("192.168.77.124", h.winner("192.168.77.124", rest...))
	h.setUnschedulable(owner, false)
	h.waitOwner("192.168.77.124", owner)
}

func TestL2InterfaceSelection(t *testing.T) {
	h := newHarness(t, "a", "b")
	h.nodes["b"].announcer.SetInterfaces("eth0", "eth1")
	h.apply(l2Pool("l2", "192.168.77.116/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"},
		Spec: v1beta1.L2AdvertisementSpec{Interfaces: []string{"eth1"}}})
	h.service("web", false, []string{"192.168.77.116"}, "a", "b")
	h.waitOwner("192.168.77.116", "b")
	if got := h.nodes["b"].announcer.Announced()[addr("192.168.77.116")]; len(got) != 1 || got[0] != "eth1" {
		t.Errorf("interfaces = %v, want [eth1]", got)
	}
	// eth1 disappears from b: nobody can announce.
	h.nodes["b"].announcer.SetInterfaces("eth0")
	h.waitOwner("192.168.77.116", "")
}

func TestL2SharedAndDualStackLandTogether(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.120/30", "fd00:77::120/126"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("dual", false, []string{"192.168.77.120", "fd00:77::121"}, "a")
	h.service("shared", false, []string{"fd00:77::121"}, "b")
	eventually(t, func() (bool, string) {
		v4, v6 := h.l2Owners("192.168.77.120"), h.l2Owners("fd00:77::121")
		return len(v4) == 1 && len(v6) == 1 && v4[0] == v6[0], "dual-stack and shared addresses on different nodes"
	})
}

func TestGracefulHandover(t *testing.T) {
	// Off the segment, the successor's claim reaches the leaving speaker
	// when the test says so.
	h := newHarness(t)
	h.isolated = true
	for i, n := range []string{"a", "b", "c"} {
		h.createNode(n, i)
	}
	for _, n := range []string{"a", "b", "c"} {
		h.startSpeaker(n)
	}
	h.apply(l2Pool("l2", "192.168.77.124/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{"192.168.77.124"}, "a", "b", "c")
	first := h.winner("192.168.77.124", "a", "b", "c")
	h.waitOwner("192.168.77.124", first)
	rest := except([]string{"a", "b", "c"}, first)
	successor := h.winner("192.168.77.124", rest...)
	leaving := h.nodes[first]
	stopped := make(chan struct{})
	go func() { leaving.stop(); close(stopped) }()
	// While it drains, the successor announces and the leaving node still
	// answers: no gap. (Seen once under load: another node announced for
	// a moment, probably while its informers still lacked a Node, as each
	// speaker's caches lag on their own. The successor is the
	// deterministic winner, and ends up the only owner.)
	eventually(t, func() (bool, string) {
		got := h.l2Owners("192.168.77.124")
		return slices.Contains(got, successor), fmt.Sprintf("owners %v while %s drains, want %s among them", got, first, successor)
	})
	select {
	case <-stopped:
		t.Fatal("the leaving speaker stopped answering before its successor announced")
	default:
	}
	leaving.announcer.Sight(addr("192.168.77.124")) // the successor's gratuitous ARP
	<-stopped
	h.waitOwner("192.168.77.124", successor)
}

func TestL2StatusNamesTheOwner(t *testing.T) {
	role := speakerRole(t)
	h := newHarness(t, "a", "b")
	h.apply(l2Pool("l2", "192.168.77.128/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	svc := h.service("web", false, []string{"192.168.77.128"}, "a", "b")
	owner := h.winner("192.168.77.128", "a", "b")
	st := &v1beta1.ServiceL2Status{}
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
		return err == nil && st.Status.Node == h.nodeName(owner) && len(st.Status.IPs) == 1 && st.Status.IPs[0] == "192.168.77.128",
			fmt.Sprintf("ServiceL2Status = %+v, %v; want node %s", st.Status, err, h.nodeName(owner))
	})
	if len(st.OwnerReferences) != 1 || st.OwnerReferences[0].UID != role.UID || st.OwnerReferences[0].Kind != "ClusterRole" {
		t.Errorf("owner references = %+v, want the speaker's ClusterRole (uninstalling removes the status)", st.OwnerReferences)
	}
	// The owner dies: the status follows the new owner.
	h.cluster.Kill(h.nodeName(owner))
	other := map[string]string{"a": "b", "b": "a"}[owner]
	eventually(t, func() (bool, string) {
		_ = h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
		return st.Status.Node == h.nodeName(other), fmt.Sprintf("status node = %s, want %s", st.Status.Node, h.nodeName(other))
	})
	// Nobody can announce: the status goes away.
	h.endpoints("web", false, "a", "b")
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
		return apierrors.IsNotFound(err), fmt.Sprintf("status still there: %v", err)
	})
	// Announced again, then the Service is deleted: the speakers delete its
	// status (no garbage collector runs here, so nothing else could).
	h.endpoints("web", true, "a", "b")
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
		return err == nil, fmt.Sprintf("status not back: %v", err)
	})
	if err := h.c.Delete(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() (bool, string) {
		err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
		return apierrors.IsNotFound(err), fmt.Sprintf("status of the deleted Service still there: %v", err)
	})
}

// speakerRole returns the speaker's ClusterRole, creating it (it stays:
// the API server is the package's, and the name is fixed).
func speakerRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: anchor.SpeakerRole}}
	if err := env.Client.Create(context.Background(), role); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: anchor.SpeakerRole}, role); err != nil {
		t.Fatal(err)
	}
	return role
}

func TestL2EventsNameEveryServiceAndAddress(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.132/30", "fd00:77::134/126"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("dual", false, []string{"192.168.77.132", "fd00:77::135"}, "a")
	owner := h.nodeName(h.winner("192.168.77.132", "a", "b", "c"))
	h.waitOwner("fd00:77::135", h.winner("192.168.77.132", "a", "b", "c"))
	// A second Service starts using an address the owner already announces.
	h.service("shared", false, []string{"fd00:77::135"}, "b")
	want := map[string]string{
		"dual":   "Node " + owner + " announces 192.168.77.132, fd00:77::135 (ARP/NDP on eth0)",
		"shared": "Node " + owner + " announces fd00:77::135 (ARP/NDP on eth0)",
	}
	eventually(t, func() (bool, string) {
		var evs eventsv1.EventList
		if err := h.c.List(context.Background(), &evs, client.InNamespace(h.app)); err != nil {
			return false, err.Error()
		}
		got := map[string]string{}
		for _, e := range evs.Items {
			if e.Reason == speaker.ReasonL2Announced {
				got[e.Regarding.Name] = e.Note
			}
		}
		return cmp.Equal(want, got), fmt.Sprintf("L2Announced events (-want +got):\n%s", cmp.Diff(want, got))
	})
}

func TestL2ReannouncesWhenASpeakerJoins(t *testing.T) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", "192.168.77.136/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{"192.168.77.136"}, "a", "b", "c")
	owner := h.winner("192.168.77.136", "a", "b", "c")
	h.waitOwner("192.168.77.136", owner)
	before := map[string]int{}
	for s, n := range h.nodes {
		before[s] = n.announcer.Reannounced()
	}
	// A speaker joins (it cannot win: its node is excluded), as one coming
	// back from a healed partition would: the owner announces its address
	// again, the others own nothing to announce.
	h.createNode("d", 3)
	n := &corev1.Node{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: h.nodeName("d")}, n); err != nil {
		t.Fatal(err)
	}
	n.Labels[v1beta1.LabelExcludeFromLB] = ""
	if err := h.c.Update(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	h.startSpeaker("d")
	eventually(t, func() (bool, string) {
		got := h.nodes[owner].announcer.Reannounced() - before[owner]
		return got == 1, fmt.Sprintf("owner %s re-announced %d times, want 1", owner, got)
	})
	h.waitOwner("192.168.77.136", owner)
	for s := range before {
		if got := h.nodes[s].announcer.Reannounced() - before[s]; s != owner && got != 0 {
			t.Errorf("%s owns nothing but re-announced %d times", s, got)
		}
	}
}

// TestL2StatusFollowsALateWinner: a speaker alone announces and names
// itself; when the rightful owner's speaker starts, the status names the
// owner, whichever of the two writes lands last.
func TestL2StatusFollowsALateWinner(t *testing.T) {
	h := newHarness(t)
	h.grace = 100 * time.Millisecond // b's speaker is not up: a answers after the grace
	h.createNode("a", 0)
	h.createNode("b", 1)
	h.startSpeaker("a")
	ip := h.addressWonBy("10.77.1.0/26", "b", "a", "b")
	h.apply(l2Pool("l2", "10.77.1.0/26"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{ip}, "a", "b")
	statusNode := func(want string) {
		t.Helper()
		eventually(t, func() (bool, string) {
			st := &v1beta1.ServiceL2Status{}
			err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.app, Name: "web"}, st)
			return err == nil && st.Status.Node == h.nodeName(want), fmt.Sprintf("ServiceL2Status = %+v, %v; want node %s", st.Status, err, h.nodeName(want))
		})
	}
	statusNode("a")
	h.startSpeaker("b")
	h.waitOwner(ip, "b")
	statusNode("b")
}

// TestL2WaitsForEveryNodesSpeaker: speakers that started while a third
// Node's speaker is not up yet answer nothing: electing among the two of
// them would make one answer for an address the third will own.
func TestL2WaitsForEveryNodesSpeaker(t *testing.T) {
	h := newHarness(t)
	for i, s := range []string{"a", "b", "c"} {
		h.createNode(s, i)
	}
	ip := h.addressWonBy("10.77.2.0/26", "c", "a", "b", "c")
	h.apply(l2Pool("l2", "10.77.2.0/26"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{ip}, "a", "b", "c")
	h.startSpeaker("a")
	h.startSpeaker("b")
	time.Sleep(500 * time.Millisecond) // time enough for a and b to elect among themselves, as they once did
	h.startSpeaker("c")
	h.waitOwner(ip, "c")
	for _, s := range []string{"a", "b"} {
		if h.nodes[s].announcer.EverAnnounced(netip.MustParseAddr(ip)) {
			t.Errorf("%s announced %s before c's speaker started", s, ip)
		}
	}
}

// TestL2RestartedSpeakerAnswersAtOnce: a speaker that restarts into a
// running cluster answers as soon as it joined the speakers that answer,
// even though one Node runs no speaker (it would otherwise wait for the
// grace while its peers left its addresses to it).
func TestL2RestartedSpeakerAnswersAtOnce(t *testing.T) {
	h := newHarness(t)
	h.grace = 100 * time.Millisecond // d runs no speaker
	for i, s := range []string{"a", "b", "c", "d"} {
		h.createNode(s, i)
	}
	ip := h.addressWonBy("10.77.3.0/26", "c", "a", "b", "c")
	h.apply(l2Pool("l2", "10.77.3.0/26"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{ip}, "a", "b", "c")
	for _, s := range []string{"a", "b", "c"} {
		h.startSpeaker(s)
	}
	h.waitOwner(ip, "c")
	h.nodes["c"].stop()
	h.waitOwner(ip, h.winner(ip, "a", "b"))
	h.grace = time.Minute
	h.startSpeaker("c")
	h.waitOwner(ip, "c")
}

// TestL2PlannedMoveHandsOver: an address that moves between live speakers
// (here to a speaker that joins and wins it) stays answered by its old
// owner until the new owner claims it, then by the new owner alone; an
// unclaimed address is given up after HandoffTimeout.
func TestL2PlannedMoveHandsOver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		isolated bool // the joiner's claims never reach the old owner
		handoff  time.Duration
	}{
		{"claimed", false, 30 * time.Second},
		{"unclaimed", true, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.handoff = tc.handoff
			h.createNode("a", 0)
			h.createNode("b", 1)
			h.startSpeaker("a")
			h.startSpeaker("b")
			ip := h.addressWonBy("192.168.77.144/28", "c", "a", "b", "c")
			h.apply(l2Pool("l2", "192.168.77.144/28"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
			h.service("web", false, []string{ip}, "a", "b", "c")
			old := h.winner(ip, "a", "b")
			h.waitOwner(ip, old)
			h.createNode("c", 2)
			h.isolated = tc.isolated
			h.startSpeaker("c")
			if tc.isolated {
				// Both answer while the old owner waits for a claim it
				// never sees ...
				eventually(t, func() (bool, string) {
					got := h.l2Owners(ip)
					slices.Sort(got)
					return slices.Equal(got, []string{old, "c"}), fmt.Sprintf("%s announced by %v, want %s and c", ip, got, old)
				})
			}
			// ... and the new owner alone in the end: at once when the
			// claim is seen (eventually gives up before HandoffTimeout ends),
			// after HandoffTimeout otherwise.
			h.waitOwner(ip, "c")
		})
	}
}

// TestL2FastDetectorVerdict: the nodes whose fast detector counts the
// owner dead elect without it at once, while memberlist still lists it;
// the owner itself keeps its addresses (a cut-off node answers nobody);
// when it is heard again, it gets them back. Each detector is given the
// other members at their gossip address and the detector's port.
func TestL2FastDetectorVerdict(t *testing.T) {
	h, owner, rest := ownedOnThree(t, "192.168.77.124")
	eventually(t, func() (bool, string) {
		peers := h.nodes[rest[0]].detector.Peers()
		_, hasOwner := peers[h.nodeName(owner)]
		return len(peers) == 2 && hasOwner && peers[h.nodeName(owner)].Port() == 7947,
			fmt.Sprintf("detector peers of %s: %v, want the two others at port 7947", rest[0], peers)
	})
	for _, n := range rest {
		h.nodes[n].detector.SetDead(h.nodeName(owner))
	}
	next := h.winner("192.168.77.124", rest...)
	eventually(t, func() (bool, string) {
		got := h.l2Owners("192.168.77.124")
		slices.Sort(got)
		want := []string{owner, next}
		slices.Sort(want)
		return slices.Equal(got, want), fmt.Sprintf("announced by %v, want %s (taking over) and %s (cut off, unaware)", got, next, owner)
	})
	for _, n := range rest {
		h.nodes[n].detector.SetDead()
	}
	h.waitOwner("192.168.77.124", owner)
}

// except returns names without one.
func except(names []string, one string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == one })
}

// ownedOnThree starts speakers on nodes a, b and c, one Service on ip,
// waits for its owner, and returns the harness, the owner and the others.
func ownedOnThree(t *testing.T, ip string) (*harness, string, []string) {
	h := newHarness(t, "a", "b", "c")
	h.apply(l2Pool("l2", ip+"/30"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	h.service("web", false, []string{ip}, "a", "b", "c")
	owner := h.winner(ip, "a", "b", "c")
	h.waitOwner(ip, owner)
	return h, owner, except([]string{"a", "b", "c"}, owner)
}

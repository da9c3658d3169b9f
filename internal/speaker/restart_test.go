package speaker_test

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1beta1"
)

// TestL2RollingRestartKeepsAddresses: a speaker that stops for a rolling
// update keeps its addresses (nobody else announces them) and its
// successor announces them again; one that is not replaced within
// RestartGrace loses them; a stop that is no rolling update hands them
// over at once.
func TestL2RollingRestartKeepsAddresses(t *testing.T) {
	h := newHarness(t)
	h.restartGrace = 2 * time.Second
	for i, n := range []string{"a", "b", "c"} {
		h.createNode(n, i)
	}
	for _, n := range []string{"a", "b", "c"} {
		h.startSpeaker(n)
	}
	h.apply(l2Pool("l2", "10.77.4.0/26"), &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}})
	ip := h.addressWonBy("10.77.4.0/26", "b", "a", "b", "c")
	h.service("web", false, []string{ip}, "a", "b", "c")
	h.waitOwner(ip, "b")

	h.rolling.Store(true)
	h.nodes["b"].stop()
	stays(t, time.Second, func() (bool, string) {
		got := h.l2Owners(ip)
		return len(got) == 0, "announced by " + joinShort(got) + " while b's successor starts"
	})
	h.startSpeaker("b")
	h.waitOwner(ip, "b")

	// Not replaced: after the grace another node takes over.
	h.nodes["b"].stop()
	h.waitOwner(ip, h.winner(ip, "a", "c"))
	h.startSpeaker("b")
	h.waitOwner(ip, "b")

	// Not a rolling update: handed over at once.
	h.rolling.Store(false)
	t0 := time.Now()
	h.nodes["b"].stop()
	h.waitOwner(ip, h.winner(ip, "a", "c"))
	if d := time.Since(t0); d > h.restartGrace {
		t.Errorf("hand-over took %v, longer than the restart grace: the stop was treated as a restart", d)
	}
}

func joinShort(s []string) string {
	if len(s) == 0 {
		return "nobody"
	}
	out := s[0]
	for _, x := range s[1:] {
		out += "," + x
	}
	return out
}

// stays checks that cond holds for all of d (polling every 20 ms).
func stays(t *testing.T, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if ok, msg := cond(); !ok {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

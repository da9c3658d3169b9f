//go:build e2e

package demo_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/e2etest/demo"
	"github.com/pylonlb/pylon/e2etest/lab"
	"github.com/pylonlb/pylon/e2etest/lab/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }

// TestMakeLab runs what `make lab` (pylon-lab up --demo) runs once the lab
// is up, and checks what it printed: every demo Service got an IPv4 and an
// IPv6 address, each L2 IP is answered by the node the client's neighbour
// table names, each BGP IP is routed through every node and answers from
// the outside host; then a killed speaker's L2 IPs move to another node.
func TestMakeLab(t *testing.T) {
	labtest.RequirePylon(t, lab.Options{})
	l := labtest.Start(t, lab.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	d, err := demo.Start(ctx, l, &out)
	t.Logf("printed:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "(!)") {
		t.Errorf("the demo printed a problem")
	}
	if err := d.Facts.Check(len(l.NodeNames())); err != nil {
		t.Fatal(err)
	}
	checkPrinted(t, out.String(), d.Facts)

	owner := l2Owner(t, d.Facts)
	if err := l.KillSpeaker(ctx, owner); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		var b bytes.Buffer
		err := d.Show(ctx, &b)
		return err == nil && !strings.Contains(b.String(), "announced by "+owner+" "), err
	}, "the L2 IPs leave %s after its speaker was killed", owner)
	var after bytes.Buffer
	if err := d.Show(ctx, &after); err != nil {
		t.Fatal(err)
	}
	t.Logf("after killing %s's speaker:\n%s", owner, after.String())

	// A cut link takes the node's BGP routes away (BFD); restoring it and
	// restarting the killed speaker brings everything back.
	cut := otherNode(l.NodeNames(), owner)
	if err := l.CutLink(ctx, cut); err != nil {
		t.Fatal(err)
	}
	labtest.Eventually(t, 30*time.Second, func(ctx context.Context) (bool, error) {
		f, err := demo.Collect(ctx, l, d.FRR, time.Second)
		return err == nil && bgpVia(f, cut) == 0, err
	}, "the router stops routing through %s after its link was cut", cut)
	if err := l.RestoreLink(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartSpeaker(ctx, owner); err != nil {
		t.Fatal(err)
	}
	labtest.EventuallyPylon(t, l, 60*time.Second, func(ctx context.Context) (bool, error) {
		f, err := demo.Collect(ctx, l, d.FRR, time.Second)
		return err == nil && f.Check(len(l.NodeNames())) == nil, err
	}, "every fact is back to normal after restoring %s's link and %s's speaker", cut, owner)
}

func otherNode(nodes []string, not string) string {
	for _, n := range nodes {
		if n != not {
			return n
		}
	}
	return ""
}

// bgpVia counts the BGP IPs routed through node.
func bgpVia(f *demo.Facts, node string) int {
	n := 0
	for _, s := range f.Services {
		for _, ip := range s.IPs {
			if s.Mode == demo.BGP && slices.Contains(ip.NextHops, node) {
				n++
			}
		}
	}
	return n
}

// checkPrinted checks that the text names, for each IP, the facts.
func checkPrinted(t *testing.T, out string, f *demo.Facts) {
	t.Helper()
	for _, s := range f.Services {
		for _, ip := range s.IPs {
			var want []string
			if s.Mode == demo.L2 {
				want = append(want, fmt.Sprintf("announced by %s (the client's", ip.Announcer),
					fmt.Sprintf("client → %s answered by %s", url(ip), ip.Announcer))
			} else {
				want = append(want, "routed by the router via "+strings.Join(ip.NextHops, ", "),
					fmt.Sprintf("outside → %s answered by %s", url(ip), ip.Answer))
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
		}
	}
}

func url(ip demo.IPFacts) string {
	if ip.IP.Is6() {
		return "http://[" + ip.IP.String() + "]/"
	}
	return "http://" + ip.IP.String() + "/"
}

func l2Owner(t *testing.T, f *demo.Facts) string {
	for _, s := range f.Services {
		if s.Mode == demo.L2 && len(s.IPs) > 0 {
			return s.IPs[0].Announcer
		}
	}
	t.Fatal("no L2 IP in the facts")
	return ""
}

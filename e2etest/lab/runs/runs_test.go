package runs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pylonlb/pylon/e2etest/lab/netns"
	"github.com/pylonlb/pylon/e2etest/lab/prereq"
)

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ID
		ok   bool
	}{
		{"0001", 1, true}, {"1a2b", 0x1a2b, true}, {"7fff", 0x7fff, true},
		{"0000", 0, false}, {"8000", 0, false}, {"1a2", 0, false}, {"zzzz", 0, false}, {"", 0, false},
	} {
		got, err := ParseID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("ID(%q).String() = %q", tc.in, got.String())
		}
	}
	if id := ID(0x1a2b); id.Prefix() != "plab-1a2b-" || id.LinkName() != "plab1a2b" {
		t.Errorf("names of 1a2b: %q %q", id.Prefix(), id.LinkName())
	}
}

func FuzzParseID(f *testing.F) {
	f.Add("1a2b")
	f.Add("ffff")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if id == 0 || id > MaxID {
			t.Fatalf("ParseID(%q) = %v, out of range", s, id)
		}
		if back, err := ParseID(id.String()); err != nil || back != id {
			t.Fatalf("ParseID(%q) = %v does not round-trip: %v, %v", s, id, back, err)
		}
	})
}

func TestParseStartTime(t *testing.T) {
	stat := "123 (a) b (c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 200"
	got, err := parseStartTime(stat)
	if err != nil || got != 98765 {
		t.Fatalf("parseStartTime = %d, %v; want 98765", got, err)
	}
	for _, bad := range []string{"", "1 (x) S 1", "no paren at all"} {
		if _, err := parseStartTime(bad); err == nil {
			t.Errorf("parseStartTime(%q) succeeded", bad)
		}
	}
	if own, err := StartTime(os.Getpid()); err != nil || own == 0 {
		t.Errorf("StartTime(self) = %d, %v", own, err)
	}
}

func FuzzParseStartTime(f *testing.F) {
	f.Add("1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20")
	f.Fuzz(func(t *testing.T, s string) { parseStartTime(s) })
}

func TestAcquireListRelease(t *testing.T) {
	state := t.TempDir()
	r, err := Acquire(state, func(id ID) string { return "/runs/" + id.String() })
	if err != nil {
		t.Fatal(err)
	}
	infos, err := List(state)
	if err != nil || len(infos) != 1 {
		t.Fatalf("List = %v, %v; want one run", infos, err)
	}
	got := infos[0]
	if got.ID != r.ID || !got.Alive || got.OwnerPid != os.Getpid() || got.Dir != "/runs/"+r.ID.String() {
		t.Errorf("List()[0] = %+v, want live run %s owned by us", got, r.ID)
	}
	if _, err := Reap(context.Background(), state, got); !errors.Is(err, ErrAlive) {
		t.Errorf("Reap(live) = %v, want ErrAlive", err)
	}
	if err := r.Release(); err != nil {
		t.Fatal(err)
	}
	if infos, _ := List(state); len(infos) != 0 {
		t.Errorf("List after Release = %v", infos)
	}
}

func TestReapDeadRun(t *testing.T) {
	prereq.Require(t, "ip")
	state := t.TempDir()
	r, err := Acquire(state, func(ID) string { return t.TempDir() })
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a dead owner: drop the lock but keep the file, leave a
	// namespace and etcd data behind.
	r.lock.Close()
	ctx := context.Background()
	ns, err := netns.Create(ctx, r.ID.Prefix()+"node1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Delete(ctx) })
	os.MkdirAll(filepath.Join(r.Dir, EtcdDataDir), 0o755)

	infos, _ := List(state)
	if len(infos) != 1 || infos[0].Alive {
		t.Fatalf("List = %+v, want one dead run", infos)
	}
	done, err := Reap(ctx, state, infos[0])
	if err != nil {
		t.Fatal(err)
	}
	if ns.Exists() || len(done) == 0 {
		t.Errorf("namespace %s survived the reap (done=%v)", ns, done)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, EtcdDataDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("etcd data survived: %v", err)
	}
	if infos, _ := List(state); len(infos) != 0 {
		t.Errorf("lock file survived: %v", infos)
	}
}

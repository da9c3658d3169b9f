package proc

import (
	"os"
	"testing"
	"time"
)

func TestParseUsage(t *testing.T) {
	status := "Name:\tspeaker\nVmHWM:\t   61440 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n"
	stat := "42 (spe ak)er) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345"
	u, err := parseUsage(status, stat)
	if err != nil {
		t.Fatal(err)
	}
	if u.RSSBytes != 50<<20 || u.PeakRSSBytes != 60<<20 || u.CPU != 3*time.Second {
		t.Errorf("usage %+v, want 50 MiB, peak 60 MiB and 3s", u)
	}
	for _, bad := range [][2]string{{"VmRSS: x kB\n", stat}, {"VmHWM: 1 MB\n", stat}, {status, "1 (x) S"}, {status, "no paren"}} {
		if _, err := parseUsage(bad[0], bad[1]); err == nil {
			t.Errorf("parseUsage(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if u, err := ReadUsage(os.Getpid()); err != nil || u.RSSBytes == 0 || u.PeakRSSBytes < u.RSSBytes {
		t.Errorf("ReadUsage(self) = %+v, %v", u, err)
	}
}

func FuzzParseUsage(f *testing.F) {
	f.Add("VmRSS:\t 1 kB\n", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14")
	f.Fuzz(func(t *testing.T, status, stat string) { parseUsage(status, stat) })
}

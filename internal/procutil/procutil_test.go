package procutil

import (
	"os"
	"testing"
)

func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	rss, peak, err := Memory(pid)
	if err != nil || rss <= 0 || peak < rss {
		t.Errorf("Memory = %d, %d, %v", rss, peak, err)
	}
	anon, file, err := Breakdown(pid)
	if err != nil || anon <= 0 || file <= 0 {
		t.Errorf("Breakdown = %d, %d, %v", anon, file, err)
	}
	if _, err := CPUTime(pid); err != nil {
		t.Error(err)
	}
	found, err := FindPID(func(cmd []string) bool { return cmd[0] == os.Args[0] })
	if err != nil || found == 0 {
		t.Errorf("FindPID = %d, %v", found, err)
	}
}

package speaker

import (
	"testing"
	"time"
)

func TestBGPStatusSpacing(t *testing.T) {
	for _, c := range []struct {
		services int
		want     time.Duration
	}{{0, time.Second}, {100, time.Second}, {250, 2500 * time.Millisecond}, {1000, 10 * time.Second}, {100000, 30 * time.Second}} {
		if got := bgpStatusSpacing(c.services); got != c.want {
			t.Errorf("bgpStatusSpacing(%d) = %v, want %v", c.services, got, c.want)
		}
	}
}

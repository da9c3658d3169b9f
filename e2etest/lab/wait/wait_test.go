package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		err := For(context.Background(), time.Second, 10*time.Millisecond, func(context.Context) (bool, error) {
			calls++
			if calls < 3 {
				return false, errors.New("not yet")
			}
			return true, nil
		})
		if err != nil || calls != 3 || time.Since(start) != 20*time.Millisecond {
			t.Errorf("err %v after %d calls and %v; want success on the 3rd call at 20ms", err, calls, time.Since(start))
		}
	})
}

func TestUntilTimesOutWithLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		err := For(context.Background(), 50*time.Millisecond, 10*time.Millisecond, func(context.Context) (bool, error) {
			return false, errors.New("still broken")
		})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still broken") {
			t.Errorf("err = %v, want deadline with the last error", err)
		}
	})
}

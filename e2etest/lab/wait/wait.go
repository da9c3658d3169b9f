// Package wait polls conditions until they hold: the lab's only way of
// waiting for something to happen (no fixed sleeps).
package wait

import (
	"context"
	"fmt"
	"time"
)

// Until calls cond every interval until it returns true or ctx ends. An
// error from cond does not stop polling (conditions are often read from a
// system that is still settling); the last one is reported if ctx ends.
func Until(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond(ctx)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// For is Until with a timeout.
func For(ctx context.Context, timeout, interval time.Duration, cond func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return Until(ctx, interval, cond)
}

//go:build windows

package plugin

// terminal_windows.go: Windows has no SIGWINCH; the size is looked at four
// times a second.

import (
	"context"
	"time"
)

// watchResize wakes the size monitor regularly until ctx is done.
func watchResize(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

//go:build !windows

package plugin

// terminal_unix.go: window size changes arrive as SIGWINCH.

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// watchResize signals every change of the terminal's size until ctx is done.
func watchResize(ctx context.Context) <-chan struct{} {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGWINCH)
	out := make(chan struct{}, 1)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out
}

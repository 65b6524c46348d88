// Signals during run and attach: the first SIGINT/SIGTERM stops the task
// (the engine cleans up); the second leaves at once, but not before what is
// buffered for the terminal and --log-file is written out, and a screen up
// gives the terminal back.

package plugin

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// signalHandler says what the signals do.
type signalHandler struct {
	cancel context.CancelCauseFunc // the first signal cancels the engine
	first  func()                  // and says so
	flush  func()                  // the second writes out the buffers
	exit   func(int)               // and leaves
	n      int
}

func (h *signalHandler) signal() {
	h.n++
	if h.n == 1 {
		h.first()
		h.cancel(nil)
		return
	}
	h.flush()
	restoreScreen()
	h.exit(ExitInterrupted)
}

// handleSignals hands SIGINT and SIGTERM to h until stop is called.
func handleSignals(h *signalHandler) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sigs:
				h.signal()
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

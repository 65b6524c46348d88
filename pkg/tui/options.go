package tui

import (
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// DefaultMaxLogLines is the log ring's default size. Measured with the
// built plugin under tmux, a task printing 1,000,000 lines of 22 bytes peaks
// at 69 MB RSS with a ring of 200,000 lines; 100,000 keeps a margin below
// 80 MB for longer lines and a --log-file copy. TestMemoryBound checks the
// model alone stays well under it.
const DefaultMaxLogLines = 100_000

// Options configure the screen. Only Stop is required for an interactive run.
type Options struct {
	// Task is the task's name, shown until the engine reports the pod.
	Task string
	// OnFinishAction is the task's own on-finish action; the screen uses it
	// to say what quitting will do to the pod.
	OnFinishAction launch.OnFinishAction
	// MaxLogLines is how many log lines the log view keeps (a ring); older
	// lines are dropped and counted. Zero means DefaultMaxLogLines.
	MaxLogLines int
	// NoColor draws without colours (NO_COLOR, TERM=dumb).
	NoColor bool
	// Now is the clock; nil means time.Now. Tests pass a fixed clock.
	Now func() time.Time
	// Stop asks the engine to stop: a nil cause applies OnFinishAction, a
	// *launch.StopRequest overrides it. It is usually the CancelCauseFunc of
	// the engine's context; it must not block.
	Stop func(cause error)
	// ExitOnFinish quits the screen when the task finishes on its own,
	// instead of waiting for q.
	ExitOnFinish bool
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) stop(cause error) {
	if o.Stop != nil {
		o.Stop(cause)
	}
}

func (o Options) maxLogLines() int {
	if o.MaxLogLines > 0 {
		return o.MaxLogLines
	}
	return DefaultMaxLogLines
}

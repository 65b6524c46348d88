package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// tuiAvailable reports whether streams.Out is a terminal (else the caller
// falls back to plain output and prints a note on stderr).
func tuiAvailable(streams genericiooptions.IOStreams) bool {
	f, ok := streams.Out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// screenWanted says whether the task is shown under the terminal UI: --tui
// and stdout a terminal. Otherwise it says why on stderr, and the command
// prints its plain output.
func (f *followFlags) screenWanted(streams genericiooptions.IOStreams) bool {
	if !f.tui {
		return false
	}
	if !tuiAvailable(streams) {
		fmt.Fprintln(streams.ErrOut, "podtask: note: stdout is not a terminal; --tui falls back to plain output")
		return false
	}
	return true
}

// tuiMemoryLimit is the Go heap's soft limit while the screen is up.
const tuiMemoryLimit = 48 << 20

// runWithTUI runs engine under the TUI. engine gets the context to run under
// and the sink to report to. It returns the engine's result once both the
// engine and the screen have ended.
//
// opts.Stop is what the screen's q, d and k call; when nil it cancels the
// engine's context here. The screen is not tied to ctx: pressing q cancels
// the engine, and the screen stays up to show the cleanup until Finished.
func runWithTUI(ctx context.Context, streams genericiooptions.IOStreams, opts tui.Options,
	engine func(ctx context.Context, sink launch.Sink) (*launch.Result, error)) (*launch.Result, error) {

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if opts.Stop == nil {
		opts.Stop = cancel
	}

	defer limitTUIMemory(tuiMemoryLimit)()

	m := tui.New(opts)
	p := newTUIProgram(ctx, streams, m, opts.NoColor)

	type outcome struct {
		res *launch.Result
		err error
	}
	out, uiErr := runScreenBeside(streams.ErrOut, p, cancel, "podtask: waiting for the cleanup to finish…", func() outcome {
		res, err := engine(ctx, m.Sink(p.Send))
		p.Send(tui.Done{Result: res, Err: err}) // a no-op once the screen has gone
		return outcome{res, err}
	}, func() {
		// The alternate screen is gone: leave the outcome in the scrollback.
		if line := m.Summary(); line != "" {
			fmt.Fprintln(streams.ErrOut, line)
		}
	})
	if uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) {
		return out.res, errors.Join(out.err, fmt.Errorf("terminal UI: %w", uiErr))
	}
	return out.res, out.err
}

// limitTUIMemory sets the Go heap's soft limit while a screen is up, unless
// the user set GOMEMLIMIT, and returns what restores it. Logs may stream at
// 100k lines/s: the heap stays near what is live (the log rings) rather
// than growing to twice that between collections.
func limitTUIMemory(limit int64) (restore func()) {
	if old := debug.SetMemoryLimit(-1); old == math.MaxInt64 {
		debug.SetMemoryLimit(limit)
		return func() { debug.SetMemoryLimit(old) }
	}
	return func() {}
}

// runScreenBeside runs prog as the active screen while work runs beside it,
// and returns work's result and the screen's error once both are done.
// closed is called as soon as the screen is gone. A screen that fails
// cancels the work (each pod with its on-finish action) rather than leave
// it unwatched; one left with a second q while the work still cleans up
// says waiting, and waits.
func runScreenBeside[T any](errOut io.Writer, prog *tea.Program, cancel context.CancelCauseFunc, waiting string, work func() T, closed func()) (T, error) {
	done := make(chan T, 1)
	go func() { done <- work() }()
	_, uiErr := runScreen(prog)
	if closed != nil {
		closed()
	}
	if uiErr != nil {
		cancel(nil)
	}
	select {
	case out := <-done:
		return out, uiErr
	case <-time.After(300 * time.Millisecond):
		fmt.Fprintln(errOut, waiting)
		return <-done, uiErr
	}
}

// activeScreen is the program drawing the screen now, if any: a second
// signal, which leaves at once, gives the terminal back first.
var activeScreen struct {
	mu sync.Mutex
	p  *tea.Program
}

// runScreen runs p as the active screen.
func runScreen(p *tea.Program) (tea.Model, error) {
	activeScreen.mu.Lock()
	activeScreen.p = p
	activeScreen.mu.Unlock()
	defer func() {
		activeScreen.mu.Lock()
		if activeScreen.p == p {
			activeScreen.p = nil
		}
		activeScreen.mu.Unlock()
	}()
	return p.Run()
}

// restoreScreen stops the active screen, if any, and restores the terminal
// as it was (Kill returns once it is).
func restoreScreen() {
	activeScreen.mu.Lock()
	p := activeScreen.p
	activeScreen.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// newTUIProgram is the program of a screen drawn on streams.Out, with
// streams.In as its keyboard when that is a terminal.
func newTUIProgram(ctx context.Context, streams genericiooptions.IOStreams, m tea.Model, noColor bool) *tea.Program {
	popts := []tea.ProgramOption{
		tea.WithOutput(streams.Out),
		// Signals are the caller's: a SIGTERM cancels the engine, whose
		// end then closes the screen after the cleanup.
		tea.WithoutSignalHandler(),
		// The screen outlives a cancelled engine context (to show the
		// cleanup), so it runs under a context of its own.
		tea.WithContext(context.WithoutCancel(ctx)),
	}
	if noColor {
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	if f, ok := streams.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		popts = append(popts, tea.WithInput(f))
	}
	return tea.NewProgram(m, popts...)
}

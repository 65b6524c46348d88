package plugin

// debugonfailure.go: `run --debug-on-failure`: when the base container exits
// non-zero, show the end of its log and open a shell in a debug copy of the
// failed pod; the run still exits with the task's own exit code.

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// failureLogLines is how many of the failed container's last log lines are
// shown before the shell opens.
const failureLogLines = 20

// failureDebugger watches a run for a failed base container and, afterwards,
// opens the shell.
type failureDebugger struct {
	streams genericiooptions.IOStreams
	engine  *launch.Engine
	pod     *corev1.Pod // the pod as rendered: the copy's spec is the failed pod's
	base    string
	quiet   bool

	mu     sync.Mutex
	last   []string // the base container's last log lines, oldest first
	result *launch.Result
}

// wrap records the base container's last log lines and the result.
func (d *failureDebugger) wrap(engine func(context.Context, launch.Options) (*launch.Result, error)) func(context.Context, launch.Options) (*launch.Result, error) {
	return func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		sink := opts.Sink
		opts.Sink = func(ev launch.Event) {
			if l, ok := ev.(*launch.LogLine); ok && l.Container == d.base {
				d.mu.Lock()
				if d.last = append(d.last, l.Line); len(d.last) > failureLogLines {
					d.last = d.last[len(d.last)-failureLogLines:]
				}
				d.mu.Unlock()
			}
			if sink != nil {
				sink(ev)
			}
		}
		res, err := engine(ctx, opts)
		d.mu.Lock()
		d.result = res
		d.mu.Unlock()
		return res, err
	}
}

// after opens the shell when the task's base container exited non-zero, and
// returns runErr, the run's own outcome, whatever the shell did.
func (d *failureDebugger) after(ctx context.Context, runErr error) error {
	d.mu.Lock()
	res, last := d.result, d.last
	d.mu.Unlock()
	if res == nil || res.Outcome != launch.OutcomeFailed || res.ExitCode == nil || *res.ExitCode == 0 || ctx.Err() != nil {
		return runErr
	}
	if !stdinIsTerminal(d.streams) {
		fmt.Fprintln(d.streams.ErrOut, "podtask: --debug-on-failure: stdin is not a terminal, so no shell was opened")
		return runErr
	}
	cp, diffs, err := render.DebugCopy(d.pod, d.base, render.DebugOptions{TTY: true})
	if err != nil {
		fmt.Fprintf(d.streams.ErrOut, "podtask: --debug-on-failure: %v\n", err)
		return runErr
	}
	w := d.streams.ErrOut
	fmt.Fprintf(w, "podtask: container %s exited with code %d; the last %d lines of its log:\n", d.base, *res.ExitCode, len(last))
	for _, l := range last {
		fmt.Fprintf(w, "podtask: | %s\n", l)
	}
	fmt.Fprintf(w, "podtask: opening %s in pod/%s, a copy of the failed pod; leave it with exit (the run then exits with %d)\n",
		render.DefaultDebugShell, cp.Name, *res.ExitCode)
	if !d.quiet {
		for _, diff := range diffs {
			fmt.Fprintf(w, "podtask:   - %s\n", diff)
		}
	}
	if msg := ErrorLine(runDebugCopy(ctx, d.streams, d.engine, cp, d.quiet)); msg != "" {
		fmt.Fprintln(w, msg) // the shell's own exit code says nothing: the task's counts
	}
	return runErr
}

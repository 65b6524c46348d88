// run --each --tui: a mapped run under the terminal UI (pkg/tui's mapped
// screen): a task list with a row per item and the selected item's log,
// events and XCom. The screen closes when the user quits; the report
// (summary table, --xcom-out, -o) and the exit code are then runEach's, as
// without --tui.

package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// eachTUI says whether the mapped run is shown under the terminal UI.
func (o *RunOptions) eachTUI() bool { return o.follow.screenWanted(o.streams) }

// eachTUIMemoryLimit is the heap's soft limit under the mapped run's
// screen: the single task's, and room for each item's log and state.
func eachTUIMemoryLimit(items int) int64 {
	return max(tuiMemoryLimit, 32<<20+int64(items)*(64<<10))
}

// runMappedScreen runs the items under the screen. cancel is the run's:
// the screen's q calls it with no cause (every pod gets its on-finish
// action), d with a StopRequest to delete every pod. Under the screen, the
// printer is left out but for the --log-dir files. It returns once the run
// has returned and the screen has closed.
func (o *RunOptions) runMappedScreen(ctx context.Context, cancel context.CancelCauseFunc, start mappedStart) ([]launch.ItemResult, error) {
	f := &o.each
	items := make([]tui.MapItem, len(f.pods))
	for i, pod := range f.pods {
		items[i] = tui.MapItem{Params: shortParams(f.args[i]), Pod: pod.Name}
	}
	noColor := os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
	m := tui.NewMapped(tui.MapOptions{
		Options: tui.Options{
			Task:           launch.TaskName(o.pod),
			OnFinishAction: launch.OptionsFromPod(o.pod, launch.Options{}).OnFinish,
			MaxLogLines:    o.follow.maxLogLines,
			NoColor:        noColor,
			Stop:           cancel,
		},
		RunID:       o.pod.Annotations[render.AnnotationRunID],
		Namespace:   o.pod.Namespace,
		Parallelism: f.parallelism,
		Tries:       o.policy.Tries(),
		Items:       items,
	})
	defer limitTUIMemory(eachTUIMemoryLimit(len(items)))()
	prog := newTUIProgram(ctx, o.streams, m, noColor)

	sink := m.Sink(prog.Send)
	var runSink func(int, launch.Event)
	if f.logDir != "" {
		// The screen owns the terminal: a printer of its own writes only
		// the items' log files.
		files := newEachPrinter(io.Discard, io.Discard, true, false, f.logDir, len(f.pods))
		defer files.close()
		runSink = func(i int, ev launch.Event) {
			switch ev.(type) {
			case *launch.LogLine, *launch.Finished:
				files.handle(i, ev)
			}
			sink(i, ev)
		}
	} else {
		runSink = sink
	}

	type outcome struct {
		res []launch.ItemResult
		err error
	}
	out, uiErr := runScreenBeside(o.streams.ErrOut, prog, cancel, "podtask: waiting for the cleanup of the run's pods to finish…", func() outcome {
		res, err := start(ctx, runSink)
		prog.Send(tui.MapDone{Results: res, Err: err, Interrupted: ctx.Err() != nil}) // a no-op once the screen has gone
		return outcome{res, err}
	}, nil)
	if uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) {
		// The results are still worth the report: the error is a warning.
		fmt.Fprintf(o.streams.ErrOut, "podtask: warning: terminal UI: %v\n", uiErr)
	}
	return out.res, out.err
}

// shortParams is an item's params for its row: key=value pairs in key order.
func shortParams(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + oneLine(params[k]))
	}
	return b.String()
}

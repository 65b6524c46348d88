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

	"k8s.io/cli-runtime/pkg/genericiooptions"

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
	mo := tui.MapOptions{
		Options: tui.Options{
			Task:           launch.TaskName(o.pod),
			OnFinishAction: launch.OptionsFromPod(o.pod, launch.Options{}).OnFinish,
			MaxLogLines:    o.follow.maxLogLines,
			Stop:           cancel,
		},
		RunID:       o.pod.Annotations[render.AnnotationRunID],
		Namespace:   o.pod.Namespace,
		Parallelism: f.parallelism,
		Tries:       o.policy.Tries(),
		Items:       items,
	}
	res, _, err := runMapScreen(ctx, o.streams, f.logDir, mo, cancel, "podtask: waiting for the cleanup of the run's pods to finish…",
		func(sink func(int, launch.Event)) ([]launch.ItemResult, []launch.ItemResult, error) {
			res, err := start(ctx, sink)
			return res, res, err
		})
	return res, err
}

// runMapScreen shows a mapped screen (run --each, or a Job) with mo while
// work runs beside it. work feeds the sink it is given (the screen, and
// the --log-dir files when logDir is set: the screen owns the terminal)
// and returns its result and the items' results to end the screen with.
// It returns work's result once work has returned and the screen has
// closed; a failing screen is a warning, not the result's error.
func runMapScreen[T any](ctx context.Context, streams genericiooptions.IOStreams, logDir string, mo tui.MapOptions, cancel context.CancelCauseFunc,
	waiting string, work func(sink func(int, launch.Event)) (T, []launch.ItemResult, error)) (T, []launch.ItemResult, error) {
	mo.NoColor = os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
	m := tui.NewMapped(mo)
	defer limitTUIMemory(eachTUIMemoryLimit(len(mo.Items)))()
	prog := newTUIProgram(ctx, streams, m, mo.NoColor)
	sink := m.Sink(prog.Send)
	if logDir != "" {
		files := newEachPrinter(io.Discard, io.Discard, true, false, logDir, len(mo.Items))
		defer files.close()
		screen := sink
		sink = func(i int, ev launch.Event) {
			switch ev.(type) {
			case *launch.LogLine, *launch.Finished:
				files.handle(i, ev)
			}
			screen(i, ev)
		}
	}
	type outcome struct {
		res   T
		items []launch.ItemResult
		err   error
	}
	out, uiErr := runScreenBeside(streams.ErrOut, prog, cancel, waiting, func() outcome {
		res, items, err := work(sink)
		prog.Send(tui.MapDone{Results: items, Err: err, Interrupted: ctx.Err() != nil}) // a no-op once the screen has gone
		return outcome{res, items, err}
	}, nil)
	if uiErr != nil && !errors.Is(uiErr, tea.ErrProgramKilled) {
		// The results are still worth the report: the error is a warning.
		fmt.Fprintf(streams.ErrOut, "podtask: warning: terminal UI: %v\n", uiErr)
	}
	return out.res, out.items, out.err
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

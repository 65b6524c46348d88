// attach --run-id: a mapped run (run --each) taken up again from its record
// after an interrupt or a lost terminal, followed and reported as run
// --each would have (on its screen with --tui); a run without a record is a
// single task's, found by its pod.

package plugin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// attachRun takes up the mapped run --run-id names. done is false when the
// run has no record: it is then found as a single task's pod.
func (o *AttachOptions) attachRun(ctx context.Context, engine *launch.Engine) (done bool, err error) {
	rec, err := engine.LoadRun(ctx, o.namespace, o.find.runID)
	if errors.Is(err, launch.ErrNoRecord) {
		return false, nil
	}
	if err != nil {
		var ae *launch.APIError
		if errors.As(err, &ae) {
			return true, &ExitError{Code: ExitAPI, Err: err}
		}
		return true, &ExitError{Code: ExitUsage, Err: err}
	}
	if o.interactive.stdin {
		return true, &ExitError{Code: ExitUsage, Err: fmt.Errorf("run %s is a mapped run: attach --run-id follows it without -i", rec.RunID)}
	}
	finished := 0
	for _, it := range rec.Items {
		if it.Final {
			finished++
		}
	}
	if !o.follow.quiet {
		fmt.Fprintf(o.streams.ErrOut, "podtask: run %s: %d items in namespace %s, %d done, at most %d pods at once\n",
			rec.RunID, len(rec.Pods), rec.Namespace, finished, rec.Settings.Parallelism)
	}
	opts := o.launchOptions()
	m := &mappedFollow{streams: o.streams, follow: &o.follow, engine: engine,
		namespace: rec.Namespace, runID: rec.RunID, params: rec.Settings.Params}
	if o.follow.screenWanted(o.streams) {
		m.screen = o.resumedScreen(rec)
	}
	return true, m.run(ctx, func(ctx context.Context, sink func(int, launch.Event)) ([]launch.ItemResult, error) {
		return engine.ResumeMapped(ctx, rec, opts, launch.MapOptions{Sink: sink})
	})
}

// resumedScreen shows the run taken up again on the mapped run's screen, as
// run --each --tui did: the items recorded as done come in done.
func (o *AttachOptions) resumedScreen(rec *launch.RunRecord) func(context.Context, context.CancelCauseFunc, mappedStart) ([]launch.ItemResult, error) {
	return func(ctx context.Context, cancel context.CancelCauseFunc, start mappedStart) ([]launch.ItemResult, error) {
		items := make([]tui.MapItem, len(rec.Pods))
		for i, p := range rec.Pods {
			items[i] = tui.MapItem{Params: shortParams(rec.Settings.Params[i]), Pod: p.Name}
		}
		mo := tui.MapOptions{
			Options: tui.Options{
				Task:           rec.Settings.Task,
				OnFinishAction: launch.OptionsFromPod(rec.Pods[0], launch.Options{}).OnFinish,
				MaxLogLines:    o.follow.maxLogLines,
				Stop:           cancel,
			},
			RunID:       rec.RunID,
			Namespace:   rec.Namespace,
			Parallelism: rec.Settings.Parallelism,
			Tries:       rec.Settings.Retry.Tries(),
			Items:       items,
		}
		res, _, err := runMapScreen(ctx, o.streams, "", mo, cancel, "podtask: waiting for the cleanup of the run's pods to finish…",
			func(sink func(int, launch.Event)) ([]launch.ItemResult, []launch.ItemResult, error) {
				for i, it := range rec.Items {
					if it.Final && it.Result != nil {
						sink(i, &launch.Finished{At: launch.At{Time: time.Now()}, Result: it.Result})
					}
				}
				res, err := start(ctx, sink)
				return res, res, err
			})
		return res, err
	}
}

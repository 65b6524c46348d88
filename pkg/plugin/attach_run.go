// attach --run-id: a mapped run (run --each) taken up again from its record
// after an interrupt or a lost terminal, followed and reported as run
// --each would have; a run without a record is a single task's, found by
// its pod.

package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
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
	if o.follow.tui || o.interactive.stdin {
		return true, &ExitError{Code: ExitUsage, Err: fmt.Errorf("run %s is a mapped run: attach --run-id follows it without --tui and -i", rec.RunID)}
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
	return true, m.run(ctx, func(ctx context.Context, sink func(int, launch.Event)) ([]launch.ItemResult, error) {
		return engine.ResumeMapped(ctx, rec, opts, launch.MapOptions{Sink: sink})
	})
}

// run --as-job --tui and attach job/NAME --tui: a Job under the mapped run's
// screen (pkg/tui, MapOptions.Job): a row per index, filled in as the Job
// controller makes its pods, and the selected index's log, events and XCom.
// q leaves the Job running (attach job/NAME takes it up again), d deletes
// it. The report (summary table, --xcom-out, -o) and the exit code are then
// jobReport's, as without --tui.

package plugin

import (
	"context"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// jobScreen is what the screen shows of the Job besides its events.
type jobScreen struct {
	job, namespace, runID, task string
	onFinish                    launch.OnFinishAction
	parallelism, tries          int
}

// newJobScreen is the screen of job when --tui asks for it and stdout is a
// terminal; nil otherwise (with a note).
func newJobScreen(f *followFlags, streams genericiooptions.IOStreams, job *batchv1.Job, onFinish launch.OnFinishAction) *jobScreen {
	if !f.screenWanted(streams) {
		return nil
	}
	_, _, tries := launch.JobShape(job)
	s := &jobScreen{job: job.Name, namespace: job.Namespace, runID: job.Labels[render.LabelRunID],
		task: job.Labels[render.LabelTask], onFinish: onFinish, parallelism: 1, tries: tries}
	if p := job.Spec.Parallelism; p != nil {
		s.parallelism = int(*p)
	}
	return s
}

// runScreen follows the Job under the screen; cancel is the follow's: q
// calls it with no cause (leave), d with a StopRequest to delete the Job.
// The Job's own events go through jobSink, as the printer's do.
func (r *jobReport) runScreen(ctx context.Context, cancel context.CancelCauseFunc, n int, jo launch.JobOptions,
	jobSink func(func(int, launch.Event)) func(int, launch.Event), run jobStart) (*launch.JobResult, error) {
	s := r.screen
	items := make([]tui.MapItem, n)
	for i := range items {
		if i < len(r.params) {
			items[i].Params = shortParams(r.params[i])
		}
	}
	mo := tui.MapOptions{
		Options:     tui.Options{Task: s.task, OnFinishAction: s.onFinish, MaxLogLines: r.flags.maxLogLines, Stop: cancel},
		RunID:       s.runID,
		Namespace:   s.namespace,
		Parallelism: s.parallelism,
		Tries:       s.tries,
		Items:       items,
		Job:         s.job,
	}
	res, _, err := runMapScreen(ctx, r.streams, r.logDir, mo, cancel, "podtask: waiting to let job/"+s.job+" go…",
		func(sink func(int, launch.Event)) (*launch.JobResult, []launch.ItemResult, error) {
			jo.Sink = jobSink(sink)
			res, err := run(ctx, jo)
			var items []launch.ItemResult
			if res != nil {
				items = res.Items
			}
			return res, items, err
		})
	return res, err
}

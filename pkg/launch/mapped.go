// Mapped runs: many pods of one run (Airflow's mapped task instances, one
// per item), at most Parallelism at once, followed through one pod watch
// and one events watch, each item with its own tries, the results in item
// order.

package launch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// OutcomeSkipped is a mapped item that never started: the run was
// interrupted, or stopped by --fail-fast, before its turn.
const OutcomeSkipped Outcome = "Skipped"

// DefaultParallelism is how many pods of a mapped run exist at once by default.
const DefaultParallelism = 8

// MapOptions says how to run the items of a mapped run.
type MapOptions struct {
	// Parallelism is how many of the run's pods may exist at once;
	// DefaultParallelism when zero. A slot is free again once its pod is
	// gone (seen deleted), or kept by the on-finish action.
	Parallelism int
	// FailFast stops the run at the first failed item: the pods that run
	// are deleted, the items not started are skipped.
	FailFast bool
	// Retry is every item's retry policy.
	Retry RetryPolicy
	// Sink receives every item's events with the item's index; it is called
	// concurrently, and must be safe for it.
	Sink func(index int, ev Event)
	// Record, when set, keeps the run's record (runrecord.go) with these
	// settings: made when the run starts, every item's ended try written
	// before its pod is deleted, so that ResumeMapped can take it up again.
	Record *RunSettings

	// resume, set by ResumeMapped, is what the record and the cluster
	// said of the run.
	resume *resumeState
}

// ItemResult is what one item of a mapped run came to.
type ItemResult struct {
	Index int
	// Result is the item's last try; its Outcome is OutcomeSkipped for an
	// item that never started.
	Result *Result
	// Err is the error RunTries returned for it.
	Err error
	// Duration is the item's wall time, from its first create to its end.
	Duration time.Duration
}

// Succeeded says whether the item ran to a zero exit with its result read.
func (r ItemResult) Succeeded() bool {
	return r.Err == nil && r.Result != nil && r.Result.Outcome == OutcomeSucceeded
}

// RunMapped runs pods, the items of one run (the same namespace and run-id
// label), at most mo.Parallelism at once, in index order, and returns their
// results in that order. Every pod is followed as Run follows one, through
// the two watches of the whole run. When ctx is cancelled, every pod of the
// run gets the on-finish action (or the StopRequest's); items not started
// are skipped. The error is non-nil when the watches could not start.
func (e *Engine) RunMapped(ctx context.Context, pods []*corev1.Pod, opts Options, mo MapOptions) ([]ItemResult, error) {
	out := make([]ItemResult, len(pods))
	if len(pods) == 0 {
		return out, nil
	}
	ns, runID := pods[0].Namespace, pods[0].Labels[LabelRunID]
	for i, p := range pods {
		if p.Namespace != ns || p.Labels[LabelRunID] != runID || runID == "" {
			return nil, fmt.Errorf("item %d: not of the run %q in namespace %s", i, runID, ns)
		}
	}
	n := mo.Parallelism
	if n <= 0 {
		n = DefaultParallelism
	}
	sink := func(i int, ev Event) {
		if mo.Sink != nil {
			mo.Sink(i, ev)
		}
	}

	watchCtx, stopWatches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatches()
	set := e.startPodSet(watchCtx, ns, labels.SelectorFromSet(labels.Set{LabelRunID: runID}).String(), e.sharedWatchTrouble("run's", sink))

	warn := func(msg string) { sink(-1, &Notice{At: At{Time: e.now()}, Level: "warning", Message: msg}) }
	var rec *runRecorder
	switch {
	case mo.resume != nil:
		rec = e.resumeRecord(watchCtx, mo.resume.cm, warn)
	case mo.Record != nil:
		rec = e.createRecord(watchCtx, pods, *mo.Record, warn)
	}

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, i := range mo.resume.order(len(pods)) {
		out[i].Index = i
		if done, ok := mo.resume.done(i); ok {
			out[i] = done
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-runCtx.Done():
		}
		if runCtx.Err() != nil {
			out[i].Result = skipped(pods[i], runCtx)
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			o := OptionsFromPod(pods[i], opts)
			o.podSet = set
			o.Sink = func(ev Event) { sink(i, ev) }
			start := e.now().Add(-mo.resume.spent(i))
			recordedFinal := false
			if rec != nil {
				o.onTryEnd = func(res *Result, err error, final bool) {
					rec.record(runCtx, i, recordItem(res, err, final, e.now().Sub(start)))
					recordedFinal = final
				}
			}
			first := mo.resume.firstTry(i)
			if name := mo.resume.terminating(i); name != "" {
				set.waitGone(runCtx, name, time.Minute) // a pod an interrupt was deleting: the item runs afresh
			}
			res, err := e.runTries(runCtx, pods[i], o, mo.Retry, first)
			out[i].Result, out[i].Err, out[i].Duration = res, err, e.now().Sub(start)
			if rec != nil && !recordedFinal && res != nil && !errors.Is(err, ErrInterrupted) && res.Outcome != OutcomeInterrupted {
				rec.record(runCtx, i, recordItem(res, err, true, out[i].Duration))
			}
			if mo.FailFast && !out[i].Succeeded() && runCtx.Err() == nil {
				stop(&StopRequest{Action: DeletePod})
			}
			if res != nil && res.Deleted {
				// The slot is free once the pod is gone, not when its
				// deletion began: at most n pods exist at once.
				set.waitGone(context.WithoutCancel(ctx), res.Pod, time.Minute)
				set.forget(res.Pod)
			}
		}(i)
	}
	wg.Wait()
	if rec != nil {
		rec.close()
	}
	return out, nil
}

// skipped is the result of an item that never started.
func skipped(pod *corev1.Pod, ctx context.Context) *Result {
	r := &Result{Pod: pod.Name, Namespace: pod.Namespace, Task: TaskName(pod), RunID: pod.Labels[LabelRunID],
		Outcome: OutcomeSkipped, Reason: "NotStarted", Message: "not started: the run was interrupted"}
	if _, ok := context.Cause(ctx).(*StopRequest); ok {
		r.Message = "not started: the run stopped at the first failure (--fail-fast)"
	}
	return r
}

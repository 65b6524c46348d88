// Jobs: run --as-job's batch/v1 Job created (with the config map of its
// items) and followed as a mapped run is followed: one watch on the Job,
// one pod watch on the Job's controller-uid label, the events watch, and
// every pod the Job controller makes adopted by a tracker (logs, events,
// the XCom of its termination message); the results in index order. The
// Job controller, not the engine, keeps the Job going: when the caller
// leaves, the Job runs on, and AttachJob takes it up again.

package launch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// JobOptions says how to follow a Job.
type JobOptions struct {
	// Options are how each of the Job's pods is followed (logs, XCom mode,
	// image pull grace); its on-finish action is the Job's, applied once
	// the Job ended and its results were read.
	Options
	// Propagation is how the Job's pods go when the engine deletes the
	// Job; Foreground (KubernetesJobOperator's) when empty.
	Propagation metav1.DeletionPropagation
	// Sink receives every index's events with its index, and the Job's own
	// (JobCreated, JobEnded) with index -1; it is called concurrently.
	Sink func(index int, ev Event)
}

// JobCreated says the Job exists (or, on attach, was found).
type JobCreated struct {
	At
	Job, Namespace, RunID string
	Completions           int32
	Parallelism           int32
	Indexed               bool
	Attached              bool
}

// JobEnded says the Job controller finished the Job.
type JobEnded struct {
	At
	Job     string
	Failed  bool
	Reason  string
	Message string
}

// JobResult is what a Job came to, as far as it was followed.
type JobResult struct {
	Job       string
	Namespace string
	RunID     string
	// Items are the indexes' results, in index order; an index is its last
	// pod's result, or what the Job's status says when its pods are gone.
	Items []ItemResult
	// Left says the caller left (ctx ended) before the Job ended: the Job
	// goes on, and AttachJob takes it up again; unless Deleted says the
	// caller's StopRequest had it deleted.
	Left bool
	// Failed, Reason and Message are the Job's Failed condition.
	Failed          bool
	Reason, Message string
	// Deleted says the engine deleted the Job (its on-finish action, or a
	// pod that can never start).
	Deleted bool
}

// RunJob creates the Job (see CreateJob) and follows it to its end. The
// error is non-nil when the Job could not be created or followed. A ctx
// that ends leaves the Job running (JobResult.Left), unless its cause is a
// StopRequest to delete: then the Job is deleted too (JobResult.Deleted).
func (e *Engine) RunJob(ctx context.Context, job *batchv1.Job, cm *corev1.ConfigMap, jo JobOptions) (*JobResult, error) {
	created, err := e.CreateJob(ctx, job, cm)
	if err != nil {
		return nil, err
	}
	return e.followJob(ctx, created, jo, false)
}

// CreateJob creates job and cm (the items' config map, owned by the Job;
// may be nil). A Job whose pods mount the config map is created suspended
// and let go once the config map exists, so that no pod starts without its
// items.
func (e *Engine) CreateJob(ctx context.Context, job *batchv1.Job, cm *corev1.ConfigMap) (*batchv1.Job, error) {
	job = job.DeepCopy()
	mounts := render.JobMountsItems(job, cm)
	if mounts {
		yes := true
		job.Spec.Suspend = &yes
	}
	created, err := e.createJob(ctx, job)
	if err != nil {
		return nil, &APIError{Op: "create job", Err: err}
	}
	if cm != nil {
		if err := e.startJobWithItems(ctx, created, cm, mounts); err != nil {
			// Nothing has run: the Job (and whatever it owns) goes.
			e.deleteJob(ctx, created, metav1.DeletePropagationBackground)
			return nil, err
		}
	}
	return created, nil
}

// AttachJob finds the Job namespace/name and follows it as RunJob would.
func (e *Engine) AttachJob(ctx context.Context, namespace, name string, jo JobOptions) (*JobResult, error) {
	job, err := e.GetJob(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return e.followJob(ctx, job, jo, true)
}

// GetJob reads a Job, retrying transient failures.
func (e *Engine) GetJob(ctx context.Context, namespace, name string) (*batchv1.Job, error) {
	var job *batchv1.Job
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		var err error
		job, err = e.Batch.Jobs(namespace).Get(cctx, name, metav1.GetOptions{})
		return err
	})
	if err != nil {
		return nil, &APIError{Op: "get job", Err: err}
	}
	return job, nil
}

// GetJobParams reads the items' params from the Job's config map; nil when
// it has none.
func (e *Engine) GetJobParams(ctx context.Context, job *batchv1.Job) ([]map[string]string, error) {
	var cm *corev1.ConfigMap
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		var err error
		cm, err = e.Client.ConfigMaps(job.Namespace).Get(cctx, job.Name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &APIError{Op: "get the job's config map", Err: err}
	}
	var params []map[string]string
	if s, ok := cm.Data[render.JobParamsKey]; ok {
		if err := json.Unmarshal([]byte(s), &params); err != nil {
			return nil, fmt.Errorf("config map %s: %s is not a list of params: %w", cm.Name, render.JobParamsKey, err)
		}
	}
	return params, nil
}

func (e *Engine) createJob(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	var out *batchv1.Job
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		j, err := e.Batch.Jobs(job.Namespace).Create(cctx, job, metav1.CreateOptions{FieldManager: "kubectl-podtask"})
		if apierrors.IsAlreadyExists(err) {
			// A create whose answer was lost: the Job is ours if it is of this run.
			existing, gerr := e.Batch.Jobs(job.Namespace).Get(cctx, job.Name, metav1.GetOptions{})
			if gerr == nil && existing.Labels[LabelRunID] != "" && existing.Labels[LabelRunID] == job.Labels[LabelRunID] {
				out = existing
				return nil
			}
		}
		if err != nil {
			return err
		}
		out = j
		return nil
	})
	return out, err
}

// startJobWithItems creates the items' config map, owned by the Job, and
// lets the Job run when it was suspended until then.
func (e *Engine) startJobWithItems(ctx context.Context, job *batchv1.Job, cm *corev1.ConfigMap, suspended bool) error {
	cm = cm.DeepCopy()
	cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		_, err := e.Client.ConfigMaps(cm.Namespace).Create(cctx, cm, metav1.CreateOptions{FieldManager: "kubectl-podtask"})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return &APIError{Op: "create the job's config map", Err: err}
	}
	if !suspended {
		return nil
	}
	patch := []byte(`{"spec":{"suspend":false}}`)
	err = e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		_, err := e.Batch.Jobs(job.Namespace).Patch(cctx, job.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-podtask"})
		return err
	})
	if err != nil {
		return &APIError{Op: "start the job", Err: err}
	}
	return nil
}

// deleteJob deletes the Job and, by propagation, its pods and config map;
// it runs even when ctx is cancelled, bounded by the cleanup timeout.
func (e *Engine) deleteJob(ctx context.Context, job *batchv1.Job, prop metav1.DeletionPropagation) error {
	if prop == "" {
		prop = metav1.DeletePropagationForeground
	}
	d := e.CleanupTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	return e.retryTransient(cctx, func(ctx context.Context) error {
		err := e.Batch.Jobs(job.Namespace).Delete(ctx, job.Name, metav1.DeleteOptions{PropagationPolicy: &prop,
			Preconditions: &metav1.Preconditions{UID: &job.UID}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// jobTry is one pod of an index.
type jobTry struct {
	pod      string
	try      int
	created  time.Time
	res      *Result
	err      error
	finished Event // the Finished event held back, until it is known to be the index's last
	done     bool
}

// JobShape is what the Job's spec says of its indexes and tries: how many
// indexes (completions), whether it is Indexed, and how many tries each
// index may take.
func JobShape(job *batchv1.Job) (n int, indexed bool, tries int) {
	n = 1
	if job.Spec.Completions != nil {
		n = int(*job.Spec.Completions)
	}
	indexed = job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion
	tries = 7 // the Job controller's default backoffLimit, 6
	switch {
	case indexed && job.Spec.BackoffLimitPerIndex != nil:
		tries = int(*job.Spec.BackoffLimitPerIndex) + 1
	case job.Spec.BackoffLimit != nil:
		tries = int(*job.Spec.BackoffLimit) + 1
	}
	return n, indexed, tries
}

// jobEnded is the Job's Complete or Failed condition, when it has one.
func jobEnded(job *batchv1.Job) (ended, failed bool, reason, msg string) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, false, c.Reason, c.Message
		case batchv1.JobFailed:
			return true, true, c.Reason, c.Message
		}
	}
	return false, false, "", ""
}

// followJob follows the Job's pods until the Job ended (or ctx did), then
// applies the on-finish action to the Job and gives the results.
func (e *Engine) followJob(ctx context.Context, job *batchv1.Job, jo JobOptions, attached bool) (*JobResult, error) {
	n, indexed, tries := JobShape(job)
	sink := func(i int, ev Event) {
		if jo.Sink != nil {
			jo.Sink(i, ev)
		}
	}
	par := int32(1)
	if job.Spec.Parallelism != nil {
		par = *job.Spec.Parallelism
	}
	sink(-1, &JobCreated{At: At{Time: e.now()}, Job: job.Name, Namespace: job.Namespace, RunID: job.Labels[LabelRunID],
		Completions: int32(n), Parallelism: par, Indexed: indexed, Attached: attached})

	watchCtx, stopWatches := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatches()
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()

	var mu sync.Mutex
	closing, podsSeen := false, false
	byIndex := make([][]*jobTry, n)
	var wg sync.WaitGroup
	fatal := make(chan error, 1)

	onErr := e.sharedWatchTrouble("job's", sink)

	var set *podSet
	adopt := func(p *corev1.Pod) {
		i := 0
		if indexed {
			i = render.JobItemIndex(p)
		}
		if i < 0 || i >= n {
			return
		}
		mu.Lock()
		if closing {
			mu.Unlock()
			return
		}
		podsSeen = true
		jt := &jobTry{pod: p.Name, created: p.CreationTimestamp.Time, try: len(byIndex[i]) + 1}
		if indexed {
			if c, err := strconv.Atoi(p.Annotations[batchv1.JobIndexFailureCountAnnotation]); err == nil {
				jt.try = c + 1
			}
		}
		byIndex[i] = append(byIndex[i], jt)
		wg.Add(1)
		mu.Unlock()
		go func() {
			defer wg.Done()
			o := OptionsFromPod(p, jo.Options)
			o.OnFinish = KeepPod // the Job owns its pods
			o.ScheduleTimeout, o.StartupTimeout = 0, 0
			o.podSet = set
			o.Sink = func(ev Event) {
				switch ev.(type) {
				case *Finished:
					mu.Lock()
					jt.finished = ev
					mu.Unlock()
					return
				case *Cleanup:
					return
				}
				sink(i, ev)
			}
			if tries > 1 {
				sink(i, &TryStarted{At: At{Time: e.now()}, Try: jt.try, Tries: tries, Pod: p.Name})
			}
			res, err := e.adoptPod(followCtx, p, o)
			if res != nil {
				res.Try = jt.try
			}
			mu.Lock()
			jt.res, jt.err, jt.done = res, err, true
			held := jt.finished
			mu.Unlock()
			if followCtx.Err() != nil {
				return
			}
			var se *StartError
			switch {
			case errors.As(err, &se) && !retryHelps(se.Reason):
				select {
				case fatal <- err:
				default:
				}
			case res != nil && res.Outcome == OutcomeFailed && jt.try < tries:
				sink(i, &Retrying{At: At{Time: e.now()}, Try: jt.try, Tries: tries, Pod: p.Name,
					Reason: res.Reason, Message: res.Message, Delay: -1})
				return
			}
			if held != nil {
				mu.Lock()
				jt.finished = nil
				mu.Unlock()
				sink(i, held)
			}
		}()
	}
	sel := labels.SelectorFromSet(labels.Set{batchv1.ControllerUidLabel: string(job.UID)}).String()
	set = e.startPodSetWith(watchCtx, job.Namespace, sel, onErr, adopt)

	var jobMu sync.Mutex
	latest := job
	wake := make(chan struct{}, 1)
	// poke wakes the follow loop below; a wake already due is enough.
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	jobChanged := func(obj any) {
		if j, ok := obj.(*batchv1.Job); ok && j.UID == job.UID {
			jobMu.Lock()
			latest = j
			jobMu.Unlock()
			poke()
		}
	}
	jobs := e.Batch.Jobs(job.Namespace)
	go e.informSelected(watchCtx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", job.Name).String()},
		&batchv1.Job{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return jobs.List(ctx, o) },
		jobs.Watch,
		cache.ResourceEventHandlerFuncs{
			AddFunc:    jobChanged,
			UpdateFunc: func(_, obj any) { jobChanged(obj) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				if j, ok := obj.(*batchv1.Job); ok {
					j = j.DeepCopy()
					now := metav1.NewTime(e.now())
					j.DeletionTimestamp = &now
					jobChanged(j)
				}
			},
		}, func(err error) { onErr("status", err) })

	// The Job's warnings are the run's; a pod it cannot create may be a
	// start failure (jobCannotStart).
	var failedCreate *KubeEvent
	go e.watchJobEvents(watchCtx, job, func(ev *corev1.Event) {
		kev := e.kubeEvent(ev)
		if kev.Type == EventWarning {
			sink(-1, kev)
		}
		if kev.Reason == ReasonFailedCreate {
			jobMu.Lock()
			failedCreate = kev
			jobMu.Unlock()
			poke()
		}
	}, func(err error) { onErr("job events", err) })

	out := &JobResult{Job: job.Name, Namespace: job.Namespace, RunID: job.Labels[LabelRunID]}
	// The end counts once the pod watch has listed the Job's pods too: its
	// first list wakes the loop once.
	go func() {
		if cache.WaitForCacheSync(ctx.Done(), set.synced) {
			poke()
		}
	}()
	var startErr error
wait:
	for {
		jobMu.Lock()
		j, fc := latest, failedCreate
		jobMu.Unlock()
		mu.Lock()
		seen := podsSeen
		mu.Unlock()
		if se := jobCannotStart(j, seen, fc); se != nil && set.synced() {
			startErr = se
			break
		}
		if ended, failed, reason, msg := jobEnded(j); ended && set.synced() {
			out.Failed, out.Reason, out.Message = failed, reason, msg
			break
		}
		if j.DeletionTimestamp != nil && set.synced() {
			out.Failed, out.Reason, out.Message = true, "JobDeleted", "the job was deleted before it ended"
			break
		}
		select {
		case <-ctx.Done():
			out.Left = true
			break wait
		case startErr = <-fatal:
			break wait
		case <-wake:
		}
	}
	jobMu.Lock()
	final := latest
	jobMu.Unlock()

	if out.Left || startErr != nil {
		stopFollowing()
	}
	mu.Lock()
	closing = true
	mu.Unlock()
	wg.Wait()

	if startErr != nil {
		out.Failed, out.Reason, out.Message = true, "StartFailed", "a pod of the job cannot start: "+startErr.Error()
		if se, ok := startErr.(*StartError); ok && se.Reason == ReasonFailedCreate {
			out.Message = se.Message // the controller's own words say it all
		}
		if jo.OnFinish != KeepPod {
			if err := e.deleteJob(ctx, job, jo.Propagation); err == nil {
				out.Deleted = true
			} else {
				sink(-1, &Notice{At: At{Time: e.now()}, Level: "warning", Message: "could not delete job " + job.Name + ": " + describeAPIError(err)})
			}
		}
	}
	out.Items = e.jobItems(final, byIndex, out, startErr)
	// The held Finished events of the indexes' last tries.
	for i, ts := range byIndex {
		if t := lastTry(ts); t != nil && t.finished != nil && !out.Left {
			sink(i, t.finished)
		}
	}
	if out.Left {
		if sr, ok := context.Cause(ctx).(*StopRequest); ok && sr.Action == DeletePod {
			if err := e.deleteJob(ctx, job, jo.Propagation); err != nil {
				sink(-1, &Notice{At: At{Time: e.now()}, Level: "warning", Message: "could not delete job " + job.Name + ": " + describeAPIError(err)})
			} else {
				out.Deleted = true
			}
		}
		return out, nil
	}
	sink(-1, &JobEnded{At: At{Time: e.now()}, Job: job.Name, Failed: out.Failed, Reason: out.Reason, Message: out.Message})
	if startErr == nil && final.DeletionTimestamp == nil && jobDeletes(jo.OnFinish, out.Items) {
		if err := e.deleteJob(ctx, job, jo.Propagation); err != nil {
			sink(-1, &Notice{At: At{Time: e.now()}, Level: "warning", Message: "could not delete job " + job.Name + ": " + describeAPIError(err)})
		} else {
			out.Deleted = true
		}
	}
	return out, nil
}

// jobDeletes says whether the on-finish action deletes a Job that ended
// with these results: delete_pod always, delete_succeeded_pod when every
// index succeeded; keep_pod and delete_active_pod keep an ended Job.
func jobDeletes(action OnFinishAction, items []ItemResult) bool {
	switch action {
	case "", DeletePod:
		return true
	case DeleteSucceededPod:
		for _, it := range items {
			if !it.Succeeded() {
				return false
			}
		}
		return true
	}
	return false
}

// adoptPod follows a pod the Job controller made, as Attach follows a pod.
func (e *Engine) adoptPod(ctx context.Context, pod *corev1.Pod, opts Options) (*Result, error) {
	t := e.newTracker(pod, opts)
	t.pod = pod
	t.result.Created = pod.CreationTimestamp.Time
	t.emit(&PodCreated{At: t.at(), Pod: pod.Name, Namespace: pod.Namespace, Task: t.result.Task, RunID: t.result.RunID})
	return t.follow(ctx)
}

func lastTry(ts []*jobTry) *jobTry {
	var last *jobTry
	for _, t := range ts {
		if last == nil || t.try > last.try || t.try == last.try && t.created.After(last.created) {
			last = t
		}
	}
	return last
}

// jobItems are the indexes' results: each index's last pod's, else what
// the Job's status says of an index whose pods are gone.
func (e *Engine) jobItems(job *batchv1.Job, byIndex [][]*jobTry, out *JobResult, startErr error) []ItemResult {
	completed := parseIndexes(job.Status.CompletedIndexes)
	failedIdx := map[int]bool{}
	if job.Status.FailedIndexes != nil {
		failedIdx = parseIndexes(*job.Status.FailedIndexes)
	}
	_, indexed, _ := JobShape(job)
	items := make([]ItemResult, len(byIndex))
	for i, ts := range byIndex {
		items[i].Index = i
		t := lastTry(ts)
		if t != nil && t.res != nil {
			items[i].Result, items[i].Err = t.res, t.err
			start := t.created
			for _, o := range ts {
				if o.created.Before(start) {
					start = o.created
				}
			}
			end := t.res.Completed
			if end.IsZero() {
				end = e.now()
			}
			items[i].Duration = end.Sub(start)
			switch {
			case out.Left && t.res.Outcome == OutcomeInterrupted:
				t.res.Message = "left running: the job goes on"
			case startErr != nil && t.res.Outcome == OutcomeInterrupted:
				t.res.Outcome, t.res.Reason, t.res.Message = OutcomeSkipped, "Stopped", "stopped: a pod of the job cannot start"
			}
			continue
		}
		r := &Result{Namespace: job.Namespace, Task: job.Labels[LabelTask], RunID: job.Labels[LabelRunID]}
		items[i].Result = r
		succeeded := completed[i] || !indexed && job.Status.Succeeded > 0
		switch {
		case succeeded:
			r.Outcome, r.Reason, r.Message = OutcomeSucceeded, "PodGone", "succeeded; its pod is gone, and with it its exit code and XCom result"
			zero := int32(0)
			r.ExitCode = &zero
		case failedIdx[i] || !indexed && out.Failed && job.Status.Failed > 0:
			r.Outcome, r.Reason, r.Message = OutcomeFailed, "PodGone", "failed; its pod is gone, and with it its exit code"
		case out.Left:
			r.Outcome, r.Reason, r.Message = OutcomeSkipped, "NotStarted", "not started yet: the job goes on"
		case startErr != nil:
			r.Outcome, r.Reason, r.Message = OutcomeSkipped, "NotStarted", "not started: a pod of the job cannot start"
		default:
			r.Outcome, r.Reason, r.Message = OutcomeSkipped, "NotStarted", "not started: the job ended first"
			if out.Reason != "" {
				r.Message += " (" + out.Reason + ")"
			}
		}
	}
	return items
}

// parseIndexes reads the Job status's index lists: "1,3-5,7".
func parseIndexes(s string) map[int]bool {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out
}

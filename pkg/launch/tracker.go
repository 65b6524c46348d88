package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// tracker follows one pod from creation (or attach) to the end.
type tracker struct {
	e      *Engine
	opts   Options
	pod    *corev1.Pod
	result *Result

	sinkMu   sync.Mutex
	finished bool

	warnMu   sync.Mutex
	warnings []string // recent warning events, for failure messages

	logs   map[string]*logFollower
	logsWG sync.WaitGroup
	// logActivity is when a log stream last delivered a line (UnixNano, wall
	// clock): draining after the container ended may take long, but not idle.
	logActivity atomic.Int64

	stageNow Stage
	upload   uploadState // --file, see artifacts.go
}

func (e *Engine) newTracker(pod *corev1.Pod, opts Options) *tracker {
	if opts.BaseContainer == "" {
		opts.BaseContainer = DefaultBaseContainer
	}
	if opts.OnFinish == "" {
		opts.OnFinish = DeletePod
	}
	task := pod.Annotations[AnnotationTask]
	if task == "" {
		task = pod.Labels[LabelTask]
	}
	return &tracker{
		e:    e,
		opts: opts,
		result: &Result{
			Pod: pod.Name, Namespace: pod.Namespace, Task: task, RunID: pod.Labels[LabelRunID],
		},
		logs: map[string]*logFollower{},
	}
}

func (t *tracker) at() At { return At{Time: t.e.now()} }

// emit sends ev to the sink; nothing is sent after Finished.
func (t *tracker) emit(ev Event) {
	if t.opts.Sink == nil {
		return
	}
	t.sinkMu.Lock()
	defer t.sinkMu.Unlock()
	if t.finished {
		return
	}
	if _, ok := ev.(*Finished); ok {
		t.finished = true
	}
	t.opts.Sink(ev)
}

func (t *tracker) stage(s Stage) {
	if t.stageNow == s {
		return
	}
	t.stageNow = s
	t.emit(&StageChanged{At: t.at(), Stage: s})
}

func (t *tracker) finish() {
	t.stage(StageDone)
	t.emit(&Finished{At: t.at(), Result: t.result})
}

// timer is a time.Timer whose channel is nil while it is not armed.
type timer struct{ t *time.Timer }

func (x *timer) arm(d time.Duration) {
	if x.t == nil && d > 0 {
		x.t = time.NewTimer(d)
	}
}
func (x *timer) disarm() {
	if x.t != nil {
		x.t.Stop()
		x.t = nil
	}
}
func (x *timer) C() <-chan time.Time {
	if x.t == nil {
		return nil
	}
	return x.t.C
}

// fatalWaiting are waiting reasons that will not fix themselves.
var fatalWaiting = map[string]bool{
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
	"PreCreateHookError":         true,
	"PostStartHookError":         true,
}

// pullWaiting are waiting reasons that may pass; they fail after the grace period.
var pullWaiting = map[string]bool{
	"ErrImagePull":     true,
	"ImagePullBackOff": true,
}

// follow watches the pod until its base container ends, then completes.
func (t *tracker) follow(ctx context.Context) (*Result, error) {
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	updates := newPodMailbox()
	go t.e.watchPod(wctx, t.pod.Namespace, t.pod.Name, updates, t.watchTrouble("pod"))
	go t.e.watchEvents(wctx, t.pod, t.onKubeEvent, t.watchTrouble("events"))

	var schedule, startup, pullGrace timer
	schedule.arm(t.opts.ScheduleTimeout)
	scheduled := false
	var pullReason, pullMsg string

	t.stage(StageScheduling)
	for {
		select {
		case <-ctx.Done():
			stopWatches()
			return t.interrupted(ctx)

		case <-schedule.C():
			return t.startFailed(ctx, "ScheduleTimeout",
				fmt.Sprintf("no node was assigned within %s%s", t.opts.ScheduleTimeout, t.unschedulableMessage()))

		case <-startup.C():
			return t.startFailed(ctx, "StartupTimeout",
				fmt.Sprintf("the %q container was not running within %s of scheduling%s",
					t.opts.BaseContainer, t.opts.StartupTimeout, t.waitingSummary()))

		case <-pullGrace.C():
			return t.startFailed(ctx, pullReason, pullMsg)

		case out := <-t.uploadDone():
			if res, err := t.uploadFinished(ctx, out); err != nil {
				return res, err
			}
			startup.arm(t.opts.StartupTimeout)

		case <-updates.wake:
			pod, deleted := updates.take()
			if pod == nil {
				continue
			}
			t.pod = pod
			t.emitStatus(pod)
			if deleted || pod.DeletionTimestamp != nil && !t.baseTerminated(pod) {
				t.result.Outcome = OutcomeError
				t.result.Reason = "PodDeleted"
				t.result.Message = "the pod was deleted before the task finished"
				t.result.Deleted = true
				t.stopLogs()
				t.finish()
				return t.result, errors.New(t.result.Message)
			}
			if !scheduled && pod.Spec.NodeName != "" {
				scheduled = true
				schedule.disarm()
				startup.arm(t.opts.StartupTimeout)
				t.result.Node = pod.Spec.NodeName
				t.stage(StageStarting)
			}
			t.startLogs(wctx, pod)
			if t.startUpload(wctx, pod) {
				startup.disarm() // the upload's time is not the start's
			}
			if t.baseTerminated(pod) || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				schedule.disarm()
				startup.disarm()
				pullGrace.disarm()
				return t.complete(ctx, updates)
			}
			if t.baseRunning(pod) {
				startup.disarm()
				pullGrace.disarm()
				t.stage(StageRunning)
				continue
			}
			if reason, msg, fatal := waitingProblem(pod); reason != "" {
				if fatal {
					return t.startFailed(ctx, reason, msg)
				}
				pullReason, pullMsg = reason, msg
				pullGrace.arm(t.opts.ImagePullGrace)
			} else if mountReason, mountMsg := t.missingVolumeSource(); mountReason != "" {
				pullReason, pullMsg = mountReason, mountMsg
				pullGrace.arm(t.opts.ImagePullGrace)
			} else {
				pullGrace.disarm()
			}
		}
	}
}

// watchTrouble reports a failing watch once, and again when it recovers:
// the watch itself retries with backoff.
func (t *tracker) watchTrouble(what string) func(error) {
	var mu sync.Mutex
	failing := ""
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil && failing != "":
			failing = ""
			t.emit(&Notice{At: t.at(), Level: "info", Message: "watching the " + what + " again"})
		case err != nil && failing == "":
			failing = describeAPIError(err)
			t.emit(&Notice{At: t.at(), Level: "warning", Message: "watching the " + what + " failed (retrying): " + failing})
		}
	}
}

// waitingProblem finds a container (init or not) waiting for a reason that
// is fatal, or one that is fatal after the pull grace period.
func waitingProblem(pod *corev1.Pod) (reason, msg string, fatal bool) {
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range all {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		m := fmt.Sprintf("container %q: %s", cs.Name, strings.TrimSpace(w.Message))
		if w.Message == "" {
			m = fmt.Sprintf("container %q (image %s)", cs.Name, cs.Image)
		}
		if fatalWaiting[w.Reason] {
			return w.Reason, m, true
		}
		if pullWaiting[w.Reason] {
			reason, msg = w.Reason, m
		}
	}
	return reason, msg, false
}

func (t *tracker) containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func (t *tracker) baseTerminated(pod *corev1.Pod) bool {
	cs := t.containerStatus(pod, t.opts.BaseContainer)
	return cs != nil && cs.State.Terminated != nil
}

func (t *tracker) baseRunning(pod *corev1.Pod) bool {
	cs := t.containerStatus(pod, t.opts.BaseContainer)
	return cs != nil && cs.State.Running != nil
}

func (t *tracker) unschedulableMessage() string {
	for _, c := range t.pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return ": " + c.Message
		}
	}
	return ""
}

func (t *tracker) waitingSummary() string {
	for _, cs := range t.pod.Status.ContainerStatuses {
		if cs.Name == t.opts.BaseContainer && cs.State.Waiting != nil {
			return fmt.Sprintf(" (waiting: %s)", cs.State.Waiting.Reason)
		}
	}
	return ""
}

// onKubeEvent records warnings and forwards the event.
func (t *tracker) onKubeEvent(ev *KubeEvent) {
	if ev.Type == corev1.EventTypeWarning {
		t.warnMu.Lock()
		t.warnings = append(t.warnings, ev.Reason+": "+ev.Message)
		if len(t.warnings) > 10 {
			t.warnings = t.warnings[len(t.warnings)-10:]
		}
		t.warnMu.Unlock()
	}
	t.emit(ev)
}

func (t *tracker) recentWarnings() []string {
	t.warnMu.Lock()
	defer t.warnMu.Unlock()
	return append([]string(nil), t.warnings...)
}

// missingVolumeSource reports a FailedMount warning about a secret or config
// map that does not exist; like an image pull error it may pass (the object
// may be created a moment later), so it fails after the grace period.
func (t *tracker) missingVolumeSource() (string, string) {
	for _, w := range t.recentWarnings() {
		if strings.HasPrefix(w, "FailedMount:") && strings.Contains(w, "not found") {
			return "FailedMount", strings.TrimSpace(strings.TrimPrefix(w, "FailedMount:"))
		}
	}
	return "", ""
}

// emitStatus reports the pod's phase and container states.
func (t *tracker) emitStatus(pod *corev1.Pod) {
	t.emit(&PodStatus{
		At: t.at(), Phase: string(pod.Status.Phase), Node: pod.Spec.NodeName, PodIP: pod.Status.PodIP,
		Reason: pod.Status.Reason, Message: pod.Status.Message,
		InitContainers: flatten(pod.Spec.InitContainers, pod.Status.InitContainerStatuses, true),
		Containers:     flatten(pod.Spec.Containers, pod.Status.ContainerStatuses, false),
	})
}

func flatten(spec []corev1.Container, statuses []corev1.ContainerStatus, init bool) []ContainerStatus {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	out := make([]ContainerStatus, 0, len(spec))
	for _, c := range spec {
		cs := ContainerStatus{Name: c.Name, Init: init}
		if s, ok := byName[c.Name]; ok {
			cs.Restarts, cs.Ready = s.RestartCount, s.Ready
			switch {
			case s.State.Terminated != nil:
				term := s.State.Terminated
				code := term.ExitCode
				cs.State, cs.Reason, cs.Message, cs.ExitCode = "terminated", term.Reason, term.Message, &code
				cs.Started, cs.Finished = term.StartedAt.Time, term.FinishedAt.Time
			case s.State.Running != nil:
				cs.State, cs.Started = "running", s.State.Running.StartedAt.Time
			case s.State.Waiting != nil:
				cs.State, cs.Reason, cs.Message = "waiting", s.State.Waiting.Reason, s.State.Waiting.Message
			}
		}
		out = append(out, cs)
	}
	return out
}

// startFailed ends a task whose base container never ran.
func (t *tracker) startFailed(ctx context.Context, reason, msg string) (*Result, error) {
	t.stopLogs()
	t.result.Outcome = OutcomeStartFailed
	t.result.Reason = reason
	t.result.Message = msg
	t.result.Phase = string(t.pod.Status.Phase)
	t.cleanup(ctx, t.opts.OnFinish, true)
	t.finish()
	return t.result, &StartError{Reason: reason, Message: msg, Events: t.recentWarnings()}
}

// interrupted cleans up after the context was cancelled: the task's own
// on-finish action applies, or the one a StopRequest carries.
func (t *tracker) interrupted(ctx context.Context) (*Result, error) {
	t.stopLogs()
	action := t.opts.OnFinish
	var sr *StopRequest
	if errors.As(context.Cause(ctx), &sr) {
		action = sr.Action
	}
	if t.uploadUnfinished() {
		action = DeletePod // its task never ran
	}
	t.result.Outcome = OutcomeInterrupted
	t.result.Reason = "Interrupted"
	t.result.Message = "interrupted before the task finished"
	if t.pod != nil {
		t.result.Phase = string(t.pod.Status.Phase)
	}
	t.cleanup(ctx, action, true)
	t.finish()
	return t.result, ErrInterrupted
}

// complete handles a base container that has ended: logs drained, XCom read,
// sidecar stopped, cleanup applied.
func (t *tracker) complete(ctx context.Context, updates *podMailbox) (*Result, error) {
	t.stage(StageCompleting)
	pod := t.pod
	r := t.result
	r.Phase = string(pod.Status.Phase)
	r.Node = pod.Spec.NodeName
	if cs := t.containerStatus(pod, t.opts.BaseContainer); cs != nil && cs.State.Terminated != nil {
		term := cs.State.Terminated
		code := term.ExitCode
		r.ExitCode = &code
		r.Reason = term.Reason
		r.Started, r.Completed = term.StartedAt.Time, term.FinishedAt.Time
		r.Phase, _ = TaskPhase(pod, t.opts.BaseContainer)
		if code == 0 {
			r.Outcome = OutcomeSucceeded
		} else {
			r.Outcome = OutcomeFailed
			r.Message = fmt.Sprintf("container %q exited with code %d (%s)", t.opts.BaseContainer, code, term.Reason)
		}
	} else {
		// The pod ended without the base container running: an init container
		// failed, or the pod was evicted or ran out of its deadline.
		r.Outcome = OutcomeFailed
		r.Reason, r.Message = pod.Status.Reason, pod.Status.Message
		for _, cs := range pod.Status.InitContainerStatuses {
			if term := cs.State.Terminated; term != nil && term.ExitCode != 0 {
				code := term.ExitCode
				r.ExitCode = &code
				r.Reason = "InitContainerFailed"
				r.Message = fmt.Sprintf("init container %q exited with code %d (%s)", cs.Name, code, term.Reason)
				break
			}
		}
		if r.Message == "" {
			r.Message = "the pod failed before its base container ran"
		}
	}
	t.waitLogs(ctx, 15*time.Second)

	var xerr error
	if ctx.Err() == nil {
		xerr = t.readXCom(ctx, pod)
	}
	if ctx.Err() != nil {
		return t.interrupted(ctx)
	}
	if aerr := t.fetchArtifacts(ctx, pod); aerr != nil && xerr == nil {
		xerr = aerr
	}
	if xerr != nil && r.Outcome == OutcomeSucceeded {
		r.Message = xerr.Error()
	}
	// The sidecar is stopped through its FIFO only when the pod is kept, so
	// that the pod reaches its final phase; a pod about to be deleted takes
	// the sidecar with it. Until then the result stays readable: a run that
	// is killed at any point can be finished by attach.
	if t.opts.XCom == XComSidecar && !t.willDelete(t.opts.OnFinish, false) {
		if cs := t.containerStatus(pod, XComSidecarName); cs != nil && cs.State.Running != nil {
			if serr := t.e.StopSidecar(ctx, pod); serr != nil && ctx.Err() == nil {
				t.emit(&Notice{At: t.at(), Level: "warning", Message: "could not stop the XCom sidecar: " + serr.Error()})
			}
		}
	}
	// A kept pod is left in its final phase, so that what run reports and
	// what list or attach show afterwards agree.
	if !t.willDelete(t.opts.OnFinish, false) && !t.keepsArtifactsSidecar(pod) {
		t.waitPhase(ctx, updates, 15*time.Second)
	}
	if ctx.Err() != nil {
		return t.interrupted(ctx)
	}
	t.cleanup(ctx, t.opts.OnFinish, false)
	t.finish()
	return r, xerr
}

// waitPhase waits for the pod to reach Succeeded or Failed, for at most d.
func (t *tracker) waitPhase(ctx context.Context, updates *podMailbox, d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if p := t.pod.Status.Phase; p == corev1.PodSucceeded || p == corev1.PodFailed {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-updates.wake:
			if pod, _ := updates.take(); pod != nil {
				t.pod = pod
				t.emitStatus(pod)
			}
		}
	}
}

// willDelete decides the on-finish action. active says the task did not
// finish on its own (interrupted, or never started).
func (t *tracker) willDelete(action OnFinishAction, active bool) bool {
	switch action {
	case KeepPod:
		return false
	case DeleteSucceededPod:
		if active && t.result.Outcome == OutcomeInterrupted {
			return true // an interrupted pod did not fail: nothing to inspect, do not orphan it
		}
		return t.result.Outcome == OutcomeSucceeded
	case DeleteActivePod:
		return active
	default:
		return true
	}
}

func (t *tracker) stopLogs() {
	for _, f := range t.logs {
		f.stop()
	}
}

// waitLogs waits for the log streams to end after the container has. A
// stream still delivering its backlog (a fast writer outruns the kubelet) is
// waited for however long that takes; one idle for d is stopped.
func (t *tracker) waitLogs(ctx context.Context, d time.Duration) {
	done := make(chan struct{})
	go func() { t.logsWG.Wait(); close(done) }()
	t.noteLogActivity()
	tick := time.NewTicker(d / 8)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			t.stopLogs()
			return
		case <-tick.C:
			idle := time.Since(time.Unix(0, t.logActivity.Load()))
			if idle < d || t.logsReconnecting() && idle < maxLogOutage {
				continue
			}
			t.stopLogs()
			t.emit(&Notice{At: t.at(), Level: "warning", Message: "the log stream did not end after the container finished; stopped following it"})
			return
		}
	}
}

// maxLogOutage is how long a finished container's log stream may keep
// failing to reconnect (an API server restarting) before it is given up.
const maxLogOutage = 3 * time.Minute

// logsReconnecting tells whether a log stream is between a break and its
// next successful connection.
func (t *tracker) logsReconnecting() bool {
	for _, f := range t.logs {
		if f.reconnecting.Load() {
			return true
		}
	}
	return false
}

func (t *tracker) noteLogActivity() { t.logActivity.Store(time.Now().UnixNano()) }

// The tracker's follow loop: it watches one pod from creation (or attach)
// until its base container ends, arming the schedule, startup and pull
// timers, and hands the end to outcome.go.

package launch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// tracker follows one pod from creation (or attach) to the end.
type tracker struct {
	e      *Engine
	opts   Options
	pod    *corev1.Pod // the latest state seen; read and written by the follow loop only
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
	return &tracker{
		e:    e,
		opts: opts,
		result: &Result{
			Pod: pod.Name, Namespace: pod.Namespace, Task: TaskName(pod), RunID: pod.Labels[LabelRunID],
		},
		logs: map[string]*logFollower{},
	}
}

func (t *tracker) at() At { return At{Time: t.e.now()} }

// timer is a clock's timer whose channel is nil while it is not armed.
type timer struct {
	clock clock.Clock
	t     clock.Timer
}

func (x *timer) arm(d time.Duration) {
	if x.t == nil && d > 0 {
		x.t = x.clock.NewTimer(d)
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
	return x.t.C()
}

// follow watches the pod until its base container ends, then completes.
func (t *tracker) follow(ctx context.Context) (*Result, error) {
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	updates := newPodMailbox()
	t.startWatches(wctx, updates)

	clk := t.e.timers()
	schedule, startup, pullGrace := timer{clock: clk}, timer{clock: clk}, timer{clock: clk}
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
				fmt.Sprintf("no node was assigned within %s%s", t.opts.ScheduleTimeout, unschedulableMessage(t.pod)))

		case <-startup.C():
			return t.startFailed(ctx, "StartupTimeout",
				fmt.Sprintf("the %q container was not running within %s of scheduling%s",
					t.opts.BaseContainer, t.opts.StartupTimeout, waitingSummary(t.pod, t.opts.BaseContainer)))

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
			last := t.pod
			t.pod = pod
			t.sawPod(pod, deleted)
			t.emitStatus(pod)
			if deleted || pod.DeletionTimestamp != nil && !t.baseTerminated(pod) {
				return t.deletedElsewhere(last, pod)
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

// waitPhase waits for the pod to reach Succeeded or Failed, for at most d.
func (t *tracker) waitPhase(ctx context.Context, updates *podMailbox, d time.Duration) {
	deadline := t.e.timers().NewTimer(d)
	defer deadline.Stop()
	for {
		if p := t.pod.Status.Phase; p == corev1.PodSucceeded || p == corev1.PodFailed {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C():
			return
		case <-updates.wake:
			if pod, _ := updates.take(); pod != nil {
				t.pod = pod
				t.emitStatus(pod)
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

// How a task ends: the Result's outcome, reason and message for a task that
// ran to its end (logs drained, XCom read, sidecar stopped), never started,
// was interrupted, or lost its pod to someone else; then the cleanup.

package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// startFailed ends a task whose base container never ran.
func (t *tracker) startFailed(ctx context.Context, reason, msg string) (*Result, error) {
	t.stopLogs()
	t.result.Outcome = OutcomeStartFailed
	t.result.Reason = reason
	t.result.Message = msg
	t.result.Phase = string(t.pod.Status.Phase)
	err := &StartError{Reason: reason, Message: msg, Events: t.recentWarnings()}
	t.ended(err)
	t.cleanup(ctx, t.opts.OnFinish, true)
	t.finish()
	return t.result, err
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

// deletedElsewhere ends a task whose pod was deleted by someone else before
// its base container ended. last is the state seen before the deletion
// began, pod the one the deletion came with.
func (t *tracker) deletedElsewhere(last, pod *corev1.Pod) (*Result, error) {
	t.stopLogs()
	r := t.result
	r.Outcome = OutcomeDeleted
	r.Reason = "PodDeleted"
	r.Deleted = true
	r.Phase, r.ExitCode = TaskPhase(pod, t.opts.BaseContainer)
	by := deletedBy(pod)
	r.Message = fmt.Sprintf("pod deleted by %s while %s; last known state: %s", by, t.stateWords(pod), describeState(last, t.opts.BaseContainer))
	t.finish()
	return r, &DeletedError{Pod: pod.Name, By: by, Message: r.Message, Disrupted: disrupted(pod)}
}

// deletedBy names who deleted the pod when the pod says so: the control
// plane marks the deletions it makes (eviction, preemption, taints, pod
// garbage collection, the kubelet) with a DisruptionTarget condition.
func deletedBy(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			if c.Message != "" {
				return c.Reason + " (" + strings.TrimSpace(c.Message) + ")"
			}
			return c.Reason
		}
	}
	return "another client (not this command)"
}

// disrupted says the pod carries a DisruptionTarget condition.
func disrupted(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// stateWords says where the task was, from the pod's state.
func (t *tracker) stateWords(pod *corev1.Pod) string {
	switch {
	case t.baseTerminated(pod):
		return "finishing"
	case t.baseRunning(pod):
		return "running"
	case pod.Spec.NodeName == "":
		return "waiting for a node"
	default:
		return "starting"
	}
}

// describeState is a pod's phase and base container state, in a few words.
func describeState(pod *corev1.Pod, base string) string {
	if pod == nil {
		return "unknown"
	}
	s := "phase " + string(pod.Status.Phase)
	if pod.Spec.NodeName != "" {
		s += " on node " + pod.Spec.NodeName
	}
	cs := FindContainerStatus(pod, base, false)
	switch {
	case cs == nil:
	case cs.State.Running != nil:
		s += fmt.Sprintf(", container %s running since %s", base, cs.State.Running.StartedAt.UTC().Format(time.RFC3339))
	case cs.State.Waiting != nil:
		s += fmt.Sprintf(", container %s waiting (%s)", base, cs.State.Waiting.Reason)
	case cs.State.Terminated != nil:
		s += fmt.Sprintf(", container %s terminated with exit code %d", base, cs.State.Terminated.ExitCode)
	}
	return s
}

// complete handles a base container that has ended: logs drained, XCom read,
// sidecar stopped, cleanup applied.
func (t *tracker) complete(ctx context.Context, updates *podMailbox) (*Result, error) {
	t.stage(StageCompleting)
	pod := t.pod
	r := t.result
	r.Phase = string(pod.Status.Phase)
	r.Node = pod.Spec.NodeName
	if term := terminated(pod, t.opts.BaseContainer); term != nil {
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
	var stopErr error
	if t.opts.XCom == XComSidecar && !t.willDelete(t.opts.OnFinish, false) {
		if cs := FindContainerStatus(pod, XComSidecarName, false); cs != nil && cs.State.Running != nil {
			stopErr = t.e.StopSidecar(ctx, pod)
		}
	}
	// A kept pod is left in its final phase, so that what run reports and
	// what list or attach show afterwards agree.
	if !t.willDelete(t.opts.OnFinish, false) && !t.keepsArtifactsSidecar(pod) {
		t.waitPhase(ctx, updates, 15*time.Second)
	}
	// The stop lets the sidecar exit, which can cut the exec that asked for
	// it before it reports: only a sidecar still running failed to stop.
	if stopErr != nil && ctx.Err() == nil {
		if cs := FindContainerStatus(t.pod, XComSidecarName, false); cs == nil || cs.State.Terminated == nil {
			t.emit(&Notice{At: t.at(), Level: "warning", Message: "could not stop the XCom sidecar: " + stopErr.Error()})
		}
	}
	if ctx.Err() != nil {
		return t.interrupted(ctx)
	}
	t.ended(xerr)
	t.cleanup(ctx, t.opts.OnFinish, false)
	t.finish()
	return r, xerr
}

// ended tells the caller's onEnd of the task's end, before the cleanup.
func (t *tracker) ended(err error) {
	if t.opts.onEnd != nil {
		t.opts.onEnd(t.result, err)
	}
}

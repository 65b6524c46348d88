package launch

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// One table says what a waiting reason means; the start, the retries and a
// display all read it: a reason that fails a start at once fails it, one
// that fails it after the grace period waits for it, and neither is retried.
func TestWaitingReasonsAreOneTable(t *testing.T) {
	pod := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "base", Image: "x", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
		}}}}
	}
	kinds := map[Waiting]int{}
	for reason, w := range waitingReasons {
		kinds[w]++
		r, _, fatal := waitingProblem(pod(reason))
		if fatal != (w == WaitingFatal) || (r != "") != w.FailsStart() {
			t.Errorf("%s (%d): the engine says reason %q, fatal %v", reason, w, r, fatal)
		}
		retry := Retryable(nil, &StartError{Reason: reason})
		if retry == w.FailsStart() {
			t.Errorf("%s (%d): Retryable = %v", reason, w, retry)
		}
		if w.Bad() != (w.FailsStart() || w == WaitingCrashLoop) {
			t.Errorf("%s (%d): Bad = %v", reason, w, w.Bad())
		}
	}
	for _, w := range []Waiting{WaitingStarting, WaitingPull, WaitingFatal, WaitingCrashLoop} {
		if kinds[w] == 0 {
			t.Errorf("no reason of kind %d", w)
		}
	}
	for reason, want := range map[string]Waiting{
		"ContainerCreating": WaitingStarting, "ErrImagePull": WaitingPull, "ImagePullBackOff": WaitingPull,
		"CreateContainerConfigError": WaitingFatal, "PostStartHookError": WaitingFatal, "PreStartHookError": WaitingFatal,
		"CrashLoopBackOff": WaitingCrashLoop, "SomethingNew": WaitingOther,
	} {
		if got := WaitingReason(reason); got != want {
			t.Errorf("WaitingReason(%s) = %d, want %d", reason, got, want)
		}
	}
	if WaitingReason("SomethingNew").Bad() || Retryable(nil, &StartError{Reason: ReasonFailedMount}) {
		t.Error("an unknown reason is bad, or a missing volume source is retried")
	}
	if !Retryable(nil, &StartError{Reason: "ScheduleTimeout"}) || Retryable(nil, errors.New("api")) {
		t.Error("a schedule timeout is not retried, or an API error is")
	}
}

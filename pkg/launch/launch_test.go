package launch

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/streaming/pkg/httpstream"
	clocktesting "k8s.io/utils/clock/testing"
	utilexec "k8s.io/utils/exec"
)

func TestLogTokenResumesWithoutLossOrRepeat(t *testing.T) {
	base := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(ns int) time.Time { return base.Add(time.Duration(ns)) }
	// The log: a, b, c share timestamp 2; d at 3; e at 3; f at 4.
	type line struct {
		ts   time.Time
		text string
	}
	log := []line{{at(1), "x"}, {at(2), "a"}, {at(2), "b"}, {at(2), "c"}, {at(3), "d"}, {at(3), "e"}, {at(4), "f"}}
	var tok LogToken
	var got []string
	// Streams break after 3, then after 2 more lines; each resume replays
	// from the start of the second (here: from the beginning).
	for _, cut := range []int{3, 5, len(log)} {
		d := tok.stream()
		for _, l := range log[:cut] {
			if d.accept(l.ts) {
				got = append(got, l.text)
			}
		}
	}
	if strings.Join(got, "") != "xabcdef" {
		t.Fatalf("got %q, want every line once, in order", strings.Join(got, ""))
	}
}

func TestSplitTimestamp(t *testing.T) {
	ts, text := splitTimestamp([]byte("2026-11-29T05:33:37.123456789Z hello world"))
	if ts.IsZero() || string(text) != "hello world" || ts.Nanosecond() != 123456789 {
		t.Fatalf("got %v %q", ts, text)
	}
	ts, text = splitTimestamp([]byte("no timestamp here"))
	if !ts.IsZero() || string(text) != "no timestamp here" {
		t.Fatalf("got %v %q", ts, text)
	}
}

func TestWaitingProblem(t *testing.T) {
	pod := func(reason string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "base", Image: "x", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "because"}},
		}}}}
	}
	cases := map[string]struct{ fatal, found bool }{
		"InvalidImageName":           {true, true},
		"ErrImageNeverPull":          {true, true},
		"CreateContainerConfigError": {true, true},
		"CreateContainerError":       {true, true},
		"ErrImagePull":               {false, true},
		"ImagePullBackOff":           {false, true},
		"ContainerCreating":          {false, false},
	}
	for reason, want := range cases {
		r, msg, fatal := waitingProblem(pod(reason))
		if fatal != want.fatal || (r != "") != want.found {
			t.Errorf("%s: reason %q fatal %v", reason, r, fatal)
		}
		if want.found && !strings.Contains(msg, `"base"`) {
			t.Errorf("%s: message %q does not name the container", reason, msg)
		}
	}
}

func TestWillDelete(t *testing.T) {
	cases := []struct {
		action  OnFinishAction
		outcome Outcome
		active  bool
		want    bool
	}{
		{DeletePod, OutcomeSucceeded, false, true},
		{DeletePod, OutcomeFailed, false, true},
		{DeletePod, OutcomeInterrupted, true, true},
		{KeepPod, OutcomeSucceeded, false, false},
		{KeepPod, OutcomeInterrupted, true, false},
		{DeleteSucceededPod, OutcomeSucceeded, false, true},
		{DeleteSucceededPod, OutcomeFailed, false, false},
		{DeleteSucceededPod, OutcomeStartFailed, true, false},
		{DeleteSucceededPod, OutcomeInterrupted, true, true},
		{DeleteActivePod, OutcomeSucceeded, false, false},
		{DeleteActivePod, OutcomeFailed, false, false},
		{DeleteActivePod, OutcomeStartFailed, true, true},
		{DeleteActivePod, OutcomeInterrupted, true, true},
	}
	for _, c := range cases {
		tr := &tracker{result: &Result{Outcome: c.outcome}}
		if got := tr.willDelete(c.action, c.active); got != c.want {
			t.Errorf("%s with %s (active %v): delete=%v, want %v", c.action, c.outcome, c.active, got, c.want)
		}
	}
}

func TestParseXCom(t *testing.T) {
	if _, present, err := parseXCom([]byte("  \n")); present || err != nil {
		t.Fatalf("blank: present %v err %v", present, err)
	}
	v, present, err := parseXCom([]byte("[1,2,3,4]\n"))
	if !present || err != nil || string(v) != "[1,2,3,4]" {
		t.Fatalf("got %s %v %v", v, present, err)
	}
	_, _, err = parseXCom([]byte("not json {"))
	if err == nil || !strings.Contains(err.Error(), `"not json {"`) {
		t.Fatalf("invalid JSON error should quote the content: %v", err)
	}
}

// retryOnFakeClock runs fn under retryWhile on a fake clock, stepping the
// clock whenever the retry waits; it returns the error, the calls and the
// time the retry waited on the clock.
func retryOnFakeClock(t *testing.T, retriable func(error) bool, fn func(calls int) error) (error, int, time.Duration) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clk.Now()
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- retryWhile(context.Background(), clk, func(context.Context) error { calls++; return fn(calls) }, retriable)
	}()
	for {
		select {
		case err := <-done:
			return err, calls, clk.Since(start)
		case <-time.After(time.Millisecond):
			if clk.HasWaiters() {
				clk.Step(100 * time.Millisecond)
			}
		}
	}
}

func TestRetryHonoursRetryAfterAndGivesUpOnPermanentErrors(t *testing.T) {
	err, calls, waited := retryOnFakeClock(t, transient, func(calls int) error {
		if calls == 1 {
			return apierrors.NewTooManyRequests("slow down", 1) // Retry-After: 1
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if waited < time.Second {
		t.Errorf("retried after %s, before the server's Retry-After of 1s", waited)
	}
	err, calls, _ = retryOnFakeClock(t, transient, func(int) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New("no"))
	})
	if err == nil || calls != 1 {
		t.Fatalf("a forbidden error was retried (%d calls)", calls)
	}
	err, calls, waited = retryOnFakeClock(t, transient, func(calls int) error {
		if calls < 3 {
			return apierrors.NewInternalError(errors.New("etcd hiccup"))
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("a 500 was not retried: err %v, %d calls", err, calls)
	}
	if waited < 600*time.Millisecond {
		t.Errorf("waited %s for two retries, want 0.2 s then 0.4 s", waited)
	}
	// About a minute, then the last error.
	err, calls, waited = retryOnFakeClock(t, transient, func(int) error { return apierrors.NewServiceUnavailable("down") })
	if err == nil || waited < time.Minute || waited > time.Minute+6*time.Second {
		t.Fatalf("gave up after %s and %d calls (err %v), want about a minute", waited, calls, err)
	}
}

// Errors are told apart by their type: an exec that ran and failed, an API
// refusal (also as the cause of a refused upgrade) and a refused upgrade are
// not retried; a broken transport is.
func TestIdempotentRetryClassifiesByType(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods/exec"}, "x", errors.New("no"))
	cases := []struct {
		err  error
		want bool
	}{
		{utilexec.CodeExitError{Err: errors.New("exit 1"), Code: 1}, false},
		{forbidden, false},
		{&httpstream.UpgradeFailureError{Cause: forbidden}, false},
		{&httpstream.UpgradeFailureError{Cause: errors.New("bad handshake (403 Forbidden)")}, false},
		{&httpstream.UpgradeFailureError{Cause: apierrors.NewServiceUnavailable("restarting")}, true},
		{io.ErrUnexpectedEOF, true},
		{errors.New("websocket: close 1006 (abnormal closure): unexpected EOF"), true},
	}
	for _, c := range cases {
		if got := idempotentRetriable(c.err); got != c.want {
			t.Errorf("%v: retried=%v, want %v", c.err, got, c.want)
		}
	}
	// A WebSocket exec the API refused is not tried again with SPDY (which
	// would be refused too, in text only); a failed upgrade is.
	if shouldFallBack(&httpstream.UpgradeFailureError{Cause: forbidden}) {
		t.Error("a forbidden exec falls back to SPDY")
	}
	if !shouldFallBack(&httpstream.UpgradeFailureError{Cause: errors.New("bad handshake")}) {
		t.Error("a failed upgrade does not fall back to SPDY")
	}
}

func TestTaskPhase(t *testing.T) {
	exited := func(code int32) corev1.ContainerState {
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
	}
	pod := func(phase corev1.PodPhase, base corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "base", State: base}, {Name: XComSidecarName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	}
	cases := []struct {
		pod   *corev1.Pod
		phase string
		code  string
	}{
		{pod(corev1.PodRunning, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}), "Running", "-"},
		{pod(corev1.PodRunning, exited(0)), "Succeeded", "0"}, // the sidecar keeps the pod Running
		{pod(corev1.PodPending, exited(3)), "Failed", "3"},    // the pod's phase lags behind
	}
	for _, c := range cases {
		phase, code := TaskPhase(c.pod, "base")
		got := "-"
		if code != nil {
			got = strconv.Itoa(int(*code))
		}
		if phase != c.phase || got != c.code {
			t.Errorf("got %s/%s, want %s/%s", phase, got, c.phase, c.code)
		}
	}
}

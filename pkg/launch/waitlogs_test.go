package launch

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// waitLogsOnAFakeClock runs waitLogs(d) on a fake clock stepped by step
// while it waits, with one log follower whose stream ends when the test
// says (before returns true): the clock then stands still until waitLogs
// has returned, as the stream's end takes no time. It returns the time
// waitLogs took on the clock and the notices.
func waitLogsOnAFakeClock(t *testing.T, d, step time.Duration, f *logFollower, before func(tr *tracker, elapsed time.Duration) (ended bool)) (time.Duration, []string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	var mu sync.Mutex
	var notices []string
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	tr := (&Engine{Clock: clk}).newTracker(pod, Options{Sink: func(ev Event) {
		if n, ok := ev.(*Notice); ok {
			mu.Lock()
			notices = append(notices, n.Message)
			mu.Unlock()
		}
	}})
	tr.logs["base"] = f
	tr.logsWG.Add(1)
	returned := make(chan struct{})
	go func() { defer close(returned); tr.waitLogs(context.Background(), d) }()
	var hook func(time.Duration)
	if before != nil {
		hook = func(elapsed time.Duration) {
			if before(tr, elapsed) {
				select {
				case <-returned:
				case <-time.After(10 * time.Second): // only when waitLogs fails to see the end
				}
			}
		}
	}
	took := stepWhileWaiting(clk, step, returned, hook)
	mu.Lock()
	defer mu.Unlock()
	return took, notices
}

// A stream still delivering its backlog after the container ended is not cut
// off, however long past the idle limit it runs.
func TestWaitLogsWaitsForABusyStream(t *testing.T) {
	busy, cancel := context.WithCancel(context.Background())
	defer cancel()
	ended := false
	took, notices := waitLogsOnAFakeClock(t, 100*time.Millisecond, 10*time.Millisecond, &logFollower{cancel: cancel},
		func(tr *tracker, elapsed time.Duration) bool {
			switch {
			case elapsed < 300*time.Millisecond: // a line every 10 ms for 300 ms
				tr.noteLogActivity(tr.e.now())
			case !ended: // then the stream ends
				ended = true
				tr.logsWG.Done()
				return true
			}
			return false
		})
	if !ended || busy.Err() != nil || len(notices) > 0 {
		t.Fatalf("a stream delivering lines was stopped after %s (ended %v, notices %q)", took, ended, notices)
	}
	if took < 300*time.Millisecond {
		t.Fatalf("waitLogs returned after %s, before the stream ended", took)
	}
}

// An idle stream is stopped, with a warning, once it has been idle for the
// limit: not before, and not a tick later.
func TestWaitLogsStopsAnIdleStream(t *testing.T) {
	idle, cancel := context.WithCancel(context.Background())
	defer cancel()
	took, notices := waitLogsOnAFakeClock(t, 100*time.Millisecond, 10*time.Millisecond, &logFollower{cancel: cancel}, nil)
	if idle.Err() == nil || len(notices) != 1 {
		t.Fatalf("an idle stream was not stopped (notices %q)", notices)
	}
	if took != 100*time.Millisecond {
		t.Fatalf("idle stream stopped after %s, want 100ms", took)
	}
}

// A stream that is reconnecting (the API server restarting) is given
// maxLogOutage, not the idle limit.
func TestWaitLogsGivesAReconnectingStreamTheOutageLimit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &logFollower{cancel: cancel}
	f.reconnecting.Store(true)
	took, notices := waitLogsOnAFakeClock(t, 100*time.Millisecond, 50*time.Millisecond, f, nil)
	if ctx.Err() == nil || len(notices) != 1 {
		t.Fatalf("a stream that never reconnects was not stopped (notices %q)", notices)
	}
	if took != maxLogOutage {
		t.Fatalf("stopped after %s, want %s", took, maxLogOutage)
	}
}

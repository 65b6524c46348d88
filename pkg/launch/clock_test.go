package launch

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

// The engine's timers run on its clock: a two-minute schedule timeout is
// reached by stepping a fake clock, without waiting two minutes.
func TestScheduleTimeoutOnAFakeClock(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e.Clock = clk
	go func() {
		for !clk.HasWaiters() {
			time.Sleep(time.Millisecond)
		}
		clk.Step(2 * time.Minute)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res, err := e.Run(ctx, taskPod(), Options{ScheduleTimeout: 2 * time.Minute})
	var se *StartError
	if !errors.As(err, &se) || se.Reason != "ScheduleTimeout" || res.Outcome != OutcomeStartFailed {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s of real time", d)
	}
}

// stepWhileWaiting plays time for code under test on clk: whenever a timer
// or ticker waits on clk, it calls before with the time stepped so far
// (when not nil), then steps clk by step; it returns the time stepped once
// stop is closed. Time only moves while the code waits, so what the code
// does between two waits happens at one instant.
func stepWhileWaiting(clk *clocktesting.FakeClock, step time.Duration, stop <-chan struct{}, before func(elapsed time.Duration)) time.Duration {
	start := clk.Now()
	for {
		select {
		case <-stop:
			return clk.Since(start)
		default:
		}
		if !clk.HasWaiters() {
			runtime.Gosched()
			continue
		}
		if before != nil {
			before(clk.Since(start))
		}
		clk.Step(step)
	}
}

// Waiting for a pod to be seen gone is bounded on the engine's clock.
func TestWaitGoneOnTheEnginesClock(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := (&Engine{Client: fake.NewClientset().CoreV1(), Clock: clk}).startPodSet(t.Context(), "default", "", func(string, error) {})
	done := make(chan struct{})
	go func() { defer close(done); s.waitGone(context.Background(), "p", time.Minute) }()
	if took := stepWhileWaiting(clk, 10*time.Second, done, nil); took != time.Minute {
		t.Fatalf("waitGone gave up after %s on the clock, want 1m", took)
	}
}

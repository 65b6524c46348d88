package launch

import (
	"context"
	"errors"
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

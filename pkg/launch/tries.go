// Tries: a task run again in a new pod after a failed try, as Airflow's
// retries do (try_number from 1, retry_delay, retry_exponential_backoff,
// max_retry_delay); which failures a retry can help; the Retrying event.

package launch

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// RetryPolicy says how often and when a failed try runs again.
type RetryPolicy struct {
	// Retries is how many tries follow a failed first one (Airflow's retries).
	Retries int
	// Delay is the wait before the first retry (Airflow's retry_delay).
	Delay time.Duration
	// Exponential doubles the wait at each further retry
	// (retry_exponential_backoff), bounded by MaxDelay when that is set.
	Exponential bool
	// MaxDelay bounds the wait (max_retry_delay); no bound when zero.
	MaxDelay time.Duration
}

// Tries is the number of tries the policy allows in all.
func (p RetryPolicy) Tries() int { return p.Retries + 1 }

// DelayBefore is the wait before try number try (2 for the first retry).
func (p RetryPolicy) DelayBefore(try int) time.Duration {
	d := p.Delay
	if p.Exponential {
		for i := 2; i < try; i++ {
			d *= 2
			if p.MaxDelay > 0 && d >= p.MaxDelay || d > 24*time.Hour {
				break
			}
		}
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// Retrying says a try failed and the task runs again after Delay.
type Retrying struct {
	At
	Try     int // the try that failed
	Tries   int // the tries allowed in all
	Pod     string
	Reason  string
	Message string
	Delay   time.Duration
}

// TryStarted says try number Try (of Tries) begins with a new pod.
type TryStarted struct {
	At
	Try   int
	Tries int
	Pod   string
}

// Retryable says whether a try that ended with res and err may succeed when
// run again: a non-zero exit, a pod that failed (evicted, deadline), a start
// that timed out, a pod deleted by the control plane (eviction, preemption,
// a node drain). Not: an interrupt, an API or XCom failure, a bad image or
// configuration, a pod deleted by a person.
func Retryable(res *Result, err error) bool {
	var se *StartError
	var de *DeletedError
	switch {
	case errors.Is(err, ErrInterrupted):
		return false
	case errors.As(err, &se):
		return retryHelps(se.Reason)
	case errors.As(err, &de):
		return de.Disrupted
	case err != nil:
		return false
	}
	return res != nil && res.Outcome == OutcomeFailed
}

// RunTries runs pod as try 1 and, while a try fails in a way a retry can
// help and tries remain, again in a new pod (render.ForTry) after the
// policy's delay. The last try's result and error are returned; Result.Try
// says which try it was.
func (e *Engine) RunTries(ctx context.Context, pod *corev1.Pod, opts Options, policy RetryPolicy) (*Result, error) {
	return e.runTries(ctx, pod, opts, policy, 1)
}

// runTries is RunTries from try number first on (a mapped run taken up
// again after earlier tries had ended).
func (e *Engine) runTries(ctx context.Context, pod *corev1.Pod, opts Options, policy RetryPolicy, first int) (*Result, error) {
	tries := policy.Tries()
	if first > tries {
		first = tries
	}
	for try := max(first, 1); ; try++ {
		p := render.ForTry(pod, try)
		if tries > 1 && opts.Sink != nil {
			opts.Sink(&TryStarted{At: At{Time: e.now()}, Try: try, Tries: tries, Pod: p.Name})
		}
		o, finished := holdFinished(opts, tries)
		if opts.onTryEnd != nil {
			o.onEnd = func(res *Result, err error) {
				res.Try = try
				opts.onTryEnd(res, err, try >= tries || !Retryable(res, err))
			}
		}
		res, err := e.Run(ctx, p, o)
		if res != nil {
			res.Try = try
		}
		if try >= tries || ctx.Err() != nil || !Retryable(res, err) {
			if ev := finished(); ev != nil {
				opts.Sink(ev)
			}
			return res, err
		}
		d := policy.DelayBefore(try + 1)
		if opts.Sink != nil {
			ev := &Retrying{At: At{Time: e.now()}, Try: try, Tries: tries, Pod: p.Name, Delay: d}
			if res != nil {
				ev.Reason, ev.Message = res.Reason, res.Message
			}
			opts.Sink(ev)
		}
		if opts.podSet != nil && res != nil && res.Deleted {
			opts.podSet.waitGone(ctx, res.Pod, time.Minute) // a mapped run's slot holds one pod at a time
		}
		if !sleepCtx(ctx, e.timers(), d) {
			return res, ErrInterrupted
		}
	}
}

// holdFinished keeps back a try's Finished event when more tries may
// follow, so that a consumer sees one Finished for the whole task: the
// last try's. finished returns the event held, if any.
func holdFinished(opts Options, tries int) (Options, func() Event) {
	if tries <= 1 || opts.Sink == nil {
		return opts, func() Event { return nil }
	}
	var mu sync.Mutex
	var held Event
	sink := opts.Sink
	opts.Sink = func(ev Event) {
		if _, ok := ev.(*Finished); ok {
			mu.Lock()
			held = ev
			mu.Unlock()
			return
		}
		sink(ev)
	}
	return opts, func() Event {
		mu.Lock()
		defer mu.Unlock()
		return held
	}
}

// Retries: which API errors are worth another try, told by their type, and
// the backoff (apimachinery's wait.Backoff on the engine's clock).

package launch

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/utils/clock"
	utilexec "k8s.io/utils/exec"
)

// retryBackoff is the pause between tries: 0.2 s doubling to 5 s.
func retryBackoff() wait.Backoff {
	return wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Cap: 5 * time.Second, Steps: 1 << 30}
}

// retryFor is how long a call is retried at most.
const retryFor = time.Minute

// apiStatus is the API's answer carried by err, also when it came as the
// cause of a refused stream upgrade (exec).
func apiStatus(err error) (apierrors.APIStatus, bool) {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status, true
	}
	var up *httpstream.UpgradeFailureError
	if errors.As(err, &up) && errors.As(up.Cause, &status) {
		return status, true
	}
	return nil, false
}

// transient reports whether an API call that failed with err may succeed if
// tried again: throttling, server errors, timeouts and broken connections.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if status, ok := apiStatus(err); ok {
		code := status.Status().Code
		return code == 429 || code >= 500 || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err)
	}
	if utilnet.IsConnectionReset(err) || utilnet.IsConnectionRefused(err) || utilnet.IsProbableEOF(err) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryAfter is the delay the server asked for, if any.
func retryAfter(err error) time.Duration {
	if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// retryTransient calls fn until it succeeds, fails for good, or about a
// minute of backoff (0.2 s doubling to 5 s, or the server's Retry-After) has
// passed.
func (e *Engine) retryTransient(ctx context.Context, fn func(context.Context) error) error {
	return retryWhile(ctx, e.timers(), fn, transient)
}

func retryWhile(ctx context.Context, clk clock.Clock, fn func(context.Context) error, retriable func(error) bool) error {
	b := retryBackoff()
	deadline := clk.Now().Add(retryFor)
	for {
		err := fn(ctx)
		if err == nil || !retriable(err) || clk.Now().After(deadline) {
			return err
		}
		wait := b.Step()
		if ra := retryAfter(err); ra > 0 {
			wait = ra
		}
		if !sleepCtx(ctx, clk, wait) {
			return err
		}
	}
}

// retryIdempotent is retryTransient for a call that is safe to repeat, such
// as reading the XCom result: any failure of the transport (a stream cut
// mid-way, a WebSocket closed abnormally) is retried too. A command that ran
// and failed, an API refusal, or an upgrade the server refused is not.
func (e *Engine) retryIdempotent(ctx context.Context, fn func(context.Context) error) error {
	return retryWhile(ctx, e.timers(), fn, idempotentRetriable)
}

func idempotentRetriable(err error) bool {
	var exit utilexec.ExitError
	if errors.As(err, &exit) {
		return false
	}
	if _, ok := apiStatus(err); ok {
		return transient(err)
	}
	if httpstream.IsUpgradeFailure(err) {
		return false // refused without a status the client could read
	}
	return true
}

// sleepCtx sleeps for d on clk or until ctx is done; it reports whether ctx
// is still live.
func sleepCtx(ctx context.Context, clk clock.Clock, d time.Duration) bool {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

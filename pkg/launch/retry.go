// Retries: which API errors are worth another try, and the backoff.

package launch

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilexec "k8s.io/utils/exec"
)

// transient reports whether an API call that failed with err may succeed if
// tried again: throttling, server errors, timeouts and broken connections.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsUnexpectedServerError(err) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		code := status.Status().Code
		return code == 429 || code >= 500
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
func retryTransient(ctx context.Context, fn func(context.Context) error) error {
	return retryWhile(ctx, fn, transient)
}

func retryWhile(ctx context.Context, fn func(context.Context) error, retriable func(error) bool) error {
	delay := 200 * time.Millisecond
	deadline := time.Now().Add(time.Minute)
	for {
		err := fn(ctx)
		if err == nil || !retriable(err) || time.Now().After(deadline) {
			return err
		}
		wait := delay
		if ra := retryAfter(err); ra > 0 {
			wait = ra
		}
		if !sleepCtx(ctx, wait) {
			return err
		}
		if delay *= 2; delay > 5*time.Second {
			delay = 5 * time.Second
		}
	}
}

// retryIdempotent is retryTransient for a call that is safe to repeat, such
// as reading the XCom result: any failure of the transport (a stream cut
// mid-way, a WebSocket closed abnormally) is retried too. A command that ran
// and failed, or an API refusal, is not.
func retryIdempotent(ctx context.Context, fn func(context.Context) error) error {
	return retryWhile(ctx, fn, func(err error) bool {
		var exit utilexec.ExitError
		if errors.As(err, &exit) {
			return false
		}
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			return transient(err)
		}
		// A refused upgrade carries the API's answer only as text.
		msg := strings.ToLower(err.Error())
		for _, permanent := range []string{"forbidden", "unauthorized", "not found", "bad request"} {
			if strings.Contains(msg, permanent) {
				return false
			}
		}
		return true
	})
}

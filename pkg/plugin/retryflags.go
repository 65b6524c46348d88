// The retry flags of run: Airflow's retries, retry_delay,
// retry_exponential_backoff and max_retry_delay, over the task file's.

package plugin

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

type retryFlags struct {
	retries     int
	delay       time.Duration
	exponential bool
	maxDelay    time.Duration
}

func (r *retryFlags) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&r.retries, "retries", 0, "Run a failed try again in a new pod up to this many times (Airflow's retries; task file: retries)")
	fs.DurationVar(&r.delay, "retry-delay", render.DefaultRetryDelay, "Wait this long before a retry (Airflow's retry_delay; task file: retry_delay)")
	fs.BoolVar(&r.exponential, "retry-exponential-backoff", false, "Double the wait at each further retry (task file: retry_exponential_backoff)")
	fs.DurationVar(&r.maxDelay, "max-retry-delay", 0, "Wait at most this long before a retry (task file: max_retry_delay)")
}

// policy is the retry policy: the flags that were set over the task's fields.
func (r *retryFlags) policy(fs *pflag.FlagSet, t *render.Task) (launch.RetryPolicy, error) {
	p := launch.RetryPolicy{
		Retries: t.Retries, Delay: t.RetryDelayOrDefault(),
		Exponential: t.RetryExponentialBackoff, MaxDelay: t.MaxRetryDelayOrZero(),
	}
	if fs.Changed("retries") {
		if r.retries < 0 || r.retries > render.MaxRetries {
			return p, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--retries %d: use a number from 0 to %d", r.retries, render.MaxRetries)}
		}
		p.Retries = r.retries
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		dst  *time.Duration
	}{{"retry-delay", r.delay, &p.Delay}, {"max-retry-delay", r.maxDelay, &p.MaxDelay}} {
		if fs.Changed(d.flag) {
			if d.v < 0 {
				return p, &ExitError{Code: ExitUsage, Err: fmt.Errorf("--%s must not be negative, got %s", d.flag, d.v)}
			}
			*d.dst = d.v
		}
	}
	if fs.Changed("retry-exponential-backoff") {
		p.Exponential = r.exponential
	}
	return p, nil
}

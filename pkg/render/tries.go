// Tries and map indexes: Airflow's retries, retry_delay,
// retry_exponential_backoff and max_retry_delay in a task, and the labels
// and annotations that tell one try (try_number) and one mapped item
// (map_index) of a run from the others.

package render

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Labels and annotations of a try and of a mapped item. The label and the
// annotation of each share a key; the values are decimal numbers.
const (
	LabelTryNumber      = "podtask.dev/try-number"
	AnnotationTryNumber = "podtask.dev/try-number"
	LabelMapIndex       = "podtask.dev/map-index"
	AnnotationMapIndex  = "podtask.dev/map-index"
)

// DefaultRetryDelay is Airflow's default retry_delay.
const DefaultRetryDelay = 300 * time.Second

// MaxRetries bounds retries: more is a mistake, not a policy.
const MaxRetries = 100

// Delay is a duration in a task file: a number of seconds (30, 0.5), or a
// Go duration string ("90s", "5m").
type Delay time.Duration

// MarshalJSON writes the number of seconds.
func (d Delay) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// UnmarshalJSON reads a number of seconds or a duration string.
func (d *Delay) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration: use seconds (30) or a duration (\"5m\")", s)
		}
		*d = Delay(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil || math.IsNaN(f) || f > 1e9 {
		return fmt.Errorf("%s is not a duration: use seconds (30) or a duration (\"5m\")", string(b))
	}
	*d = Delay(time.Duration(f * float64(time.Second)))
	return nil
}

// completeRetries checks the retry fields.
func (t *Task) completeRetries() error {
	if t.Retries < 0 || t.Retries > MaxRetries {
		return fieldErr("retries", "must be between 0 and %d, got %d", MaxRetries, t.Retries)
	}
	for _, d := range []struct {
		name string
		v    *Delay
	}{{"retry_delay", t.RetryDelay}, {"max_retry_delay", t.MaxRetryDelay}} {
		if d.v != nil && *d.v < 0 {
			return fieldErr(d.name, "must not be negative, got %s", time.Duration(*d.v))
		}
	}
	return nil
}

// RetryDelayOrDefault is the task's retry_delay, Airflow's 300 s when unset.
func (t *Task) RetryDelayOrDefault() time.Duration {
	if t.RetryDelay == nil {
		return DefaultRetryDelay
	}
	return time.Duration(*t.RetryDelay)
}

// MaxRetryDelayOrZero is the task's max_retry_delay, 0 (no bound) when unset.
func (t *Task) MaxRetryDelayOrZero() time.Duration {
	if t.MaxRetryDelay == nil {
		return 0
	}
	return time.Duration(*t.MaxRetryDelay)
}

// ForTry returns a copy of pod for try number try (1 for the first): the
// try-number label and annotation set, and from the second try on a name of
// its own ("<name>-try2", shortened to fit).
func ForTry(pod *corev1.Pod, try int) *corev1.Pod {
	p := pod.DeepCopy()
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	n := strconv.Itoa(try)
	p.Labels[LabelTryNumber] = n
	p.Annotations[AnnotationTryNumber] = n
	if try > 1 {
		p.Name = tryName(pod.Name, try)
	}
	return p
}

func tryName(name string, try int) string {
	suffix := "-try" + strconv.Itoa(try)
	if len(name)+len(suffix) > maxNameLen {
		name = strings.TrimRight(name[:maxNameLen-len(suffix)], "-.")
	}
	return name + suffix
}

// SetMapIndex marks pod as the mapped item index (0 for the first).
func SetMapIndex(pod *corev1.Pod, index int) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	n := strconv.Itoa(index)
	pod.Labels[LabelMapIndex] = n
	pod.Annotations[AnnotationMapIndex] = n
}

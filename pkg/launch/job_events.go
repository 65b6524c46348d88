// A Job's own events: what the Job controller says of the Job itself (a pod
// it cannot create, the backoff limit reached, a deadline passed), which no
// pod's events carry; and the start failure they can tell.

package launch

import (
	"context"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// ReasonFailedCreate is the Job controller's event when it cannot create a
// pod of the Job.
const ReasonFailedCreate = "FailedCreate"

// watchJobEvents hands every event of job (by UID) to fn until ctx ends;
// onErr is told of a failing watch and of its recovery (nil).
func (e *Engine) watchJobEvents(ctx context.Context, job *batchv1.Job, fn func(*corev1.Event), onErr func(error)) {
	events := e.Client.Events(job.Namespace)
	send := func(obj any) {
		if ev, ok := obj.(*corev1.Event); ok && ev.InvolvedObject.UID == job.UID {
			fn(ev)
		}
	}
	sel := fields.Set{"involvedObject.kind": "Job", "involvedObject.name": job.Name}.AsSelector().String()
	e.informSelected(ctx, metav1.ListOptions{FieldSelector: sel}, &corev1.Event{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return events.List(ctx, o) },
		events.Watch,
		cache.ResourceEventHandlerFuncs{AddFunc: send, UpdateFunc: func(_, obj any) { send(obj) }}, onErr)
}

// jobCannotStart is the start failure of a Job whose controller could not
// create its first pod (a service account that does not exist, a policy
// that refuses the pod): what `run` meets as the pod's create error. Once
// the Job has had a pod, a pod it cannot create (a quota full of the run's
// own pods) is waited out, as the controller retries it. nil when the Job
// can still start.
func jobCannotStart(job *batchv1.Job, podsSeen bool, ev *KubeEvent) *StartError {
	if ev == nil || podsSeen {
		return nil
	}
	s := job.Status
	if s.Active > 0 || s.Succeeded > 0 || s.Failed > 0 || (s.Ready != nil && *s.Ready > 0) {
		return nil
	}
	return &StartError{Reason: ReasonFailedCreate, Message: "the job controller cannot create its pods: " + strings.TrimPrefix(ev.Message, "Error creating: "),
		Events: []string{ev.Reason + ": " + ev.Message}}
}

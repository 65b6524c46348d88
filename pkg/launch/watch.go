// Watches: the pod and its events followed with reflectors (list, then
// watch, resume, relist after 410), the pod's latest state in a mailbox.

package launch

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// podMailbox holds the latest state of one pod; wake is signalled when it changes.
type podMailbox struct {
	mu      sync.Mutex
	pod     *corev1.Pod
	deleted bool
	wake    chan struct{}
}

func newPodMailbox() *podMailbox { return &podMailbox{wake: make(chan struct{}, 1)} }

func (m *podMailbox) put(pod *corev1.Pod, deleted bool) {
	m.mu.Lock()
	m.pod, m.deleted = pod, m.deleted || deleted
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *podMailbox) take() (*corev1.Pod, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pod
	m.pod = nil
	return p, m.deleted
}

// watchPod follows one pod with a reflector: it lists then watches, resumes
// from the last resource version after a broken watch, and relists when that
// version is too old (410 Gone).
func (e *Engine) watchPod(ctx context.Context, namespace, name string, box *podMailbox, onErr func(error)) {
	pods := e.Client.Pods(namespace)
	e.inform(ctx, fields.OneTermEqualSelector("metadata.name", name).String(), &corev1.Pod{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		pods.Watch,
		cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { podTo(box, obj, false) },
			UpdateFunc: func(_, obj any) { podTo(box, obj, false) },
			DeleteFunc: func(obj any) { podTo(box, obj, true) },
		}, onErr)
}

// inform runs a reflector over one list/watch pair restricted to a field
// selector until ctx ends, reporting each call's error (or nil) to onErr.
func (e *Engine) inform(ctx context.Context, selector string, obj runtime.Object,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	handler cache.ResourceEventHandler, onErr func(error)) {
	e.informSelected(ctx, metav1.ListOptions{FieldSelector: selector}, obj, list, watchFn, handler, onErr)
}

func podTo(box *podMailbox, obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if p, ok := obj.(*corev1.Pod); ok {
		box.put(p, deleted)
	}
}

// watchEvents reports the Kubernetes events about the pod as they happen.
func (e *Engine) watchEvents(ctx context.Context, pod *corev1.Pod, report func(*KubeEvent), onErr func(error)) {
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": pod.Name}
	if pod.UID != "" {
		sel["involvedObject.uid"] = string(pod.UID)
	}
	events := e.Client.Events(pod.Namespace)
	send := func(obj any) {
		if ev, ok := obj.(*corev1.Event); ok {
			report(e.kubeEvent(ev))
		}
	}
	e.inform(ctx, fields.SelectorFromSet(sel).String(), &corev1.Event{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return events.List(ctx, o) },
		events.Watch,
		cache.ResourceEventHandlerFuncs{AddFunc: send, UpdateFunc: func(_, obj any) { send(obj) }}, onErr)
}

// kubeEvent flattens a Kubernetes Event.
func (e *Engine) kubeEvent(ev *corev1.Event) *KubeEvent {
	last := ev.LastTimestamp.Time
	if last.IsZero() {
		last = ev.EventTime.Time
	}
	first := ev.FirstTimestamp.Time
	if first.IsZero() {
		first = last
	}
	src := ev.Source.Component
	if src == "" {
		src = ev.ReportingController
	}
	at := e.now()
	if !last.IsZero() && last.Before(at) {
		at = last
	}
	return &KubeEvent{At: At{Time: at}, Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
		Source: src, Count: ev.Count, First: first, Last: last}
}

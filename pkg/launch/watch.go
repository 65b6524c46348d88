package launch

import (
	"context"
	"sync"
	"time"

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
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			obj, err := e.Client.Pods(namespace).List(ctx, o)
			onErr(err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			w, err := e.Client.Pods(namespace).Watch(ctx, o)
			onErr(err)
			return w, err
		},
	}
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, e.Client),
		ObjectType:    &corev1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { podTo(box, obj, false) },
			UpdateFunc: func(_, obj any) { podTo(box, obj, false) },
			DeleteFunc: func(obj any) { podTo(box, obj, true) },
		},
	})
	ctrl.RunWithContext(ctx)
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
	selector := fields.SelectorFromSet(sel).String()
	ns := pod.Namespace
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			obj, err := e.Client.Events(ns).List(ctx, o)
			onErr(err)
			return obj, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			w, err := e.Client.Events(ns).Watch(ctx, o)
			onErr(err)
			return w, err
		},
	}
	send := func(obj any) {
		ev, ok := obj.(*corev1.Event)
		if !ok {
			return
		}
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
		report(&KubeEvent{At: At{Time: at}, Type: ev.Type, Reason: ev.Reason, Message: ev.Message,
			Source: src, Count: ev.Count, First: first, Last: last})
	}
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, e.Client),
		ObjectType:    &corev1.Event{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    send,
			UpdateFunc: func(_, obj any) { send(obj) },
		},
	})
	ctrl.RunWithContext(ctx)
}

// sleepCtx sleeps for d or until ctx is done; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

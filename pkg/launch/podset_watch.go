// The watches of a mapped run: one pod watch (the run's label selector) and
// one events watch (the namespace's pod events) for all its pods, fanned out
// to the tracker that follows each pod.

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
	"k8s.io/utils/clock"
)

// podSet holds the latest state of every pod of a run, as its one pod
// watch reports it, and hands each pod's updates and events to the one
// tracker that subscribed to it.
type podSet struct {
	mu     sync.Mutex
	latest map[string]*corev1.Pod      // pods that exist, by name
	gone   map[string]chan struct{}    // closed once the pod is deleted
	boxes  map[string]*podMailbox      // subscribers' mailboxes
	events map[string]func(*KubeEvent) // subscribers' event handlers
	clock  clock.Clock                 // the engine's

	// onNew, when set, is told of every pod the first time the watch sees
	// it (a Job's pods, made by its controller); synced says whether the
	// pod watch has delivered its first list.
	onNew  func(*corev1.Pod)
	seen   map[string]bool
	synced func() bool
}

// startPodSet starts the two watches of the pods selected by selector in
// namespace; they run until ctx ends. onErr is told of a failing watch
// ("pod" or "events") and of its recovery (nil).
func (e *Engine) startPodSet(ctx context.Context, namespace, selector string, onErr func(what string, err error)) *podSet {
	return e.startPodSetWith(ctx, namespace, selector, onErr, nil)
}

// startPodSetWith is startPodSet that also tells onNew of every pod the
// first time it is seen.
func (e *Engine) startPodSetWith(ctx context.Context, namespace, selector string, onErr func(what string, err error), onNew func(*corev1.Pod)) *podSet {
	s := &podSet{latest: map[string]*corev1.Pod{}, gone: map[string]chan struct{}{},
		boxes: map[string]*podMailbox{}, events: map[string]func(*KubeEvent){}, clock: e.timers(), onNew: onNew, seen: map[string]bool{}}
	pods := e.Client.Pods(namespace)
	report := func(what string) func(error) { return func(err error) { onErr(what, err) } }
	podCtrl := e.selectedInformer(metav1.ListOptions{LabelSelector: selector}, &corev1.Pod{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return pods.List(ctx, o) },
		pods.Watch,
		cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.podChanged(obj, false) },
			UpdateFunc: func(_, obj any) { s.podChanged(obj, false) },
			DeleteFunc: func(obj any) { s.podChanged(obj, true) },
		}, report("pod"))
	s.synced = podCtrl.HasSynced
	go podCtrl.RunWithContext(ctx)
	events := e.Client.Events(namespace)
	send := func(obj any) {
		if ev, ok := obj.(*corev1.Event); ok {
			s.mu.Lock()
			fn := s.events[ev.InvolvedObject.Name]
			s.mu.Unlock()
			if fn != nil {
				fn(e.kubeEvent(ev))
			}
		}
	}
	go e.informSelected(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.kind", "Pod").String()},
		&corev1.Event{},
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return events.List(ctx, o) },
		events.Watch,
		cache.ResourceEventHandlerFuncs{AddFunc: send, UpdateFunc: func(_, obj any) { send(obj) }}, report("events"))
	return s
}

// sharedWatchTrouble is the onErr of a run's shared watches: a watch that
// fails is told once, as a warning of the run (item -1), and its recovery
// once; whose says whose watch it is ("run's", "job's").
func (e *Engine) sharedWatchTrouble(whose string, sink func(int, Event)) func(what string, err error) {
	var mu sync.Mutex
	failing := map[string]bool{}
	return func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil && failing[what]:
			failing[what] = false
			sink(-1, &Notice{At: At{Time: e.now()}, Level: "info", Message: "watching the " + whose + " " + what + " again"})
		case err != nil && !failing[what]:
			failing[what] = true
			sink(-1, &Notice{At: At{Time: e.now()}, Level: "warning", Message: "watching the " + whose + " " + what + " failed (retrying): " + describeAPIError(err)})
		}
	}
}

func (s *podSet) podChanged(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.mu.Lock()
	isNew := !deleted && !s.seen[p.Name]
	if isNew && s.onNew != nil {
		s.seen[p.Name] = true
	}
	if deleted {
		delete(s.latest, p.Name)
		if ch := s.gone[p.Name]; ch != nil && ch != closedChan {
			close(ch)
		}
		s.gone[p.Name] = closedChan
	} else {
		s.latest[p.Name] = p
		if ch := s.gone[p.Name]; ch == closedChan {
			delete(s.gone, p.Name) // a pod of the same name again
		}
	}
	box := s.boxes[p.Name]
	s.mu.Unlock()
	if isNew && s.onNew != nil {
		s.onNew(p)
		s.mu.Lock()
		box = s.boxes[p.Name]
		s.mu.Unlock()
	}
	if box != nil {
		box.put(p, deleted)
	}
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// subscribe sends the pod's updates to box (its latest known state at
// once) and its events to onEvent, until ctx ends.
func (s *podSet) subscribe(ctx context.Context, name string, box *podMailbox, onEvent func(*KubeEvent)) {
	s.mu.Lock()
	s.boxes[name], s.events[name] = box, onEvent
	p := s.latest[name]
	s.mu.Unlock()
	if p != nil {
		box.put(p, false)
	}
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		if s.boxes[name] == box {
			delete(s.boxes, name)
			delete(s.events, name)
		}
		s.mu.Unlock()
	}()
}

// waitGone waits until the watch has seen the pod deleted, at most d.
func (s *podSet) waitGone(ctx context.Context, name string, d time.Duration) {
	s.mu.Lock()
	ch := s.gone[name]
	if ch == nil {
		ch = make(chan struct{})
		s.gone[name] = ch
	}
	s.mu.Unlock()
	t := s.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-ctx.Done():
	case <-t.C():
	}
}

// forget drops what the set keeps of a pod that is gone.
func (s *podSet) forget(name string) {
	s.mu.Lock()
	if s.gone[name] == closedChan {
		delete(s.gone, name)
	}
	s.mu.Unlock()
}

// count is the number of the set's pods that exist.
func (s *podSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.latest)
}

// informSelected runs a reflector over one list/watch pair restricted by
// sel's label and field selectors until ctx ends, reporting each call's
// error (or nil) to onErr.
func (e *Engine) informSelected(ctx context.Context, sel metav1.ListOptions, obj runtime.Object,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	handler cache.ResourceEventHandler, onErr func(error)) {
	e.selectedInformer(sel, obj, list, watchFn, handler, onErr).RunWithContext(ctx)
}

// selectedInformer is informSelected's informer, not started.
func (e *Engine) selectedInformer(sel metav1.ListOptions, obj runtime.Object,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	handler cache.ResourceEventHandler, onErr func(error)) cache.Controller {
	restrict := func(o *metav1.ListOptions) {
		o.LabelSelector, o.FieldSelector = sel.LabelSelector, sel.FieldSelector
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			restrict(&o)
			out, err := list(ctx, o)
			onErr(err)
			return out, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			restrict(&o)
			w, err := watchFn(ctx, o)
			onErr(err)
			return w, err
		},
	}
	_, ctrl := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(lw, e.Client),
		ObjectType:    obj,
		Handler:       handler,
	})
	return ctrl
}

// startWatches follows the tracker's pod: through the run's pod set when it
// has one, else with watches of its own.
func (t *tracker) startWatches(ctx context.Context, updates *podMailbox) {
	if s := t.opts.podSet; s != nil {
		s.subscribe(ctx, t.pod.Name, updates, t.onKubeEvent)
		return
	}
	go t.e.watchPod(ctx, t.pod.Namespace, t.pod.Name, updates, t.watchTrouble("pod"))
	go t.e.watchEvents(ctx, t.pod, t.onKubeEvent, t.watchTrouble("events"))
}

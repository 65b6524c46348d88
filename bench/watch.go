package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// podSeen is what the benchmark's own watch saw of one pod, in local time.
type podSeen struct {
	Created    time.Time
	Running    map[string]time.Time // container -> first seen running
	Terminated map[string]time.Time // container -> first seen terminated
	Deleted    time.Time
}

// podWatcher watches every pod of a namespace and records, in local time,
// when each container was first seen running and terminated.
type podWatcher struct {
	client corev1client.PodInterface

	mu      sync.Mutex
	pods    map[string]*podSeen
	changed chan struct{} // closed and replaced on every change
}

func newPodWatcher(client corev1client.PodInterface) *podWatcher {
	return &podWatcher{client: client, pods: map[string]*podSeen{}, changed: make(chan struct{})}
}

// start lists then watches until ctx ends; it returns once the first list is done.
func (w *podWatcher) start(ctx context.Context) error {
	rv, err := w.list(ctx)
	if err != nil {
		return err
	}
	go func() {
		for ctx.Err() == nil {
			next, err := w.watch(ctx, rv)
			if err != nil || next == "" {
				// Expired version, or the API server went away (the shared
				// cluster may be restarted): list again once it answers.
				time.Sleep(200 * time.Millisecond)
				if r, lerr := w.list(ctx); lerr == nil {
					next = r
				} else {
					next = rv
				}
			}
			rv = next
		}
	}()
	return nil
}

func (w *podWatcher) list(ctx context.Context) (string, error) {
	l, err := w.client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	now := time.Now()
	for i := range l.Items {
		w.record(now, &l.Items[i], false)
	}
	return l.ResourceVersion, nil
}

// watch follows from rv until the watch ends; it returns the last version seen.
func (w *podWatcher) watch(ctx context.Context, rv string) (string, error) {
	wi, err := w.client.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
	if err != nil {
		return rv, err
	}
	defer wi.Stop()
	for ev := range wi.ResultChan() {
		now := time.Now()
		switch ev.Type {
		case watch.Error:
			return "", apierrors.FromObject(ev.Object)
		case watch.Bookmark:
			if p, ok := ev.Object.(*corev1.Pod); ok {
				rv = p.ResourceVersion
			}
		default:
			if p, ok := ev.Object.(*corev1.Pod); ok {
				rv = p.ResourceVersion
				w.record(now, p, ev.Type == watch.Deleted)
			}
		}
	}
	return rv, nil
}

func (w *podWatcher) record(now time.Time, p *corev1.Pod, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.pods[p.Name]
	if s == nil {
		s = &podSeen{Created: now, Running: map[string]time.Time{}, Terminated: map[string]time.Time{}}
		w.pods[p.Name] = s
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.State.Running != nil {
			if _, ok := s.Running[cs.Name]; !ok {
				s.Running[cs.Name] = now
			}
		}
		if cs.State.Terminated != nil {
			if _, ok := s.Terminated[cs.Name]; !ok {
				s.Terminated[cs.Name] = now
			}
		}
	}
	if deleted && s.Deleted.IsZero() {
		s.Deleted = now
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// get returns a copy of what was seen of the pod, or nil.
func (w *podWatcher) get(name string) *podSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.copyOf(w.pods[name])
}

// named returns a copy of what was seen of every pod whose name starts
// with prefix, by name.
func (w *podWatcher) named(prefix string) map[string]*podSeen {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]*podSeen{}
	for name, s := range w.pods {
		if strings.HasPrefix(name, prefix) {
			out[name] = w.copyOf(s)
		}
	}
	return out
}

func (w *podWatcher) copyOf(s *podSeen) *podSeen {
	if s == nil {
		return nil
	}
	c := *s
	c.Running, c.Terminated = map[string]time.Time{}, map[string]time.Time{}
	for k, v := range s.Running {
		c.Running[k] = v
	}
	for k, v := range s.Terminated {
		c.Terminated[k] = v
	}
	return &c
}

// waitFor waits until cond holds for the pod whose name starts with prefix
// (the first such pod), and returns its name.
func (w *podWatcher) waitFor(ctx context.Context, prefix string, d time.Duration, what string, cond func(*podSeen) bool) (string, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		ch := w.changed
		for name, s := range w.pods {
			if strings.HasPrefix(name, prefix) && cond(s) {
				w.mu.Unlock()
				return name, nil
			}
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-deadline.C:
			return "", fmt.Errorf("pod %s*: not %s within %s", prefix, what, d)
		case <-ch:
		}
	}
}

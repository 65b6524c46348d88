// A mapped run taken up again from its record: items recorded as done are
// not run again, items whose pod exists are followed, a try that ended with
// another to follow goes on with that one, and the rest are created.

package launch

import (
	"context"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// resumeState is what the record and the cluster say of a run taken up again.
type resumeState struct {
	cm    *corev1.ConfigMap
	items map[int]RecordedItem
	live  map[int]bool   // items with a pod that exists and is not being deleted
	dying map[int]string // items whose latest pod is being deleted, by pod name
	first map[int]int    // the try an item begins with
}

// order is the order items are started in: those with a pod first (they
// hold slots already), then the others by index.
func (r *resumeState) order(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	if r != nil {
		sort.SliceStable(out, func(a, b int) bool { return r.live[out[a]] && !r.live[out[b]] })
	}
	return out
}

func (r *resumeState) done(i int) (ItemResult, bool) {
	if r == nil {
		return ItemResult{}, false
	}
	it, ok := r.items[i]
	if !ok || !it.Final {
		return ItemResult{}, false
	}
	return ItemResult{Index: i, Result: it.Result, Err: it.Err(), Duration: time.Duration(it.DurationMs) * time.Millisecond}, true
}

// spent is the wall time the item's earlier tries took.
func (r *resumeState) spent(i int) time.Duration {
	if r == nil {
		return 0
	}
	return time.Duration(r.items[i].DurationMs) * time.Millisecond
}

func (r *resumeState) firstTry(i int) int {
	if r == nil || r.first[i] < 1 {
		return 1
	}
	return r.first[i]
}

func (r *resumeState) terminating(i int) string {
	if r == nil {
		return ""
	}
	return r.dying[i]
}

// ResumeMapped takes the mapped run rec up again and runs it to its end as
// RunMapped would have, returning every item's result in item order. The
// run's settings come from the record where mo leaves them unset.
func (e *Engine) ResumeMapped(ctx context.Context, rec *RunRecord, opts Options, mo MapOptions) ([]ItemResult, error) {
	if len(rec.Pods) == 0 {
		return nil, nil
	}
	s := rec.Settings
	if mo.Parallelism <= 0 {
		mo.Parallelism = s.Parallelism
	}
	if mo.Retry == (RetryPolicy{}) {
		mo.Retry = s.Retry
	}
	mo.FailFast = mo.FailFast || s.FailFast
	if opts.ScheduleTimeout == 0 {
		opts.ScheduleTimeout = s.ScheduleTimeout
	}
	if opts.StartupTimeout == 0 {
		opts.StartupTimeout = s.StartupTimeout
	}
	if opts.ImagePullGrace == 0 {
		opts.ImagePullGrace = s.ImagePullGrace
	}

	var pods *corev1.PodList
	sel := labels.SelectorFromSet(labels.Set{LabelRunID: rec.RunID}).String()
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		var err error
		pods, err = e.Client.Pods(rec.Namespace).List(cctx, metav1.ListOptions{LabelSelector: sel})
		return err
	})
	if err != nil {
		return nil, &APIError{Op: "list the run's pods", Err: err}
	}
	st := &resumeState{cm: rec.cm, items: rec.Items, live: map[int]bool{}, dying: map[int]string{}, first: map[int]int{}}
	for i, it := range rec.Items {
		if !it.Final && it.Result != nil {
			st.first[i] = it.Result.Try + 1
		}
	}
	latest := map[int]int{}
	for k := range pods.Items {
		p := &pods.Items[k]
		i, err1 := strconv.Atoi(p.Labels[render.LabelMapIndex])
		try, err2 := strconv.Atoi(p.Labels[render.LabelTryNumber])
		if err1 != nil || err2 != nil || i < 0 || i >= len(rec.Pods) {
			continue
		}
		if it, ok := rec.Items[i]; ok && it.Final {
			e.tidyRecorded(ctx, p, it)
			continue
		}
		if try < latest[i] || try < st.first[i] {
			continue
		}
		latest[i] = try
		if p.DeletionTimestamp != nil {
			delete(st.live, i)
			st.dying[i] = p.Name
		} else {
			delete(st.dying, i)
			st.live[i] = true
		}
		st.first[i] = try
	}
	mo.resume = st
	return e.RunMapped(ctx, rec.Pods, opts, mo)
}

// tidyRecorded deletes the pod of an item recorded as done when its
// on-finish action says it goes: the run stopped between the record and the
// deletion.
func (e *Engine) tidyRecorded(ctx context.Context, p *corev1.Pod, it RecordedItem) {
	if p.DeletionTimestamp != nil || it.Result == nil {
		return
	}
	action := OptionsFromPod(p, Options{}).OnFinish
	if action == "" {
		action = DeletePod
	}
	if !ShouldDelete(action, it.Result.Outcome, false) {
		return
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	_ = e.Client.Pods(p.Namespace).Delete(cctx, p.Name, metav1.DeleteOptions{})
}

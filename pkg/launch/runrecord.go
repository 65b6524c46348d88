// The record of a mapped run: one ConfigMap that holds the run's pods as
// rendered, its items' params and settings, and every item's last ended
// try, so that `attach --run-id` can take the run up again once the process
// that started it is gone. An item's result is written before its pod is
// deleted; writes are grouped, so a run of many items costs few of them.

package launch

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

const (
	// RecordPrefix begins the name of a mapped run's record: the prefix and
	// the run id.
	RecordPrefix = "podtask-run-"
	// LabelRecord marks a ConfigMap as a run's record.
	LabelRecord = "podtask.dev/record"
	// RecordMappedRun is LabelRecord's value on a mapped run's record.
	RecordMappedRun = "mapped-run"

	recordPods     = "pods.json.gz"
	recordSettings = "run.json"
	recordItems    = "items.json"

	// maxRecordBytes keeps the record under the API server's 1 MiB object
	// limit, with room for the metadata.
	maxRecordBytes = 900 << 10
	// recordLinger is how long a write waits for other items' results to
	// go with it.
	recordLinger = 250 * time.Millisecond
)

// RecordSelector selects the mapped runs' records among what sel selects.
func RecordSelector(sel string) string { return sel + "," + LabelRecord + "=" + RecordMappedRun }

// RecordName is the name of the record of run runID.
func RecordName(runID string) string { return RecordPrefix + runID }

// RunSettings are what a mapped run was started with, besides its pods.
type RunSettings struct {
	Task            string              `json:"task,omitempty"`
	Parallelism     int                 `json:"parallelism"`
	FailFast        bool                `json:"failFast,omitempty"`
	Retry           RetryPolicy         `json:"retry"`
	ScheduleTimeout time.Duration       `json:"scheduleTimeout,omitempty"`
	StartupTimeout  time.Duration       `json:"startupTimeout,omitempty"`
	ImagePullGrace  time.Duration       `json:"imagePullGrace,omitempty"`
	Params          []map[string]string `json:"params"` // each item's params, in item order
	Started         time.Time           `json:"started"`
}

// RecordedItem is an item's last ended try.
type RecordedItem struct {
	Result *Result `json:"result"`
	// Final says the item is done: no further try follows.
	Final bool `json:"final"`
	// The error the try ended with, by kind (start, xcom, transfer,
	// deleted, api, other), so that it is read back as the same type.
	ErrKind string `json:"errKind,omitempty"`
	ErrOp   string `json:"errOp,omitempty"`
	ErrMsg  string `json:"errMsg,omitempty"`
	// DurationMs is the item's wall time up to this try's end.
	DurationMs int64 `json:"durationMs"`
}

// Err is the recorded error as the type the engine returned.
func (r RecordedItem) Err() error {
	switch r.ErrKind {
	case "":
		return nil
	case "start":
		se := &StartError{Message: r.ErrMsg}
		if r.Result != nil {
			se.Reason, se.Message = r.Result.Reason, r.Result.Message
		}
		return se
	case "xcom":
		return &XComError{Msg: r.ErrMsg}
	case "transfer":
		return &TransferError{Op: r.ErrOp, Err: errors.New(r.ErrMsg)}
	case "deleted":
		de := &DeletedError{Message: r.ErrMsg}
		if r.Result != nil {
			de.Pod = r.Result.Pod
		}
		return de
	case "api":
		return &APIError{Op: r.ErrOp, Err: errors.New(r.ErrMsg)}
	}
	return errors.New(r.ErrMsg)
}

func recordItem(res *Result, err error, final bool, d time.Duration) RecordedItem {
	r := RecordedItem{Result: res, Final: final, DurationMs: d.Milliseconds()}
	var se *StartError
	var xe *XComError
	var te *TransferError
	var de *DeletedError
	var ae *APIError
	switch {
	case err == nil:
	case errors.As(err, &se):
		r.ErrKind, r.ErrMsg = "start", se.Message
	case errors.As(err, &xe):
		r.ErrKind, r.ErrMsg = "xcom", xe.Msg
	case errors.As(err, &te):
		r.ErrKind, r.ErrOp, r.ErrMsg = "transfer", te.Op, te.Err.Error()
	case errors.As(err, &de):
		r.ErrKind, r.ErrMsg = "deleted", de.Message
	case errors.As(err, &ae):
		r.ErrKind, r.ErrOp, r.ErrMsg = "api", ae.Op, describeAPIError(ae.Err)
	default:
		r.ErrKind, r.ErrMsg = "other", err.Error()
	}
	return r
}

// RunRecord is a mapped run as its record holds it.
type RunRecord struct {
	Namespace string
	RunID     string
	// Pods are the items' pods as rendered (before any try), in item order.
	Pods     []*corev1.Pod
	Settings RunSettings
	// Items are the items that have ended a try, by index.
	Items map[int]RecordedItem

	cm *corev1.ConfigMap
}

// recordData encodes the parts of a record that never change.
func recordData(pods []*corev1.Pod, s RunSettings) (map[string][]byte, map[string]string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(pods); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	settings, err := json.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	return map[string][]byte{recordPods: buf.Bytes()}, map[string]string{recordSettings: string(settings), recordItems: "{}"}, nil
}

// decodeRecord reads a record's ConfigMap.
func decodeRecord(cm *corev1.ConfigMap) (*RunRecord, error) {
	r := &RunRecord{Namespace: cm.Namespace, RunID: cm.Labels[LabelRunID], Items: map[int]RecordedItem{}, cm: cm}
	zr, err := gzip.NewReader(bytes.NewReader(cm.BinaryData[recordPods]))
	if err != nil {
		return nil, fmt.Errorf("record %s: pods: %w", cm.Name, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("record %s: pods: %w", cm.Name, err)
	}
	if err := json.Unmarshal(b, &r.Pods); err != nil {
		return nil, fmt.Errorf("record %s: pods: %w", cm.Name, err)
	}
	if err := json.Unmarshal([]byte(cm.Data[recordSettings]), &r.Settings); err != nil {
		return nil, fmt.Errorf("record %s: settings: %w", cm.Name, err)
	}
	items := map[string]RecordedItem{}
	if err := json.Unmarshal([]byte(cm.Data[recordItems]), &items); err != nil {
		return nil, fmt.Errorf("record %s: items: %w", cm.Name, err)
	}
	for k, v := range items {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(r.Pods) {
			return nil, fmt.Errorf("record %s: item %q is not one of the run's %d", cm.Name, k, len(r.Pods))
		}
		r.Items[i] = v
	}
	if len(r.Settings.Params) != len(r.Pods) {
		return nil, fmt.Errorf("record %s: %d pods but %d items", cm.Name, len(r.Pods), len(r.Settings.Params))
	}
	return r, nil
}

// RunProgress is what a run's record says of it at a glance.
type RunProgress struct {
	Task        string
	Items, Done int // done: recorded with no further try to follow
	Parallelism int
	Started     time.Time
}

// ProgressOf reads a record's progress, without its pods.
func ProgressOf(cm *corev1.ConfigMap) (RunProgress, error) {
	var s RunSettings
	if err := json.Unmarshal([]byte(cm.Data[recordSettings]), &s); err != nil {
		return RunProgress{}, fmt.Errorf("record %s: settings: %w", cm.Name, err)
	}
	items := map[string]RecordedItem{}
	if err := json.Unmarshal([]byte(cm.Data[recordItems]), &items); err != nil {
		return RunProgress{}, fmt.Errorf("record %s: items: %w", cm.Name, err)
	}
	p := RunProgress{Task: s.Task, Items: len(s.Params), Parallelism: s.Parallelism, Started: s.Started}
	for _, it := range items {
		if it.Final {
			p.Done++
		}
	}
	return p, nil
}

// LoadRun reads the record of run runID in namespace. A run that has no
// record is an error saying so (errors.Is ErrNoRecord).
func (e *Engine) LoadRun(ctx context.Context, namespace, runID string) (*RunRecord, error) {
	var cm *corev1.ConfigMap
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		var err error
		cm, err = e.Client.ConfigMaps(namespace).Get(cctx, RecordName(runID), metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, &APIError{Op: "get the run's record", Err: err}
	}
	if cm.Labels[LabelRecord] != RecordMappedRun {
		return nil, fmt.Errorf("config map %s is not a podtask run record (no %s=%s label)", cm.Name, LabelRecord, RecordMappedRun)
	}
	return decodeRecord(cm)
}

// ErrNoRecord says a run has no record: it finished (a record is deleted
// once every item has ended and been reported), or it never was a mapped run.
var ErrNoRecord = errors.New("no record of the run")

// DeleteRun deletes the record of run runID: the run has ended.
func (e *Engine) DeleteRun(ctx context.Context, namespace, runID string) error {
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		err := e.Client.ConfigMaps(namespace).Delete(cctx, RecordName(runID), metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return &APIError{Op: "delete the run's record", Err: err}
	}
	return nil
}

// runRecorder writes items' results into a run's record. record blocks until
// a write that holds the item's result has been made (or has failed), so
// that the item's pod may go; the writes of items that end together are one.
type runRecorder struct {
	e    *Engine
	warn func(string)

	mu      sync.Mutex
	cm      *corev1.ConfigMap // the record as last written; nil when the run has none
	items   map[string]RecordedItem
	pending []chan struct{}
	kick    chan struct{}
	failed  bool
	closing chan struct{} // closed by close: write what is pending, then stop
	stopped chan struct{} // closed when the writer has stopped
}

func newRunRecorder(e *Engine, warn func(string), cm *corev1.ConfigMap) *runRecorder {
	return &runRecorder{e: e, warn: warn, items: map[string]RecordedItem{}, cm: cm,
		kick: make(chan struct{}, 1), closing: make(chan struct{}), stopped: make(chan struct{})}
}

// close writes what is pending and stops the writer; the record is then as
// complete as the run's results.
func (r *runRecorder) close() {
	close(r.closing)
	<-r.stopped
}

// createRecord writes a new run's record and starts its writer, which runs
// until ctx ends. A record that cannot be made (too big, or not allowed) is
// a warning: the run goes on, only attach --run-id will not know it.
func (e *Engine) createRecord(ctx context.Context, pods []*corev1.Pod, s RunSettings, warn func(string)) *runRecorder {
	r := newRunRecorder(e, warn, nil)
	close(r.stopped)
	bin, data, err := recordData(pods, s)
	if err != nil {
		warn("the run has no record (attach --run-id will not find it): " + err.Error())
		return r
	}
	size := len(bin[recordPods]) + len(data[recordSettings])
	if size > maxRecordBytes {
		warn(fmt.Sprintf("the run has no record (attach --run-id will not find it): its pods and params take %d KiB, more than a config map holds", size>>10))
		return r
	}
	p := pods[0]
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: RecordName(p.Labels[LabelRunID]), Namespace: p.Namespace,
			Labels: map[string]string{LabelManagedBy: ManagedByValue, LabelRunID: p.Labels[LabelRunID], LabelRecord: RecordMappedRun,
				LabelTask: p.Labels[LabelTask]},
			Annotations: map[string]string{render.AnnotationRunID: p.Labels[LabelRunID]},
		},
		BinaryData: bin, Data: data,
	}
	err = e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		out, err := e.Client.ConfigMaps(cm.Namespace).Create(cctx, cm, metav1.CreateOptions{FieldManager: "kubectl-podtask"})
		if err == nil {
			cm = out
		}
		return err
	})
	if err != nil {
		warn("the run has no record (attach --run-id will not find it): " + describeAPIError(err))
		return r
	}
	r = newRunRecorder(e, warn, cm)
	go r.writer(ctx)
	return r
}

// resumeRecord takes the record of a run up again for its writer.
func (e *Engine) resumeRecord(ctx context.Context, cm *corev1.ConfigMap, warn func(string)) *runRecorder {
	r := newRunRecorder(e, warn, cm)
	_ = json.Unmarshal([]byte(cm.Data[recordItems]), &r.items)
	go r.writer(ctx)
	return r
}

// record puts item i's try into the record and waits until it is written.
func (r *runRecorder) record(ctx context.Context, i int, it RecordedItem) {
	r.mu.Lock()
	if r.cm == nil || r.failed {
		r.mu.Unlock()
		return
	}
	r.items[strconv.Itoa(i)] = it
	done := make(chan struct{})
	r.pending = append(r.pending, done)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// writer makes the writes: it waits a moment for more results, then writes
// every result it has in one update. It stops when ctx ends or at close,
// having written what was pending.
func (r *runRecorder) writer(ctx context.Context) {
	defer close(r.stopped)
	clk := r.e.timers()
	for {
		closing := false
		select {
		case <-ctx.Done():
			r.release()
			return
		case <-r.closing:
			closing = true
		case <-r.kick:
			select {
			case <-r.closing:
				closing = true
			case <-clk.After(recordLinger):
			case <-ctx.Done():
			}
		}
		r.mu.Lock()
		waiting := r.pending
		r.pending = nil
		var items []byte
		var err error
		var cm *corev1.ConfigMap
		if len(waiting) > 0 && !r.failed {
			items, err = json.Marshal(r.items)
			cm = r.cm.DeepCopy()
		}
		r.mu.Unlock()
		if cm != nil {
			if err == nil {
				cm.Data[recordItems] = string(items)
				err = r.write(context.WithoutCancel(ctx), cm)
			}
			r.mu.Lock()
			if err != nil && !r.failed {
				r.failed = true
				r.warn("writing the run's record failed, attach --run-id may run finished items again: " + err.Error())
			}
			r.mu.Unlock()
		}
		for _, ch := range waiting {
			close(ch)
		}
		if closing {
			r.release()
			return
		}
	}
}

// write updates the record; on a conflict (someone else wrote it) it reads
// it again and writes the items over it.
func (r *runRecorder) write(ctx context.Context, cm *corev1.ConfigMap) error {
	e := r.e
	items := cm.Data[recordItems]
	conflict := func(err error) bool { return apierrors.IsConflict(err) || transient(err) }
	err := retryWhile(ctx, e.timers(), func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		out, err := e.Client.ConfigMaps(cm.Namespace).Update(cctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-podtask"})
		if apierrors.IsConflict(err) {
			cur, gerr := e.Client.ConfigMaps(cm.Namespace).Get(cctx, cm.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			cm = cur.DeepCopy()
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[recordItems] = items
			return err
		}
		if err != nil {
			return err
		}
		r.mu.Lock()
		r.cm = out
		r.mu.Unlock()
		return nil
	}, conflict)
	if err != nil {
		return errors.New(describeAPIError(err))
	}
	return nil
}

// release lets every waiting item go: the run is over.
func (r *runRecorder) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.pending {
		close(ch)
	}
	r.pending = nil
}

package launch

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

var configMapsGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// recordedItems reads the items of run r1's record straight from the fake's store.
func recordedItems(t *testing.T, c *fake.Clientset) map[string]RecordedItem {
	t.Helper()
	obj, err := c.Tracker().Get(configMapsGVR, "default", RecordName("r1"))
	if err != nil {
		return nil
	}
	items := map[string]RecordedItem{}
	if err := json.Unmarshal([]byte(obj.(*corev1.ConfigMap).Data[recordItems]), &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// A mapped run interrupted part way and taken up again from its record:
// every item ends exactly once with its result, and an item's result is in
// the record before its pod is deleted.
func TestResumeMappedRunsOnlyWhatIsLeft(t *testing.T) {
	const n = 12
	c := fake.NewClientset()
	var mu sync.Mutex
	created := map[int]int{}
	var unrecordedDeletes, resuming atomic.Int32
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		i, _ := strconv.Atoi(p.Labels[render.LabelMapIndex])
		mu.Lock()
		created[i]++
		mu.Unlock()
		return false, nil, nil
	})
	c.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.DeleteAction).GetName()
		obj, err := c.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "default", name)
		if err != nil {
			return false, nil, nil
		}
		p := obj.(*corev1.Pod)
		if cs := FindContainerStatus(p, "base", false); resuming.Load() == 1 && cs != nil && cs.State.Terminated != nil {
			if _, ok := recordedItems(t, c)[p.Labels[render.LabelMapIndex]]; !ok {
				unrecordedDeletes.Add(1)
			}
		}
		return false, nil, nil
	})
	e := newEngine(c, &fakeExec{})
	end := func(p *corev1.Pod) podEnd { return podEnd{message: `{"item":` + p.Labels[render.LabelMapIndex] + `}`} }

	// The first run stops after four items have succeeded.
	ctx1, cancel1 := context.WithTimeout(context.Background(), 30*time.Second)
	node1 := &fakeNode{}
	go node1.run(ctx1, t, c, end)
	var finished atomic.Int32
	runCtx, interrupt := context.WithCancel(ctx1)
	_, err := e.RunMapped(runCtx, mappedPods(n), Options{}, MapOptions{Parallelism: 3,
		Record: &RunSettings{Parallelism: 3, Params: make([]map[string]string, n)},
		Sink: func(i int, ev Event) {
			if f, ok := ev.(*Finished); ok && f.Result.Outcome == OutcomeSucceeded && finished.Add(1) == 4 {
				interrupt()
			}
		}})
	cancel1()
	if err != nil {
		t.Fatal(err)
	}
	first := recordedItems(t, c)
	if len(first) < 4 || len(first) == n {
		t.Fatalf("%d items recorded after the interrupt, want at least 4 and not all", len(first))
	}
	for k, it := range first {
		if !it.Final || it.Result == nil || string(it.Result.XCom) != `{"item":`+k+`}` {
			t.Fatalf("item %s recorded as %+v", k, it)
		}
	}
	mu.Lock()
	before := map[int]int{}
	for i, v := range created {
		before[i] = v
	}
	mu.Unlock()

	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	node2 := &fakeNode{}
	go node2.run(ctx2, t, c, end)
	rec, err := e.LoadRun(ctx2, "default", "r1")
	if err != nil {
		t.Fatal(err)
	}
	resuming.Store(1)
	res, err := e.ResumeMapped(ctx2, rec, Options{}, MapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, r := range res {
		if !r.Succeeded() || string(r.Result.XCom) != `{"item":`+strconv.Itoa(i)+`}` {
			t.Fatalf("item %d: %+v err %v", i, r.Result, r.Err)
		}
		_, wasDone := first[strconv.Itoa(i)]
		again := created[i] - before[i]
		switch {
		case wasDone && again != 0:
			t.Errorf("item %d was done and was created again", i)
		case !wasDone && again != 1:
			t.Errorf("item %d not done before, created %d times on resume", i, again)
		}
	}
	if got := len(recordedItems(t, c)); got != n {
		t.Errorf("%d items recorded at the end, want %d", got, n)
	}
	if u := unrecordedDeletes.Load(); u != 0 {
		t.Errorf("%d finished pods deleted before their result was recorded", u)
	}
	if w := countActions(c, "update", "configmaps"); w >= 2*n {
		t.Errorf("%d record writes for %d items: results are not written together", w, n)
	}
	list, _ := c.CoreV1().Pods("default").List(ctx2, metav1.ListOptions{})
	if len(list.Items) != 0 {
		t.Errorf("%d pods left", len(list.Items))
	}
}

// A recorded error comes back as the type the engine returned, so the
// exit code of an item taken from the record is the one it had.
func TestRecordedItemErrorKeepsItsType(t *testing.T) {
	res := &Result{Pod: "p", Reason: "ScheduleTimeout", Message: "no node"}
	for _, err := range []error{
		&StartError{Reason: "ScheduleTimeout", Message: "no node"},
		&XComError{Msg: "not JSON"},
		&TransferError{Op: "artifact /out", Err: context.DeadlineExceeded},
		&DeletedError{Pod: "p", Message: "pod p deleted by someone"},
		&APIError{Op: "get pod", Err: context.DeadlineExceeded},
	} {
		b, _ := json.Marshal(recordItem(res, err, true, time.Second))
		var it RecordedItem
		if jerr := json.Unmarshal(b, &it); jerr != nil {
			t.Fatal(jerr)
		}
		got := it.Err()
		if got == nil || got.Error() != err.Error() {
			t.Errorf("%T: read back as %T %v, want %v", err, got, got, err)
		}
		if gt, wt := typeName(got), typeName(err); gt != wt {
			t.Errorf("read back as %s, want %s", gt, wt)
		}
	}
}

func typeName(v any) string { return strconv.Quote(fmtType(v)) }

func fmtType(v any) string {
	switch v.(type) {
	case *StartError:
		return "start"
	case *XComError:
		return "xcom"
	case *TransferError:
		return "transfer"
	case *DeletedError:
		return "deleted"
	case *APIError:
		return "api"
	}
	return "other"
}

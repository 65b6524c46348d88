package launch

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func testJob(n int32, retries int32) *batchv1.Job {
	mode := batchv1.IndexedCompletion
	pod := termMessagePod("")
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "job-t-abc", Namespace: "default", Labels: map[string]string{LabelRunID: "r1", LabelTask: "t"}},
		Spec: batchv1.JobSpec{Completions: &n, Parallelism: &n, CompletionMode: &mode, BackoffLimitPerIndex: &retries,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels, Annotations: pod.Annotations}, Spec: pod.Spec}},
	}
}

// jobController plays the Job controller of an Indexed Job: once the Job
// is not suspended it makes one pod per index, a new one (its failure
// count one higher) for an index whose pod failed while tries remain, and
// marks the Job Complete or Failed when every index is done.
func jobController(ctx context.Context, t *testing.T, c *fake.Clientset) {
	jobs, pods := c.BatchV1().Jobs("default"), c.CoreV1().Pods("default")
	var job *batchv1.Job
	for ctx.Err() == nil {
		j, err := jobs.Get(ctx, "job-t-abc", metav1.GetOptions{})
		if err == nil && (j.Spec.Suspend == nil || !*j.Spec.Suspend) {
			job = j
			break
		}
		time.Sleep(3 * time.Millisecond)
	}
	if job == nil {
		return
	}
	n, limit := int(*job.Spec.Completions), int(*job.Spec.BackoffLimitPerIndex)
	failures := make([]int, n)
	state := make([]string, n) // "", "running", "done", "failed"
	create := func(i int) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			Name: job.Name + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(failures[i]), Namespace: "default",
			CreationTimestamp: metav1.Now(),
			Labels:            map[string]string{batchv1.ControllerUidLabel: string(job.UID), LabelRunID: "r1"},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: strconv.Itoa(i),
				batchv1.JobIndexFailureCountAnnotation: strconv.Itoa(failures[i])}}, Spec: job.Spec.Template.Spec}
		for k, v := range job.Spec.Template.Annotations {
			p.Annotations[k] = v
		}
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Errorf("job controller: %v", err)
		}
		state[i] = "running"
	}
	for i := range n {
		create(i)
	}
	for ctx.Err() == nil {
		list, _ := pods.List(ctx, metav1.ListOptions{})
		for _, p := range list.Items {
			i, _ := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
			f, _ := strconv.Atoi(p.Annotations[batchv1.JobIndexFailureCountAnnotation])
			if f != failures[i] || state[i] != "running" {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodSucceeded:
				state[i] = "done"
			case corev1.PodFailed:
				failures[i]++
				if failures[i] > limit {
					state[i] = "failed"
				} else {
					create(i)
				}
			}
		}
		finished, failed := true, ""
		completed := ""
		for i, s := range state {
			finished = finished && (s == "done" || s == "failed")
			if s == "failed" {
				failed += strconv.Itoa(i)
			}
			if s == "done" {
				if completed != "" {
					completed += ","
				}
				completed += strconv.Itoa(i)
			}
		}
		if finished {
			cond := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}
			if failed != "" {
				cond = batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "FailedIndexes"}
			}
			job, _ = jobs.Get(ctx, job.Name, metav1.GetOptions{})
			job.Status.Conditions = []batchv1.JobCondition{cond}
			job.Status.CompletedIndexes = completed
			job.Status.FailedIndexes = &failed
			if _, err := jobs.UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
				t.Errorf("job controller: %v", err)
			}
			return
		}
		time.Sleep(3 * time.Millisecond)
	}
}

func newJobEngine(c *fake.Clientset) *Engine {
	e := newEngine(c, &fakeExec{})
	e.Batch = c.BatchV1()
	return e
}

func TestRunJobResultsInIndexOrderWithRetries(t *testing.T) {
	c := fake.NewClientset()
	// The fake gives created objects no UID; the pod watch selects by it.
	c.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		j := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		j.UID = types.UID("uid-1")
		return false, nil, nil
	})
	e := newJobEngine(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go jobController(ctx, t, c)
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		i := p.Annotations[batchv1.JobCompletionIndexAnnotation]
		if i == "2" && p.Annotations[batchv1.JobIndexFailureCountAnnotation] == "0" {
			return podEnd{code: 3}
		}
		return podEnd{message: `{"item":` + i + `}`}
	})
	var mu sync.Mutex
	var retrying, ended int
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "job-t-abc", Namespace: "default"},
		Data: map[string]string{render.JobParamsKey: `[{"a":"0"},{"a":"1"},{"a":"2"},{"a":"3"}]`}}
	res, err := e.RunJob(ctx, testJob(4, 1), cm, JobOptions{Sink: func(i int, ev Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.(type) {
		case *Retrying:
			retrying++
		case *JobEnded:
			ended++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Items {
		if !r.Succeeded() || string(r.Result.XCom) != `{"item":`+strconv.Itoa(i)+`}` {
			t.Fatalf("index %d: %+v err %v", i, r.Result, r.Err)
		}
	}
	if res.Items[2].Result.Try != 2 || retrying != 1 || ended != 1 || res.Failed || !res.Deleted {
		t.Fatalf("try %d, %d retrying, %d ended, failed %v, deleted %v", res.Items[2].Result.Try, retrying, ended, res.Failed, res.Deleted)
	}
	got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "job-t-abc", metav1.GetOptions{})
	if err != nil || len(got.OwnerReferences) != 1 || got.OwnerReferences[0].UID != "uid-1" {
		t.Fatalf("config map: %+v %v", got, err)
	}
	if params, err := e.GetJobParams(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "job-t-abc", Namespace: "default"}}); err != nil || len(params) != 4 {
		t.Fatalf("params %v %v", params, err)
	}
	if w := countActions(c, "watch", "pods"); w != 1 {
		t.Errorf("%d pod watches, want 1", w)
	}
}

func TestRunJobLeavesTheJobRunningWhenInterrupted(t *testing.T) {
	c := fake.NewClientset()
	e := newJobEngine(c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if l, _ := c.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{}); l != nil && len(l.Items) == 1 {
				cancel()
				return
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	res, err := e.RunJob(ctx, testJob(3, 0), nil, JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Left || res.Deleted || len(res.Items) != 3 || res.Items[0].Result.Outcome != OutcomeSkipped {
		t.Fatalf("%+v", res)
	}
	if _, err := c.BatchV1().Jobs("default").Get(context.Background(), "job-t-abc", metav1.GetOptions{}); err != nil {
		t.Fatalf("the job is gone: %v", err)
	}
}

func TestParseIndexes(t *testing.T) {
	got := parseIndexes("0,2-4,7")
	for _, i := range []int{0, 2, 3, 4, 7} {
		if !got[i] {
			t.Fatalf("%v lacks %d", got, i)
		}
	}
	if len(got) != 5 || len(parseIndexes("")) != 0 {
		t.Fatalf("%v", got)
	}
}

// A Job whose controller cannot create its first pod (its FailedCreate
// event) fails to start at once, and is deleted, with the event told as the
// run's warning.
func TestRunJobFailedCreateIsAStartFailure(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).UID = types.UID("uid-1")
		return false, nil, nil
	})
	e := newJobEngine(c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if j, err := c.BatchV1().Jobs("default").Get(ctx, "job-t-abc", metav1.GetOptions{}); err == nil && (j.Spec.Suspend == nil || !*j.Spec.Suspend) {
				break
			}
			time.Sleep(3 * time.Millisecond)
		}
		_, _ = c.CoreV1().Events("default").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "job-t-abc.1", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "job-t-abc", Namespace: "default", UID: "uid-1"},
			Type:           corev1.EventTypeWarning, Reason: ReasonFailedCreate, Message: `Error creating: serviceaccount "nope" not found`}, metav1.CreateOptions{})
	}()
	var mu sync.Mutex
	var warned []string
	res, err := e.RunJob(ctx, testJob(2, 0), nil, JobOptions{Options: Options{OnFinish: DeletePod}, Sink: func(i int, ev Event) {
		if k, ok := ev.(*KubeEvent); ok && i == -1 {
			mu.Lock()
			warned = append(warned, k.Reason+": "+k.Message)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed || res.Reason != "StartFailed" || !res.Deleted || len(res.Items) != 2 {
		t.Fatalf("%+v, want a start failure and the job deleted", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warned) != 1 || warned[0] != `FailedCreate: Error creating: serviceaccount "nope" not found` {
		t.Fatalf("the run's warnings: %q", warned)
	}
	if _, err := c.BatchV1().Jobs("default").Get(context.Background(), "job-t-abc", metav1.GetOptions{}); err == nil {
		t.Fatal("the job is still there")
	}
}

// Leaving with a StopRequest to delete (the screen's d) deletes the Job.
func TestRunJobStopRequestDeletesTheJob(t *testing.T) {
	c := fake.NewClientset()
	e := newJobEngine(c)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		for {
			if l, _ := c.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{}); l != nil && len(l.Items) == 1 {
				cancel(&StopRequest{Action: DeletePod})
				return
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	res, err := e.RunJob(ctx, testJob(3, 0), nil, JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Left || !res.Deleted {
		t.Fatalf("left %v, deleted %v; want both", res.Left, res.Deleted)
	}
	if _, err := c.BatchV1().Jobs("default").Get(context.Background(), "job-t-abc", metav1.GetOptions{}); err == nil {
		t.Fatal("the job is still there")
	}
}

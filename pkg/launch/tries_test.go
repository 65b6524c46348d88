package launch

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// fakeNode plays a node for every pod created in the fake clientset: each
// new pod is scheduled, started and ended by end, which says how (an exit
// code and a termination message, or a pod failure). It stops with ctx.
type fakeNode struct {
	mu      sync.Mutex
	seen    map[string]bool
	order   []string
	running int
	peak    int
}

type podEnd struct {
	code    int32
	message string
	evicted bool
}

func termMessagePod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default",
			Labels:      map[string]string{LabelRunID: "r1", LabelTask: "t"},
			Annotations: map[string]string{AnnotationXComMode: string(XComTerminationMessage), AnnotationBaseContainer: "base"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "base", Image: "busybox"}}},
	}
}

func (n *fakeNode) run(ctx context.Context, t *testing.T, c *fake.Clientset, end func(*corev1.Pod) podEnd) {
	n.seen = map[string]bool{}
	for ctx.Err() == nil {
		list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		live := 0
		for i := range list.Items {
			p := &list.Items[i]
			live++
			n.mu.Lock()
			fresh := !n.seen[p.Name]
			n.seen[p.Name] = true
			if fresh {
				n.order = append(n.order, p.Name)
			}
			n.mu.Unlock()
			if !fresh {
				continue
			}
			go n.live(ctx, t, c, p.DeepCopy(), end(p))
		}
		n.mu.Lock()
		if live > n.peak {
			n.peak = live
		}
		n.mu.Unlock()
		time.Sleep(3 * time.Millisecond)
	}
}

func (n *fakeNode) live(ctx context.Context, t *testing.T, c *fake.Clientset, p *corev1.Pod, end podEnd) {
	pods := c.CoreV1().Pods("default")
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "base", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		return
	}
	time.Sleep(10 * time.Millisecond)
	if end.evicted {
		p.Status.Phase = corev1.PodFailed
		p.Status.Reason = "Evicted"
		p.Status.Message = "The node was low on resource: memory."
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error"}}
	} else {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: end.code, Reason: "Completed", Message: end.message}}
		p.Status.Phase = corev1.PodSucceeded
		if end.code != 0 {
			p.Status.Phase = corev1.PodFailed
		}
	}
	_, _ = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{})
}

func (n *fakeNode) pods() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.order...)
}

func TestRunTriesRetriesAFailedTryInANewPod(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		if p.Labels[render.LabelTryNumber] == "1" {
			return podEnd{code: 3}
		}
		return podEnd{code: 0, message: `"ok"`}
	})
	rec := &recorder{}
	pod := termMessagePod("t-abc")
	res, err := e.RunTries(ctx, pod, OptionsFromPod(pod, Options{Sink: rec.sink}), RetryPolicy{Retries: 2, Delay: time.Millisecond})
	if err != nil {
		t.Fatalf("RunTries: %v", err)
	}
	if res.Try != 2 || res.Outcome != OutcomeSucceeded || *res.ExitCode != 0 || string(res.XCom) != `"ok"` {
		t.Fatalf("result %+v", res)
	}
	if got := node.pods(); len(got) != 2 || got[0] != "t-abc" || got[1] != "t-abc-try2" {
		t.Fatalf("pods %v, want t-abc then t-abc-try2", got)
	}
	if n := rec.count(func(ev Event) bool { r, ok := ev.(*Retrying); return ok && r.Try == 1 && r.Tries == 3 }); n != 1 {
		t.Errorf("%d Retrying events for try 1 of 3, want 1", n)
	}
	if n := rec.count(func(ev Event) bool { _, ok := ev.(*TryStarted); return ok }); n != 2 {
		t.Errorf("%d TryStarted events, want 2", n)
	}
	if n := rec.count(func(ev Event) bool { f, ok := ev.(*Finished); return ok && f.Result.Try == 2 }); n != 1 {
		t.Errorf("%d Finished events of try 2, want 1 (and none of try 1)", n)
	}
	if n := rec.count(func(ev Event) bool { _, ok := ev.(*Finished); return ok }); n != 1 {
		t.Errorf("%d Finished events, want 1", n)
	}
}

func TestRunTriesLastTryCounts(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node := &fakeNode{}
	go node.run(ctx, t, c, func(p *corev1.Pod) podEnd {
		try, _ := strconv.Atoi(p.Labels[render.LabelTryNumber])
		if try == 1 {
			return podEnd{evicted: true}
		}
		return podEnd{code: int32(10 + try)}
	})
	pod := termMessagePod("t-abc")
	res, err := e.RunTries(ctx, pod, OptionsFromPod(pod, Options{}), RetryPolicy{Retries: 2, Delay: time.Millisecond})
	if err != nil {
		t.Fatalf("RunTries: %v", err)
	}
	if res.Try != 3 || res.ExitCode == nil || *res.ExitCode != 13 {
		t.Fatalf("result %+v, want try 3 with exit code 13", res)
	}
	if got := node.pods(); len(got) != 3 {
		t.Fatalf("pods %v, want 3", got)
	}
}

func TestRunTriesDoesNotRetryABadImage(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			p, err := c.CoreV1().Pods("default").Get(ctx, "t-abc", metav1.GetOptions{})
			if err == nil {
				p.Spec.NodeName = "node-1"
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "base", State: corev1.ContainerState{
					Waiting: &corev1.ContainerStateWaiting{Reason: "InvalidImageName", Message: "bad"}}}}
				_, _ = c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{})
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	pod := termMessagePod("t-abc")
	res, err := e.RunTries(ctx, pod, OptionsFromPod(pod, Options{}), RetryPolicy{Retries: 3, Delay: time.Millisecond})
	var se *StartError
	if !errors.As(err, &se) || res.Try != 1 {
		t.Fatalf("err %v try %d, want a start error on try 1", err, res.Try)
	}
}

func TestRetryPolicyDelays(t *testing.T) {
	p := RetryPolicy{Retries: 5, Delay: 10 * time.Second, Exponential: true, MaxDelay: 50 * time.Second}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 50 * time.Second, 50 * time.Second}
	for i, w := range want {
		if got := p.DelayBefore(i + 2); got != w {
			t.Errorf("delay before try %d = %s, want %s", i+2, got, w)
		}
	}
	if got := (RetryPolicy{Delay: 7 * time.Second}).DelayBefore(4); got != 7*time.Second {
		t.Errorf("constant delay = %s", got)
	}
}

func TestRetryable(t *testing.T) {
	failed := &Result{Outcome: OutcomeFailed}
	cases := []struct {
		name string
		res  *Result
		err  error
		want bool
	}{
		{"non-zero exit", failed, nil, true},
		{"succeeded", &Result{Outcome: OutcomeSucceeded}, nil, false},
		{"interrupted", failed, ErrInterrupted, false},
		{"bad image", nil, &StartError{Reason: "ErrImagePull"}, false},
		{"config error", nil, &StartError{Reason: "CreateContainerConfigError"}, false},
		{"schedule timeout", nil, &StartError{Reason: "ScheduleTimeout"}, true},
		{"drained", nil, &DeletedError{Disrupted: true}, true},
		{"deleted by a person", nil, &DeletedError{}, false},
		{"api error", nil, &APIError{Op: "create pod", Err: errors.New("x")}, false},
	}
	for _, c := range cases {
		if got := Retryable(c.res, c.err); got != c.want {
			t.Errorf("%s: Retryable = %v, want %v", c.name, got, c.want)
		}
	}
}

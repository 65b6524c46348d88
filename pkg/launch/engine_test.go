package launch

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeCore is the fake core/v1 client, which (like the fake clientset)
// cannot stream a watch list's initial events.
type fakeCore struct{ corev1client.CoreV1Interface }

func (fakeCore) IsWatchListSemanticsUnSupported() bool { return true }

func newEngine(c *fake.Clientset, ex Executor) *Engine {
	return &Engine{Client: fakeCore{c.CoreV1()}, Exec: ex}
}

// fakeExec answers the sidecar's read and stop commands.
type fakeExec struct {
	mu      sync.Mutex
	result  string // what the read command prints
	stopped bool
	// onStop, when set, is the stop command's effect and answer (the
	// sidecar exiting under the exec, say).
	onStop func() error
}

func (f *fakeExec) Exec(_ context.Context, _, _, container string, cmd []string, stdout, _ io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if container != XComSidecarName {
		return errors.New("exec in the wrong container: " + container)
	}
	switch strings.Join(cmd, " ") {
	case strings.Join(XComReadCommand, " "):
		_, err := io.WriteString(stdout, f.result)
		return err
	case strings.Join(XComStopCommand, " "):
		f.stopped = true
		if f.onStop != nil {
			return f.onStop()
		}
		return nil
	}
	return errors.New("unexpected command")
}

// recorder is a Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) sink(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) count(match func(Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if match(ev) {
			n++
		}
	}
	return n
}

func taskPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "t-abc", Namespace: "default",
			Labels:      map[string]string{LabelRunID: "r1", LabelTask: "t"},
			Annotations: map[string]string{AnnotationXComMode: "sidecar", AnnotationBaseContainer: "base"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "base", Image: "busybox"}, {Name: XComSidecarName, Image: "busybox"}}},
	}
}

// kubelet plays the node: it moves the pod through its life once created.
func kubelet(t *testing.T, c *fake.Clientset, steps ...func(*corev1.Pod)) {
	t.Helper()
	ctx := context.Background()
	for {
		if _, err := c.CoreV1().Pods("default").Get(ctx, "t-abc", metav1.GetOptions{}); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, step := range steps {
		time.Sleep(20 * time.Millisecond)
		p, err := c.CoreV1().Pods("default").Get(ctx, "t-abc", metav1.GetOptions{})
		if err != nil {
			t.Errorf("kubelet: %v", err)
			return
		}
		step(p)
		if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Errorf("kubelet: %v", err)
			return
		}
	}
}

func running(p *corev1.Pod) {
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "base", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		{Name: XComSidecarName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
	}
}

func baseExited(code int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed"}}
	}
}

func TestRunSidecarXComAndCleanup(t *testing.T) {
	c := fake.NewClientset()
	ex := &fakeExec{result: "present\n[1,2,3,4]\n"}
	e := newEngine(c, ex)
	rec := &recorder{}
	go kubelet(t, c, running, baseExited(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := e.Run(ctx, taskPod(), OptionsFromPod(taskPod(), Options{Sink: rec.sink, ImagePullGrace: time.Second}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Outcome != OutcomeSucceeded || res.ExitCode == nil || *res.ExitCode != 0 {
		t.Fatalf("result %+v", res)
	}
	if !res.HasXCom || string(res.XCom) != "[1,2,3,4]" {
		t.Fatalf("xcom %q present %v", res.XCom, res.HasXCom)
	}
	if ex.stopped {
		t.Error("the sidecar was stopped through its FIFO although the pod is deleted (which stops it)")
	}
	if !res.Deleted {
		t.Error("the pod was not deleted under delete_pod")
	}
	if _, err := c.CoreV1().Pods("default").Get(ctx, "t-abc", metav1.GetOptions{}); err == nil {
		t.Error("the pod still exists")
	}
	if n := rec.count(func(ev Event) bool { _, ok := ev.(*Finished); return ok }); n != 1 {
		t.Errorf("%d Finished events, want 1", n)
	}
	if n := rec.count(func(ev Event) bool { x, ok := ev.(*XComResult); return ok && x.Present }); n != 1 {
		t.Errorf("%d XComResult events, want 1", n)
	}
}

// A kept pod's sidecar stop whose exec is cut as the sidecar exits under it
// is no warning; one that leaves the sidecar running is.
func TestSidecarStopCutByItsExit(t *testing.T) {
	for _, exits := range []bool{true, false} {
		c := fake.NewClientset()
		ex := &fakeExec{result: "present\n{}\n"}
		ex.onStop = func() error {
			if exits {
				p, _ := c.CoreV1().Pods("default").Get(context.Background(), "t-abc", metav1.GetOptions{})
				p.Status.Phase = corev1.PodSucceeded
				p.Status.ContainerStatuses[1].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
				_, _ = c.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
			}
			return errors.New("error executing command in container: no running task found")
		}
		e := newEngine(c, ex)
		var clk *clocktesting.FakeClock
		if !exits {
			// The pod never reaches its final phase: waitPhase's deadline
			// passes on a fake clock, stepped while the engine waits.
			clk = clocktesting.NewFakeClock(time.Now())
			e.Clock = clk
		}
		rec := &recorder{}
		go kubelet(t, c, running, baseExited(0))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		done := make(chan struct{})
		var res *Result
		var err error
		go func() {
			defer close(done)
			res, err = e.Run(ctx, taskPod(), OptionsFromPod(taskPod(), Options{Sink: rec.sink, OnFinish: KeepPod}))
		}()
		if clk != nil {
			stepWhileWaiting(clk, time.Second, done, nil)
		}
		<-done
		cancel()
		if err != nil || res.Outcome != OutcomeSucceeded || !ex.stopped {
			t.Fatalf("sidecar exits %v: %v %+v, stopped %v", exits, err, res, ex.stopped)
		}
		warned := rec.count(func(ev Event) bool {
			n, ok := ev.(*Notice)
			return ok && strings.Contains(n.Message, "could not stop the XCom sidecar")
		})
		if warned != map[bool]int{true: 0, false: 1}[exits] {
			t.Errorf("sidecar exits %v: %d warnings that it could not be stopped", exits, warned)
		}
	}
}

func TestRunFailsFastOnConfigError(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	go kubelet(t, c, func(p *corev1.Pod) {
		p.Spec.NodeName = "node-1"
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "base", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "nope" not found`}}}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := e.Run(ctx, taskPod(), Options{StartupTimeout: time.Minute})
	var se *StartError
	if !errors.As(err, &se) || se.Reason != "CreateContainerConfigError" || !strings.Contains(se.Message, `secret "nope" not found`) {
		t.Fatalf("err = %v", err)
	}
	if res.Outcome != OutcomeStartFailed || !res.Deleted {
		t.Fatalf("result %+v", res)
	}
}

func TestRunInterruptDeletesUnlessKept(t *testing.T) {
	for _, action := range []OnFinishAction{DeletePod, KeepPod} {
		t.Run(string(action), func(t *testing.T) {
			c := fake.NewClientset()
			e := newEngine(c, &fakeExec{})
			ctx, cancel := context.WithCancelCause(context.Background())
			go func() {
				kubelet(t, c, running)
				cancel(nil)
			}()
			res, err := e.Run(ctx, taskPod(), Options{OnFinish: action})
			if !errors.Is(err, ErrInterrupted) || res.Outcome != OutcomeInterrupted {
				t.Fatalf("err %v outcome %s", err, res.Outcome)
			}
			_, gerr := c.CoreV1().Pods("default").Get(context.Background(), "t-abc", metav1.GetOptions{})
			if exists := gerr == nil; exists != (action == KeepPod) {
				t.Fatalf("pod exists=%v after interrupt with %s", exists, action)
			}
		})
	}
}

func TestStopRequestOverridesPolicy(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{})
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		kubelet(t, c, running)
		cancel(&StopRequest{Action: DeletePod})
	}()
	res, _ := e.Run(ctx, taskPod(), Options{OnFinish: KeepPod})
	if !res.Deleted {
		t.Fatal("a delete request did not delete a keep_pod pod")
	}
}

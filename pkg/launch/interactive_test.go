package launch

import (
	"bytes"
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
	"k8s.io/client-go/tools/remotecommand"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeAttach is an Executor that also attaches: it copies stdin into got
// until the input ends or the session is cancelled.
type fakeAttach struct {
	fakeExec
	mu        sync.Mutex
	got       bytes.Buffer
	calls     int
	container string
	opts      remotecommand.StreamOptions
	refuse    error         // returned at once, nothing read
	read      chan struct{} // closed once the input has been read to its end
}

func (f *fakeAttach) Attach(ctx context.Context, _, _, container string, s remotecommand.StreamOptions) error {
	f.mu.Lock()
	f.calls++
	f.container, f.opts = container, s
	f.mu.Unlock()
	if f.refuse != nil {
		return f.refuse
	}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 7)
		for {
			n, err := s.Stdin.Read(buf)
			f.mu.Lock()
			f.got.Write(buf[:n])
			f.mu.Unlock()
			if err != nil {
				close(f.read)
				done <- nil
				return
			}
		}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

func (f *fakeAttach) input() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got.String()
}

func interactivePod() *corev1.Pod {
	p := taskPod()
	p.Annotations[AnnotationXComMode] = ""
	p.Spec.Containers = p.Spec.Containers[:1]
	p.Spec.Containers[0].Stdin, p.Spec.Containers[0].StdinOnce = true, true
	return p
}

func baseRunning(p *corev1.Pod) {
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "base", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

// The input reaches the base container's stdin, whole, once it runs; the
// task then completes as any other.
func TestRunInteractiveSendsStdin(t *testing.T) {
	c := fake.NewClientset()
	at := &fakeAttach{read: make(chan struct{})}
	e := &Engine{Client: fakeCore{c.CoreV1()}, Exec: at}
	go kubelet(t, c, baseRunning, func(p *corev1.Pod) { <-at.read; baseExited(0)(p) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	input := strings.Repeat("0123456789", 1000)
	res, err := e.RunInteractive(ctx, interactivePod(), Options{}, Terminal{In: strings.NewReader(input)})
	if err != nil || res.Outcome != OutcomeSucceeded {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if at.input() != input {
		t.Errorf("the container got %d bytes, want the %d sent", len(at.input()), len(input))
	}
	if at.container != "base" || at.opts.Stdout != nil || at.opts.Tty {
		t.Errorf("attached to %q with stdout %v tty %v: want base, stdin only (the output is the log)", at.container, at.opts.Stdout, at.opts.Tty)
	}
}

// The detach keys end the session, are not sent, keep the pod, and give
// ErrDetached.
func TestRunInteractiveDetachKeys(t *testing.T) {
	c := fake.NewClientset()
	at := &fakeAttach{read: make(chan struct{})}
	e := &Engine{Client: fakeCore{c.CoreV1()}, Exec: at}
	go kubelet(t, c, baseRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in, w := io.Pipe()
	go func() { _, _ = w.Write([]byte("ls\r\x10x\x10\x11ignored")) }()
	pod := interactivePod()
	pod.Spec.Containers[0].TTY = true
	var sessions []bool
	var mu sync.Mutex
	res, err := e.RunInteractive(ctx, pod, Options{}, Terminal{In: in, Out: io.Discard, TTY: true, DetachKeys: []byte{0x10, 0x11},
		Session: func(on bool) { mu.Lock(); sessions = append(sessions, on); mu.Unlock() }})
	if !errors.Is(err, ErrDetached) || res.Outcome != OutcomeDetached {
		t.Fatalf("err %v, outcome %s: want ErrDetached", err, res.Outcome)
	}
	if got := at.input(); got != "ls\r\x10x" {
		t.Errorf("the container got %q, want the keys before the detach sequence", got)
	}
	if _, err := c.CoreV1().Pods("default").Get(ctx, "t-abc", metav1.GetOptions{}); err != nil {
		t.Errorf("the pod is gone after a detach: %v", err)
	}
	if len(sessions) != 2 || !sessions[0] || sessions[1] {
		t.Errorf("sessions %v: want raw on, then off", sessions)
	}
}

// An attach the server refuses is an API error, and the task's pod is
// cleaned up by its on-finish action.
func TestRunInteractiveAttachRefused(t *testing.T) {
	c := fake.NewClientset()
	at := &fakeAttach{refuse: errors.New(`pods "t-abc" is forbidden: cannot create resource "pods/attach"`)}
	e := &Engine{Client: fakeCore{c.CoreV1()}, Exec: at}
	go kubelet(t, c, baseRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := e.RunInteractive(ctx, interactivePod(), Options{}, Terminal{In: strings.NewReader("x")})
	var ae *APIError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "pods/attach") {
		t.Fatalf("err %v: want an APIError naming pods/attach", err)
	}
	if !res.Deleted {
		t.Errorf("the pod was not deleted")
	}
}

func TestDetachReader(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"a\x10b", "a\x10b"},
		{"\x10\x10\x11rest", "\x10"},
		{"x\x10\x11", "x"},
	} {
		detached := false
		ctx, cancel := context.WithCancel(context.Background())
		d := &detachReader{r: strings.NewReader(tc.in), keys: []byte{0x10, 0x11}, ctx: ctx, onDetach: func() { detached = true; cancel() }}
		got, _ := io.ReadAll(d)
		cancel()
		if string(got) != tc.want || detached != strings.Contains(tc.in, "\x10\x11") {
			t.Errorf("%q: got %q detached %v, want %q", tc.in, got, detached, tc.want)
		}
	}
}

type fixedSizes struct {
	sizes chan *remotecommand.TerminalSize
}

func (f fixedSizes) Next() *remotecommand.TerminalSize { return <-f.sizes }

// Without output after the first size, the size goes down a row and back,
// so that a shell redraws its prompt, and again while no output comes: at
// sizeNudges after the first size, on the session's clock.
func TestSizeQueueNudges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := fixedSizes{make(chan *remotecommand.TerminalSize, 1)}
	src.sizes <- &remotecommand.TerminalSize{Width: 80, Height: 24}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clk.Now()
	q := newSizeQueue(ctx, src, &session{clock: clk})
	var got []remotecommand.TerminalSize
	var at []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			got = append(got, *q.Next())
			at = append(at, clk.Since(start))
		}
	}()
	stepWhileWaiting(clk, 5*time.Millisecond, done, nil)
	want := []remotecommand.TerminalSize{{Width: 80, Height: 24}, {Width: 80, Height: 23}, {Width: 80, Height: 24},
		{Width: 80, Height: 23}, {Width: 80, Height: 24}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sizes %v, want %v", got, want)
		}
	}
	first := firstSizeDelay
	if at[0] != first || at[1] != first+sizeNudges[0] || at[3] != first+sizeNudges[1] {
		t.Fatalf("sizes sent at %v, want the first after %s and the nudges %s and %s after it", at, first, sizeNudges[0], sizeNudges[1])
	}
}

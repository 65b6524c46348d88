package launch

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A stream still delivering its backlog after the container ended is not cut
// off; an idle one is, with a warning.
func TestWaitLogsWaitsForABusyStream(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	var notices []string
	tr := (&Engine{}).newTracker(pod, Options{Sink: func(ev Event) {
		if n, ok := ev.(*Notice); ok {
			notices = append(notices, n.Message)
		}
	}})

	busy, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.logs["base"] = &logFollower{cancel: cancel}
	tr.logsWG.Add(1)
	go func() { // delivers a line every 10 ms for 300 ms, then ends
		defer tr.logsWG.Done()
		for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end) && busy.Err() == nil; {
			tr.noteLogActivity(time.Now())
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	tr.waitLogs(context.Background(), 100*time.Millisecond)
	if busy.Err() != nil || len(notices) > 0 {
		t.Fatalf("a stream delivering lines was stopped after %s (notices %q)", time.Since(start), notices)
	}

	idle, cancelIdle := context.WithCancel(context.Background())
	defer cancelIdle()
	tr.logs["base"] = &logFollower{cancel: cancelIdle}
	tr.logsWG.Add(1)
	go func() { defer tr.logsWG.Done(); <-idle.Done() }() // never ends by itself
	start = time.Now()
	tr.waitLogs(context.Background(), 100*time.Millisecond)
	if idle.Err() == nil || len(notices) != 1 {
		t.Fatalf("an idle stream was not stopped (notices %q)", notices)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("idle stream stopped after %s, want about 100ms", d)
	}
}

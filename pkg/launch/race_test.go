package launch

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The log followers run while the follow loop replaces the pod it tracks
// with every update: under -race (make unit) a follower that read the
// tracker's pod would be caught here. Many updates, logs of two containers,
// streams that end and are opened again.
func TestLogFollowersDoNotReadThePodTheLoopReplaces(t *testing.T) {
	c := fake.NewClientset()
	e := newEngine(c, &fakeExec{result: "absent\n"})
	// Logs come from a client of their own, as in the plugin: nothing the
	// two clients share orders a follower's reads after the loop's writes.
	e.Logs = fakeCore{fake.NewClientset().CoreV1()}
	steps := []func(*corev1.Pod){running}
	for i := range 150 { // 3 s of updates: a log stream that ended is opened again after 2 s
		steps = append(steps, func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].RestartCount = int32(i) // a new state each time
			p.Status.PodIP = "10.0.0." + string(rune('1'+i%9))
		})
	}
	steps = append(steps, baseExited(0))
	go kubelet(t, c, steps...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rec := &recorder{}
	res, err := e.Run(ctx, taskPod(), OptionsFromPod(taskPod(), Options{Sink: rec.sink, LogContainers: []string{"*"}}))
	if err != nil || res.Outcome != OutcomeSucceeded {
		t.Fatalf("Run: %v, %+v", err, res)
	}
	if n := rec.count(func(ev Event) bool { _, ok := ev.(*LogLine); return ok }); n == 0 {
		t.Fatal("no log line was read: the followers did not run")
	}
}

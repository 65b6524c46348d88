package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// A task that ends at once on SIGTERM, so that deleting it is quick.
const sleeper = `trap 'exit 143' TERM; echo started; sleep 300 & wait`

// SIGINT and SIGTERM while the pod is pending, while it runs, and while its
// XCom result is read: no pod is left behind.
func TestSignalsLeaveNoPod(t *testing.T) {
	t.Parallel()
	var interrupted atomic.Int32
	phases := []struct {
		name  string
		args  []string
		ready func(*corev1.Pod) bool
	}{
		{"pending", []string{"--image", "127.0.0.1:1/missing:1.0", "--image-pull-grace", "5m", "--", "true"},
			func(p *corev1.Pod) bool { return p.Spec.NodeName != "" }},
		{"running", []string{"--image", busybox, "--", "sh", "-c", sleeper},
			func(p *corev1.Pod) bool { return e2eutil.ContainerRunning(p, "base") }},
		{"xcom-read", []string{"--image", busybox, "--xcom", "--", "sh", "-c",
			`mkdir -p /airflow/xcom; { printf '"'; head -c 600000 /dev/zero | tr '\0' x; printf '"'; } > /airflow/xcom/return.json`},
			baseTerminated},
	}
	for _, ph := range phases {
		for i := 0; i < 10; i++ {
			sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}[i%2]
			t.Run(fmt.Sprintf("%s-%d-%s", ph.name, i, sig), func(t *testing.T) {
				t.Parallel()
				name := e2eutil.UniqueName("sig-" + ph.name)
				code, stderr := interruptWhen(t, name, sig, ph.ready, append([]string{"run", "--name", name, "--random-name-suffix=false"}, ph.args...)...)
				switch {
				case code == 130:
					interrupted.Add(1)
				case ph.name == "xcom-read" && code == 0:
					t.Logf("the run had finished before the signal came")
				default:
					t.Fatalf("exit %d, want 130\n%s", code, stderr)
				}
				e2eutil.WaitPodGone(t, "default", name, 90*time.Second)
			})
		}
	}
	t.Cleanup(func() {
		t.Logf("%d of 30 runs were interrupted before they ended; none left a pod", interrupted.Load())
	})
}

// interruptWhen runs the plugin, sends sig once ready holds for its pod
// (followed with a watch, from before the pod exists), and returns the exit
// code and stderr.
func interruptWhen(t *testing.T, pod string, sig syscall.Signal, ready func(*corev1.Pod) bool, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	w, err := e2eutil.Client(t).Pods("default").Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", pod).String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cmd := pluginCmd(t, ctx, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for signalled := false; !signalled; {
		select {
		case err := <-done:
			return exitCodeOf(t, err), stderr.String()
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("the watch on pod %s ended before it was ready\n%s", pod, stderr.String())
			}
			if p, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type != watch.Deleted && ready(p) {
				signalled = true
			}
		}
	}
	_ = cmd.Process.Signal(sig)
	return exitCodeOf(t, <-done), stderr.String()
}

// baseTerminated holds once the base container has ended: the moment run
// starts reading the XCom result.
func baseTerminated(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "base" && cs.State.Terminated != nil {
			return true
		}
	}
	return false
}

// With keep_pod, an interrupted run leaves the pod and says how to attach;
// attach then finishes the task with its exit code and XCom.
func TestInterruptKeepThenAttach(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("keep-attach")
	e2eutil.CleanupPod(t, "default", name)
	code, stderr := interruptWhen(t, name, syscall.SIGINT,
		func(p *corev1.Pod) bool { return e2eutil.ContainerRunning(p, "base") },
		"run", "--name", name, "--random-name-suffix=false", "--on-finish-action", "keep_pod", "--xcom", "--image", busybox,
		"--", "sh", "-c", `echo before; sleep 4; echo after; mkdir -p /airflow/xcom; echo '{"kept": true}' > /airflow/xcom/return.json; exit 4`)
	if code != 130 || !strings.Contains(stderr, "kubectl podtask attach "+name) {
		t.Fatalf("exit %d, want 130 and how to attach\n%s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "attach", name, "--xcom-out", "-", "--on-finish-action", "delete_pod")
	if code != 4 {
		t.Fatalf("attach: exit %d, want the task's 4\n%s", code, stderr)
	}
	if strings.TrimSpace(stdout) != `{"kept": true}` {
		t.Fatalf("attach: xcom %q\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, "before") || !strings.Contains(stderr, "after") {
		t.Errorf("attach did not print the logs from the start:\n%s", stderr)
	}
	e2eutil.WaitPodGone(t, "default", name, 90*time.Second)
}

// kill -9 of run at a random moment, then attach: the same exit code and
// XCom as an unbroken run.
func TestKillNineThenAttach(t *testing.T) {
	t.Parallel()
	for i := 0; i < 10; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			name := e2eutil.UniqueName("kill9")
			e2eutil.CleanupPod(t, "default", name)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := pluginCmd(t, ctx, "run", "--name", name, "--random-name-suffix=false", "--xcom", "--image", busybox,
				"--", "sh", "-c", fmt.Sprintf(`echo one; sleep 3; echo two; mkdir -p /airflow/xcom; echo '{"trial": %d}' > /airflow/xcom/return.json; exit 5`, i))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			e2eutil.WaitPod(t, "default", name, 2*time.Minute, func(*corev1.Pod) bool { return true })
			time.Sleep(time.Duration(rand.IntN(2500)) * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()

			stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "attach", "--task", name, "--latest", "--xcom-out", "-")
			if code != 5 {
				t.Fatalf("attach: exit %d, want 5\n%s", code, stderr)
			}
			if want := fmt.Sprintf(`{"trial": %d}`, i); strings.TrimSpace(stdout) != want {
				t.Fatalf("attach: xcom %q, want %s\n%s", stdout, want, stderr)
			}
			sc := bufio.NewScanner(strings.NewReader(stderr))
			var logs []string
			for sc.Scan() {
				if l := sc.Text(); l == "one" || l == "two" {
					logs = append(logs, l)
				}
			}
			if strings.Join(logs, ",") != "one,two" {
				t.Errorf("attach logs %v, want one,two exactly once", logs)
			}
			e2eutil.WaitPodGone(t, "default", name, 90*time.Second)
		})
	}
}

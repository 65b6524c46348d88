package e2e

// attach --run-id: a mapped run taken up again after the process that
// started it was killed, or interrupted.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// completions watches a task's pods and counts, per pod name, the pods
// (by UID) whose base container exited 0: an item done twice shows as 2.
type completions struct {
	mu   sync.Mutex
	done map[string]map[types.UID]bool
	w    watch.Interface
	end  chan struct{}
}

func watchCompletions(t *testing.T, ctx context.Context, selector string) *completions {
	t.Helper()
	w, err := e2eutil.Client(t).Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	c := &completions{done: map[string]map[types.UID]bool{}, w: w, end: make(chan struct{})}
	go func() {
		defer close(c.end)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == "base" && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0 {
					c.mu.Lock()
					if c.done[p.Name] == nil {
						c.done[p.Name] = map[types.UID]bool{}
					}
					c.done[p.Name][p.UID] = true
					c.mu.Unlock()
				}
			}
		}
	}()
	return c
}

func (c *completions) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done)
}

func (c *completions) stop() map[string]int {
	c.w.Stop()
	<-c.end
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for name, uids := range c.done {
		out[name] = len(uids)
	}
	return out
}

// TestEachAttachRunIDAfterKill: a mapped run of 100 items killed with
// kill -9 once 30 are done, then attach --run-id: all 100 done, none twice,
// every XCom in item order, no pod and no record left.
func TestEachAttachRunIDAfterKill(t *testing.T) {
	name := e2eutil.UniqueName("eachkill")
	var items strings.Builder
	for i := range 100 {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sel := "podtask.dev/task=" + name
	done := watchCompletions(t, ctx, sel)
	cmd := pluginCmd(t, ctx, "run", "-n", "default", "--name", name, "--image", busybox, "--xcom-mode", "termination-message",
		"--each", "-", "--parallelism", "10",
		"--", "sh", "-c", `echo item {{ .params.n }}; sleep 1; mkdir -p /airflow/xcom; echo '{"n":{{ .params.n }}}' > /airflow/xcom/return.json`)
	cmd.Stdin = strings.NewReader(items.String())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for done.count() < 30 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	at := done.count()
	m := runIDLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no run id in stderr:\n%s", stderr.String())
	}
	runID := m[1]
	if at >= 100 {
		t.Fatalf("the run was done before the kill: the test proves nothing")
	}
	if _, err := e2eutil.Client(t).ConfigMaps("default").Get(ctx, "podtask-run-"+runID, metav1.GetOptions{}); err != nil {
		t.Fatalf("the killed run's record: %v", err)
	}
	t.Logf("killed with %d items done", at)
	// list --runs shows the stopped run, its items and what its record says is done.
	out, errOut, code := e2eutil.RunPlugin(t, ctx, "", "list", "--runs", "-n", "default")
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(runID) + `\s+` + regexp.QuoteMeta(name) + `\s+100\s+(\d+)\s+\d+\s+\S+\s+-$`).FindStringSubmatch(out)
	if code != 0 || row == nil {
		t.Fatalf("list --runs: exit %d, no row for run %s:\n%s%s", code, runID, out, errOut)
	}
	if n, _ := strconv.Atoi(row[1]); n < 1 || n > 100 {
		t.Errorf("list --runs: %s items done, want 1 to 100", row[1])
	}

	stdout, stderr2, code := e2eutil.RunPlugin(t, ctx, "", "attach", "-n", "default", "--run-id", runID, "--xcom-out", "-")
	perPod := done.stop()
	if code != 0 {
		t.Fatalf("attach --run-id: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr2)
	}
	var xs []map[string]any
	if err := json.Unmarshal([]byte(stdout), &xs); err != nil || len(xs) != 100 {
		t.Fatalf("--xcom-out - printed %d results (%v):\n%s", len(xs), err, stdout)
	}
	for i, x := range xs {
		if x["n"] != float64(i) {
			t.Fatalf("result %d is %v, want item %d's", i, x, i)
		}
	}
	if len(perPod) != 100 {
		t.Errorf("%d items ran to the end, want 100", len(perPod))
	}
	for pod, n := range perPod {
		if n != 1 {
			t.Errorf("pod %s ran to the end %d times, want once", pod, n)
		}
	}
	if !strings.Contains(stderr2, fmt.Sprintf("podtask: run %s: 100 items in namespace default, %d done", runID, at)) &&
		!strings.Contains(stderr2, "podtask: run "+runID+": 100 items") {
		t.Errorf("attach did not say what it takes up:\n%s", stderr2)
	}
	if left := e2eutil.PodsWithLabel(t, "default", sel); len(left) != 0 {
		t.Errorf("%d pods of the run left", len(left))
	}
	if _, err := e2eutil.Client(t).ConfigMaps("default").Get(ctx, "podtask-run-"+runID, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the run's record is still there after its end (%v)", err)
	}
}

// TestEachInterruptThenAttachRunID: Ctrl-C of a mapped run says how to go
// on, and attach --run-id runs the items the interrupt stopped and those
// never started; the exit code is the run's.
func TestEachInterruptThenAttachRunID(t *testing.T) {
	name := e2eutil.UniqueName("eachgo")
	var items strings.Builder
	for i := range 6 {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counter := countPods(t, ctx, "podtask.dev/task="+name)
	cmd := pluginCmd(t, ctx, "run", "-n", "default", "--name", name, "--image", busybox, "--each", "-",
		"--parallelism", "3", "--xcom-mode", "termination-message",
		"--", "sh", "-c", `sleep 4; mkdir -p /airflow/xcom; echo {{ .params.n }} > /airflow/xcom/return.json; exit $(( {{ .params.n }} == 5 ))`)
	cmd.Stdin = strings.NewReader(items.String())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for counter.running() < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCodeOf(t, cmd.Wait()); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	m := runIDLine.FindStringSubmatch(stderr.String())
	if m == nil || !strings.Contains(stderr.String(), "go on with: kubectl podtask attach --run-id "+m[1]+" -n default") {
		t.Fatalf("the interrupt does not say how to go on:\n%s", stderr.String())
	}
	stdout, stderr2, code := e2eutil.RunPlugin(t, ctx, "", "attach", "-n", "default", "--run-id", m[1], "-o", "json")
	counter.stop()
	if code != 123 {
		t.Fatalf("attach --run-id: exit %d, want 123 (item 5 fails)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr2)
	}
	var out []struct {
		Index    int             `json:"index"`
		Outcome  string          `json:"outcome"`
		ExitCode *int            `json:"exitCode"`
		XCom     json.RawMessage `json:"xcom"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || len(out) != 6 {
		t.Fatalf("-o json: %d results (%v):\n%s", len(out), err, stdout)
	}
	for i, r := range out {
		wantExit := 0
		if i == 5 {
			wantExit = 1
		}
		if r.Index != i || r.ExitCode == nil || *r.ExitCode != wantExit {
			t.Errorf("item %d: %+v, want exit %d", i, r, wantExit)
		}
		if i < 5 && strings.TrimSpace(string(r.XCom)) != fmt.Sprint(i) {
			t.Errorf("item %d: xcom %s", i, r.XCom)
		}
	}
	if left := e2eutil.PodsWithLabel(t, "default", "podtask.dev/task="+name); len(left) != 0 {
		t.Errorf("%d pods of the run left", len(left))
	}
}

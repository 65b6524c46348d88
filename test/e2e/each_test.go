package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// podCounter watches the pods of a task (by its label) and keeps the most
// that existed at once and every name seen.
type podCounter struct {
	mu   sync.Mutex
	live map[string]bool
	seen map[string]bool
	peak int
	done chan struct{}
	w    watch.Interface
}

func countPods(t *testing.T, ctx context.Context, selector string) *podCounter {
	t.Helper()
	w, err := e2eutil.Client(t).Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	c := &podCounter{live: map[string]bool{}, seen: map[string]bool{}, done: make(chan struct{}), w: w}
	go func() {
		defer close(c.done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			c.mu.Lock()
			if ev.Type == watch.Deleted {
				delete(c.live, p.Name)
			} else {
				c.live[p.Name], c.seen[p.Name] = true, true
			}
			c.peak = max(c.peak, len(c.live))
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *podCounter) stop() (peak, seen, live int) {
	c.w.Stop()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak, len(c.seen), len(c.live)
}

func (c *podCounter) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.live)
}

var runIDLine = regexp.MustCompile(`podtask: run (\S+): `)

// TestEachHundredItems: 100 items at parallelism 10: every item's XCom in
// the array in item order, never more than 10 task pods at once, and one
// pod watch and one events watch for the whole run in the audit log.
func TestEachHundredItems(t *testing.T) {
	name := e2eutil.UniqueName("each")
	var items strings.Builder
	for i := range 100 {
		fmt.Fprintf(&items, "{\"n\": %d, \"word\": \"w%d\"}\n", i, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	counter := countPods(t, ctx, "podtask.dev/task="+name)
	from := time.Now().Add(-time.Second)
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, items.String(), "run", "-n", "default", "--name", name,
		"--image", busybox, "--xcom-mode", "termination-message", "--each", "-", "--parallelism", "10", "--xcom-out", "-",
		"--", "sh", "-c", `echo item {{ .params.n }}; mkdir -p /airflow/xcom; printf '{"n":%s,"w":"%s"}' {{ .params.n }} {{ .params.word }} > /airflow/xcom/return.json`)
	to := time.Now().Add(time.Second)
	peak, seen, live := counter.stop()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var xs []map[string]any
	if err := json.Unmarshal([]byte(stdout), &xs); err != nil || len(xs) != 100 {
		t.Fatalf("--xcom-out - printed %d results (%v):\n%s", len(xs), err, stdout)
	}
	for i, x := range xs {
		if x["n"] != float64(i) || x["w"] != fmt.Sprintf("w%d", i) {
			t.Fatalf("result %d is %v, want item %d's", i, x, i)
		}
	}
	if !strings.Contains(stderr, "[42] item 42") {
		t.Errorf("the logs lack the line of item 42, prefixed:\n%s", stderr[:min(len(stderr), 3000)])
	}
	if seen != 100 || live != 0 {
		t.Errorf("%d pods seen (want 100), %d left (want 0)", seen, live)
	}
	if peak > 10 {
		t.Errorf("%d task pods at once, want at most 10", peak)
	}
	t.Logf("at most %d task pods at once", peak)
	m := runIDLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run id in stderr:\n%s", stderr)
	}
	podWatches, eventWatches := runWatches(t, m[1], from, to)
	if podWatches != 1 || eventWatches != 1 {
		t.Errorf("the audit log shows %d pod watches and %d events watches for run %s, want 1 and 1", podWatches, eventWatches, m[1])
	}
}

// runWatches counts, in the audit log, the plugin's pod watches selecting
// the run's label and its events watches over the namespace's pod events
// received within [from, to].
func runWatches(t *testing.T, runID string, from, to time.Time) (pods, events int) {
	t.Helper()
	// A watch is written to the audit log when it ends, which may be a
	// moment after the plugin exits.
	time.Sleep(2 * time.Second)
	f, err := os.Open(e2eutil.AuditLogPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Stage      string    `json:"stage"`
			Verb       string    `json:"verb"`
			UserAgent  string    `json:"userAgent"`
			RequestURI string    `json:"requestURI"`
			Received   time.Time `json:"requestReceivedTimestamp"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || ev.Verb != "watch" ||
			!strings.HasPrefix(ev.UserAgent, "kubectl-podtask/") || ev.Received.Before(from) || ev.Received.After(to) {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil {
			continue
		}
		q := u.Query()
		switch {
		case strings.HasSuffix(u.Path, "/pods") && strings.Contains(q.Get("labelSelector"), runID):
			pods++
		case strings.HasSuffix(u.Path, "/events") && q.Get("fieldSelector") == "involvedObject.kind=Pod":
			events++
		}
	}
	return pods, events
}

// TestEachFailFastLeavesNoPod: the first failure stops the run, deletes
// what runs, and leaves no pod of the run.
func TestEachFailFastLeavesNoPod(t *testing.T) {
	name := e2eutil.UniqueName("eachff")
	var items strings.Builder
	for i := range 20 {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counter := countPods(t, ctx, "podtask.dev/task="+name)
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, items.String(), "run", "-n", "default", "--name", name,
		"--image", busybox, "--each", "-", "--parallelism", "4", "--fail-fast", "-o", "json",
		"--", "sh", "-c", `if [ {{ .params.n }} = 2 ]; then exit 9; fi; sleep 20`)
	_, seen, _ := counter.stop()
	if code != 123 {
		t.Fatalf("exit %d, want 123\nstderr:\n%s", code, stderr)
	}
	var res []struct {
		Index   int    `json:"index"`
		Outcome string `json:"outcome"`
		Code    int    `json:"code"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res) != 20 {
		t.Fatalf("-o json: %v\n%s", err, stdout)
	}
	if res[2].Code != 9 || res[19].Outcome != "Skipped" {
		t.Errorf("item 2 %+v (want code 9), item 19 %+v (want Skipped)", res[2], res[19])
	}
	if seen >= 20 {
		t.Errorf("%d pods created: --fail-fast started every item", seen)
	}
	if left := e2eutil.PodsWithLabel(t, "default", "podtask.dev/task="+name); len(left) != 0 {
		t.Fatalf("%d pods of the run left after --fail-fast", len(left))
	}
}

// TestEachInterruptLeavesNoPod: Ctrl-C while ten items run deletes every
// pod of the run and starts no more.
func TestEachInterruptLeavesNoPod(t *testing.T) {
	name := e2eutil.UniqueName("eachint")
	cleanupRunRecords(t, name)
	var items strings.Builder
	for i := range 30 {
		fmt.Fprintf(&items, "{\"n\": %d}\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	counter := countPods(t, ctx, "podtask.dev/task="+name)
	cmd := pluginCmd(t, ctx, "run", "-n", "default", "--name", name, "--image", busybox, "--each", "-",
		"--parallelism", "10", "--", "sh", "-c", "sleep 60")
	cmd.Stdin = strings.NewReader(items.String())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for counter.running() < 10 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := exitCodeOf(t, cmd.Wait())
	_, seen, _ := counter.stop()
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	if seen != 10 {
		t.Errorf("%d pods created, want the 10 that ran when interrupted", seen)
	}
	if left := e2eutil.PodsWithLabel(t, "default", "podtask.dev/task="+name); len(left) != 0 {
		t.Fatalf("%d pods of the run left after Ctrl-C:\n%s", len(left), stderr.String())
	}
}

// cleanupRunRecords deletes, at the test's end, the records of the task's
// mapped runs that an interrupt left (to be taken up with attach --run-id).
func cleanupRunRecords(t *testing.T, task string) {
	t.Helper()
	c := e2eutil.Client(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.ConfigMaps(e2eutil.Namespace).DeleteCollection(ctx, metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: "podtask.dev/record=mapped-run,podtask.dev/task=" + task})
	})
}

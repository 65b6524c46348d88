package e2e

// run --as-job --tui and attach job/NAME --tui in a real terminal: the
// mapped run's screen over a Job; q leaves the Job running, d deletes it.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// startJobTUI starts `run --as-job --tui` of n items in a tmux terminal.
func startJobTUI(t *testing.T, name string, n int, args ...string) *termRun {
	t.Helper()
	return startTerm(t, name, append([]string{"run", "--tui", "--as-job", "-n", e2eutil.Namespace, "--name", name, "--image", busybox,
		"--xcom-mode", "termination-message", "--each", itemsFile(t, n)}, args...)...)
}

// jobOfTask is the name of the one Job of the task, as soon as it exists.
func jobOfTask(t *testing.T, ctx context.Context, task string) string {
	t.Helper()
	for {
		l, err := batchClient(t).Jobs(e2eutil.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "podtask.dev/task=" + task})
		if err == nil && len(l.Items) == 1 {
			return l.Items[0].Name
		}
		if ctx.Err() != nil {
			t.Fatalf("no job of task %s: %v", task, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestJobTUIInTmux runs 5 items as a Job at parallelism 3 under the screen:
// each row gets the pod the Job controller made and its exit code, f
// selects the failed index and shows its log, q quits with the mapped
// run's exit code (123), the summary table follows, the Job is deleted
// (delete_pod), and the terminal is restored.
func TestJobTUIInTmux(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := e2eutil.UniqueName("jobtui")
	r := startJobTUI(t, name, 5, "--parallelism", "3", "--", "sh", "-c", eachTUIScript)
	job := jobOfTask(t, ctx, name)
	cleanupJob(t, job)
	screen := r.waitScreen(4*time.Minute, "finished — press q to exit", "✓ 4 succeeded", "✗ 1 failed")
	for i := range 5 {
		want := `✓ succeeded\s+\d+s\s+0\s+│`
		if i == 4 {
			want = `✗ failed\s+\d+s\s+3\s+│`
		}
		re := regexp.MustCompile(`│ [ ▸] ` + fmt.Sprint(i) + `  n=` + fmt.Sprint(i) + `\s+` + regexp.QuoteMeta(job) + `-` + fmt.Sprint(i) + `-[a-z0-9]+\s+` + want)
		if !re.MatchString(screen) {
			t.Errorf("row %d does not match %s:\n%s", i, re, screen)
		}
	}
	r.keys("f")
	r.waitScreen(30*time.Second, "[4] Logs", "item 4 starts", "item 4 broke: no rows")
	r.keys("q")
	if code := r.wait(time.Minute); code != "123" {
		t.Errorf("exit code %s, want 123 (an item failed)", code)
	}
	after := r.joined()
	for _, want := range []string{"ITEM  POD", "Failed     3", "job/" + job + " deleted (delete_pod)", "error: 1 of 5 items did not succeed"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the screen, the terminal lacks %q:\n%s", want, after)
		}
	}
}

// TestJobTUILeaveThenDelete: q on a running Job's screen leaves it running
// (exit 130, how to attach); attach job/NAME --tui shows it again, and d
// there deletes the Job and its pods (exit 130).
func TestJobTUILeaveThenDelete(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	name := e2eutil.UniqueName("jobtuiq")
	r := startJobTUI(t, name, 4, "--parallelism", "2", "--", "sh", "-c", `echo "item {{ .params.n }} sleeps"; trap 'exit 0' TERM; sleep 300 & wait`)
	job := jobOfTask(t, ctx, name)
	cleanupJob(t, job)
	r.waitScreen(3*time.Minute, "● 2 running", "item 0 sleeps", "q leaves: job/"+job+" keeps running")
	r.keys("q")
	if code := r.wait(time.Minute); code != "130" {
		t.Errorf("exit code %s, want 130", code)
	}
	if after := r.joined(); !strings.Contains(after, "job/"+job+" keeps running") || !strings.Contains(after, "kubectl podtask attach job/"+job) {
		t.Errorf("after leaving, the terminal does not say how to attach:\n%s", after)
	}
	if _, err := batchClient(t).Jobs(e2eutil.Namespace).Get(ctx, job, metav1.GetOptions{}); err != nil {
		t.Fatalf("the job is gone after q: %v", err)
	}

	a := startTerm(t, name+"-a", "attach", "job/"+job, "--tui", "-n", e2eutil.Namespace)
	a.waitScreen(2*time.Minute, "● 2 running", "d deletes it")
	a.keys("d")
	if code := a.wait(2 * time.Minute); code != "130" {
		t.Errorf("attach: exit code %s, want 130", code)
	}
	if after := a.joined(); !strings.Contains(after, "job/"+job+" deleted") {
		t.Errorf("after d, the terminal does not say the job was deleted:\n%s", after)
	}
	waitJobGone(t, ctx, job)
	if left := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "batch.kubernetes.io/job-name="+job); len(left) != 0 {
		t.Errorf("%d pods of the job left after d", len(left))
	}
}

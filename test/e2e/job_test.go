package e2e

// run --as-job on the cluster: the Job outlives a kill -9 of the plugin and
// attach job/NAME prints every result in order; a failing index is retried
// by the Job controller (backoffLimitPerIndex); bad input creates nothing.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

var jobCreatedLine = regexp.MustCompile(`created job/(\S+) in namespace`)

func batchClient(t *testing.T) batchv1client.BatchV1Interface {
	t.Helper()
	c, err := batchv1client.NewForConfig(e2eutil.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func itemsFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "{\"n\": %d}\n", i)
	}
	path := filepath.Join(t.TempDir(), "items.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitJobGone waits until the Job is gone, failing when ctx ends first.
func waitJobGone(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	for {
		if _, err := batchClient(t).Jobs(e2eutil.Namespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("job/%s is still there", name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func cleanupJob(t *testing.T, name string) {
	t.Cleanup(func() {
		bg := metav1.DeletePropagationBackground
		_ = batchClient(t).Jobs("default").Delete(context.Background(), name, metav1.DeleteOptions{PropagationPolicy: &bg})
	})
}

// TestJobOutlivesThePlugin is the proof: 20 items at parallelism 5,
// the plugin killed with kill -9 halfway, the Job completes on its own, and
// attach job/NAME prints all 20 results in index order with their XCom.
func TestJobOutlivesThePlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("jobkill")
	cmd := exec.CommandContext(ctx, e2eutil.Plugin(t), "run", "--name", task, "--image", "docker.io/library/busybox:1.35",
		"--xcom-mode", "termination-message", "--each", itemsFile(t, 20), "--parallelism", "5", "--as-job",
		"--", "sh", "-c", `sleep 1; echo "item {{ .params.n }}"; echo '{"n": {{ .params.n }}}' > /airflow/xcom/return.json`)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2eutil.PluginKubeconfig(t))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var job string
	done := 0
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if m := jobCreatedLine.FindStringSubmatch(line); m != nil {
			job = m[1]
			cleanupJob(t, job)
		}
		if strings.Contains(line, "Succeeded: exit code 0") {
			done++
		}
		if done == 10 {
			break
		}
	}
	if job == "" || done < 10 {
		t.Fatalf("the run did not get halfway: job %q, %d done", job, done)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	// The Job controller finishes it alone.
	bc := batchClient(t)
	var j *batchv1.Job
	for {
		j, err = bc.Jobs("default").Get(ctx, job, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get job: %v", err)
		}
		if j.Status.Succeeded == 20 && j.Status.CompletionTime != nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the job did not complete alone: %+v", j.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}

	stdout, errOut, code := e2eutil.RunPlugin(t, ctx, "", "attach", "job/"+job, "--xcom-out", "-")
	if code != 0 {
		t.Fatalf("attach: exit %d\n%s", code, errOut)
	}
	var xs []struct{ N int }
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &xs); err != nil || len(xs) != 20 {
		t.Fatalf("xcom-out %q: %v", stdout, err)
	}
	for i, x := range xs {
		if x.N != i {
			t.Fatalf("result %d is %d: %s", i, x.N, stdout)
		}
	}
	for i := range 20 {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+%s-%d-\S+\s+1\s+Succeeded\s+0\s`, i, regexp.QuoteMeta(job), i)).MatchString(errOut) {
			t.Fatalf("no row for index %d in the table:\n%s", i, errOut)
		}
	}
	// delete_pod: attach deleted the Job once it had read it.
	if !strings.Contains(errOut, "job/"+job+" deleted (delete_pod)") {
		t.Errorf("the job was not deleted:\n%s", errOut)
	}
}

// TestJobFailedIndexRetried: an index that fails is retried by the Job
// controller (backoffLimitPerIndex from --retries) and reported with its
// last try; the others succeed; exit 123; -o json in index order.
func TestJobFailedIndexRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("jobfail")
	stdout, errOut, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", task, "--image", "docker.io/library/busybox:1.35",
		"--xcom", "--each", itemsFile(t, 3), "--as-job", "--retries", "1", "-o", "json",
		"--", "sh", "-c", `[ {{ .params.n }} = 1 ] && { echo "index 1 fails" >&2; exit 7; }; echo '"ok {{ .params.n }}"' > /airflow/xcom/return.json`)
	if m := jobCreatedLine.FindStringSubmatch(errOut); m != nil {
		cleanupJob(t, m[1])
	}
	if code != 123 {
		t.Fatalf("exit %d, want 123\n%s", code, errOut)
	}
	var rows []struct {
		Index    int
		Try      int
		Outcome  string
		ExitCode *int32
		Code     int
		XCom     json.RawMessage
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("-o json %q: %v", stdout, err)
	}
	for i, r := range rows {
		switch {
		case r.Index != i:
			t.Fatalf("row %d has index %d", i, r.Index)
		case i == 1 && (r.Outcome != "Failed" || r.Try != 2 || r.ExitCode == nil || *r.ExitCode != 7 || r.Code != 7):
			t.Fatalf("index 1: %+v", r)
		case i != 1 && (r.Outcome != "Succeeded" || string(r.XCom) != fmt.Sprintf(`"ok %d"`, i)):
			t.Fatalf("index %d: %+v", i, r)
		}
	}
	if !strings.Contains(errOut, "[1] try 1 of 2 failed") || !strings.Contains(errOut, "the Job controller retries it") ||
		!strings.Contains(errOut, "termination message") {
		t.Errorf("stderr lacks the retry or the XCom note:\n%s", errOut)
	}
}

// TestJobBadInputCreatesNothing: what a Job cannot do is one error line,
// exit 64, and no Job, pod or config map of the task.
func TestJobBadInputCreatesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("jobbad")
	items := itemsFile(t, 2)
	base := []string{"run", "--name", task, "--as-job", "--each", items}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "--image", "busybox:1.35", "--", "cat"}, "drop -i/-t"},
		{[]string{"--xcom-mode", "sidecar", "--image", "busybox:1.35", "--", "true"}, "termination-message"},
		{[]string{"--image", "busybox:1.{{ .params.n }}", "--", "true"}, "differs from item 0's"},
		{[]string{"--retry-delay", "1s", "--image", "busybox:1.35", "--", "true"}, "own backoff"},
	} {
		_, errOut, code := e2eutil.RunPlugin(t, ctx, "", append(append([]string{}, base...), c.args...)...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 64 || len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 64 and one line with %q", c.args, code, errOut, c.want)
		}
	}
	sel := metav1.ListOptions{LabelSelector: "podtask.dev/task=" + task}
	jobs, err := batchClient(t).Jobs("default").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	cms, err := e2eutil.Client(t).ConfigMaps("default").List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(jobs.Items) + len(cms.Items) + len(e2eutil.PodsWithLabel(t, "default", sel.LabelSelector)); n != 0 {
		t.Fatalf("%d objects of the task exist", n)
	}
}

// TestJobImagePullFailsFast: a Job whose pods cannot pull their image ends
// the run with exit 75 after the image pull grace and is deleted (its pods
// would wait for ever); the other indexes are skipped.
func TestJobImagePullFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("jobpull")
	_, errOut, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", task, "--image", "127.0.0.1:1/missing:1.0",
		"--image-pull-grace", "3s", "--each", itemsFile(t, 3), "--as-job", "--", "true")
	m := jobCreatedLine.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no job created:\n%s", errOut)
	}
	cleanupJob(t, m[1])
	if code != 75 || !strings.Contains(errOut, "job/"+m[1]+" deleted (delete_pod)") || !strings.Contains(errOut, "ErrImagePull") {
		t.Fatalf("exit %d, want 75 and the job deleted:\n%s", code, errOut)
	}
	waitJobGone(t, ctx, m[1])
}

// A Job whose pods the Job controller cannot create (a service account
// that does not exist) fails at once with the controller's words, exit 75,
// and leaves no Job, as run fails on the pod's create.
func TestJobThatCannotCreatePodsFailsFast(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	task := e2eutil.UniqueName("jobsa")
	_, errOut, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", task, "--image", busybox,
		"--service-account", "no-such-account", "--each", itemsFile(t, 2), "--as-job", "--", "true")
	m := jobCreatedLine.FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("no job created:\n%s", errOut)
	}
	cleanupJob(t, m[1])
	if code != 75 || !strings.Contains(errOut, "FailedCreate") || !strings.Contains(errOut, "no-such-account") ||
		!strings.Contains(errOut, "job/"+m[1]+" deleted (delete_pod)") {
		t.Fatalf("exit %d, want 75 with the controller's FailedCreate and the job deleted:\n%s", code, errOut)
	}
	waitJobGone(t, ctx, m[1])
}

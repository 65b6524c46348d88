package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func jobItems(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "items.jsonl")
	if err := os.WriteFile(path, []byte("{\"n\":0}\n{\"n\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunAsJobRefusesWhatAJobCannotDo(t *testing.T) {
	items := jobItems(t)
	task := filepath.Join(t.TempDir(), "task.yaml")
	if err := os.WriteFile(task, []byte("apiVersion: podtask.dev/v1alpha1\nkind: Task\nname: t\nimage: busybox\ncmds: [\"true\"]\nbackoff_limit: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--as-job", "--debug-on-failure", "--image", "busybox", "--", "true"}, "--debug-on-failure"},
		{[]string{"--as-job", "--file", items, "--image", "busybox", "--", "true"}, "--file and --artifact"},
		{[]string{"--as-job", "--log-file", "x.log", "--image", "busybox", "--", "true"}, "--log-dir"},
		{[]string{"--as-job", "--max-retry-delay", "1m", "--image", "busybox", "--", "true"}, "own backoff"},
		{[]string{"--as-job", "--each", items, "--xcom-mode", "sidecar", "--image", "busybox", "--", "true"}, "termination-message"},
		{[]string{"--as-job", "--fail-fast", "--image", "busybox", "--", "true"}, "add --each"},
		{[]string{"--as-job", "--each", items, "--image", "busybox", "--label", "x={{ .params.n }}", "--", "true"}, "differs from item 0's"},
		{[]string{"-f", task}, "backoff_limit is a KubernetesJobOperator parameter"},
	} {
		f := newFakeFactory()
		_, errOut, code := execute(t, f, append([]string{"run"}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line with %q", c.args, code, errOut, ExitUsage, c.want)
		}
		for _, a := range f.cs.Actions() {
			if a.GetVerb() == "create" {
				t.Errorf("%v: created %s", c.args, a.GetResource().Resource)
			}
		}
	}
}

func TestRunAsJobDetachCreatesTheJobAndItsItems(t *testing.T) {
	f := newFakeFactory()
	_, errOut, code := execute(t, f, "run", "--name", "daily", "--as-job", "--detach", "--each", jobItems(t), "--parallelism", "1",
		"--retries", "2", "--image", "busybox", "--", "sh", "-c", "echo {{ .params.n }}")
	if code != 0 || !strings.Contains(errOut, "attach with: kubectl podtask attach job/job-daily-") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	jobs, _ := f.cs.BatchV1().Jobs("default").List(context.Background(), metav1.ListOptions{})
	if len(jobs.Items) != 1 {
		t.Fatalf("%d jobs", len(jobs.Items))
	}
	j := jobs.Items[0]
	if *j.Spec.Completions != 2 || *j.Spec.Parallelism != 1 || *j.Spec.BackoffLimitPerIndex != 2 ||
		*j.Spec.CompletionMode != batchv1.IndexedCompletion || j.Annotations[render.AnnotationJobItems] != "2" {
		t.Fatalf("job spec %+v", j.Spec)
	}
	cm, err := f.cs.CoreV1().ConfigMaps("default").Get(context.Background(), j.Name, metav1.GetOptions{})
	if err != nil || cm.Data[render.JobParamsKey] != `[{"n":"0"},{"n":"1"}]` {
		t.Fatalf("config map %+v %v", cm, err)
	}
}

func TestAttachJobRefusesAJobOfAnotherClient(t *testing.T) {
	f := newFakeFactory()
	_, _ = f.cs.BatchV1().Jobs("default").Create(context.Background(), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "default"}}, metav1.CreateOptions{})
	_, errOut, code := execute(t, f, "attach", "job/other")
	if code != ExitUsage || !strings.Contains(errOut, "was not made by 'kubectl podtask run --as-job'") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

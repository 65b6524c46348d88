package e2e

// Each KubernetesPodOperator task of the test DAGs (pkg/dag/testdata) runs
// on the cluster straight from its DAG file and gives, field by field, the
// pod of the task file written by hand for it (pkg/dag/testdata/tasks).

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

var dagTasks = []struct {
	dag, task string
	runs      bool // false: it needs what the cluster lacks (a PVC, a priority class); its pod is compared only
	xcom      string
}{
	{dag: "howto.py", task: "task"},
	{dag: "howto.py", task: "write-xcom", runs: true, xcom: "[1,2,3,4]"},
	{dag: "xcom.py", task: "write-xcom", runs: true, xcom: "[1,2,3,4]"},
	{dag: "taskflow.py", task: "extract", runs: true},
	{dag: "taskflow.py", task: "publish.upload", runs: true},
	{dag: "default_args.py", task: "clean", runs: true},
	{dag: "default_args.py", task: "archive", runs: true},
	{dag: "fstrings.py", task: "load_users", runs: true},
	{dag: "loops.py", task: "load_orders_us", runs: true},
}

func TestDAGTasks(t *testing.T) {
	e2eutil.Kubeconfig(t) // skips without a cluster
	for _, c := range dagTasks {
		t.Run(strings.TrimSuffix(c.dag, ".py")+"/"+c.task, func(t *testing.T) {
			t.Parallel()
			dagFile := repoFile(t, filepath.Join("pkg/dag/testdata", c.dag))
			hand := repoFile(t, filepath.Join("pkg/dag/testdata/tasks", strings.TrimSuffix(c.dag, ".py")+"."+c.task+".yaml"))
			extra := []string{"--on-finish-action", "keep_pod", "-n", e2eutil.Namespace}
			want := renderJSON(t, append([]string{"-f", hand}, extra...)...)
			got := renderJSON(t, append([]string{"--dag", dagFile, "--task-id", c.task}, extra...)...)
			sameFields(t, "render --dag against render -f", normalise(t, want), normalise(t, got))
			if !c.runs {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"run", "--dag", dagFile, "--task-id", c.task, "-o", "json"}, extra...)...)
			var sum struct {
				Pod   string          `json:"pod"`
				RunID string          `json:"runId"`
				XCom  json.RawMessage `json:"xcom"`
			}
			if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Pod == "" {
				t.Fatalf("run --dag: exit %d, no summary (%v)\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
			}
			defer e2eutil.CleanupPod(t, e2eutil.Namespace, sum.Pod)
			if code != 0 {
				t.Fatalf("run --dag: exit %d\n%s", code, stderr)
			}
			if c.xcom != "" && compactJSON(t, sum.XCom) != c.xcom {
				t.Errorf("XCom = %s, want %s", sum.XCom, c.xcom)
			}
			pod, err := e2eutil.Client(t).Pods(e2eutil.Namespace).Get(ctx, sum.Pod, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": pod.Labels, "annotations": pod.Annotations}, "spec": pod.Spec})
			var ran map[string]any
			_ = json.Unmarshal([]byte(timestamps.ReplaceAllString(strings.ReplaceAll(string(b), sum.RunID, "RUN-ID"), "TIME")), &ran)
			// Every field of the hand-written task's pod is on the pod that ran
			// (which also has the API server's defaults).
			subsetFields(t, "the pod that ran", "", normalise(t, want), ran, true)
		})
	}
}

// The README's DAG example runs as the README shows.
func TestDAGExample(t *testing.T) {
	e2eutil.Kubeconfig(t)
	t.Parallel()
	file := repoFile(t, "examples/dag.py")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--dag", file, "--task-id", "write-xcom", "--xcom-out", "-", "-n", e2eutil.Namespace)
	if code != 0 || strings.TrimSpace(stdout) != "[1,2,3,4]" {
		t.Errorf("write-xcom: exit %d, XCom %q\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, "", "run", "--dag", file, "--task-id", "report", "--param", "table=orders", "-n", e2eutil.Namespace)
	if code != 0 || !strings.Contains(stdout, "report on orders for "+time.Now().UTC().Format("2006-01-02")[:4]) || !strings.Contains(stdout, "in DAG reports") {
		t.Errorf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, _, code = e2eutil.RunPlugin(t, ctx, "", "render", "--dag", file)
	if code != 0 || !strings.Contains(stdout, "write-xcom") || !strings.Contains(stdout, "report") {
		t.Errorf("listing: exit %d\n%s", code, stdout)
	}
}

// renderJSON renders with args and returns the pod as JSON values.
func renderJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"render", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("render %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("render printed no JSON: %v", err)
	}
	return m
}

// normalise drops what differs from one render to the next (the pod name,
// the run id, the time) and keeps the labels, the annotations and the spec.
func normalise(t *testing.T, pod map[string]any) map[string]any {
	t.Helper()
	meta, _ := pod["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	runID, _ := ann["podtask.dev/run-id"].(string)
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": meta["labels"], "annotations": meta["annotations"]}, "spec": pod["spec"]})
	s := string(b)
	if runID != "" {
		s = strings.ReplaceAll(s, runID, "RUN-ID")
		s = strings.ReplaceAll(s, strings.ToLower(runID), "RUN-ID")
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(timestamps.ReplaceAllString(s, "TIME")), &m)
	return m
}

// timestamps are {{ .ts }} and {{ .ts_nodash }}: seconds apart from one render to the next.
var timestamps = regexp.MustCompile(`\d{8}T\d{6}|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+00:00)`)

func sameFields(t *testing.T, what string, want, got map[string]any) {
	t.Helper()
	subsetFields(t, what, "", want, got, false)
	subsetFields(t, what+" (the other way)", "", got, want, false)
}

// subsetFields reports each field of want that got lacks or has otherwise;
// with more, got's lists may go on (the service account token volume and
// its mounts, which the API server appends).
func subsetFields(t *testing.T, what, path string, want, got any, more bool) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %s = %v, want %v", what, path, got, want)
			return
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			subsetFields(t, what, path+"."+k, w[k], g[k], more)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) < len(w) || !more && len(g) != len(w) {
			t.Errorf("%s: %s = %v, want %v", what, path, got, want)
			return
		}
		for i := range w {
			subsetFields(t, what, fmt.Sprintf("%s[%d]", path, i), w[i], g[i], more)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: %s = %v, want %v", what, path, got, want)
		}
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

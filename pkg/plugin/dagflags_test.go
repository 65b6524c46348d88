package plugin

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const testDAGs = "../dag/testdata/"

func TestRenderDAGListsTasks(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the reader's cache
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	out, err := renderCmd(t, kc, nil, "--dag", testDAGs+"taskflow.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"TASK-ID", "extract", "publish.upload", "load", "nightly_report"} {
		if !strings.Contains(out, want) {
			t.Errorf("listing lacks %q:\n%s", want, out)
		}
	}
	_, err = renderCmd(t, kc, nil, "--dag", testDAGs+"taskflow.py", "--task-id", "nope")
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "its tasks: extract, load, publish.upload") {
		t.Errorf("unknown task: %v (exit %d)", err, ExitCode(err))
	}
	if _, err = renderCmd(t, kc, nil, "--task-id", "extract"); ExitCode(err) != ExitUsage {
		t.Errorf("--task-id without --dag: %v", err)
	}
}

func TestRenderDAGTask(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the reader's cache
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	out, err := renderCmd(t, kc, nil, "--dag", testDAGs+"taskflow.py", "--task-id", "extract", "--param", "table=orders")
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(out), &pod); err != nil {
		t.Fatalf("not a pod: %v\n%s", err, out)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "docker.io/library/busybox:1.35" || !strings.HasPrefix(c.Args[0], "echo extract orders limit 10 on ") || pod.Labels["team"] != "reports" {
		t.Errorf("unexpected pod:\n%s", out)
	}
	// A flag replaces a value the DAG cannot give.
	out, err = renderCmd(t, kc, nil, "--dag", testDAGs+"refused.py", "--task-id", "call", "--image", "busybox:1.36")
	if err != nil || !strings.Contains(out, "image: busybox:1.36") {
		t.Errorf("--image over a refused image: %v\n%s", err, out)
	}
	_, err = renderCmd(t, kc, nil, "--dag", testDAGs+"refused.py", "--task-id", "call")
	if ExitCode(err) != ExitUsage || !strings.HasPrefix(err.Error(), testDAGs+"refused.py:27:49: get_image(): ") {
		t.Errorf("refusal: %v", err)
	}
	if _, err = renderCmd(t, kc, nil, "--dag", testDAGs+"xcom.py", "--task-id", "write-xcom", "-f", "x.yaml"); ExitCode(err) != ExitUsage {
		t.Errorf("--dag with -f: %v", err)
	}
}

func TestRenderDAGOutputTask(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the reader's cache
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	out, err := renderCmd(t, kc, nil, "--dag", testDAGs+"taskflow.py", "--task-id", "extract", "-o", "task", "--param", "table=orders", "--param", "new=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: podtask.dev/v1alpha1", "kind: Task", "name: extract", "table: orders", "new: \"1\"", "{{ .params.table }}"} {
		if !strings.Contains(out, want) {
			t.Errorf("task file lacks %q:\n%s", want, out)
		}
	}
	if _, err := renderCmd(t, kc, nil, "--dag", testDAGs+"taskflow.py", "--task-id", "extract", "-o", "task", "--image", "x"); ExitCode(err) != ExitUsage {
		t.Errorf("-o task with --image: %v", err)
	}
	if _, err := renderCmd(t, kc, nil, "--image", "x", "-o", "task"); ExitCode(err) != ExitUsage {
		t.Errorf("-o task without --dag: %v", err)
	}
}

func TestDAGFlagsComplete(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the reader's cache
	words, directive := complete(t, "run", "--dag", testDAGs+"taskflow.py", "--task-id", "")
	if strings.Join(words, ",") != "extract,load,publish.upload" || !strings.HasPrefix(directive, ":4") {
		t.Errorf("--task-id completes %v %s", words, directive)
	}
	if words, _ := complete(t, "render", "--dag", ""); strings.Join(words, ",") != "py" {
		t.Errorf("--dag completes %v", words)
	}
}

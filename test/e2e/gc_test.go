package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// createRendered creates the pod `render ARGS -o json` prints, as run would
// have but with nobody to follow it (as after a kill -9), deleted at the
// test's end.
func createRendered(t *testing.T, ctx context.Context, args ...string) *corev1.Pod {
	t.Helper()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"render", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	var pod corev1.Pod
	if err := json.Unmarshal([]byte(stdout), &pod); err != nil {
		t.Fatal(err)
	}
	if _, err := e2eutil.Client(t).Pods(e2eutil.Namespace).Create(ctx, &pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e2eutil.CleanupPod(t, e2eutil.Namespace, pod.Name)
	return &pod
}

// Task pods left behind (created as run would, then nobody followed them,
// as after a kill -9): once finished, list marks the one whose on-finish
// action deletes it, and gc deletes that one and keeps the kept one.
func TestGCDeletesFinishedPodsItsActionSaysShouldBeGone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := e2eutil.Client(t)
	names := map[string]string{}
	for _, action := range []string{"delete_pod", "keep_pod"} {
		name := e2eutil.UniqueName("gc-" + strings.ReplaceAll(action, "_", "-"))
		createRendered(t, ctx, "--image", busybox, "--name", name, "--random-name-suffix=false", "--on-finish-action", action, "--", "true")
		names[action] = name
	}
	// Only this test's pods: the cluster is shared.
	sel := "-l=podtask.dev/task in (" + names["delete_pod"] + "," + names["keep_pod"] + ")"
	for _, name := range names {
		e2eutil.WaitPod(t, e2eutil.Namespace, name, 2*time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	}
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "gc", "--min-age", "0s", "--dry-run", sel)
	if code != 0 || !strings.Contains(stdout, "pod/"+names["delete_pod"]+" would be deleted") || strings.Contains(stdout, names["keep_pod"]) {
		t.Fatalf("gc --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, "", "gc", "--min-age", "0s", sel)
	if code != 0 || !strings.Contains(stdout, "pod/"+names["delete_pod"]+" deleted") {
		t.Fatalf("gc: exit %d\n%s\n%s", code, stdout, stderr)
	}
	e2eutil.WaitPodGone(t, e2eutil.Namespace, names["delete_pod"], time.Minute)
	if _, err := c.Pods(e2eutil.Namespace).Get(ctx, names["keep_pod"], metav1.GetOptions{}); err != nil {
		t.Fatalf("gc deleted the keep_pod pod: %v", err)
	}
}

// A mapped run's record left behind (as after a kill -9 of run --each that
// nobody took up) is deleted by gc; the record of a run whose pod still
// runs stays, since attach --run-id would follow it.
func TestGCDeletesAbandonedRunRecords(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := e2eutil.Client(t)
	task := e2eutil.UniqueName("gc-record")
	pod := createRendered(t, ctx, "--image", busybox, "--name", task, "--", "sleep", "300")
	record := func(run string) string {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "podtask-run-" + run, Labels: map[string]string{
			"app.kubernetes.io/managed-by": "kubectl-podtask", "podtask.dev/run-id": run, "podtask.dev/record": "mapped-run", "podtask.dev/task": task}}}
		if _, err := c.ConfigMaps(e2eutil.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = c.ConfigMaps(e2eutil.Namespace).Delete(context.Background(), cm.Name, metav1.DeleteOptions{})
		})
		return cm.Name
	}
	live, abandoned := record(pod.Labels["podtask.dev/run-id"]), record(strings.ToLower(task)+"-gone")
	e2eutil.WaitPod(t, e2eutil.Namespace, pod.Name, 2*time.Minute, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	sel := "-l=podtask.dev/task=" + task
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "gc", "--min-age", "0s", "--dry-run", sel)
	if code != 0 || !strings.Contains(stdout, "configmap/"+abandoned+" would be deleted") || strings.Contains(stdout, live) {
		t.Fatalf("gc --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, "", "gc", "--min-age", "0s", sel)
	if code != 0 || !strings.Contains(stdout, "configmap/"+abandoned+" deleted") {
		t.Fatalf("gc: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := c.ConfigMaps(e2eutil.Namespace).Get(ctx, abandoned, metav1.GetOptions{}); err == nil {
		t.Fatalf("the abandoned record %s is still there", abandoned)
	}
	if _, err := c.ConfigMaps(e2eutil.Namespace).Get(ctx, live, metav1.GetOptions{}); err != nil {
		t.Fatalf("gc deleted the record of a run whose pod runs: %v", err)
	}
}

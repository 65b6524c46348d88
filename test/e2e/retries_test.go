package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// watchTaskPods records, with a watch of the admin's own, every pod of the
// task labelled podtask.dev/task=task: name to try-number label.
func watchTaskPods(t *testing.T, ctx context.Context, selector string) (stop func() map[string]string) {
	t.Helper()
	w, err := e2eutil.Client(t).Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Error {
				mu.Lock()
				seen[p.Name] = p.Labels["podtask.dev/try-number"]
				mu.Unlock()
			}
		}
	}()
	return func() map[string]string {
		w.Stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestRetriesRunAFailedTryAgain: a task that fails on its first try only
// (it leaves a marker on a hostPath volume of the node, this machine)
// succeeds on its second: exit 0, two pods, try numbers 1 and 2.
func TestRetriesRunAFailedTryAgain(t *testing.T) {
	dir, err := os.MkdirTemp("", "podtask-retry-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	name := e2eutil.UniqueName("retry")
	task := `apiVersion: podtask.dev/v1alpha1
kind: Task
name: ` + name + `
random_name_suffix: false
image: ` + busybox + `
cmds: ["sh", "-c"]
arguments:
- 'if [ -e /marker/first-try-done ]; then echo second try; exit 0; fi; touch /marker/first-try-done; echo first try fails; exit 7'
volumes:
- name: marker
  hostPath: {path: ` + dir + `, type: DirectoryOrCreate}
volume_mounts:
- {name: marker, mountPath: /marker}
retry_delay: 1
`
	file := filepath.Join(t.TempDir(), "task.yaml")
	if err := os.WriteFile(file, []byte(task), 0o644); err != nil {
		t.Fatal(err)
	}
	e2eutil.CleanupPod(t, "default", name)
	e2eutil.CleanupPod(t, "default", name+"-try2")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stop := watchTaskPods(t, ctx, "podtask.dev/task="+name)
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "-f", file, "-n", "default", "--retries", "2")
	seen := stop()
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "first try fails") || !strings.Contains(stdout, "second try") {
		t.Errorf("stdout lacks a try's log:\n%s", stdout)
	}
	for _, want := range []string{"try 1 of 3: pod/" + name, "try 1 of 3 failed", "try 2 of 3: pod/" + name + "-try2"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if len(seen) != 2 || seen[name] != "1" || seen[name+"-try2"] != "2" {
		t.Fatalf("pods seen %v, want %s with try 1 and %s-try2 with try 2", seen, name, name)
	}
}

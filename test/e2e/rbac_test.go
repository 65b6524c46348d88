package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// runAs runs the plugin with kubeconfig and returns stdout, stderr and the exit code.
func runAs(t *testing.T, kubeconfig string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := pluginCmd(t, ctx, args...)
	cmd.Env = append(cmd.Env, "KUBECONFIG="+kubeconfig) // the last value of a key wins
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), exitCodeOf(t, err)
}

func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "error:") {
			out = append(out, l)
		}
	}
	return out
}

// A missing permission is one clear line naming the verb and the resource.
func TestMissingPermissionIsOneLine(t *testing.T) {
	t.Parallel()
	admin := e2eutil.Kubeconfig(t)
	ctx := context.Background()
	none, err := e2eutil.ServiceAccountKubeconfig(ctx, admin, "default", "podtask-noperm", []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
	}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runAs(t, none, "run", "--image", busybox, "--", "true")
	lines := errorLines(stderr)
	if code != 69 || len(lines) != 1 || !strings.Contains(lines[0], `cannot create resource "pods"`) {
		t.Fatalf("exit %d, error lines %q: want 69 and one line naming create and pods\n%s", code, lines, stderr)
	}

	// Everything but exec: the XCom read is refused, and says so.
	var noExec []rbacv1.PolicyRule
	for _, r := range e2eutil.PodtaskRules {
		if r.Resources[0] != "pods/exec" {
			noExec = append(noExec, r)
		}
	}
	kc, err := e2eutil.ServiceAccountKubeconfig(ctx, admin, "default", "podtask-noexec", noExec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, stderr, code = runAs(t, kc, "run", "--image", busybox, "--xcom", "--", "sh", "-c", "mkdir -p /airflow/xcom; echo 1 > /airflow/xcom/return.json")
	lines = errorLines(stderr)
	if code != 76 || len(lines) != 1 || !strings.Contains(lines[0], "pods/exec") {
		t.Fatalf("exit %d, error lines %q: want 76 and one line naming pods/exec\n%s", code, lines, stderr)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("a refused exec took %s: it should not be retried\n%s", d, stderr)
	}
}

// list shows kept task pods with their task, run id, phase and exit code.
func TestListShowsTaskPods(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("listed")
	s, stderr, code := runJSON(t, "--name", name, "--random-name-suffix=false", "--on-finish-action", "keep_pod",
		"--image", busybox, "--", "sh", "-c", "exit 3")
	if code != 3 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "list")
	if code != 0 {
		t.Fatalf("list: exit %d\n%s", code, stderr)
	}
	var row string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, s.Pod+" ") {
			row = l
		}
	}
	f := strings.Fields(row)
	if len(f) != 7 || f[1] != name || f[3] != "Failed" || f[4] != "3" || f[6] != "-" {
		t.Fatalf("list row %q: want NAME TASK RUN-ID PHASE EXIT AGE GC with %s, Failed, 3, -\n%s", row, name, stdout)
	}
	stdout, _, code = e2eutil.RunPlugin(t, ctx, "", "list", "-o", "json")
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || code != 0 {
		t.Fatalf("list -o json: exit %d, %v", code, err)
	}
	found := false
	for _, it := range list.Items {
		found = found || it.Metadata.Name == s.Pod
	}
	if !found {
		t.Errorf("list -o json lacks %s", s.Pod)
	}
}

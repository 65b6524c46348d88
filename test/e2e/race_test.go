package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// The plugin built with the race detector runs a task whose log streams
// while its pod changes (a sidecar, XCom, a kept pod), then attaches to it:
// the detector finds no data race, and every line arrives once.
func TestRaceEnabledBuildRunsAndAttaches(t *testing.T) {
	t.Parallel()
	kubeconfig := e2eutil.PluginKubeconfig(t)
	bin := filepath.Join(t.TempDir(), "kubectl-podtask-race")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-race", "-o", bin, "./cmd/kubectl-podtask")
	build.Dir = repoRootDir(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	run := func(args ...string) (string, string, int) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "GORACE=halt_on_error=1 exitcode=66")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(errOut.String(), "DATA RACE") {
			t.Fatalf("kubectl-podtask %s: the race detector found a data race:\n%s", strings.Join(args, " "), errOut.String())
		}
		return out.String(), errOut.String(), code
	}
	name := e2eutil.UniqueName("race")
	const n = 20000
	script := "for i in 1 2 3 4; do seq $(( (i-1)*5000+1 )) $(( i*5000 )); sleep 1; done; mkdir -p /airflow/xcom; echo '[1]' > /airflow/xcom/return.json"
	stdout, stderr, code := run("run", "--name", name, "--random-name-suffix=false", "--image", busybox, "--xcom",
		"--on-finish-action", "keep_pod", "--container-logs", "all", "--", "sh", "-c", script)
	defer e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	wantPrefixedNumbered(t, stdout, "[base] ", n)
	stdout, stderr, code = run("attach", name, "--on-finish-action", "delete_pod")
	if code != 0 {
		t.Fatalf("attach: exit %d\n%s", code, stderr)
	}
	wantNumbered(t, stdout, n)
}

// wantPrefixedNumbered checks that out is the lines prefix+1 to prefix+n.
func wantPrefixedNumbered(t *testing.T, out, prefix string, n int) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, prefix))
	}
	wantNumbered(t, strings.Join(lines, "\n")+"\n", n)
}

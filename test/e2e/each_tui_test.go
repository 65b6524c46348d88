package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// eachTUIScript is a task that logs, then fails with exit 3 for item 4 and
// writes its XCom result for the others.
const eachTUIScript = `echo "item {{ .params.n }} starts"; sleep 1; if [ {{ .params.n }} = 4 ]; then echo "item 4 broke: no rows" >&2; exit 3; fi; ` +
	`mkdir -p /airflow/xcom; echo '{"n":{{ .params.n }}}' > /airflow/xcom/return.json`

// startEachTUI starts `run --each --tui` of n items in a tmux terminal.
func startEachTUI(t *testing.T, name string, n int, args ...string) *termRun {
	t.Helper()
	cleanupRunRecords(t, name)
	return startTerm(t, name, append([]string{"run", "--tui", "-n", e2eutil.Namespace, "--name", name, "--image", busybox,
		"--xcom-mode", "termination-message", "--each", itemsFile(t, n)}, args...)...)
}

// TestEachTUIInTmux runs 6 items at parallelism 3 under the screen in a real
// terminal: every row ends with its exit code, f selects the failed item and
// shows its log, q leaves; the exit code is the mapped run's (123), the
// summary table follows on the terminal, no pod of the run is left, and the
// terminal is restored.
func TestEachTUIInTmux(t *testing.T) {
	name := e2eutil.UniqueName("eachtui")
	r := startEachTUI(t, name, 6, "--parallelism", "3", "--", "sh", "-c", eachTUIScript)

	screen := r.waitScreen(4*time.Minute, "finished — press q to exit", "✓ 5 succeeded", "✗ 1 failed", "1 of 6 items did not succeed")
	for i := range 6 {
		want := `✓ succeeded\s+\d+s\s+0\s+│`
		if i == 4 {
			want = `✗ failed\s+\d+s\s+3\s+│`
		}
		re := regexp.MustCompile(`│ [ ▸] ` + fmt.Sprint(i) + `  n=` + fmt.Sprint(i) + `\s+` + regexp.QuoteMeta(name) + `-[a-z0-9]+\s+` + want)
		if !re.MatchString(screen) {
			t.Errorf("row %d does not match %s:\n%s", i, re, screen)
		}
	}
	for _, want := range []string{"[0] Logs", "item 0 starts", "[0] XCom", `"n": 0`, "at most 3 at once"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}

	r.keys("f")
	screen = r.waitScreen(30*time.Second, "[4] Logs", "item 4 starts", "item 4 broke: no rows", "5 of 6")
	if !regexp.MustCompile(`│ ▸ 4 `).MatchString(screen) {
		t.Errorf("item 4 is not the selected row:\n%s", screen)
	}

	r.keys("q")
	if code := r.wait(time.Minute); code != "123" {
		t.Errorf("exit code %s, want 123 (an item failed)", code)
	}
	after := r.joined()
	for _, want := range []string{"ITEM  POD", "Failed     3", "error: 1 of 6 items did not succeed"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the screen, the terminal lacks %q:\n%s", want, after)
		}
	}
	if left := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name); len(left) != 0 {
		t.Errorf("%d pods of the run left", len(left))
	}
}

// TestEachTUIQuitCleansUp presses q while the items run: the screen says
// every pod of the run is being deleted (delete_pod); a second q leaves the
// screen at once while the cleanup finishes; no more items start, no pod of
// the run is left, the summary table follows and the exit code is 130, as
// for Ctrl-C without --tui, and the terminal is restored.
func TestEachTUIQuitCleansUp(t *testing.T) {
	name := e2eutil.UniqueName("eachtuiq")
	r := startEachTUI(t, name, 8, "--parallelism", "2", "--", "sh", "-c", `echo "item {{ .params.n }} sleeps"; sleep 300`)
	r.waitScreen(3*time.Minute, "● 2 running", "item 0 sleeps")
	r.keys("q")
	r.waitScreen(30*time.Second, "stopping — every pod is deleted (delete_pod), no more start", "Stopping")
	r.keys("q")
	if code := r.wait(3 * time.Minute); code != "130" {
		t.Errorf("exit code %s, want 130", code)
	}
	after := r.joined()
	for _, want := range []string{"waiting for the cleanup of the run's pods to finish", "Interrupted", "Skipped"} {
		if !strings.Contains(after, want) {
			t.Errorf("after the screen, the terminal lacks %q:\n%s", want, after)
		}
	}
	if left := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name); len(left) != 0 {
		t.Errorf("%d pods of the run left after q", len(left))
	}
}

// TestEachTUISignalCleansUp sends SIGTERM to the plugin while the screen
// is up: the run is stopped as without --tui (every pod deleted), the screen
// closes by itself once the run has returned, the exit code is 130 and the
// terminal is restored.
func TestEachTUISignalCleansUp(t *testing.T) {
	name := e2eutil.UniqueName("eachtuis")
	r := startEachTUI(t, name, 4, "--parallelism", "2", "--", "sh", "-c", `echo "item {{ .params.n }} sleeps"; trap 'exit 0' TERM; sleep 300 & wait`)
	r.waitScreen(3*time.Minute, "● 2 running", "item 0 sleeps")
	r.signal(syscall.SIGTERM)
	if code := r.wait(3 * time.Minute); code != "130" {
		t.Errorf("exit code %s, want 130", code)
	}
	if after := r.joined(); !strings.Contains(after, "Interrupted") || !strings.Contains(after, "Skipped") {
		t.Errorf("the summary table lacks the interrupted and skipped items:\n%s", after)
	}
	if left := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name); len(left) != 0 {
		t.Errorf("%d pods of the run left after SIGTERM", len(left))
	}
}

// TestEachTUIFallsBackWithoutTerminal: with stdout not a terminal, --tui
// says so and the run prints its plain output, with the same exit code.
func TestEachTUIFallsBackWithoutTerminal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := e2eutil.UniqueName("eachtui-plain")
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "{\"n\": 0}\n{\"n\": 1}\n", "run", "--tui", "-n", e2eutil.Namespace, "--name", name,
		"--image", busybox, "--each", "-", "--", "sh", "-c", `echo "plain {{ .params.n }}"; [ {{ .params.n }} = 0 ]`)
	if code != 123 {
		t.Errorf("exit code %d, want 123\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "not a terminal") || !strings.Contains(stderr, "ITEM  POD") {
		t.Errorf("stderr lacks the fallback note or the summary table:\n%s", stderr)
	}
	if !strings.Contains(stdout, "[1] plain 1") || strings.Contains(stdout, "\x1b[?1049h") {
		t.Errorf("stdout is not the plain, prefixed log:\n%q", stdout)
	}
}

// TestEachTUISecondSignalRestoresTheTerminal: a second SIGTERM while the
// screen is up leaves at once, and the terminal is given back first (cooked
// mode, the main screen), however the cleanup stands.
func TestEachTUISecondSignalRestoresTheTerminal(t *testing.T) {
	name := e2eutil.UniqueName("eachtui2s")
	t.Cleanup(func() {
		for _, p := range e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name) {
			e2eutil.CleanupPod(t, p.Namespace, p.Name)
		}
	})
	r := startEachTUI(t, name, 2, "--parallelism", "2", "--", "sh", "-c", `echo "item {{ .params.n }} sleeps"; sleep 300`)
	r.waitScreen(3*time.Minute, "● 2 running", "item 0 sleeps")
	r.signal(syscall.SIGTERM)
	time.Sleep(time.Second) // the first is taken: two pending at once are one
	r.signal(syscall.SIGTERM)
	if code := r.wait(10 * time.Second); code != "130" { // at once; wait checks stty -g before and after
		t.Errorf("exit code %s, want 130", code)
	}
}

// TestEachAttachRunIDTUI: a mapped run stopped after its first item, taken
// up again with attach --run-id --tui in a real terminal: every row ends
// succeeded (the recorded one with the others), q leaves with the run's
// exit code (0), the summary table follows, and no pod is left.
func TestEachAttachRunIDTUI(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("eachtuia")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := watchCompletions(t, ctx, "podtask.dev/task="+name)
	cmd := pluginCmd(t, ctx, "run", "-n", e2eutil.Namespace, "--name", name, "--image", busybox, "--each", itemsFile(t, 4),
		"--parallelism", "1", "--xcom-mode", "termination-message",
		"--", "sh", "-c", `echo "item {{ .params.n }}"; sleep 2; mkdir -p /airflow/xcom; echo {{ .params.n }} > /airflow/xcom/return.json`)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); done.count() < 1 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // the item's result is recorded before its pod goes
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCodeOf(t, cmd.Wait()); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	done.stop()
	m := runIDLine.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no run id:\n%s", stderr.String())
	}
	r := startTerm(t, name+"-a", "attach", "--run-id", m[1], "-n", e2eutil.Namespace, "--tui")
	r.waitScreen(3*time.Minute, "finished — press q to exit", "✓ 4 succeeded", "all 4 items succeeded")
	r.keys("q")
	if code := r.wait(time.Minute); code != "0" {
		t.Errorf("exit code %s, want 0", code)
	}
	if after := r.joined(); !strings.Contains(after, "ITEM  POD") {
		t.Errorf("after the screen, the terminal lacks the summary table:\n%s", after)
	}
	if left := e2eutil.PodsWithLabel(t, e2eutil.Namespace, "podtask.dev/task="+name); len(left) != 0 {
		t.Errorf("%d pods of the run left", len(left))
	}
}

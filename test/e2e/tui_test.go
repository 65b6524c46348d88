package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// tmuxSession is a detached tmux session on a server of its own (its own
// socket), so the test never touches a developer's tmux.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func (s *tmuxSession) cmd(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", s.socket}, args...)...)
}

// capture returns the visible screen; with escapes it keeps the colours.
func (s *tmuxSession) capture(escapes bool) (string, error) {
	args := []string{"capture-pane", "-p", "-t", s.name}
	if escapes {
		args = append(args, "-e")
	}
	out, err := s.cmd(args...).Output()
	return string(out), err
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.cmd(append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestTUIRunInTmux runs `run --tui` in a real terminal (tmux), waits for the
// phase and the XCom value to appear on the screen, presses q, and checks
// the exit code and that the pod was deleted.
func TestTUIRunInTmux(t *testing.T) {
	name := e2eutil.UniqueName("tui")
	script := `echo hello from the task; mkdir -p /airflow/xcom; echo '{"a":1}' > /airflow/xcom/return.json`
	s, exitFile := startTUI(t, name, "run", "--tui", "--name", name, "--xcom", "--image", busybox, "--", "sh", "-c", script)

	// Wait for the outcome and the XCom value on the screen.
	screen := s.waitScreen(3*time.Minute, "Succeeded", `"a": 1`, "press q to exit")
	m := regexp.MustCompile(`pod (` + regexp.QuoteMeta(name) + `[a-z0-9-]*)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the screen does not name the pod:\n%s", screen)
	}
	pod := m[1]
	e2eutil.CleanupPod(t, e2eutil.Namespace, pod)
	for _, want := range []string{"hello from the task", "Containers", "Events", "Logs", "XCom", "exit 0"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	if path := os.Getenv("PODTASK_TUI_CAPTURE"); path != "" {
		// The README's picture is made from such a capture (docs/tui.png).
		if colour, err := s.capture(true); err == nil {
			_ = os.WriteFile(path, []byte(colour), 0o644)
		}
	}

	s.keys("q")
	if code := waitExit(t, s, exitFile, time.Minute); code != "0" {
		t.Errorf("exit code %s, want 0 as plain run gives", code)
	}
	e2eutil.WaitPodGone(t, e2eutil.Namespace, pod, time.Minute)
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestTUIFallsBackWithoutTerminal checks that --tui with stdout not a
// terminal prints the plain output and a note on stderr, with the same exit
// code as plain run.
func TestTUIFallsBackWithoutTerminal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := e2eutil.UniqueName("tui-plain")
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--tui", "--name", name, "--image", busybox,
		"--", "sh", "-c", "echo plain hello; exit 3")
	if code != 3 {
		t.Errorf("exit code %d, want 3 (the container's)\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "not a terminal") {
		t.Errorf("no note about the fallback on stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "plain hello") || strings.Contains(stdout, "\x1b[?1049h") {
		t.Errorf("stdout is not the plain log:\n%q", stdout)
	}
}

// startTUI starts the plugin with args in a 100x30 tmux session and returns
// the session and the file its exit code is written to.
func startTUI(t *testing.T, name string, args ...string) (*tmuxSession, string) {
	t.Helper()
	kubeconfig := e2eutil.PluginKubeconfig(t) // skips without a cluster
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	words := []string{"env", "-u", "NO_COLOR", "TERM=xterm-256color", "KUBECONFIG=" + shq(kubeconfig), shq(e2eutil.Plugin(t))}
	for _, a := range args {
		words = append(words, shq(a))
	}
	shell := strings.Join(words, " ") + "; echo EXIT=$? > " + shq(exitFile)
	s := &tmuxSession{t: t, socket: "podtask-e2e-" + name, name: name}
	if out, err := s.cmd("new-session", "-d", "-s", name, "-x", "100", "-y", "30", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = s.cmd("kill-server").Run() })
	return s, exitFile
}

// waitScreen polls the screen until every want is on it, and returns it.
func (s *tmuxSession) waitScreen(timeout time.Duration, wants ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen, err := s.capture(false)
		if err == nil {
			ok := true
			for _, w := range wants {
				ok = ok && strings.Contains(screen, w)
			}
			if ok {
				return screen
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", wants, screen)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// waitExit waits for the plugin's exit code.
func waitExit(t *testing.T, s *tmuxSession, exitFile string, timeout time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		if b := readFile(exitFile); strings.HasPrefix(b, "EXIT=") {
			return strings.TrimSpace(strings.TrimPrefix(b, "EXIT="))
		}
		if time.Now().After(deadline) {
			screen, _ := s.capture(false)
			t.Fatalf("the plugin did not exit:\n%s", screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTUIKeepAndDelete presses k (keep the pod, detach) and d (delete it
// now) while a task runs, and checks what happened to the pod.
func TestTUIKeepAndDelete(t *testing.T) {
	for _, tc := range []struct {
		key      string
		wantPod  bool
		wantCode string
	}{
		{"k", true, "130"},
		{"d", false, "130"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			name := e2eutil.UniqueName("tui-" + tc.key)
			s, exitFile := startTUI(t, name, "run", "--tui", "--name", name, "--on-finish-action", "delete_pod",
				"--image", busybox, "--", "sh", "-c", "echo working; trap 'exit 0' TERM; sleep 300 & wait")
			screen := s.waitScreen(2*time.Minute, "Running", "working")
			m := regexp.MustCompile(`pod (` + regexp.QuoteMeta(name) + `[a-z0-9-]*)`).FindStringSubmatch(screen)
			if m == nil {
				t.Fatalf("the screen does not name the pod:\n%s", screen)
			}
			pod := m[1]
			e2eutil.CleanupPod(t, e2eutil.Namespace, pod)
			s.keys(tc.key)
			code := waitExit(t, s, exitFile, 2*time.Minute)
			if code != tc.wantCode {
				t.Errorf("exit code %s, want %s", code, tc.wantCode)
			}
			if tc.wantPod {
				if !podExists(t, e2eutil.Namespace, pod) {
					t.Errorf("k deleted the pod; it must keep it")
				}
			} else {
				e2eutil.WaitPodGone(t, e2eutil.Namespace, pod, time.Minute)
			}
		})
	}
}

// TestTUIFailureExitCode checks that a failing task shows its exit code and
// events, and that the process exits with the container's code as plain run
// does.
func TestTUIFailureExitCode(t *testing.T) {
	name := e2eutil.UniqueName("tui-fail")
	s, exitFile := startTUI(t, name, "run", "--tui", "--name", name, "--on-finish-action", "keep_pod",
		"--image", busybox, "--", "sh", "-c", "echo about to fail; exit 3")
	screen := s.waitScreen(3*time.Minute, "Failed (exit 3)", "about to fail", "press q to exit", "kept by keep_pod")
	m := regexp.MustCompile(`pod (` + regexp.QuoteMeta(name) + `[a-z0-9-]*)`).FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the screen does not name the pod:\n%s", screen)
	}
	e2eutil.CleanupPod(t, e2eutil.Namespace, m[1])
	s.keys("q")
	if code := waitExit(t, s, exitFile, time.Minute); code != "3" {
		t.Errorf("exit code %s, want 3 (the container's)", code)
	}
	if !podExists(t, e2eutil.Namespace, m[1]) {
		t.Error("keep_pod: the pod is gone")
	}
}

// TestTUILogFile checks that --log-file gets every line under --tui while
// the screen stays intact: log lines are drawn only inside the log panel,
// never printed over the screen.
func TestTUILogFile(t *testing.T) {
	name := e2eutil.UniqueName("tui-logfile")
	logFile := filepath.Join(t.TempDir(), "task.log")
	s, exitFile := startTUI(t, name, "run", "--tui", "--log-file", logFile, "--name", name,
		"--image", busybox, "--", "sh", "-c", "for i in $(seq 1 50); do echo logline $i; done")
	screen := s.waitScreen(3*time.Minute, "Succeeded", "logline 50", "press q to exit")
	for i, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "logline") && !strings.HasPrefix(line, "│ logline") {
			t.Errorf("screen line %d has a log line outside the log panel: %q\n%s", i+1, line, screen)
			break
		}
	}
	s.keys("q")
	if code := waitExit(t, s, exitFile, time.Minute); code != "0" {
		t.Errorf("exit code %s, want 0", code)
	}
	got := readFile(logFile)
	if n := strings.Count(got, "[base] logline "); n != 50 {
		t.Errorf("--log-file has %d of 50 lines:\n%s", n, got)
	}
}

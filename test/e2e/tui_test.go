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
	kubeconfig := e2eutil.PluginKubeconfig(t) // skips without a cluster
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	plugin := e2eutil.Plugin(t)
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	name := e2eutil.UniqueName("tui")

	script := `echo hello from the task; mkdir -p /airflow/xcom; echo '{"a":1}' > /airflow/xcom/return.json`
	shell := strings.Join([]string{
		"env", "-u", "NO_COLOR", "TERM=xterm-256color", "KUBECONFIG=" + shq(kubeconfig),
		shq(plugin), "run", "--tui", "--name", name, "--xcom", "--image", busybox, "--", "sh", "-c", shq(script),
	}, " ") + "; echo EXIT=$? > " + shq(exitFile)

	s := &tmuxSession{t: t, socket: "podtask-e2e-" + name, name: name}
	if out, err := s.cmd("new-session", "-d", "-s", name, "-x", "100", "-y", "30", shell).CombinedOutput(); err != nil {
		t.Fatalf("%s new-session: %v: %s", tmux, err, out)
	}
	t.Cleanup(func() { _ = s.cmd("kill-server").Run() })

	// Wait for the outcome and the XCom value on the screen.
	var screen, pod string
	podRe := regexp.MustCompile(`pod (` + regexp.QuoteMeta(name) + `[a-z0-9-]*)`)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		screen, err = s.capture(false)
		if err != nil {
			t.Fatalf("capture-pane: %v (did the plugin exit early? exit file: %s)", err, readFile(exitFile))
		}
		if m := podRe.FindStringSubmatch(screen); m != nil {
			pod = m[1]
		}
		if strings.Contains(screen, "Succeeded") && strings.Contains(screen, `"a": 1`) &&
			strings.Contains(screen, "press q to exit") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed Succeeded and the XCom value:\n%s", screen)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if pod == "" {
		t.Fatalf("the screen does not name the pod:\n%s", screen)
	}
	e2eutil.CleanupPod(t, e2eutil.Namespace, pod)
	for _, want := range []string{"hello from the task", "Containers", "Events", "Logs", "XCom", "exit 0"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	if path := os.Getenv("PODTASK_TUI_CAPTURE"); path != "" {
		// The README's picture is made from this capture (docs/tui.png).
		if colour, err := s.capture(true); err == nil {
			_ = os.WriteFile(path, []byte(colour), 0o644)
		}
	}

	s.keys("q")
	var code string
	for deadline := time.Now().Add(time.Minute); ; {
		if b := readFile(exitFile); strings.HasPrefix(b, "EXIT=") {
			code = strings.TrimSpace(strings.TrimPrefix(b, "EXIT="))
			break
		}
		if time.Now().After(deadline) {
			screen, _ = s.capture(false)
			t.Fatalf("the plugin did not exit after q:\n%s", screen)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != "0" {
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

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

func pluginCmd(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, e2eutil.Plugin(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2eutil.PluginKubeconfig(t))
	cmd.WaitDelay = 60 * time.Second
	return cmd
}

func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("running the plugin: %v", err)
	}
	if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		return 128 + int(st.Signal())
	}
	return ee.ExitCode()
}

// runPluginSignal runs the plugin and sends sig when ctx is cancelled.
func runPluginSignal(t *testing.T, ctx context.Context, sig syscall.Signal, args ...string) (string, string, int) {
	t.Helper()
	cmd := pluginCmd(t, ctx, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(sig) }
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), exitCodeOf(t, err)
}

// startPlugin starts the plugin and hands its stdout line by line as it
// comes; wait returns the exit code and stderr.
func startPlugin(t *testing.T, ctx context.Context, args ...string) (<-chan string, func() (int, string)) {
	t.Helper()
	cmd := pluginCmd(t, ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, func() (int, string) {
		for range lines {
		}
		err := cmd.Wait()
		return exitCodeOf(t, err), errOut.String()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Contains(sub string) bool { return strings.Contains(s.String(), sub) }

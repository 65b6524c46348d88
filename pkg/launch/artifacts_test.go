package launch

import (
	"context"
	"errors"
	"io"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/exec"

	"github.com/podtask-dev/kubectl-podtask/pkg/archive"
)

// failingStreamer ends ReadCommand with stderr and err, before any output.
type failingStreamer struct {
	stderr string
	err    error
}

func (f failingStreamer) Exec(context.Context, string, string, string, []string, io.Writer, io.Writer) error {
	return errors.New("not used")
}

func (f failingStreamer) Stream(_ context.Context, _, _, _ string, _ []string, _ io.Reader, _, stderr io.Writer) error {
	_, _ = io.WriteString(stderr, f.stderr)
	return f.err
}

// A path missing in the container is told by ReadCommand's exit code, as
// remotecommand reports it, not by the words on stderr.
func TestDownloadMissingIsToldByExitCode(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	plan := func(byte, int64) (string, archive.Options, error) {
		t.Fatal("a plan for a download that failed")
		return "", archive.Options{}, nil
	}
	for _, c := range []struct {
		name    string
		s       failingStreamer
		missing bool
	}{
		{"exit code", failingStreamer{"", exec.CodeExitError{Err: errors.New("command terminated with exit code 44"), Code: readMissingExit}}, true},
		{"words, another exit code", failingStreamer{"no such file or folder\n", exec.CodeExitError{Err: errors.New("command terminated with exit code 1"), Code: 1}}, false},
		{"a broken stream", failingStreamer{"", errors.New("connection reset")}, false},
	} {
		e := &Engine{Exec: c.s}
		_, _, err := e.Download(context.Background(), pod, "base", "/out", "out", plan, nil)
		if errors.Is(err, ErrNotFound) != c.missing || err == nil {
			t.Errorf("%s: %v, want missing=%v", c.name, err, c.missing)
		}
	}
}

package plugin

// debugsession.go: runs a debug copy with the local stdin (and terminal,
// when there is one) attached to its shell, as run -i/-it does.

import (
	"context"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// stdinIsTerminal tells whether the shell of a debug copy gets a terminal.
func stdinIsTerminal(streams genericiooptions.IOStreams) bool { return isTerminal(streams.In) }

// runDebugCopy creates the copy, attaches to its shell, and follows it to the
// end: the exit code is the shell's, the on-finish action the copy's own.
func runDebugCopy(ctx context.Context, streams genericiooptions.IOStreams, e *launch.Engine, pod *corev1.Pod, quiet bool) error {
	f := interactiveFlags{stdin: true}
	if c := render.BaseContainer(pod); c != nil {
		f.tty = c.TTY
	}
	follow := &followFlags{quiet: quiet, maxLogLines: tui.DefaultMaxLogLines}
	opts := launch.OptionsFromPod(pod, launch.Options{
		ScheduleTimeout: render.DefaultScheduleTimeout,
		StartupTimeout:  render.DefaultStartupTimeout,
		ImagePullGrace:  render.DefaultImagePullGrace,
	})
	topts := tui.Options{Task: pod.Annotations[render.AnnotationTask], OnFinishAction: opts.OnFinish,
		NoColor: os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"}
	return f.followInteractive(ctx, streams, follow, opts, topts, func(ctx context.Context, opts launch.Options, term launch.Terminal) (*launch.Result, error) {
		return e.RunInteractive(ctx, pod, opts, term)
	})
}

package plugin

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// RunOptions are the inputs of `kubectl podtask run`.
type RunOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	task   taskFlags
	follow followFlags

	flags *pflag.FlagSet
	args  []string
}

// NewRunOptions returns the options with their defaults.
func NewRunOptions(f Factory, streams genericiooptions.IOStreams) *RunOptions {
	return &RunOptions{factory: f, streams: streams}
}

func newCmdRun(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRunOptions(f, streams)
	cmd := &cobra.Command{
		Use:   "run [flags] [-f task.yaml] [-- COMMAND [ARG...]]",
		Short: "Run a task pod, stream its logs, fetch its XCom result, clean up, and exit with its exit code",
		Long: `Run creates the task's pod, waits for it to be scheduled and started (failing fast on image
pull and configuration errors, with the pod's events), streams the base container's logs, waits
for it to finish, reads its XCom result, applies the on-finish action, and exits with the base
container's exit code.

Output: logs go to stdout, progress and events to stderr. With -o json|yaml (a summary for
scripts) or --xcom-out - (the raw XCom result), stdout holds only that, and logs go to stderr.

XCom: with --xcom the task writes JSON to /airflow/xcom/return.json; a sidecar keeps the volume
alive until the result has been read. With --xcom-mode=termination-message there is no sidecar:
the result is the container's termination message, limited to 4096 bytes.

Ctrl-C or SIGTERM deletes the pod unless the on-finish action is keep_pod (then attach again with
'kubectl podtask attach'); a second Ctrl-C leaves at once.

Exit codes: the base container's exit code; 64 bad input; 69 API error; 75 the pod never
started; 76 XCom could not be read; 130 interrupted.`,
		Example: `  # Run a command and get its exit code back
  kubectl podtask run --image busybox:1.35 -- sh -c 'echo hello; exit 3'

  # Return a result through XCom, as a KubernetesPodOperator task with do_xcom_push does
  kubectl podtask run --image busybox:1.35 --xcom -- sh -c 'mkdir -p /airflow/xcom; echo "[1,2,3,4]" > /airflow/xcom/return.json'

  # Run a task file, keep the pod, and print a JSON summary for scripts
  kubectl podtask run -f examples/xcom.yaml --on-finish-action keep_pod -o json

  # Debug a failing CronJob: run its pod once, watched, with another command
  kubectl podtask run --from cronjob/nightly -- sh -c 'env; ls /data'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmdContext(cmd))
		},
	}
	o.task.addFlags(cmd.Flags())
	o.follow.addFlags(cmd.Flags())
	return cmd
}

// Complete keeps the command line; it makes no API call.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.flags, o.args = cmd.Flags(), args
	o.follow.impliedXCom(&o.task, cmd.Flags())
	return nil
}

// Validate checks the output flags, including that --xcom-out can be
// written, before anything is created.
func (o *RunOptions) Validate() error { return o.follow.validate() }

// Run builds the pod (fetching a --from workload), launches the task and
// follows it to the end.
func (o *RunOptions) Run(ctx context.Context) error {
	pod, spec, err := buildPod(ctx, o.factory, &o.task, o.flags, o.args)
	if err != nil {
		return err
	}
	engine, err := o.factory.Engine()
	if err != nil {
		return err
	}
	warnPullSecrets(ctx, engine.Client, pod, o.streams.ErrOut)
	opts := launch.OptionsFromPod(pod, launch.Options{
		ScheduleTimeout: spec.ScheduleTimeout,
		StartupTimeout:  spec.StartupTimeout,
		ImagePullGrace:  spec.ImagePullGrace,
	})
	o.follow.apply(&opts)
	topts := tui.Options{
		Task:           launch.TaskName(pod),
		OnFinishAction: opts.OnFinish,
		NoColor:        os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	return o.follow.follow(ctx, o.streams, opts, topts, func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		return engine.Run(ctx, pod, opts)
	})
}

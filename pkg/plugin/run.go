package plugin

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// RunOptions are the inputs of `kubectl podtask run`.
type RunOptions struct {
	configFlags *genericclioptions.ConfigFlags
	streams     genericiooptions.IOStreams

	task   taskFlags
	follow followFlags
	retry  retryFlags
	each   eachFlags

	pod    *corev1.Pod
	spec   *render.Task
	engine *launch.Engine
	policy launch.RetryPolicy
}

// NewRunOptions returns the options with their defaults.
func NewRunOptions(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *RunOptions {
	return &RunOptions{configFlags: flags, streams: streams}
}

func newCmdRun(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewRunOptions(flags, streams)
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

Retries: --retries N runs a failed try again in a new pod (labelled with its try number) after
--retry-delay; a bad image or configuration is not retried; the last try's exit code counts.

Mapped runs: --each ITEMS (JSON Lines or CSV with a header row, '-' for stdin) runs the task once
per item, its params set as --param would, at most --parallelism pods at once; log lines are
prefixed with [item]; a summary table ends the run; --xcom-out writes a JSON array in item order.

Exit codes: the base container's exit code; 64 bad input; 69 API error; 75 the pod never
started; 76 XCom could not be read; 123 (--each) an item did not succeed; 130 interrupted.`,
		Example: `  # Run a command and get its exit code back
  kubectl podtask run --image busybox:1.35 -- sh -c 'echo hello; exit 3'

  # Return a result through XCom, as a KubernetesPodOperator task with do_xcom_push does
  kubectl podtask run --image busybox:1.35 --xcom -- sh -c 'mkdir -p /airflow/xcom; echo "[1,2,3,4]" > /airflow/xcom/return.json'

  # Run a task file, keep the pod, and print a JSON summary for scripts
  kubectl podtask run -f examples/xcom.yaml --on-finish-action keep_pod -o json

  # Retry a flaky task twice, 30 s apart
  kubectl podtask run -f task.yaml --retries 2 --retry-delay 30s

  # One pod per line of items.jsonl, ten at once, the XCom results as one JSON array
  kubectl podtask run -f task.yaml --each items.jsonl --parallelism 10 --xcom-out results.json

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
	o.retry.addFlags(cmd.Flags())
	o.each.addFlags(cmd.Flags())
	return cmd
}

// Complete builds the pod from flags and files, and the engine.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.follow.validate(); err != nil {
		return err
	}
	ctx := cmdContext(cmd)
	if err := o.each.validateEachOnly(cmd.Flags()); err != nil {
		return err
	}
	if o.each.items != "" {
		return o.completeEach(ctx, cmd, args)
	}
	pod, spec, err := buildPod(ctx, o.configFlags, &o.task, cmd.Flags(), args)
	if err != nil {
		return err
	}
	o.pod, o.spec = pod, spec
	if o.policy, err = o.retry.policy(cmd.Flags(), spec); err != nil {
		return err
	}
	if o.engine, err = newEngine(o.configFlags); err != nil {
		return err
	}
	warnPullSecrets(ctx, o.engine.Client, pod, o.streams.ErrOut)
	return nil
}

// Validate checks what Complete could not.
func (o *RunOptions) Validate() error { return nil }

// Run launches the task and follows it to the end.
func (o *RunOptions) Run(ctx context.Context) error {
	if o.each.items != "" {
		return o.runEach(ctx)
	}
	opts := launch.OptionsFromPod(o.pod, launch.Options{
		ScheduleTimeout: o.spec.ScheduleTimeout,
		StartupTimeout:  o.spec.StartupTimeout,
		ImagePullGrace:  o.spec.ImagePullGrace,
	})
	o.follow.apply(&opts)
	topts := tui.Options{
		Task:           o.pod.Annotations[render.AnnotationTask],
		OnFinishAction: opts.OnFinish,
		NoColor:        os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	return o.follow.follow(ctx, o.streams, opts, topts, func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		return o.engine.RunTries(ctx, o.pod, opts, o.policy)
	})
}

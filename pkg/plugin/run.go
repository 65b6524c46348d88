package plugin

import (
	"context"
	"errors"
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

	task           taskFlags
	follow         followFlags
	interactive    interactiveFlags
	kubectl        kubectlRunFlags
	transfers      transferFlags
	plan           *launch.Transfers
	retry          retryFlags
	each           eachFlags
	debugOnFailure bool

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

Interactive: -i sends stdin to the base container's stdin (its end closes it; the output is still
the log stream); -it connects this terminal to a terminal in the pod (raw mode, window size,
Ctrl-C for the pod's process) and the shell's exit code is the exit code. --detach creates the
pod and exits; attach picks it up.

Ctrl-C or SIGTERM deletes the pod unless the on-finish action is keep_pod (then attach again with
'kubectl podtask attach'); a second Ctrl-C leaves at once.

Retries: --retries N runs a failed try again in a new pod (labelled with its try number) after
--retry-delay; a bad image or configuration is not retried; the last try's exit code counts.

Mapped runs: --each ITEMS (JSON Lines or CSV with a header row, '-' for stdin) runs the task once
per item, its params set as --param would, at most --parallelism pods at once; log lines are
prefixed with [item]; a summary table ends the run; --xcom-out writes a JSON array in item order.

Exit codes: the base container's exit code; 64 bad input; 69 API error; 75 the pod never
started; 74 files or artifacts could not be copied; 76 XCom could not be read; 123 (--each) an item
did not succeed; 130 interrupted.`,
		Example: `  # Run a command and get its exit code back
  kubectl podtask run --image busybox:1.35 -- sh -c 'echo hello; exit 3'

  # Return a result through XCom, as a KubernetesPodOperator task with do_xcom_push does
  kubectl podtask run --image busybox:1.35 --xcom -- sh -c 'mkdir -p /airflow/xcom; echo "[1,2,3,4]" > /airflow/xcom/return.json'

  # Run a task file, keep the pod, and print a JSON summary for scripts
  kubectl podtask run -f examples/xcom.yaml --on-finish-action keep_pod -o json

  # A shell in a pod, deleted when it exits
  kubectl podtask run -it --image busybox:1.35 -- sh

  # Pipe a file through a task
  kubectl podtask run -i --image busybox:1.35 -- sha256sum < data.bin

  # Retry a flaky task twice, 30 s apart
  kubectl podtask run -f task.yaml --retries 2 --retry-delay 30s

  # One pod per line of items.jsonl, ten at once, the XCom results as one JSON array
  kubectl podtask run -f task.yaml --each items.jsonl --parallelism 10 --xcom-out results.json

  # Debug a failing CronJob: run its pod once, watched, with another command
  kubectl podtask run --from cronjob/nightly -- sh -c 'env; ls /data'

  # Ship a fixed script into the job's image, run it, and bring its output folder back
  kubectl podtask run --from cronjob/nightly --file ./fix.py --artifact /out -- python /podtask/files/fix.py`,
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
	addDAGFlags(cmd, &o.task, streams.Out)
	o.follow.addFlags(cmd.Flags())
	o.interactive.addFlags(cmd.Flags())
	o.kubectl.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.debugOnFailure, "debug-on-failure", false, "When the base container exits non-zero, show the end of its log and open a shell in a copy of the failed pod (on a terminal)")
	o.transfers.addFlags(cmd.Flags())
	o.retry.addFlags(cmd.Flags())
	o.each.addFlags(cmd.Flags())
	return cmd
}

// Complete builds the pod from flags and files, and the engine.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	if err := o.follow.validate(); err != nil {
		return err
	}
	if err := o.validateKubectlFlags(cmd); err != nil {
		return err
	}
	if o.debugOnFailure && (o.interactive.stdin || o.kubectl.detached()) {
		return &ExitError{Code: ExitUsage, Err: errors.New("--debug-on-failure opens a shell of its own after the run: drop -i/-t or --detach")}
	}
	ctx := cmdContext(cmd)
	o.task.warnOut = o.streams.ErrOut
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
	if pod, err = o.kubectl.apply(cmd.Flags(), pod, spec, &o.interactive); err != nil {
		return err
	}
	o.pod, o.spec = pod, spec
	if o.plan, err = o.transfers.plan(spec); err != nil {
		return err
	}
	if o.policy, err = o.retry.policy(cmd.Flags(), spec); err != nil {
		return err
	}
	if o.policy.Retries > 0 && (o.interactive.stdin || o.kubectl.detached()) {
		return &ExitError{Code: ExitUsage, Err: errors.New("--retries runs a task again by itself: drop -i/-t or --detach")}
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
	if o.kubectl.detached() {
		return o.runDetached(ctx)
	}
	opts := launch.OptionsFromPod(o.pod, launch.Options{
		ScheduleTimeout: o.spec.ScheduleTimeout,
		StartupTimeout:  o.spec.StartupTimeout,
		ImagePullGrace:  o.spec.ImagePullGrace,
	})
	o.follow.apply(&opts)
	opts.Transfers = o.plan
	topts := tui.Options{
		Task:           o.pod.Annotations[render.AnnotationTask],
		OnFinishAction: opts.OnFinish,
		NoColor:        os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	if o.interactive.stdin {
		return o.interactive.followInteractive(ctx, o.streams, &o.follow, opts, topts, func(ctx context.Context, opts launch.Options, term launch.Terminal) (*launch.Result, error) {
			return o.engine.RunInteractive(ctx, o.pod, opts, term)
		})
	}
	engine := func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		return o.engine.RunTries(ctx, o.pod, opts, o.policy)
	}
	if !o.debugOnFailure {
		return o.follow.follow(ctx, o.streams, opts, topts, engine)
	}
	d := &failureDebugger{streams: o.streams, engine: o.engine, pod: o.pod, base: opts.BaseContainer, quiet: o.follow.quiet}
	return d.after(ctx, o.follow.follow(ctx, o.streams, opts, topts, d.wrap(engine)))
}

package plugin

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// RunOptions are the inputs of `kubectl podtask run`.
type RunOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	task           taskFlags
	follow         followFlags
	interactive    interactiveFlags
	kubectl        kubectlRunFlags
	transfers      transferFlags
	plan           *launch.Transfers
	retry          retryFlags
	each           eachFlags
	job            jobFlags
	debugOnFailure bool

	cmd    *cobra.Command
	flags  *pflag.FlagSet
	args   []string
	pod    *corev1.Pod
	spec   *render.Task
	engine *launch.Engine
	policy launch.RetryPolicy
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

Jobs: --as-job runs the task as one batch/v1 Job (Indexed with --each, one index per item) that
the Job controller keeps going: it is followed and reported as --each is, each index's XCom read
from its termination message; Ctrl-C leaves the Job running, and 'kubectl podtask attach job/NAME'
takes it up again and prints every result in index order. With --tui, q leaves it, d deletes it.

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

  # The same batch as one Indexed Job that outlives the terminal; attach job/NAME later
  kubectl podtask run -f task.yaml --each items.jsonl --parallelism 10 --as-job --xcom-out results.json

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
	o.job.addFlags(cmd.Flags())
	return cmd
}

// Complete keeps the command line; it makes no API call.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	o.cmd, o.flags, o.args = cmd, cmd.Flags(), args
	o.follow.impliedXCom(&o.task, cmd.Flags())
	if err := o.validateKubectlFlags(cmd); err != nil {
		return err
	}
	if o.debugOnFailure && (o.interactive.stdin || o.kubectl.detached()) {
		return &ExitError{Code: ExitUsage, Err: errors.New("--debug-on-failure opens a shell of its own after the run: drop -i/-t or --detach")}
	}
	if err := o.each.validateEachOnly(cmd.Flags()); err != nil && !o.job.asJob {
		return err
	}
	return o.job.validate(o, cmd.Flags())
}

// Validate checks the output flags, including that --xcom-out can be
// written, before anything is created.
func (o *RunOptions) Validate() error { return o.follow.validate() }

// Run builds the pod (fetching a --from workload), launches the task and
// follows it to the end.
func (o *RunOptions) Run(ctx context.Context) error {
	o.task.warnOut = o.streams.ErrOut
	if o.job.asJob {
		return o.runJob(ctx)
	}
	if o.each.items != "" {
		if err := o.completeEach(ctx, o.cmd, o.args); err != nil {
			return err
		}
		return o.runEach(ctx)
	}
	if err := o.build(ctx); err != nil {
		return err
	}
	if o.kubectl.detached() {
		return o.runDetached(ctx)
	}
	pod, spec := o.pod, o.spec
	opts := launch.OptionsFromPod(pod, launch.Options{
		ScheduleTimeout: spec.ScheduleTimeout,
		StartupTimeout:  spec.StartupTimeout,
		ImagePullGrace:  spec.ImagePullGrace,
	})
	o.follow.apply(&opts)
	opts.Transfers = o.plan
	topts := tui.Options{
		Task:           launch.TaskName(pod),
		OnFinishAction: opts.OnFinish,
		NoColor:        os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	if o.interactive.stdin {
		return o.interactive.followInteractive(ctx, o.streams, &o.follow, opts, topts, func(ctx context.Context, opts launch.Options, term launch.Terminal) (*launch.Result, error) {
			return o.engine.RunInteractive(ctx, pod, opts, term)
		})
	}
	engine := func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		return o.engine.RunTries(ctx, pod, opts, o.policy)
	}
	if !o.debugOnFailure {
		return o.follow.follow(ctx, o.streams, opts, topts, engine)
	}
	d := &failureDebugger{streams: o.streams, engine: o.engine, pod: pod, base: opts.BaseContainer, quiet: o.follow.quiet}
	return d.after(ctx, o.follow.follow(ctx, o.streams, opts, topts, d.wrap(engine)))
}

// build renders the pod (fetching a --from workload), applies kubectl run's
// flags, plans the file transfers and the retries, and makes the engine:
// everything is checked before anything is created.
func (o *RunOptions) build(ctx context.Context) error {
	pod, spec, err := buildPod(ctx, o.factory, &o.task, o.flags, o.args)
	if err != nil {
		return err
	}
	if pod, err = o.kubectl.apply(o.flags, pod, spec, &o.interactive); err != nil {
		return err
	}
	o.pod, o.spec = pod, spec
	if o.plan, err = o.transfers.plan(spec); err != nil {
		return err
	}
	if o.policy, err = o.retry.policy(o.flags, spec); err != nil {
		return err
	}
	if o.policy.Retries > 0 && (o.interactive.stdin || o.kubectl.detached()) {
		return &ExitError{Code: ExitUsage, Err: errors.New("--retries runs a task again by itself: drop -i/-t or --detach")}
	}
	if o.engine, err = o.factory.Engine(); err != nil {
		return err
	}
	warnPullSecrets(ctx, o.engine.Client, pod, o.streams.ErrOut)
	return nil
}

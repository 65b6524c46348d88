// run --as-job: the task (once per item with --each) as one batch/v1 Job
// that the Job controller keeps going, so that the batch outlives the
// terminal; followed as --each follows its pods, reported the same way
// (summary table, --xcom-out array, -o json|yaml, exit 123), and left
// running on Ctrl-C for 'attach job/NAME'.

package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

type jobFlags struct {
	asJob bool
}

func (j *jobFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&j.asJob, "as-job", false, "Run as one batch/v1 Job (Indexed with --each: one index per item) that the Job controller keeps going; Ctrl-C leaves it running, 'kubectl podtask attach job/NAME' takes it up again")
}

// validate refuses what a Job cannot do, before anything is read or created.
func (j *jobFlags) validate(o *RunOptions, fs *pflag.FlagSet) error {
	o.task.refuseJobFields = !j.asJob
	if !j.asJob {
		return nil
	}
	usage := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	switch {
	case o.interactive.stdin || o.interactive.tty:
		return usage("--as-job runs without a terminal: drop -i/-t (attach -it needs a pod of its own: run without --as-job)")
	case o.debugOnFailure:
		return usage("--as-job leaves failed pods to the Job: drop --debug-on-failure, or run without --as-job")
	case o.follow.logFile != "":
		return usage("--log-file is for one pod: with --as-job use --log-dir DIR (one file per index)")
	case fs.Changed("file") || fs.Changed("artifact"):
		return usage("--file and --artifact need the plugin beside each pod, which a Job outlives: drop them, or run without --as-job")
	}
	for _, f := range []string{"retry-delay", "retry-exponential-backoff", "max-retry-delay"} {
		if fs.Changed(f) {
			return usage("--%s: the Job controller retries a failed index after its own backoff (10s doubling to 6m): drop it, keep --retries", f)
		}
	}
	return nil
}

// adjustTask makes the task one a Job can run: XCom through the termination
// message (a sidecar would keep each pod running, and the Job with it).
// A sidecar asked for by --xcom-mode sidecar is refused; one that --xcom,
// --xcom-out or the task file chose becomes termination-message, with a note.
func (j *jobFlags) adjustTask(t *render.Task, fs *pflag.FlagSet, warn io.Writer) error {
	usage := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	switch {
	case len(t.Files) > 0 || len(t.Artifacts) > 0:
		return usage("files and artifacts need the plugin beside each pod, which a Job outlives: drop them from the task, or run without --as-job")
	case t.XCom == render.XComSidecar && fs.Changed("xcom-mode"):
		return usage("--xcom-mode sidecar keeps each pod running until the plugin reads it, and so the Job: use --xcom-mode termination-message (at most 4096 bytes per index)")
	case t.XCom == render.XComSidecar || t.XCom == render.XComNone && t.DoXComPush != nil && *t.DoXComPush:
		t.XCom = render.XComTerminationMessage
		fmt.Fprintln(warn, "podtask: note: --as-job reads each index's XCom result from its termination message (at most 4096 bytes)")
	}
	if t.RetryDelay != nil || t.MaxRetryDelay != nil || t.RetryExponentialBackoff {
		fmt.Fprintln(warn, "podtask: note: --as-job: the Job controller retries a failed index after its own backoff; retry_delay, max_retry_delay and retry_exponential_backoff do not apply")
	}
	return nil
}

// runJob renders the Job, creates it and follows it (or leaves at once
// with --detach or wait_until_job_complete: false).
func (o *RunOptions) runJob(ctx context.Context) error {
	f := &o.each
	if f.parallelism < 1 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--parallelism %d: use 1 or more", f.parallelism)}
	}
	items := []map[string]string{{}}
	if f.items != "" {
		if err := o.completeEach(ctx, o.cmd, o.args); err != nil {
			return err
		}
		items = f.args
	} else {
		if f.logDir != "" {
			if err := os.MkdirAll(f.logDir, 0o755); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--log-dir: %v", err)}
			}
		}
		if err := o.renderItems(ctx, o.cmd, o.args, "", items); err != nil {
			return err
		}
		f.args = nil
	}
	t := o.spec
	in := render.JobInput{Pods: f.pods, Items: f.items != "", Retries: int32(o.policy.Retries),
		FailFast: f.failFast, BaseContainer: t.BaseContainerName, Fields: t.JobFields}
	if in.Items {
		in.Params = f.args
	}
	in.Parallelism = int32(f.parallelism)
	if !o.flags.Changed("parallelism") {
		in.Parallelism = int32(launch.DefaultParallelism)
		if t.Parallelism != nil {
			in.Parallelism = *t.Parallelism
		}
	}
	job, cm, err := render.BuildJob(in)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--as-job: %w", err)}
	}
	if f.failFast && !in.Items {
		return &ExitError{Code: ExitUsage, Err: errors.New("--fail-fast applies to a Job with items: add --each ITEMS")}
	}
	if o.engine.Batch == nil {
		return &ExitError{Code: ExitAPI, Err: errors.New("no batch/v1 client")}
	}
	if o.kubectl.detached() || t.WaitUntilJobComplete != nil && !*t.WaitUntilJobComplete {
		created, err := o.engine.CreateJob(ctx, job, cm)
		if err != nil {
			return &ExitError{Code: ExitAPI, Err: err}
		}
		fmt.Fprintf(o.streams.ErrOut, "podtask: job/%s created in namespace %s; attach with: kubectl podtask attach job/%s -n %s\n",
			created.Name, created.Namespace, created.Name, created.Namespace)
		return nil
	}
	opts := launch.Options{ImagePullGrace: t.ImagePullGrace, OnFinish: launch.OnFinishAction(t.OnFinishAction)}
	o.follow.apply(&opts)
	jr := jobReport{streams: o.streams, flags: &o.follow, logDir: f.logDir, params: in.Params, items: in.Items,
		screen: newJobScreen(&o.follow, o.streams, job, opts.OnFinish)}
	return jr.run(ctx, len(f.pods), job.Spec.Completions, launch.JobOptions{Options: opts,
		Propagation: metav1.DeletionPropagation(t.OnKillPropagationPolicy)},
		func(ctx context.Context, jo launch.JobOptions) (*launch.JobResult, error) {
			return o.engine.RunJob(ctx, job, cm, jo)
		})
}

// jobReport follows a Job (run or attach) and reports it as --each does.
type jobReport struct {
	streams genericiooptions.IOStreams
	flags   *followFlags
	logDir  string
	params  []map[string]string
	items   bool // an Indexed Job of items: -o json and --xcom-out are lists
	// screen, when set, shows the Job under the terminal UI (job_tui.go).
	screen *jobScreen
}

// jobStart follows the Job with jo.
type jobStart func(context.Context, launch.JobOptions) (*launch.JobResult, error)

func (r *jobReport) run(ctx context.Context, n int, completions *int32, jo launch.JobOptions, run jobStart) error {
	if completions != nil {
		n = int(*completions)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	logOut := r.streams.Out
	if r.flags.output != "" || r.flags.xcomOut == "-" {
		logOut = r.streams.ErrOut
	}
	quiet := r.flags.quiet
	p := newEachPrinter(logOut, r.streams.ErrOut, quiet, isTerminal(logOut) && os.Getenv("NO_COLOR") == "", r.logDir, n)
	defer p.close()
	var jobName, ns string
	stopSignals := handleSignals(&signalHandler{cancel: cancel, flush: p.close, exit: os.Exit, first: func() {
		if r.screen == nil { // the screen shows it
			fmt.Fprintln(r.streams.ErrOut, "podtask: leaving: the job keeps running (press Ctrl-C again to leave at once)")
		}
	}})
	defer stopSignals()

	// The Job's own events are told as the run's notices.
	jobSink := func(sink func(int, launch.Event)) func(int, launch.Event) {
		return func(i int, ev launch.Event) {
			if c, ok := ev.(*launch.JobCreated); ok {
				jobName, ns = c.Job, c.Namespace
			}
			if n, ok := jobNotice(ev, quiet); ok {
				if n != nil {
					sink(-1, n)
				}
				return
			}
			sink(i, ev)
		}
	}
	var res *launch.JobResult
	var err error
	if r.screen != nil {
		res, err = r.runScreen(ctx, cancel, n, jo, jobSink, run) // job_tui.go
	} else {
		jo.Sink = jobSink(p.handle)
		res, err = run(ctx, jo)
	}
	p.flush()
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) {
			return err
		}
		return &ExitError{Code: ExitAPI, Err: err}
	}
	if jobName == "" {
		jobName, ns = res.Job, res.Namespace
	}
	attach := "kubectl podtask attach job/" + jobName + " -n " + ns
	switch {
	case res.Left && res.Deleted:
		fmt.Fprintf(r.streams.ErrOut, "podtask: job/%s deleted in namespace %s (stopped)\n", jobName, ns)
		return &ExitError{Code: ExitInterrupted}
	case res.Left:
		fmt.Fprintf(r.streams.ErrOut, "podtask: job/%s keeps running in namespace %s; attach with: %s\n", jobName, ns, attach)
		return &ExitError{Code: ExitInterrupted}
	}

	out, failed := eachResults(res.Items, r.params)
	printEachTable(r.streams.ErrOut, out)
	if !quiet {
		if res.Deleted {
			fmt.Fprintf(r.streams.ErrOut, "podtask: job/%s deleted (%s)\n", jobName, onFinishName(jo.OnFinish))
		} else {
			fmt.Fprintf(r.streams.ErrOut, "podtask: job/%s kept by %s; attach with: %s\n", jobName, onFinishName(jo.OnFinish), attach)
		}
	}

	if err := writeEachResults(r.streams, r.flags, out, r.items); err != nil {
		return err
	}
	if res.Failed && res.Reason == "StartFailed" {
		return &ExitError{Code: ExitStartup, Err: errors.New(res.Message)}
	}
	if !r.items && len(out) == 1 {
		if out[0].Code != ExitOK {
			return &ExitError{Code: out[0].Code, Err: errorOrNil(out[0].Error)}
		}
		return nil
	}
	if failed > 0 {
		return &ExitError{Code: ExitItemsFailed, Err: fmt.Errorf("%d of %d items did not succeed (each item's code is in -o json)", failed, len(out))}
	}
	return nil
}

// jobNotice is the notice a Job's own event (JobCreated, JobEnded) is told
// as (nil: none, when quiet); ok is false for any other event.
func jobNotice(ev launch.Event, quiet bool) (n *launch.Notice, ok bool) {
	switch ev := ev.(type) {
	case *launch.JobCreated:
		if quiet {
			return nil, true
		}
		verb := "created"
		if ev.Attached {
			verb = "attached to"
		}
		what := fmt.Sprintf("%d items, at most %d pods at once", ev.Completions, ev.Parallelism)
		if !ev.Indexed {
			what = "one pod at a time"
		}
		return &launch.Notice{At: ev.At, Level: "info", Message: fmt.Sprintf("%s job/%s in namespace %s (run %s): %s", verb, ev.Job, ev.Namespace, ev.RunID, what)}, true
	case *launch.JobEnded:
		if ev.Failed {
			return &launch.Notice{At: ev.At, Level: "warning", Message: fmt.Sprintf("job/%s failed: %s", ev.Job, oneLine(strings.TrimSpace(ev.Reason+": "+ev.Message)))}, true
		}
		if quiet {
			return nil, true
		}
		return &launch.Notice{At: ev.At, Level: "info", Message: fmt.Sprintf("job/%s complete", ev.Job)}, true
	}
	return nil, false
}

func onFinishName(a launch.OnFinishAction) string {
	if a == "" {
		return string(launch.DeletePod)
	}
	return string(a)
}

func errorOrNil(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// isTaskJob says whether a Job is one that run --as-job made.
func isTaskJob(job *batchv1.Job) bool {
	return job.Labels[render.LabelManagedBy] == render.ManagedByValue && job.Labels[render.LabelRunID] != ""
}

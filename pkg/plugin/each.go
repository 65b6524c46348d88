// run --each: a mapped run, one pod per item (Airflow's expand), at most
// --parallelism at once; the results in item order (summary table,
// --xcom-out array, -o json|yaml) and the run's exit code.

package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// ExitItemsFailed is a mapped run's exit code when one or more items did
// not succeed (failed, never started, or could not be followed), as xargs
// exits 123 when a command it ran failed. Each item's own code is in -o json.
const ExitItemsFailed = 123

type eachFlags struct {
	items       string
	parallelism int
	failFast    bool
	logDir      string

	pods []*corev1.Pod
	args []map[string]string
}

func (f *eachFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.items, "each", "", "Run the task once per item of this file ('-' for stdin): JSON Lines (an object of params a line) or CSV with a header row; each item's params are set as --param would")
	fs.IntVar(&f.parallelism, "parallelism", launch.DefaultParallelism, "With --each: at most this many pods of the run at once")
	fs.BoolVar(&f.failFast, "fail-fast", false, "With --each: at the first failed item delete the pods that run and start no more")
	fs.StringVar(&f.logDir, "log-dir", "", "With --each: write each item's log to DIR/<item>.log instead of stdout")
}

// eachOnlyFlags are the flags that mean something only with --each.
var eachOnlyFlags = []string{"parallelism", "fail-fast", "log-dir"}

// completeEach renders one pod per item, all of one run.
func (o *RunOptions) completeEach(ctx context.Context, cmd *cobra.Command, args []string) error {
	f := &o.each
	usage := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	if f.parallelism < 1 {
		return usage("--parallelism %d: use 1 or more", f.parallelism)
	}
	if o.follow.logFile != "" {
		return usage("--log-file is for one task: with --each use --log-dir DIR (one file per item)")
	}
	if f.logDir != "" {
		if err := os.MkdirAll(f.logDir, 0o755); err != nil {
			return usage("--log-dir: %v", err)
		}
	}
	in, name := o.streams.In, "stdin"
	if f.items != "-" {
		file, err := os.Open(f.items)
		if err != nil {
			return usage("--each: %v", err)
		}
		defer file.Close()
		in, name = file, f.items
	}
	items, err := readItems(name, in)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	return o.renderItems(ctx, cmd, args, name, items)
}

// renderItems renders one pod per item, all of one run.
func (o *RunOptions) renderItems(ctx context.Context, cmd *cobra.Command, args []string, name string, items []map[string]string) error {
	f := &o.each
	usage := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	task, ropts, err := prepareTask(ctx, o.factory, &o.task, cmd.Flags(), args)
	if err != nil {
		return err
	}
	if o.policy, err = o.retry.policy(cmd.Flags(), task); err != nil {
		return err
	}
	if o.job.asJob {
		if err := o.job.adjustTask(task, cmd.Flags(), o.streams.ErrOut); err != nil {
			return err
		}
	}
	ropts.RunID = render.NewRunID()
	f.pods = make([]*corev1.Pod, len(items))
	names := map[string]int{}
	for i, item := range items {
		t := *task
		t.Params = maps.Clone(task.Params)
		if t.Params == nil {
			t.Params = map[string]string{}
		}
		maps.Copy(t.Params, item)
		pod, err := render.Render(&t, ropts)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--each %s: item %d (params %v): %w", name, i, paramNames(item), withFlagHint(err, cmd.Flags()))}
		}
		if t.RandomNameSuffix != nil && !*t.RandomNameSuffix {
			pod.Name = render.PodName(pod.Name, strconv.Itoa(i))
		}
		if j, dup := names[pod.Name]; dup {
			return usage("--each %s: items %d and %d render the same pod name %q: template the name with a param, or keep random_name_suffix on", name, j, i, pod.Name)
		}
		names[pod.Name] = i
		render.SetMapIndex(pod, i)
		f.pods[i] = pod
		o.spec = &t
	}
	f.args = items
	o.pod = f.pods[0]
	if o.engine, err = o.factory.Engine(); err != nil {
		return err
	}
	warnPullSecrets(ctx, o.engine.Client, o.pod, o.streams.ErrOut)
	return nil
}

// validateEachOnly rejects the --each flags without --each.
func (f *eachFlags) validateEachOnly(fs *pflag.FlagSet) error {
	if f.items != "" {
		return nil
	}
	for _, name := range eachOnlyFlags {
		if fs.Changed(name) {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--%s applies to a mapped run: add --each ITEMS", name)}
		}
	}
	return nil
}

// eachResult is one item's line in -o json|yaml.
type eachResult struct {
	Index           int               `json:"index"`
	Params          map[string]string `json:"params"`
	Pod             string            `json:"pod,omitempty"`
	Try             int               `json:"try,omitempty"`
	Outcome         launch.Outcome    `json:"outcome"`
	Reason          string            `json:"reason,omitempty"`
	Message         string            `json:"message,omitempty"`
	ExitCode        *int32            `json:"exitCode,omitempty"` // the base container's
	Code            int               `json:"code"`               // what `run` would exit with for this item alone
	XCom            json.RawMessage   `json:"xcom"`               // null for none
	DurationSeconds float64           `json:"durationSeconds"`
	Error           string            `json:"error,omitempty"`
}

// runEach runs the items and reports.
func (o *RunOptions) runEach(ctx context.Context) error {
	f := &o.each
	opts := launch.Options{
		ScheduleTimeout: o.spec.ScheduleTimeout,
		StartupTimeout:  o.spec.StartupTimeout,
		ImagePullGrace:  o.spec.ImagePullGrace,
	}
	o.follow.apply(&opts)
	m := &mappedFollow{streams: o.streams, follow: &o.follow, engine: o.engine, logDir: f.logDir,
		namespace: o.pod.Namespace, runID: o.pod.Labels[launch.LabelRunID], params: f.args}
	if o.eachTUI() { // each_tui.go
		m.screen = o.runMappedScreen
	}
	if !o.follow.quiet {
		fmt.Fprintf(o.streams.ErrOut, "podtask: run %s: %d items in namespace %s, at most %d pods at once\n",
			m.runID, len(f.pods), m.namespace, f.parallelism)
	}
	settings := &launch.RunSettings{Task: launch.TaskName(o.pod), Parallelism: f.parallelism, FailFast: f.failFast,
		Retry: o.policy, ScheduleTimeout: opts.ScheduleTimeout, StartupTimeout: opts.StartupTimeout,
		ImagePullGrace: opts.ImagePullGrace, Params: f.args, Started: time.Now()}
	return m.run(ctx, func(ctx context.Context, sink func(int, launch.Event)) ([]launch.ItemResult, error) {
		return o.engine.RunMapped(ctx, f.pods, opts, launch.MapOptions{
			Parallelism: f.parallelism, FailFast: f.failFast, Retry: o.policy, Sink: sink, Record: settings,
		})
	})
}

// mappedFollow follows a mapped run, started by run --each or taken up
// again by attach --run-id, and reports it: the items' logs, the summary
// table, --xcom-out, -o json|yaml and the exit code. A run that ends is
// done with its record; an interrupted one keeps it and says how to go on.
type mappedFollow struct {
	streams          genericiooptions.IOStreams
	follow           *followFlags
	engine           *launch.Engine
	logDir           string
	namespace, runID string
	params           []map[string]string
	// screen, when set, runs the run under the terminal UI (each_tui.go);
	// cancel is the run's, for the screen's keys.
	screen func(ctx context.Context, cancel context.CancelCauseFunc, start mappedStart) ([]launch.ItemResult, error)
}

// mappedStart runs the items, handing their events to sink.
type mappedStart func(ctx context.Context, sink func(int, launch.Event)) ([]launch.ItemResult, error)

func (m *mappedFollow) run(ctx context.Context, start mappedStart) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	logOut := m.streams.Out
	if m.follow.output != "" || m.follow.xcomOut == "-" {
		logOut = m.streams.ErrOut
	}
	p := newEachPrinter(logOut, m.streams.ErrOut, m.follow.quiet, isTerminal(logOut) && os.Getenv("NO_COLOR") == "", m.logDir, len(m.params))
	defer p.close()

	stopSignals := handleSignals(&signalHandler{cancel: cancel, flush: p.close, exit: os.Exit, first: func() {
		if m.screen == nil { // the screen shows the cleanup
			fmt.Fprintln(m.streams.ErrOut, "podtask: interrupted: cleaning up every pod of the run (press Ctrl-C again to leave at once)")
		}
	}})
	defer stopSignals()

	var results []launch.ItemResult
	var err error
	if m.screen != nil {
		results, err = m.screen(ctx, cancel, start)
	} else {
		results, err = start(ctx, p.handle)
	}
	p.flush()
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: err}
	}

	out, failed := eachResults(results, m.params)
	done := 0
	for _, r := range results {
		if r.Result != nil && r.Result.Outcome != launch.OutcomeSkipped && r.Result.Outcome != launch.OutcomeInterrupted {
			done++
		}
	}
	printEachTable(m.streams.ErrOut, out)
	if ctx.Err() == nil {
		if derr := m.engine.DeleteRun(context.WithoutCancel(ctx), m.namespace, m.runID); derr != nil {
			fmt.Fprintln(m.streams.ErrOut, "podtask: warning: "+derr.Error())
		}
	} else {
		fmt.Fprintf(m.streams.ErrOut, "podtask: run %s stopped with %d of %d items done; go on with: kubectl podtask attach --run-id %s -n %s\n",
			m.runID, done, len(out), m.runID, m.namespace)
	}

	if err := writeEachResults(m.streams, m.follow, out, true); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return &ExitError{Code: ExitInterrupted}
	}
	if failed > 0 {
		return &ExitError{Code: ExitItemsFailed, Err: fmt.Errorf("%d of %d items did not succeed (each item's code is in -o json)", failed, len(out))}
	}
	return nil
}

// writeEachResults writes the items' results where the flags say:
// --xcom-out (an array in item order; with list false, the one item's raw
// XCom or null) and -o json|yaml.
func writeEachResults(streams genericiooptions.IOStreams, flags *followFlags, out []eachResult, list bool) error {
	if flags.xcomOut != "" {
		var b []byte
		switch {
		case list:
			xs := make([]json.RawMessage, len(out))
			for i, r := range out {
				xs[i] = r.XCom
			}
			b, _ = json.Marshal(xs)
		case len(out) > 0 && out[0].XCom != nil:
			b = out[0].XCom
		default:
			b = []byte("null")
		}
		if flags.xcomOut == "-" {
			fmt.Fprintln(streams.Out, string(b))
		} else if werr := os.WriteFile(flags.xcomOut, append(b, '\n'), 0o644); werr != nil {
			return &ExitError{Code: ExitXCom, Err: fmt.Errorf("--xcom-out: %w", werr)}
		}
	}
	switch flags.output {
	case "json":
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(streams.Out, string(b))
	case "yaml":
		b, _ := yaml.Marshal(out)
		fmt.Fprint(streams.Out, string(b))
	}
	return nil
}

// eachResults are the report's rows, item by item with its params ({} for
// an item without), and how many items did not succeed.
func eachResults(items []launch.ItemResult, params []map[string]string) (out []eachResult, failed int) {
	out = make([]eachResult, len(items))
	for i, it := range items {
		p := map[string]string{}
		if i < len(params) && params[i] != nil {
			p = params[i]
		}
		out[i] = toEachResult(it, p)
		if !it.Succeeded() {
			failed++
		}
	}
	return out, failed
}

func toEachResult(r launch.ItemResult, params map[string]string) eachResult {
	e := eachResult{Index: r.Index, Params: params, DurationSeconds: r.Duration.Round(time.Millisecond).Seconds()}
	if res := r.Result; res != nil {
		e.Pod, e.Try, e.Outcome, e.Reason, e.Message, e.ExitCode = res.Pod, res.Try, res.Outcome, res.Reason, res.Message, res.ExitCode
		if res.HasXCom {
			e.XCom = res.XCom
		}
	}
	if r.Err != nil {
		e.Error = r.Err.Error()
	}
	switch {
	case r.Result != nil && r.Result.Outcome == launch.OutcomeSkipped:
		e.Code = ExitInterrupted
	default:
		e.Code = ExitCode(exitFor(r.Result, r.Err))
	}
	if e.Code == ExitOK && !r.Succeeded() {
		e.Code = ExitTaskFailed
	}
	return e
}

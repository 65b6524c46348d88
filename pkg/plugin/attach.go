package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
	"github.com/podtask-dev/kubectl-podtask/pkg/tui"
)

// AttachOptions are the inputs of `kubectl podtask attach`.
type AttachOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	find     podFinder
	follow   followFlags
	onFinish string
	since    time.Duration
	tail     int64

	interactive interactiveFlags

	namespace string
	args      []string
}

// podFinder finds a task pod by name or by its identity labels.
type podFinder struct {
	task   string
	runID  string
	latest bool
}

func (f *podFinder) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.task, "task", "", "Find the pod by task name (the podtask.dev/task label) instead of by pod name")
	cmd.Flags().StringVar(&f.runID, "run-id", "", "The run id (the podtask.dev/run-id label): alone, takes a whole mapped run (run --each) up again; with --task, narrows the match")
	cmd.Flags().BoolVar(&f.latest, "latest", false, "With --task: when several pods match, take the newest")
}

func newCmdAttach(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &AttachOptions{factory: f, streams: streams, tail: -1}
	cmd := &cobra.Command{
		Use:   "attach (POD | job/NAME | --task NAME [--run-id ID] [--latest] | --run-id ID)",
		Short: "Pick a task pod up again: logs, completion, XCom, cleanup and exit code, as run would",
		Long: `Attach finds a task pod that run started (by pod name, or by task name and run id) and
carries on exactly as run would have: it streams the logs (from the start, or --since/--tail),
waits for completion, reads the XCom result, applies the on-finish action recorded on the pod
(or --on-finish-action), and exits with the base container's exit code.

A finished pod that was kept can be attached too: it prints its logs and exit code, and its XCom
result when the pod used termination-message mode or its sidecar is still running.

With --run-id alone, attach takes up a mapped run (run --each) that was interrupted or whose
terminal went away: items recorded as done are not run again, items whose pod exists are followed,
the others are created, and the summary, --xcom-out and -o json cover every item of the run.`,
		Example: `  # Carry on after closing the terminal or a kill -9 of run
  kubectl podtask attach hello-world-k3j9x2ab

  # Find it by task name; the newest run if there are several
  kubectl podtask attach --task hello-world --latest --tail 100

  # Take a whole mapped run (run --each) up again: follow what runs, start
  # the items that never started, print the summary of all of them
  kubectl podtask attach --run-id 20261202t101500-k3j9x2

  # Take up a Job of run --as-job again: its logs, then every index's result in order
  kubectl podtask attach job/job-daily-k3j9x2ab

  # Get the shell of an interactive task (run -it, kept or detached) back
  kubectl podtask attach -it sh-k3j9x2ab`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeTaskPods(f),
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
	o.find.addFlags(cmd)
	o.follow.addFlags(cmd.Flags())
	o.interactive.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.onFinish, "on-finish-action", "", "Override the on-finish action recorded on the pod: delete_pod, keep_pod, delete_succeeded_pod or delete_active_pod")
	cmd.Flags().DurationVar(&o.since, "since", 0, "Only logs newer than this duration, e.g. 5m")
	cmd.Flags().Int64Var(&o.tail, "tail", -1, "Only the last N log lines; -1 for all")
	return cmd
}

// Complete reads the namespace; it makes no API call.
func (o *AttachOptions) Complete(cmd *cobra.Command, args []string) error {
	o.args = args
	var err error
	o.namespace, _, err = o.factory.Namespace()
	return err
}

// Validate checks the flags.
func (o *AttachOptions) Validate() error {
	if err := o.follow.validate(); err != nil {
		return err
	}
	if err := o.interactive.validate(o.streams, &o.follow, true); err != nil {
		return err
	}
	if o.onFinish != "" && !launch.ValidOnFinishAction(o.onFinish) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--on-finish-action %q is not one of %s", o.onFinish, launch.OnFinishActionList())}
	}
	return o.find.validate(o.args)
}

// validate checks that the user names one pod, or a task.
func (f *podFinder) validate(args []string) error {
	switch {
	case len(args) == 1 && f.task != "":
		return &ExitError{Code: ExitUsage, Err: errors.New("give a pod name or --task, not both")}
	case len(args) == 1 && f.runID != "":
		return &ExitError{Code: ExitUsage, Err: errors.New("give a pod name or --run-id, not both")}
	case len(args) == 0 && f.task == "" && f.runID == "":
		return &ExitError{Code: ExitUsage, Err: errors.New("name the pod, or find it with --task NAME or --run-id ID (see 'kubectl podtask list')")}
	}
	return nil
}

// resolve returns the name of the one pod the user means.
func (f *podFinder) resolve(ctx context.Context, e *launch.Engine, namespace string, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	sel := labels.Set{launch.LabelManagedBy: launch.ManagedByValue}
	if f.task != "" {
		sel[launch.LabelTask] = render.LabelValue(f.task)
	}
	if f.runID != "" {
		sel[launch.LabelRunID] = render.LabelValue(f.runID)
	}
	list, err := e.Client.Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", &ExitError{Code: ExitAPI, Err: fmt.Errorf("list task pods: %w", err)}
	}
	pods := list.Items
	if len(pods) == 0 && f.task == "" {
		return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("no pod of run %q in namespace %s, and no record of it: a mapped run's record is deleted once it has ended (see 'kubectl podtask list')", f.runID, namespace)}
	}
	if len(pods) == 0 {
		return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("no pod of task %q in namespace %s (see 'kubectl podtask list')", f.task, namespace)}
	}
	sort.Slice(pods, func(i, j int) bool {
		return pods[j].CreationTimestamp.Before(&pods[i].CreationTimestamp)
	})
	if len(pods) == 1 || f.latest {
		return pods[0].Name, nil
	}
	var active []corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodPending || p.Status.Phase == corev1.PodRunning {
			active = append(active, p)
		}
	}
	if len(active) == 1 {
		return active[0].Name, nil
	}
	var names []string
	for _, p := range pods {
		names = append(names, fmt.Sprintf("%s (run %s, %s)", p.Name, p.Labels[launch.LabelRunID], p.Status.Phase))
	}
	if f.task == "" {
		return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d pods of run %q match: %s; pick one by name, or add --latest",
			len(pods), f.runID, strings.Join(names, ", "))}
	}
	return "", &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d pods of task %q match: %s; pick one by name, add --run-id, or use --latest",
		len(pods), f.task, strings.Join(names, ", "))}
}

// launchOptions are the engine's options from attach's flags: the on-finish
// override, where the logs start, and how they are followed.
func (o *AttachOptions) launchOptions() launch.Options {
	opts := launch.Options{OnFinish: launch.OnFinishAction(o.onFinish)}
	if o.since > 0 {
		t := metav1.NewTime(time.Now().Add(-o.since))
		opts.SinceTime = &t
	}
	if o.tail >= 0 {
		opts.TailLines = &o.tail
	}
	o.follow.apply(&opts)
	return opts
}

// Run finds the pod and follows it to the end.
func (o *AttachOptions) Run(ctx context.Context) error {
	if name, ok := jobArg(o.args); ok {
		return o.attachJob(ctx, name) // attachjob.go
	}
	engine, err := o.factory.Engine()
	if err != nil {
		return err
	}
	if o.find.runID != "" && o.find.task == "" && len(o.args) == 0 {
		if done, err := o.attachRun(ctx, engine); done {
			return err
		}
	}
	name, err := o.find.resolve(ctx, engine, o.namespace, o.args)
	if err != nil {
		return err
	}
	opts := o.launchOptions()
	topts := tui.Options{
		Task:           name,
		OnFinishAction: launch.OnFinishAction(o.onFinish),
		NoColor:        os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb",
	}
	if o.interactive.stdin {
		return o.attachInteractive(ctx, engine, name, opts, topts)
	}
	return o.follow.follow(ctx, o.streams, opts, topts, func(ctx context.Context, opts launch.Options) (*launch.Result, error) {
		return engine.Attach(ctx, o.namespace, name, opts)
	})
}

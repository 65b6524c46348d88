// kubectl podtask gc: delete the task pods nobody finished (a kill -9 of
// run, with nobody attaching) once they have ended and their on-finish
// action says they should be gone, and the records of mapped runs nobody
// took up again once none of their pods runs.

package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// defaultGCMinAge is how long a task pod has been finished before gc (and
// list's GC column) takes it for left behind.
const defaultGCMinAge = 10 * time.Minute

// GCOptions are the inputs of `kubectl podtask gc`.
type GCOptions struct {
	factory       Factory
	streams       genericiooptions.IOStreams
	minAge        time.Duration
	dryRun        bool
	allNamespaces bool
	selector      string
	now           func() time.Time

	namespace string
}

func newCmdGC(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &GCOptions{factory: f, streams: streams, minAge: defaultGCMinAge, now: time.Now}
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete finished task pods that their on-finish action says should be gone, and abandoned run records",
		Long: `Gc deletes the task pods that run left behind because it could not finish them (a kill -9,
a lost machine) and that nobody attached to: pods whose base container ended at least
--min-age ago and whose on-finish action (recorded on the pod) deletes them for the way
they ended. Pods kept on purpose (keep_pod; delete_succeeded_pod that failed) stay, and so
do pods still running (attach finishes those). 'kubectl podtask list' marks the pods gc
would delete in its GC column.

The record of a mapped run (config map podtask-run-RUN, kept so that 'attach --run-id'
can take the run up again) goes too once it was last written at least --min-age ago and
no pod of the run is pending or running.`,
		Example: `  # What would go, in every namespace
  kubectl podtask gc -A --dry-run

  # Delete what finished more than an hour ago
  kubectl podtask gc --min-age 1h`,
		Args: cobra.NoArgs,
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
	cmd.Flags().DurationVar(&o.minAge, "min-age", o.minAge, "Only pods whose base container ended at least this long ago")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "Print what would be deleted; delete nothing")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "Look in every namespace")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Only task pods with these labels too, e.g. -l podtask.dev/task=nightly")
	return cmd
}

// Complete reads the namespace; it makes no API call.
func (o *GCOptions) Complete(*cobra.Command, []string) error {
	var err error
	o.namespace, err = namespaceOrAll(o.factory, o.allNamespaces)
	return err
}

// Validate checks --min-age and --selector.
func (o *GCOptions) Validate() error {
	if _, err := labels.Parse(o.selector); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--selector %q: %w", o.selector, err)}
	}
	if o.minAge < 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--min-age %s is negative: give a duration such as 10m", o.minAge)}
	}
	return nil
}

// Run deletes (or, with --dry-run, names) every pod and run record that is due.
func (o *GCOptions) Run(ctx context.Context) error {
	c, err := o.factory.CoreV1()
	if err != nil {
		return err
	}
	sel := launch.LabelManagedBy + "=" + launch.ManagedByValue
	if o.selector != "" {
		sel += "," + o.selector
	}
	list, err := c.Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list task pods: %w", err)}
	}
	now := o.now()
	n := 0
	for i := range list.Items {
		p := &list.Items[i]
		if !gcDue(p, o.minAge, now) {
			continue
		}
		n++
		why := fmt.Sprintf("finished %s ago, %s", duration.HumanDuration(now.Sub(finishedAt(p))), onFinishOf(p))
		if err := o.collect(ctx, "pod", p.Namespace, p.Name, p.UID, why, c.Pods(p.Namespace).Delete); err != nil {
			return err
		}
	}
	m, err := o.collectRecords(ctx, c, sel, list.Items, now)
	if err != nil {
		return err
	}
	if n+m == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No task pods or run records to collect.")
	}
	return nil
}

// collectRecords deletes the records of mapped runs left behind: written
// last at least --min-age ago, with no pod of the run pending or running
// (attach --run-id would follow those). It returns how many were due. A
// user who may not list config maps is warned; the pods were collected.
func (o *GCOptions) collectRecords(ctx context.Context, c corev1client.CoreV1Interface, sel string, pods []corev1.Pod, now time.Time) (int, error) {
	records, err := c.ConfigMaps(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: launch.RecordSelector(sel)})
	if apierrors.IsForbidden(err) {
		fmt.Fprintf(o.streams.ErrOut, "warning: mapped runs' records not looked at: %v\n", err)
		return 0, nil
	}
	if err != nil {
		return 0, &ExitError{Code: ExitAPI, Err: fmt.Errorf("list mapped runs' records: %w", err)}
	}
	live := liveRuns(pods)
	n := 0
	for i := range records.Items {
		r := &records.Items[i]
		if !recordDue(r, live, o.minAge, now) {
			continue
		}
		run, written := r.Labels[launch.LabelRunID], lastWritten(&r.ObjectMeta)
		n++
		why := fmt.Sprintf("mapped run %s, written last %s ago, no pod of it running; attach --run-id would start its items not done", run, duration.HumanDuration(now.Sub(written)))
		if err := o.collect(ctx, "configmap", r.Namespace, r.Name, r.UID, why, c.ConfigMaps(r.Namespace).Delete); err != nil {
			return n, err
		}
	}
	return n, nil
}

// liveRuns counts, by namespace/run id, the pods of each run that are
// pending or running (not being deleted).
func liveRuns(pods []corev1.Pod) map[string]int {
	live := map[string]int{}
	for i := range pods {
		if p := &pods[i]; p.DeletionTimestamp == nil && (p.Status.Phase == corev1.PodPending || p.Status.Phase == corev1.PodRunning) {
			live[p.Namespace+"/"+p.Labels[launch.LabelRunID]]++
		}
	}
	return live
}

// recordDue says whether a run's record was left behind: written last at
// least minAge before now, and no pod of its run pending or running.
func recordDue(r *corev1.ConfigMap, live map[string]int, minAge time.Duration, now time.Time) bool {
	return live[r.Namespace+"/"+r.Labels[launch.LabelRunID]] == 0 && now.Sub(lastWritten(&r.ObjectMeta)) >= minAge
}

// collect deletes one object (the one of that UID: not another made since
// with its name), or names it with --dry-run.
func (o *GCOptions) collect(ctx context.Context, kind, namespace, name string, uid types.UID, why string, del func(context.Context, string, metav1.DeleteOptions) error) error {
	if o.dryRun {
		fmt.Fprintf(o.streams.Out, "%s/%s would be deleted in namespace %s (%s)\n", kind, name, namespace, why)
		return nil
	}
	err := del(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		return nil // gone, or replaced by another of the same name, meanwhile
	case err != nil:
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("delete %s %s in namespace %s: %w", kind, name, namespace, err)}
	}
	fmt.Fprintf(o.streams.Out, "%s/%s deleted in namespace %s (%s)\n", kind, name, namespace, why)
	return nil
}

// lastWritten is when an object was last written, as its managed fields
// say (the API server stamps every write); its creation when they are gone.
func lastWritten(m *metav1.ObjectMeta) time.Time {
	t := m.CreationTimestamp.Time
	for _, f := range m.ManagedFields {
		if f.Time != nil && f.Time.After(t) {
			t = f.Time.Time
		}
	}
	return t
}

func onFinishOf(p *corev1.Pod) launch.OnFinishAction {
	return launch.OptionsFromPod(p, launch.Options{}).OnFinish
}

// finishedAt is when the task of pod ended: its base container's end, else
// the pod's creation (a pod that failed before its base container ran).
func finishedAt(p *corev1.Pod) time.Time {
	base := launch.OptionsFromPod(p, launch.Options{}).BaseContainer
	if cs := launch.FindContainerStatus(p, base, false); cs != nil && cs.State.Terminated != nil {
		return cs.State.Terminated.FinishedAt.Time
	}
	return p.CreationTimestamp.Time
}

// gcDue says whether p is a task pod left behind: its task ended at least
// minAge before now, it is not being deleted, and its on-finish action
// deletes a pod that ended the way it did.
func gcDue(p *corev1.Pod, minAge time.Duration, now time.Time) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	phase, code := launch.TaskPhase(p, launch.OptionsFromPod(p, launch.Options{}).BaseContainer)
	var outcome launch.Outcome
	switch {
	case code != nil && *code == 0:
		outcome = launch.OutcomeSucceeded
	case code != nil, phase == string(corev1.PodFailed):
		outcome = launch.OutcomeFailed
	default:
		return false // still pending or running: attach finishes it
	}
	if now.Sub(finishedAt(p)) < minAge {
		return false
	}
	return launch.ShouldDelete(onFinishOf(p), outcome, false)
}

// kubectl podtask list --runs: the mapped runs that have a record (a run
// going on, or one that was stopped and can be taken up again with attach
// --run-id): its items, how many are done, its pods running now, and
// whether gc would delete the record.

package plugin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// runRuns lists the mapped runs' records and prints them.
func (o *ListOptions) runRuns(ctx context.Context) error {
	c, err := o.factory.CoreV1()
	if err != nil {
		return err
	}
	sel := launch.LabelManagedBy + "=" + launch.ManagedByValue
	records, err := c.ConfigMaps(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: launch.RecordSelector(sel)})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list mapped runs' records: %w (their config maps need the list permission)", err)}
		}
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list mapped runs' records: %w", err)}
	}
	sort.Slice(records.Items, byNamespaceAge(func(i int) *metav1.ObjectMeta { return &records.Items[i].ObjectMeta }))
	if printed, err := o.printObjects(records, "mapped runs"); printed || err != nil {
		return err
	}
	pods, err := c.Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list task pods: %w", err)}
	}
	live := liveRuns(pods.Items)
	w := tabwriter.NewWriter(o.streams.Out, 0, 8, 3, ' ', 0)
	head := []string{"RUN-ID", "TASK", "ITEMS", "DONE", "RUNNING", "WRITTEN", "GC"}
	if o.allNamespaces {
		head = append([]string{"NAMESPACE"}, head...)
	}
	if o.output == "wide" {
		head = append(head, "PARALLELISM", "AGE")
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	now := o.now()
	for i := range records.Items {
		r := &records.Items[i]
		row := runRow(r, live, now, o.output == "wide")
		if o.allNamespaces {
			row = append([]string{r.Namespace}, row...)
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
}

// runRow is a record's row: run id, task, items, done, pods running, when
// it was written last, whether gc would delete it, and with wide its
// parallelism and age. A record whose settings cannot be read shows "?".
func runRow(r *corev1.ConfigMap, live map[string]int, now time.Time, wide bool) []string {
	run := r.Labels[launch.LabelRunID]
	gc := "-"
	if recordDue(r, live, defaultGCMinAge, now) {
		gc = "due"
	}
	task, items, done, par := dash(r.Labels[launch.LabelTask]), "?", "?", "?"
	if p, err := launch.ProgressOf(r); err == nil {
		task, items, done, par = dash(p.Task), strconv.Itoa(p.Items), strconv.Itoa(p.Done), strconv.Itoa(p.Parallelism)
	}
	row := []string{run, task, items, done, strconv.Itoa(live[r.Namespace+"/"+run]), duration.HumanDuration(now.Sub(lastWritten(&r.ObjectMeta))), gc}
	if wide {
		row = append(row, par, duration.HumanDuration(now.Sub(r.CreationTimestamp.Time)))
	}
	return row
}

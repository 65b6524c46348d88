// attach job/NAME: take up a Job that run --as-job made, follow what still
// runs, and print the full result list in index order from the pods the Job
// keeps (each index's XCom from its termination message), as run would have.

package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// jobArg is the Job's name when the argument is job/NAME.
func jobArg(args []string) (string, bool) {
	if len(args) == 1 {
		for _, prefix := range []string{"job/", "jobs/", "job.batch/", "jobs.batch/"} {
			if name, ok := strings.CutPrefix(args[0], prefix); ok {
				return name, true
			}
		}
	}
	return "", false
}

// attachJob follows the Job name to its end and reports it.
func (o *AttachOptions) attachJob(ctx context.Context, name string) error {
	usage := func(format string, a ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
	}
	switch {
	case name == "":
		return usage("attach job/NAME: name the job (see 'kubectl get jobs -l app.kubernetes.io/managed-by=kubectl-podtask')")
	case o.interactive.stdin || o.interactive.tty:
		return usage("attach job/%s: a Job has no terminal to attach to: drop -i/-t", name)
	case o.find.task != "":
		return usage("give job/NAME or --task, not both")
	case o.follow.logFile != "":
		return usage("--log-file is for one pod: a Job's logs are prefixed with [item]")
	}
	engine, err := o.factory.Engine()
	if err != nil {
		return err
	}
	if engine.Batch == nil {
		return &ExitError{Code: ExitAPI, Err: errors.New("no batch/v1 client")}
	}
	job, err := engine.GetJob(ctx, o.namespace, name)
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: err}
	}
	if !isTaskJob(job) {
		return usage("job/%s in namespace %s was not made by 'kubectl podtask run --as-job' (it has no %s label): follow it with kubectl logs", name, o.namespace, render.LabelRunID)
	}
	params, err := engine.GetJobParams(ctx, job)
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: err}
	}
	items, _ := strconv.Atoi(job.Annotations[render.AnnotationJobItems])
	opts := o.launchOptions()
	if opts.OnFinish == "" {
		opts.OnFinish = launch.OnFinishAction(job.Annotations[render.AnnotationOnFinish])
	}
	jr := jobReport{streams: o.streams, flags: &o.follow, params: params, items: items > 0,
		screen: newJobScreen(&o.follow, o.streams, job, opts.OnFinish)}
	return jr.run(ctx, 1, job.Spec.Completions, launch.JobOptions{Options: opts, Propagation: metav1.DeletionPropagation(job.Annotations[render.AnnotationJobPropagation])},
		func(ctx context.Context, jo launch.JobOptions) (*launch.JobResult, error) {
			return engine.AttachJob(ctx, o.namespace, name, jo)
		})
}

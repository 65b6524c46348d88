package plugin

// runflags.go: the kubectl run flags a user reaches for — --overrides,
// --attach=false/--detach, --rm, --privileged, --pod-running-timeout — and
// run --detach, which creates the pod and leaves it to attach.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// kubectlRunFlags are kubectl run's flags that run takes as kubectl run does.
type kubectlRunFlags struct {
	overrides, overrideType string
	attach, detach          bool
	rm, privileged          bool
	podRunningTimeout       time.Duration
}

func (f *kubectlRunFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.overrides, "overrides", "", "Inline JSON merged onto the rendered pod before it is created, as kubectl run --overrides (see --override-type)")
	fs.StringVar(&f.overrideType, "override-type", render.OverrideStrategic, "How --overrides is merged: strategic (lists such as containers merge by name), merge (JSON merge patch: a list replaces the list) or json (JSON patch)")
	fs.BoolVar(&f.attach, "attach", true, "Follow the task; --attach=false creates the pod, prints it and the command to attach to it, and exits 0")
	fs.BoolVar(&f.detach, "detach", false, "Same as --attach=false")
	fs.BoolVar(&f.rm, "rm", false, "Delete the pod when the task ends (the default on-finish action, delete_pod)")
	fs.BoolVar(&f.privileged, "privileged", false, "Run the base container privileged")
	fs.DurationVar(&f.podRunningTimeout, "pod-running-timeout", 0, "Same as --startup-timeout")
}

// detached tells whether the pod is only created.
func (f *kubectlRunFlags) detached() bool { return f.detach || !f.attach }

// validate checks the flags before anything is built or sent.
func (f *kubectlRunFlags) validate(fs *pflag.FlagSet, task *taskFlags) error {
	usage := func(format string, args ...any) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
	}
	switch {
	case f.detach && fs.Changed("attach") && f.attach:
		return usage("--detach and --attach=true contradict each other: use one")
	case f.rm && f.detached():
		return usage("--rm deletes the pod when the task ends, which needs the task followed: drop --rm or --detach/--attach=false")
	case f.rm && fs.Changed("on-finish-action") && task.onFinish != string(launch.DeletePod):
		return usage("--rm and --on-finish-action %s contradict each other: use one", task.onFinish)
	case fs.Changed("pod-running-timeout") && f.podRunningTimeout <= 0:
		return usage("--pod-running-timeout %s: want a positive duration such as 2m", f.podRunningTimeout)
	case fs.Changed("pod-running-timeout") && fs.Changed("startup-timeout") && f.podRunningTimeout != task.startupTimeout:
		return usage("--pod-running-timeout and --startup-timeout are the same setting: give one")
	}
	switch f.overrideType {
	case render.OverrideStrategic, render.OverrideMerge, render.OverrideJSON:
	default:
		return usage("--override-type %q: use strategic, merge or json", f.overrideType)
	}
	if f.overrides != "" && !json.Valid([]byte(f.overrides)) {
		var v any
		err := json.Unmarshal([]byte(f.overrides), &v)
		return usage("--overrides: not valid JSON: %v", err)
	}
	return nil
}

// apply makes the flags' changes to the rendered pod, the overrides last,
// as kubectl run applies them to the pod it generates.
func (f *kubectlRunFlags) apply(fs *pflag.FlagSet, pod *corev1.Pod, spec *render.Task, in *interactiveFlags) (*corev1.Pod, error) {
	usage := func(flag string, err error) error {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", flag, err)}
	}
	if f.rm {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[render.AnnotationOnFinish] = string(launch.DeletePod)
	}
	if fs.Changed("pod-running-timeout") {
		spec.StartupTimeout = f.podRunningTimeout
	}
	if f.privileged {
		if err := render.SetPrivileged(pod); err != nil {
			return nil, usage("--privileged", err)
		}
	}
	if in.stdin {
		if err := render.SetInteractive(pod, in.tty); err != nil {
			return nil, usage("-i", err)
		}
	}
	if f.overrides != "" {
		out, err := render.ApplyOverrides(pod, f.overrides, f.overrideType)
		if err != nil {
			return nil, usage("--overrides", err)
		}
		pod = out
	}
	return pod, nil
}

// validateKubectlFlags checks run's kubectl and interactive flags.
func (o *RunOptions) validateKubectlFlags(cmd *cobra.Command) error {
	if err := o.kubectl.validate(cmd.Flags(), &o.task); err != nil {
		return err
	}
	return o.interactive.validate(o.streams, &o.follow, !o.kubectl.detached())
}

// runDetached creates the pod and prints it and the command to attach.
func (o *RunOptions) runDetached(ctx context.Context) error {
	created, err := o.engine.Create(ctx, o.pod)
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: err}
	}
	attach := "kubectl podtask attach " + created.Name + " -n " + created.Namespace
	if o.interactive.tty {
		attach = "kubectl podtask attach -it " + created.Name + " -n " + created.Namespace
	} else if o.interactive.stdin {
		attach = "kubectl podtask attach -i " + created.Name + " -n " + created.Namespace
	}
	res := &launch.Result{
		Pod: created.Name, Namespace: created.Namespace, Task: created.Annotations[render.AnnotationTask],
		RunID: created.Labels[render.LabelRunID], Phase: string(corev1.PodPending),
		Outcome: launch.OutcomeDetached, Message: "created; attach with: " + attach,
		Created: created.CreationTimestamp.Time,
	}
	switch o.follow.output {
	case "json":
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(o.streams.Out, string(b))
	case "yaml":
		b, _ := yaml.Marshal(res)
		fmt.Fprint(o.streams.Out, string(b))
	default:
		fmt.Fprintf(o.streams.Out, "pod/%s created\n", created.Name)
	}
	if !o.follow.quiet {
		fmt.Fprintf(o.streams.ErrOut, "podtask: attach with: %s\n", attach)
	}
	return nil
}

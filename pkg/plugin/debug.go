package plugin

// debug.go: `kubectl podtask debug TARGET`: a copy of a task pod, a pod, a
// workload's pod template or a task file, whose base container runs a shell
// in the same environment, attached to the terminal and deleted afterwards.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// DebugOptions are the inputs of `kubectl podtask debug`.
type DebugOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	task      taskFlags
	find      podFinder
	shell     string
	container string
	keep      bool
	quiet     bool

	target  string
	command []string

	orig   *corev1.Pod // what is copied
	copy   *corev1.Pod
	diffs  []string
	engine *launch.Engine
}

func newCmdDebug(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DebugOptions{factory: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "debug (POD | pod/NAME | cronjob/NAME | job/NAME | deployment/NAME | -f task.yaml | --task NAME) [-- COMMAND [ARG...]]",
		Short: "Open a shell in a copy of a task, pod, CronJob, Job or Deployment: same image, env, secrets, volumes",
		Long: `Debug creates a copy of the target's pod whose base container runs an interactive shell
(--shell, default sh; or the command after --) instead of its command, with the same image (or
--image), env, envFrom, secrets, config maps, volumes and mounts, service account, resources,
scheduling, init containers and XCom volume. It drops the probes and the labels that controllers
and Services select on, attaches the terminal, and deletes the copy when the shell exits
(--keep keeps it). Before the shell starts it says once what the copy does not share with the
original (emptyDir volumes start empty, another node, ...).

TARGET is a task pod (running or finished) or any pod by name, pod/NAME, cronjob/NAME, job/NAME,
deployment/NAME, a task found with --task NAME [--run-id ID] [--latest], -f task.yaml, or a
DAG's task with --dag FILE --task-id ID; every task flag applies to the last two, and to
workloads. Without a terminal on stdin the shell reads stdin (a script) and its output is the
copy's log.

The exit code is the shell's.`,
		Example: `  # A shell in the environment of a CronJob's pod (its secrets, config maps and volumes)
  kubectl podtask debug cronjob/nightly-report

  # A failed task pod that was kept: the same pod, with bash instead of its command
  kubectl podtask debug etl-k3j9x2ab --shell bash

  # A task file's pod, with another image, kept after the shell exits
  kubectl podtask debug -f task.yaml --image python:3.12 --keep

  # A script instead of a terminal
  echo 'env | sort; ls /etc/creds' | kubectl podtask debug job/import`,
		ValidArgsFunction: completeDebugTargets(f),
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
	o.find.addFlags(cmd)
	cmd.Flags().StringVar(&o.shell, "shell", render.DefaultDebugShell, "The shell the copy's base container runs (the command after -- replaces it)")
	cmd.Flags().StringVarP(&o.container, "container", "c", "", "The container of a pod that is not a task pod to run the shell in (default: its first)")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "Keep the copy when the shell exits (attach again with 'kubectl podtask attach -it')")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Print only the shell's output, warnings and errors")
	return cmd
}

// debugPodFlags are the flags that change the copy of a pod found in the
// cluster; the other task flags shape a rendered task, and a pod is copied
// as it is.
var debugPodFlags = map[string]bool{"image": true, "shell": true, "container": true, "keep": true, "quiet": true,
	"namespace": true, "task": true, "run-id": true, "latest": true}

// Complete finds what is copied and makes the copy.
func (o *DebugOptions) Complete(cmd *cobra.Command, args []string) error {
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		args, o.command = args[:dash], args[dash:]
	}
	if len(args) > 1 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("debug takes one TARGET, got %s; put the command after --", strings.Join(args, " "))}
	}
	if len(args) == 1 {
		o.target = args[0]
	}
	if len(o.command) == 0 {
		if strings.TrimSpace(o.shell) == "" {
			return &ExitError{Code: ExitUsage, Err: errors.New("--shell: give a shell, e.g. sh or bash")}
		}
		o.command = []string{o.shell}
	}
	ctx := cmdContext(cmd)
	var err error
	switch kind, _, _ := strings.Cut(o.target, "/"); {
	case o.task.filename != "" || o.task.from != "" || o.task.dag.file != "":
		if o.target != "" || o.find.task != "" {
			return &ExitError{Code: ExitUsage, Err: errors.New("give one TARGET: a pod, a workload, --task, -f task.yaml or --dag FILE --task-id ID")}
		}
		err = o.fromTask(ctx, cmd, nil)
	case o.target != "" && strings.Contains(o.target, "/") && kind != "pod" && kind != "pods" && kind != "po":
		if _, _, perr := parseFrom(o.target); perr != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("debug %s: kind %q is not one of cronjob, job, deployment, pod; or name a pod", o.target, kind)}
		}
		err = o.fromTask(ctx, cmd, &o.target)
	default:
		err = o.fromPod(ctx, cmd, args)
	}
	if err != nil {
		return err
	}
	return nil
}

// fromTask renders the task (a task file, --from, or a workload TARGET) and
// copies the pod it gives.
func (o *DebugOptions) fromTask(ctx context.Context, cmd *cobra.Command, from *string) error {
	if from != nil {
		o.task.from = *from
		if err := cmd.Flags().Set("from", *from); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	pod, spec, err := buildPod(ctx, o.factory, &o.task, cmd.Flags(), nil)
	if err != nil {
		return err
	}
	if o.engine, err = o.factory.Engine(); err != nil {
		return err
	}
	o.orig = pod
	return o.makeCopy(spec.BaseContainerName, "", o.task.fromTemplate)
}

// fromPod copies a pod found in the cluster: a task pod, or any pod.
func (o *DebugOptions) fromPod(ctx context.Context, cmd *cobra.Command, args []string) error {
	var set []string
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Changed && !debugPodFlags[f.Name] {
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: task flags apply to -f task.yaml and workloads; a pod is copied as it is (only --image, --shell, --container and --keep change the copy)", strings.Join(set, ", "))}
	}
	if o.target == "" && o.find.task == "" {
		return &ExitError{Code: ExitUsage, Err: errors.New("name what to debug: a pod, pod/NAME, cronjob/NAME, job/NAME, deployment/NAME, --task NAME, or -f task.yaml")}
	}
	name := o.target
	if _, n, ok := strings.Cut(name, "/"); ok {
		name = n
	}
	var ns string
	var err error
	if ns, _, err = o.factory.Namespace(); err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("kubeconfig: %w", err)}
	}
	if o.engine, err = o.factory.Engine(); err != nil {
		return err
	}
	var byName []string
	if name != "" {
		byName = []string{name}
	}
	if name, err = o.find.resolve(ctx, o.engine, ns, byName); err != nil {
		return err
	}
	pod, err := o.engine.Client.Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: (&launch.APIError{Op: "get pod " + ns + "/" + name, Err: err})}
	}
	o.orig = pod
	base := o.container
	if base == "" {
		base = launch.OptionsFromPod(pod, launch.Options{}).BaseContainer
	}
	return o.makeCopy(base, o.task.image, nil)
}

func (o *DebugOptions) makeCopy(base, image string, tpl *corev1.PodTemplateSpec) error {
	cp, diffs, err := render.DebugCopy(o.orig, base, render.DebugOptions{
		Command: o.command, Image: image, TTY: stdinIsTerminal(o.streams), Keep: o.keep, Template: tpl,
	})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	o.copy, o.diffs = cp, diffs
	return nil
}

// Validate checks what Complete could not.
func (o *DebugOptions) Validate() error {
	if o.copy == nil {
		return &ExitError{Code: ExitUsage, Err: errors.New("nothing to debug")}
	}
	return nil
}

// Run says how the copy differs, then runs it with the terminal attached.
func (o *DebugOptions) Run(ctx context.Context) error {
	if !o.quiet {
		fmt.Fprintf(o.streams.ErrOut, "podtask: debugging a copy of %s as pod/%s; what the copy does not share:\n", o.origName(), o.copy.Name)
		for _, d := range o.diffs {
			fmt.Fprintf(o.streams.ErrOut, "podtask:   - %s\n", d)
		}
	}
	return runDebugCopy(ctx, o.streams, o.engine, o.copy, o.quiet)
}

func (o *DebugOptions) origName() string {
	if o.orig.Name != "" && o.target == "" && o.task.from == "" {
		return "pod/" + o.orig.Name
	}
	if o.task.from != "" {
		return o.task.from
	}
	if o.task.filename != "" {
		return o.task.filename
	}
	if o.task.dag.file != "" {
		return o.task.dag.file + " task " + o.task.dag.taskID
	}
	return "pod/" + o.orig.Name
}

// kubectl podtask render: print the Pod a task would run, without running it.

package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// RenderOptions are the inputs of `kubectl podtask render`.
type RenderOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	task   taskFlags
	output string
	dryRun string

	// createDryRun sends the pod to the server with dryRun=All; a seam for tests.
	createDryRun func(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error)

	// Set by Complete.
	flags *pflag.FlagSet
	args  []string
	stray string // an argument before --, or without one
}

// NewRenderOptions returns the options with their defaults.
func NewRenderOptions(f Factory, streams genericiooptions.IOStreams) *RenderOptions {
	o := &RenderOptions{factory: f, streams: streams, output: "yaml", dryRun: dryRunNone}
	o.createDryRun = o.defaultCreateDryRun
	return o
}

func newCmdRender(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newRenderCommand(NewRenderOptions(f, streams))
}

// newRenderCommand wires the command to prepared options; tests set the
// options' seams first.
func newRenderCommand(o *RenderOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "render [flags] [-f task.yaml] [-- COMMAND [ARG...]]",
		Short: "Print the Pod a task would run, without running it",
		Long: `Build the Pod for a task from flags, a task file (-f), pod_template_file,
full_pod_spec and --from, exactly as 'run' would, and print it.
With --dry-run=server the API server checks it (admission included) without
creating anything.`,
		Example: `  # The Pod for a one-off command
  kubectl podtask render --image docker.io/library/busybox:1.35 --name hello -- echo hi

  # A task file, with a parameter, as JSON
  kubectl podtask render -f examples/xcom.yaml --param day=2026-01-01 -o json

  # Re-run a failing job with another command; let the server check it
  kubectl podtask render --from job/nightly --dry-run=server -- sh -c 'env; ls /data'`,
		Args: cobra.ArbitraryArgs,
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
	addDAGFlags(cmd, &o.task, o.streams.Out)
	cmd.Flags().StringVarP(&o.output, "output", "o", o.output, "Output format: yaml, json, airflow (the task as a KubernetesPodOperator call for a DAG), or task (with --dag: the equivalent task file)")
	cmd.Flags().StringVar(&o.dryRun, "dry-run", o.dryRun, "none or client: print the rendered pod; server: have the API server check it and print its answer")
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunClient
	return cmd
}

// Complete keeps the command line; it makes no API call and prints nothing.
func (o *RenderOptions) Complete(cmd *cobra.Command, args []string) error {
	o.flags, o.args, o.stray = cmd.Flags(), args, ""
	if at := cmd.ArgsLenAtDash(); at > 0 || (at < 0 && len(args) > 0) {
		o.stray = args[0]
	}
	o.task.warnOut = o.streams.ErrOut
	return nil
}

// Validate checks -o, --dry-run and the arguments before anything is read.
func (o *RenderOptions) Validate() error {
	switch o.output {
	case "yaml", "json", "task":
	case "airflow":
		if o.dryRun == dryRunServer {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output airflow prints the task, not the pod: drop --dry-run=server")}
		}
	default:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %q: want yaml, json, airflow or task", o.output)}
	}
	switch o.dryRun {
	case dryRunNone, dryRunClient, dryRunServer:
	default:
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--dry-run %q: want none, client or server", o.dryRun)}
	}
	if o.stray != "" {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("unexpected argument %q: put the container command after --", o.stray)}
	}
	return nil
}

// Run builds the pod (fetching a --from workload), has the server check it
// with --dry-run=server, and prints it.
func (o *RenderOptions) Run(ctx context.Context) error {
	if o.output == "task" {
		return printDAGTask(ctx, o.streams.Out, &o.task, o.flags, o.args)
	}
	pod, _, err := buildPod(ctx, o.factory, &o.task, o.flags, o.args)
	if err != nil {
		return err
	}
	if o.output == "airflow" {
		py, err := render.Airflow(o.task.rendered.Task, o.task.rendered.Name)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		_, err = o.streams.Out.Write(py)
		return err
	}
	if o.dryRun == dryRunServer {
		got, err := o.createDryRun(ctx, pod)
		if err != nil {
			return &ExitError{Code: ExitAPI, Err: serverRejection(err)}
		}
		got.APIVersion, got.Kind = "v1", "Pod"
		if len(pod.Spec.ImagePullSecrets) > 0 {
			if c, err := o.factory.CoreV1(); err == nil {
				warnPullSecrets(ctx, c, pod, o.streams.ErrOut)
			}
		}
		pod = got
	}
	return printPod(o.streams.Out, o.output, pod)
}

func (o *RenderOptions) defaultCreateDryRun(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	c, err := o.factory.CoreV1()
	if err != nil {
		return nil, err
	}
	return c.Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
}

// serverRejection is the one line that says why the server refused the pod.
func serverRejection(err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) {
		return fmt.Errorf("the server rejected the pod: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	return fmt.Errorf("server dry run: %w", err)
}

func printPod(w io.Writer, format string, pod *corev1.Pod) error {
	pod.APIVersion, pod.Kind = "v1", "Pod"
	var p printers.ResourcePrinter = &printers.YAMLPrinter{}
	if format == "json" {
		p = &printers.JSONPrinter{}
	}
	return p.PrintObj(pod, w)
}

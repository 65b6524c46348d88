// kubectl podtask xcom: print a task pod's XCom result and nothing else.

package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// XComOptions are the inputs of `kubectl podtask xcom`.
type XComOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	find podFinder
	stop bool

	namespace string
	args      []string
}

func newCmdXCom(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &XComOptions{factory: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "xcom (POD | --task NAME [--run-id ID] [--latest])",
		Short: "Print a task pod's XCom result (JSON) and nothing else",
		Long: `Xcom reads the XCom result of a task pod: from the sidecar while it runs (the pod is left
as it is unless --stop-sidecar), or from the base container's termination message in
termination-message mode. It prints the JSON on stdout; a task that wrote no result prints
nothing and says so on stderr. Exit code 76 when the result cannot be read or is not JSON.`,
		Example: `  kubectl podtask xcom hello-world-k3j9x2ab
  kubectl podtask xcom --task hello-world --latest | jq .`,
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
	cmd.Flags().BoolVar(&o.stop, "stop-sidecar", false, "Stop the XCom sidecar after reading, so that the pod can finish")
	return cmd
}

// Complete reads the namespace; it makes no API call.
func (o *XComOptions) Complete(_ *cobra.Command, args []string) error {
	o.args = args
	var err error
	o.namespace, _, err = o.factory.Namespace()
	return err
}

// Validate checks that one pod or a task is named.
func (o *XComOptions) Validate() error { return o.find.validate(o.args) }

// Run reads the result and prints it.
func (o *XComOptions) Run(ctx context.Context) error {
	e, err := o.factory.Engine()
	if err != nil {
		return err
	}
	name, err := o.find.resolve(ctx, e, o.namespace, o.args)
	if err != nil {
		return err
	}
	pod, err := e.Client.Pods(o.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("get pod %s: %w", name, err)}
	}
	opts := launch.OptionsFromPod(pod, launch.Options{})
	if opts.XCom == launch.XComNone {
		return &ExitError{Code: ExitXCom, Err: fmt.Errorf("pod %s was not started with XCom (no %s annotation)", name, launch.AnnotationXComMode)}
	}
	value, present, err := e.ReadXCom(ctx, pod, opts.XCom, opts.BaseContainer)
	if err != nil {
		var xe *launch.XComError
		if errors.As(err, &xe) {
			return &ExitError{Code: ExitXCom, Err: err}
		}
		return &ExitError{Code: ExitAPI, Err: err}
	}
	if o.stop && opts.XCom == launch.XComSidecar {
		if err := e.StopSidecar(ctx, pod); err != nil {
			fmt.Fprintf(o.streams.ErrOut, "podtask: warning: could not stop the sidecar: %v\n", err)
		}
	}
	if !present {
		fmt.Fprintln(o.streams.ErrOut, "podtask: the task wrote no result (/airflow/xcom/return.json missing or empty)")
		return nil
	}
	fmt.Fprintln(o.streams.Out, string(value))
	return nil
}

package plugin

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

func newCmdXCom(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var find podFinder
	var stop bool
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
		ValidArgsFunction: completeTaskPods(flags),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, ns, err := engineInNamespace(flags)
			if err != nil {
				return err
			}
			ctx := cmdContext(cmd)
			name, err := find.resolve(ctx, e, ns, args)
			if err != nil {
				return err
			}
			pod, err := e.Client.Pods(ns).Get(ctx, name, metav1.GetOptions{})
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
			if stop && opts.XCom == launch.XComSidecar {
				if err := e.StopSidecar(ctx, pod); err != nil {
					fmt.Fprintf(streams.ErrOut, "podtask: warning: could not stop the sidecar: %v\n", err)
				}
			}
			if !present {
				fmt.Fprintln(streams.ErrOut, "podtask: the task wrote no result (/airflow/xcom/return.json missing or empty)")
				return nil
			}
			fmt.Fprintln(streams.Out, string(value))
			return nil
		},
	}
	find.addFlags(cmd)
	cmd.Flags().BoolVar(&stop, "stop-sidecar", false, "Stop the XCom sidecar after reading, so that the pod can finish")
	return cmd
}

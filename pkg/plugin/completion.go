package plugin

import (
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// completeTaskPods completes the names of task pods in the current namespace.
func completeTaskPods(flags *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, _, err := flags.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		e, err := newEngine(flags)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		list, err := e.Client.Pods(ns).List(cmdContext(cmd), metav1.ListOptions{
			LabelSelector: launch.LabelManagedBy + "=" + launch.ManagedByValue,
		})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, p := range list.Items {
			out = append(out, cobra.CompletionWithDesc(p.Name, taskName(&p)+" "+string(p.Status.Phase)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

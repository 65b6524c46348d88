package plugin

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

func newCmdList(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var allNamespaces bool
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List task pods: task, run id, phase, exit code, age",
		Example: `  kubectl podtask list
  kubectl podtask list -A -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch output {
			case "", "wide", "json", "yaml":
			default:
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %q is not supported: use wide, json or yaml", output)}
			}
			e, ns, err := engineInNamespace(flags)
			if err != nil {
				return err
			}
			if allNamespaces {
				ns = metav1.NamespaceAll
			}
			list, err := e.Client.Pods(ns).List(cmdContext(cmd), metav1.ListOptions{
				LabelSelector: launch.LabelManagedBy + "=" + launch.ManagedByValue,
			})
			if err != nil {
				return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list task pods: %w", err)}
			}
			sort.Slice(list.Items, func(i, j int) bool {
				a, b := list.Items[i], list.Items[j]
				if a.Namespace != b.Namespace {
					return a.Namespace < b.Namespace
				}
				return a.CreationTimestamp.Before(&b.CreationTimestamp)
			})
			switch output {
			case "json", "yaml":
				list.APIVersion, list.Kind = "v1", "List"
				for i := range list.Items {
					list.Items[i].APIVersion, list.Items[i].Kind = "v1", "Pod"
				}
				var p printers.ResourcePrinter = &printers.JSONPrinter{}
				if output == "yaml" {
					p = &printers.YAMLPrinter{}
				}
				return p.PrintObj(list, streams.Out)
			}
			if len(list.Items) == 0 {
				where := "namespace " + ns
				if allNamespaces {
					where = "any namespace"
				}
				fmt.Fprintf(streams.ErrOut, "No task pods found in %s.\n", where)
				return nil
			}
			w := tabwriter.NewWriter(streams.Out, 0, 8, 3, ' ', 0)
			head := []string{"NAME", "TASK", "RUN-ID", "PHASE", "EXIT", "AGE"}
			if allNamespaces {
				head = append([]string{"NAMESPACE"}, head...)
			}
			if output == "wide" {
				head = append(head, "NODE", "XCOM", "ON-FINISH")
			}
			fmt.Fprintln(w, strings.Join(head, "\t"))
			for _, p := range list.Items {
				phase, exit := phaseAndExit(&p)
				row := []string{p.Name, taskName(&p), dash(p.Labels[launch.LabelRunID]), phase, exit,
					duration.HumanDuration(time.Since(p.CreationTimestamp.Time))}
				if allNamespaces {
					row = append([]string{p.Namespace}, row...)
				}
				if output == "wide" {
					row = append(row, dash(p.Spec.NodeName), dash(p.Annotations[launch.AnnotationXComMode]),
						dash(p.Annotations[launch.AnnotationOnFinish]))
				}
				fmt.Fprintln(w, strings.Join(row, "\t"))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "List task pods in every namespace")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: wide, json or yaml")
	return cmd
}

func taskName(p *corev1.Pod) string {
	if n := p.Annotations[launch.AnnotationTask]; n != "" {
		return n
	}
	return dash(p.Labels[launch.LabelTask])
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// phaseAndExit are the PHASE and EXIT columns: the task's phase, and the
// base container's exit code or "-" while it runs.
func phaseAndExit(p *corev1.Pod) (string, string) {
	phase, code := launch.TaskPhase(p, launch.OptionsFromPod(p, launch.Options{}).BaseContainer)
	if code == nil {
		return phase, "-"
	}
	return phase, fmt.Sprint(*code)
}

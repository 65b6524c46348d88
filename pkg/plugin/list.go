// kubectl podtask list: the task pods, as a table or in any of kubectl's
// output formats (cli-runtime's printers); pods that gc would delete are
// marked.

package plugin

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/jsonpath"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// listFormats are the -o values list takes, for help and completion.
var listFormats = []string{"wide", "name", "json", "yaml", "jsonpath=", "go-template=", "custom-columns="}

// ListOptions are the inputs of `kubectl podtask list`.
type ListOptions struct {
	factory       Factory
	streams       genericiooptions.IOStreams
	allNamespaces bool
	runs          bool
	output        string
	now           func() time.Time

	namespace string
	printer   printers.ResourcePrinter // json, yaml, name, jsonpath, go-template; nil for the tables
	columns   []customColumn           // custom-columns=
}

func newCmdList(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{factory: f, streams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List task pods (task, run id, phase, exit code, age; GC marks pods gc would delete), or with --runs the mapped runs",
		Example: `  kubectl podtask list
  kubectl podtask list -A -o wide
  kubectl podtask list -o name
  kubectl podtask list -o jsonpath='{.items[*].metadata.name}'
  kubectl podtask list -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName

  # The mapped runs going on or stopped, with how many items are done
  kubectl podtask list --runs -A`,
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
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "List task pods in every namespace")
	cmd.Flags().BoolVar(&o.runs, "runs", false, "List the mapped runs that have a record instead (run --each: going on, or stopped and to be taken up with attach --run-id)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: "+strings.Join(listFormats, ", ")+" (as kubectl get)")
	return cmd
}

// Complete reads the namespace; it makes no API call.
func (o *ListOptions) Complete(*cobra.Command, []string) error {
	var err error
	o.namespace, err = namespaceOrAll(o.factory, o.allNamespaces)
	return err
}

// Validate turns -o into a printer.
func (o *ListOptions) Validate() error {
	switch {
	case o.output == "" || o.output == "wide":
		return nil
	case strings.HasPrefix(o.output, "custom-columns="):
		cols, err := parseCustomColumns(strings.TrimPrefix(o.output, "custom-columns="))
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %s: %w", o.output, err)}
		}
		o.columns = cols
		return nil
	}
	p, err := listPrinter(o.output)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	o.printer = p
	return nil
}

// Run lists the task pods and prints them.
func (o *ListOptions) Run(ctx context.Context) error {
	if o.runs {
		return o.runRuns(ctx) // listruns.go
	}
	c, err := o.factory.CoreV1()
	if err != nil {
		return err
	}
	list, err := c.Pods(o.namespace).List(ctx, metav1.ListOptions{
		LabelSelector: launch.LabelManagedBy + "=" + launch.ManagedByValue,
	})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("list task pods: %w", err)}
	}
	sort.Slice(list.Items, byNamespaceAge(func(i int) *metav1.ObjectMeta { return &list.Items[i].ObjectMeta }))
	if printed, err := o.printObjects(list, "task pods"); printed || err != nil {
		return err
	}
	w := tabwriter.NewWriter(o.streams.Out, 0, 8, 3, ' ', 0)
	head := []string{"NAME", "TASK", "RUN-ID", "PHASE", "EXIT", "AGE", "GC"}
	if o.allNamespaces {
		head = append([]string{"NAMESPACE"}, head...)
	}
	if o.output == "wide" {
		head = append(head, "NODE", "XCOM", "ON-FINISH")
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	now := o.now()
	for _, p := range list.Items {
		phase, exit := phaseAndExit(&p)
		gc := "-"
		if gcDue(&p, defaultGCMinAge, now) {
			gc = "due"
		}
		row := []string{p.Name, dash(launch.TaskName(&p)), dash(p.Labels[launch.LabelRunID]), phase, exit,
			duration.HumanDuration(now.Sub(p.CreationTimestamp.Time)), gc}
		if o.allNamespaces {
			row = append([]string{p.Namespace}, row...)
		}
		if o.output == "wide" {
			row = append(row, dash(p.Spec.NodeName), dash(p.Annotations[launch.AnnotationXComMode]),
				dash(p.Annotations[launch.AnnotationOnFinish]))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
}

// byNamespaceAge orders objects by namespace, then oldest first, then by
// name; meta is the i-th object's metadata.
func byNamespaceAge(meta func(int) *metav1.ObjectMeta) func(i, j int) bool {
	return func(i, j int) bool {
		a, b := meta(i), meta(j)
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	}
}

// printObjects prints list as -o asks (each item for name and custom
// columns), or says none were found; it tells whether it printed: the
// tables are the caller's.
func (o *ListOptions) printObjects(list runtime.Object, what string) (bool, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return true, err
	}
	switch {
	case o.printer != nil && strings.HasPrefix(o.output, "name"):
		for _, obj := range objs {
			if err := o.printer.PrintObj(obj, o.streams.Out); err != nil {
				return true, err
			}
		}
		return true, nil
	case o.printer != nil:
		return true, o.printer.PrintObj(list, o.streams.Out)
	case len(objs) == 0:
		where := "namespace " + o.namespace
		if o.allNamespaces {
			where = "any namespace"
		}
		fmt.Fprintf(o.streams.ErrOut, "No %s found in %s.\n", what, where)
		return true, nil
	case o.columns != nil:
		return true, printCustomColumns(o.streams.Out, o.columns, objs)
	}
	return false, nil
}

// listPrinter is cli-runtime's printer for an output format of kubectl get:
// json, yaml, name, jsonpath=TEMPLATE, go-template=TEMPLATE.
func listPrinter(output string) (printers.ResourcePrinter, error) {
	format, template, _ := strings.Cut(output, "=")
	var p printers.ResourcePrinter
	var err error
	switch format {
	case "json":
		p = &printers.JSONPrinter{}
	case "yaml":
		p = &printers.YAMLPrinter{}
	case "name":
		p = &printers.NamePrinter{}
	case "jsonpath":
		var jp *printers.JSONPathPrinter
		if jp, err = printers.NewJSONPathPrinter(template); err == nil {
			jp.AllowMissingKeys(true)
			p = jp
		}
	case "go-template":
		var gp *printers.GoTemplatePrinter
		if gp, err = printers.NewGoTemplatePrinter([]byte(template)); err == nil {
			gp.AllowMissingKeys(true)
			p = gp
		}
	default:
		return nil, fmt.Errorf("--output %q is not supported: use %s", output, strings.Join(listFormats, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("--output %s: %w", output, err)
	}
	if (format == "jsonpath" || format == "go-template") && template == "" {
		return nil, fmt.Errorf("--output %s= needs a template, e.g. %s='{.items[*].metadata.name}'", format, format)
	}
	return printers.NewTypeSetter(scheme.Scheme).ToPrinter(p), nil
}

// customColumn is one NAME:JSONPATH of -o custom-columns=.
type customColumn struct {
	header string
	path   *jsonpath.JSONPath
}

func parseCustomColumns(spec string) ([]customColumn, error) {
	if spec == "" {
		return nil, fmt.Errorf("name the columns, e.g. custom-columns=NAME:.metadata.name,PHASE:.status.phase")
	}
	var out []customColumn
	for _, part := range strings.Split(spec, ",") {
		header, expr, ok := strings.Cut(part, ":")
		if !ok || header == "" || expr == "" {
			return nil, fmt.Errorf("column %q: want HEADER:JSONPATH", part)
		}
		if !strings.HasPrefix(expr, "{") {
			expr = "{" + expr + "}"
		}
		jp := jsonpath.New(header).AllowMissingKeys(true)
		if err := jp.Parse(expr); err != nil {
			return nil, fmt.Errorf("column %q: %w", part, err)
		}
		out = append(out, customColumn{header: header, path: jp})
	}
	return out, nil
}

// printCustomColumns prints a row of cols per object.
func printCustomColumns(out interface{ Write([]byte) (int, error) }, cols []customColumn, objs []runtime.Object) error {
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.header
	}
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, obj := range objs {
		row := make([]string, len(cols))
		for j, c := range cols {
			results, err := c.path.FindResults(obj)
			if err != nil || len(results) == 0 || len(results[0]) == 0 {
				row[j] = "<none>"
				continue
			}
			var vals []string
			for _, r := range results[0] {
				var b bytes.Buffer
				if err := c.path.PrintResults(&b, []reflect.Value{r}); err != nil {
					return err
				}
				vals = append(vals, b.String())
			}
			row[j] = strings.Join(vals, ",")
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	return w.Flush()
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

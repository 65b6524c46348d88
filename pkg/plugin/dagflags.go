package plugin

// dagflags.go: --dag FILE --task-id ID read a task from an Airflow DAG file
// (pkg/dag), for run, render (and any command built on taskFlags). The
// file is read, never run; its KubernetesPodOperator task becomes a task
// file, which goes through render's parser like -f. Without --task-id the
// command lists the file's tasks.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/podtask-dev/kubectl-podtask/pkg/dag"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

type dagFlags struct {
	file, taskID string
}

// replacingFlags are the flags that replace a task field whole: the DAG's
// value for that field is then not read (so a refused value can be given).
var replacingFlags = map[string]string{
	"image": "image", "name": "name", "container-name": "base_container_name", "cmds": "cmds",
	"arguments": "arguments", "service-account": "service_account_name", "image-pull-policy": "image_pull_policy",
	"pod-template-file": "pod_template_file", "full-pod-spec": "full_pod_spec", "on-finish-action": "on_finish_action",
	"active-deadline-seconds": "active_deadline_seconds", "startup-timeout": "startup_timeout_seconds",
	"schedule-timeout": "schedule_timeout_seconds", "random-name-suffix": "random_name_suffix",
	"xcom": "do_xcom_push", "xcom-mode": "do_xcom_push", "namespace": "namespace",
}

// addDAGFlags adds --dag and --task-id to cmd, whose task flags are tf, and
// makes --dag without --task-id list the file's tasks on out.
func addDAGFlags(cmd *cobra.Command, tf *taskFlags, out io.Writer) {
	d := &tf.dag
	cmd.Flags().StringVar(&d.file, "dag", "", "Airflow DAG file: take the task from its KubernetesPodOperator call (read with python3's ast, never run); without --task-id, list its tasks")
	cmd.Flags().StringVar(&d.taskID, "task-id", "", "The task_id of the KubernetesPodOperator task in --dag (DAG_ID:TASK_ID when several DAGs have it)")
	_ = cmd.RegisterFlagCompletionFunc("dag", completeFiles("py"))
	_ = cmd.RegisterFlagCompletionFunc("task-id", func(c *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if d.file == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f, err := dag.Load(cmdContext(c), d.file, dag.Options{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return f.IDs(), cobra.ShellCompDirectiveNoFileComp
	})
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if d.file == "" && d.taskID != "" {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--task-id needs --dag FILE")}
		}
		if d.file != "" && d.taskID == "" {
			return listDAGTasks(cmdContext(c), out, d.file)
		}
		return run(c, args)
	}
}

func listDAGTasks(ctx context.Context, out io.Writer, path string) error {
	f, err := dag.Load(ctx, path, dag.Options{})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	if len(f.Tasks) == 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: has no KubernetesPodOperator task", path)}
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "TASK-ID\tDAG\tLINE")
	for _, t := range f.Tasks {
		id := t.ID
		if id == "" {
			id = "? task_id=" + t.Expr + " (known only when the file runs)"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\n", id, t.DAGID, t.Line)
	}
	return w.Flush()
}

// dagTask reads the task --dag and --task-id name; fields that flags
// replace are not read from the DAG.
func (o *taskFlags) dagTask(ctx context.Context, fs *pflag.FlagSet, hasArgs bool) (*dag.Task, error) {
	if o.filename != "" {
		return nil, fmt.Errorf("--dag and -f both give a task; use one")
	}
	f, err := dag.Load(ctx, o.dag.file, dag.Options{})
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for flag, field := range replacingFlags {
		if fs.Changed(flag) {
			skip[field] = true
		}
	}
	if hasArgs {
		skip["cmds"] = true
	}
	t, err := f.Task(o.dag.taskID, dag.TaskOptions{Skip: skip})
	if err != nil {
		return nil, err
	}
	// Files named in the DAG are relative to the DAG file, Airflow's template search path.
	if p := &t.Task.PodTemplateFile; *p != "" && !filepath.IsAbs(*p) {
		*p = filepath.Join(filepath.Dir(o.dag.file), *p)
	}
	return t, nil
}

// loadDAG is loadFile for --dag.
func (o *taskFlags) loadDAG(fs *pflag.FlagSet, hasArgs bool) (*render.Task, error) {
	t, err := o.dagTask(context.Background(), fs, hasArgs)
	if err != nil {
		return nil, err
	}
	return t.Task, nil
}

// printDAGTask is render -o task: the DAG's task as a task file, with
// --param merged into its params. Flags that change other fields are not
// written into it, so they are refused.
func printDAGTask(ctx context.Context, out io.Writer, tf *taskFlags, fs *pflag.FlagSet, args []string) error {
	if tf.dag.file == "" {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("-o task prints the task file of a DAG's task: give --dag FILE --task-id ID")}
	}
	var changed []string
	probe := pflag.NewFlagSet("task", pflag.ContinueOnError)
	(&taskFlags{}).addFlags(probe)
	probe.VisitAll(func(fl *pflag.Flag) {
		if fs.Changed(fl.Name) && fl.Name != "param" {
			changed = append(changed, "--"+fl.Name)
		}
	})
	if len(changed) > 0 || len(args) > 0 {
		if len(changed) == 0 {
			changed = []string{"a command after --"}
		}
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("-o task prints the DAG's task as written; %s would not be in it: drop it, or use -o yaml", changed[0])}
	}
	t, err := tf.dagTask(ctx, fs, false)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	data := t.TaskFile
	if len(tf.params) > 0 {
		kvs, err := keyValues("--param", tf.params)
		if err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		if data, err = dag.WithParams(data, kvs); err != nil {
			return &ExitError{Code: ExitUsage, Err: err}
		}
	}
	_, err = out.Write(data)
	return err
}

// Package plugin holds the cobra commands of kubectl-podtask: each turns
// flags into a task, hands it to the launch engine, and prints what the
// engine reports.
package plugin

import (
	"context"
	goflag "flag"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
)

// DefaultStreams are the process's stdin, stdout and stderr.
func DefaultStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// NewCmdPodtask builds the root command with kubectl's global flags.
func NewCmdPodtask(streams genericiooptions.IOStreams) *cobra.Command {
	flags := newKubeFlags()
	return newCmdPodtaskWith(streams, flags, newFactory(flags))
}

// newCmdPodtaskWith builds the root command on f, the clients every command
// and completion use; flags are the global flags f reads.
func newCmdPodtaskWith(streams genericiooptions.IOStreams, flags *kubeFlags, f Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "podtask",
		Short: "Run one containerised task on the cluster, watch it, and get its result back",
		Long: `kubectl podtask runs a single containerised task as a Pod, the way Apache Airflow's
KubernetesPodOperator does: it builds the Pod, waits for it to start, streams its logs,
fetches its XCom result, cleans up, and exits with the container's exit code.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl podtask",
		},
	}
	flags.AddFlags(cmd.PersistentFlags())
	var verbosity int
	cmd.PersistentFlags().IntVarP(&verbosity, "v", "v", 0, "Number for the log level verbosity of the Kubernetes client (0 prints none of its logs)")
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		return configureClientLogging(verbosity, streams.ErrOut)
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: usageError(c, err)}
	})

	cmd.AddCommand(
		newCmdRender(f, streams),
		newCmdRun(f, streams),
		newCmdAttach(f, streams),
		newCmdDebug(f, streams),
		newCmdXCom(f, streams),
		newCmdCp(f, streams),
		newCmdList(f, streams),
		newCmdGC(f, streams),
		newCmdCreatePullSecret(f, streams),
		newCmdVersion(f, streams),
	)
	registerCompletions(cmd, f)
	return cmd
}

func usageError(c *cobra.Command, err error) error {
	return &usageErr{err: err, cmd: c.CommandPath()}
}

// cmdContext is the command's context, or a background one when it was run
// without (as in tests that call Execute).
func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// configureClientLogging keeps client-go's own logging (klog) quiet unless
// -v asks for it: the engine reports what matters as events.
func configureClientLogging(v int, w io.Writer) error {
	fs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(fs)
	if v <= 0 {
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
		return fs.Set("stderrthreshold", "FATAL")
	}
	klog.SetOutput(w)
	return fs.Set("v", strconv.Itoa(v))
}

type usageErr struct {
	err error
	cmd string
}

func (u *usageErr) Error() string {
	return u.err.Error() + " (see '" + u.cmd + " --help')"
}

// Package plugin holds the cobra commands of kubectl-podtask: each turns
// flags into a task, hands it to the launch engine, and prints what the
// engine reports.
package plugin

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// DefaultStreams are the process's stdin, stdout and stderr.
func DefaultStreams() genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
}

// NewCmdPodtask builds the root command with kubectl's global flags.
func NewCmdPodtask(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
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
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: ExitUsage, Err: usageError(c, err)}
	})

	cmd.AddCommand(
		newCmdRender(flags, streams),
		newCmdRun(flags, streams),
		newCmdAttach(flags, streams),
		newCmdXCom(flags, streams),
		newCmdList(flags, streams),
		newCmdCreatePullSecret(flags, streams),
		newCmdVersion(flags, streams),
	)
	return cmd
}

func usageError(c *cobra.Command, err error) error {
	return &usageErr{err: err, cmd: c.CommandPath()}
}

type usageErr struct {
	err error
	cmd string
}

func (u *usageErr) Error() string {
	return u.err.Error() + " (see '" + u.cmd + " --help')"
}

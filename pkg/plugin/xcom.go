package plugin

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// newCmdXCom is a placeholder until the command is implemented.
func newCmdXCom(_ *genericclioptions.ConfigFlags, _ genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:    "xcom",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("not implemented yet")
		},
	}
}

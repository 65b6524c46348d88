package plugin

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// newCmdCreatePullSecret is a placeholder until the command is implemented.
func newCmdCreatePullSecret(_ *genericclioptions.ConfigFlags, _ genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:    "createpullsecret",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("not implemented yet")
		},
	}
}

// kubectl podtask version: the plugin's version, and the server's when a
// cluster is reachable.

package plugin

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"
)

// Set at build time with -ldflags "-X ...".
var (
	version = "v0.0.0-dev"
	commit  = "unknown"
	date    = "unknown"
)

type versionInfo struct {
	Client clientVersion  `json:"clientVersion"`
	Server *serverVersion `json:"serverVersion,omitempty"`
}

type clientVersion struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

type serverVersion struct {
	GitVersion string `json:"gitVersion"`
	Platform   string `json:"platform"`
}

// VersionOptions are the inputs of `kubectl podtask version`.
type VersionOptions struct {
	factory    Factory
	streams    genericiooptions.IOStreams
	clientOnly bool
	output     string
}

func newCmdVersion(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{factory: f, streams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version, and the server's when a cluster is reachable",
		Example: `  kubectl podtask version
  kubectl podtask version --client -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().BoolVar(&o.clientOnly, "client", false, "Print the client version only; do not contact the server")
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// Complete has nothing to resolve: version needs no kubeconfig unless it
// asks the server, in Run.
func (o *VersionOptions) Complete(*cobra.Command, []string) error { return nil }

// Validate checks the output format.
func (o *VersionOptions) Validate() error {
	if o.output != "" && o.output != "json" && o.output != "yaml" {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %q is not supported: use json or yaml", o.output)}
	}
	return nil
}

// Run prints the versions.
func (o *VersionOptions) Run() error {
	info := versionInfo{Client: clientVersion{
		Version: version, Commit: commit, BuildDate: date,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}}
	var serverErr error
	if !o.clientOnly {
		if v, err := o.factory.ServerVersion(); err != nil {
			serverErr = err
		} else {
			info.Server = &serverVersion{GitVersion: v.GitVersion, Platform: v.Platform}
		}
	}
	switch o.output {
	case "json":
		b, _ := json.MarshalIndent(info, "", "  ")
		fmt.Fprintln(o.streams.Out, string(b))
	case "yaml":
		b, _ := yaml.Marshal(info)
		fmt.Fprint(o.streams.Out, string(b))
	default:
		fmt.Fprintf(o.streams.Out, "Client Version: %s (commit %s)\n", info.Client.Version, info.Client.Commit)
		if info.Server != nil {
			fmt.Fprintf(o.streams.Out, "Server Version: %s\n", info.Server.GitVersion)
		}
	}
	if serverErr != nil {
		fmt.Fprintf(o.streams.ErrOut, "warning: server version unavailable: %v\n", serverErr)
	}
	return nil
}

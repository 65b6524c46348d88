package plugin

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/discovery"
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

func newCmdVersion(flags *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams) *cobra.Command {
	var clientOnly bool
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version, and the server's when a cluster is reachable",
		Example: `  kubectl podtask version
  kubectl podtask version --client -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--output %q is not supported: use json or yaml", output)}
			}
			info := versionInfo{Client: clientVersion{
				Version: version, Commit: commit, BuildDate: date,
				GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
			}}
			var serverErr error
			if !clientOnly {
				info.Server, serverErr = fetchServerVersion(flags)
			}
			switch output {
			case "json":
				b, _ := json.MarshalIndent(info, "", "  ")
				fmt.Fprintln(streams.Out, string(b))
			case "yaml":
				b, _ := yaml.Marshal(info)
				fmt.Fprint(streams.Out, string(b))
			default:
				fmt.Fprintf(streams.Out, "Client Version: %s (commit %s)\n", info.Client.Version, info.Client.Commit)
				if info.Server != nil {
					fmt.Fprintf(streams.Out, "Server Version: %s\n", info.Server.GitVersion)
				}
			}
			if serverErr != nil {
				fmt.Fprintf(streams.ErrOut, "warning: server version unavailable: %v\n", serverErr)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "Print the client version only; do not contact the server")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

func fetchServerVersion(flags *genericclioptions.ConfigFlags) (*serverVersion, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, err
	}
	return &serverVersion{GitVersion: v.GitVersion, Platform: v.Platform}, nil
}

// Command kubectl-podtask is the kubectl plugin "kubectl podtask": run one
// containerised task on a cluster, watch it, and get its result back.
package main

import (
	"fmt"
	"os"

	"github.com/podtask-dev/kubectl-podtask/pkg/plugin"
)

func main() {
	err := plugin.NewCmdPodtask(plugin.DefaultStreams()).Execute()
	if msg := plugin.ErrorLine(err); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(plugin.ExitCode(err))
}

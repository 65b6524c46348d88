package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// TestMain runs the plugin in every test as a least-privilege user: a
// ServiceAccount bound to a Role with exactly the permissions README
// documents. Tests that need more use the admin kubeconfig for their own
// client-go calls only.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	admin := e2eutil.ClusterDir() + "/kubeconfig"
	if _, err := os.Stat(admin); err == nil && os.Getenv(e2eutil.PluginKubeconfigEnv) == "" {
		dir, err := os.MkdirTemp("", "podtask-e2e-")
		if err == nil {
			defer os.RemoveAll(dir)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			path, err := e2eutil.ServiceAccountKubeconfig(ctx, admin, "default", "podtask-e2e", e2eutil.PodtaskRules, dir)
			cancel()
			if err != nil {
				fmt.Fprintf(os.Stderr, "e2e: could not set up the least-privilege user the plugin runs as: %v\n", err)
				return 1
			} else {
				os.Setenv(e2eutil.PluginKubeconfigEnv, path)
				fmt.Fprintf(os.Stderr, "e2e: the plugin runs as system:serviceaccount:default:podtask-e2e (%s)\n", path)
			}
		}
	}
	return m.Run()
}

package plugin

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

func stdinIsTerminal(genericiooptions.IOStreams) bool { return false }

func runDebugCopy(ctx context.Context, s genericiooptions.IOStreams, e *launch.Engine, pod *corev1.Pod, quiet bool) error {
	return errors.New("todo")
}

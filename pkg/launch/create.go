package launch

// create.go: creating a task pod without following it (run --detach).

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// Create creates pod and returns it as the server has it, without
// following it: `run --detach`, to be picked up later with attach. A create
// whose answer was lost and that is retried takes its own pod.
func (e *Engine) Create(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	created, err := e.create(ctx, pod)
	if err != nil {
		return nil, &APIError{Op: "create pod", Err: err}
	}
	return created, nil
}

// Cleanup: the on-finish action carried out (the pod deleted, or kept with
// the command to attach), even after an interrupt. The decision is in
// cleanup_policy.go.

package launch

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cleanup applies action. It runs even when ctx is cancelled (that is when it
// matters most), bounded by the engine's CleanupTimeout.
func (t *tracker) cleanup(ctx context.Context, action OnFinishAction, active bool) {
	t.stage(StageCleaning)
	if t.pod == nil {
		return
	}
	if !t.willDelete(action, active) {
		t.emit(&Cleanup{At: t.at(), Action: action, Deleted: false,
			Reason: "kept by " + string(action) + "; attach with: kubectl podtask attach " + t.pod.Name + " -n " + t.pod.Namespace})
		return
	}
	d := t.e.CleanupTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	err := t.e.retryTransient(cctx, func(ctx context.Context) error {
		opts := metav1.DeleteOptions{}
		if t.pod.UID != "" {
			opts.Preconditions = &metav1.Preconditions{UID: &t.pod.UID}
		}
		if allTerminated(t.pod) {
			// Nothing is left to stop: the pod goes at once, without the
			// kubelet's round trip of a graceful deletion.
			zero := int64(0)
			opts.GracePeriodSeconds = &zero
		}
		err := t.e.Client.Pods(t.pod.Namespace).Delete(ctx, t.pod.Name, opts)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		t.emit(&Notice{At: t.at(), Level: "warning", Message: "could not delete pod " + t.pod.Name + ": " + describeAPIError(err)})
		t.emit(&Cleanup{At: t.at(), Action: action, Deleted: false, Reason: "delete failed"})
		return
	}
	t.result.Deleted = true
	t.emit(&Cleanup{At: t.at(), Action: action, Deleted: true, Reason: "deleted by " + string(action)})
}

// allTerminated says whether every container of the pod (init containers
// included) has terminated, as the latest state seen says.
func allTerminated(pod *corev1.Pod) bool {
	if len(pod.Status.ContainerStatuses) < len(pod.Spec.Containers) {
		return false
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if cs.State.Terminated == nil {
			return false
		}
	}
	return true
}

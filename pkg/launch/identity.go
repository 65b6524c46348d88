// A task pod's identity: the labels and annotations render writes, read
// back (options, task name, the task's phase).

package launch

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// Keys of the labels and annotations that identify a task pod and tell
// attach how to finish it: the ones the render package writes.
const (
	LabelManagedBy          = render.LabelManagedBy
	ManagedByValue          = render.ManagedByValue
	LabelTask               = render.LabelTask
	LabelRunID              = render.LabelRunID
	AnnotationTask          = render.AnnotationTask
	AnnotationBaseContainer = render.AnnotationBaseContainer
	AnnotationXComMode      = render.AnnotationXComMode
	AnnotationOnFinish      = render.AnnotationOnFinish

	// XComSidecarName is the sidecar that keeps the XCom volume alive.
	XComSidecarName = render.XComSidecarName
	// DefaultBaseContainer is KPO's base container name.
	DefaultBaseContainer = render.DefaultBaseContainerName
)

// OptionsFromPod fills the options the caller left empty from the pod's
// annotations, so that a task is finished the way it was started.
func OptionsFromPod(pod *corev1.Pod, o Options) Options {
	a := pod.Annotations
	if o.BaseContainer == "" {
		o.BaseContainer = a[AnnotationBaseContainer]
	}
	if o.BaseContainer == "" {
		o.BaseContainer = DefaultBaseContainer
		if len(pod.Spec.Containers) > 0 && !hasContainer(pod, DefaultBaseContainer) {
			o.BaseContainer = pod.Spec.Containers[0].Name
		}
	}
	if o.XCom == XComNone {
		o.XCom = XComMode(a[AnnotationXComMode])
	}
	if o.OnFinish == "" {
		o.OnFinish = OnFinishAction(a[AnnotationOnFinish])
	}
	if o.OnFinish == "" {
		o.OnFinish = DeletePod
	}
	return o
}

// TaskName is a task pod's task name: its annotation (the name as given),
// else its label (the name as a label value), else "".
func TaskName(pod *corev1.Pod) string {
	if n := pod.Annotations[AnnotationTask]; n != "" {
		return n
	}
	return pod.Labels[LabelTask]
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// TaskPhase is a task pod's phase as the task sees it: Terminating while the
// pod is being deleted; once the base container has ended, Succeeded or
// Failed by its exit code (the pod's own phase can lag behind, or wait for
// the XCom sidecar); else the pod's phase. exitCode is nil while the base
// container has not ended.
func TaskPhase(pod *corev1.Pod, base string) (phase string, exitCode *int32) {
	if term := terminated(pod, base); term != nil {
		code := term.ExitCode
		exitCode = &code
	}
	switch {
	case pod.DeletionTimestamp != nil:
		return "Terminating", exitCode
	case exitCode == nil:
		return string(pod.Status.Phase), nil
	case *exitCode == 0:
		return string(corev1.PodSucceeded), exitCode
	default:
		return string(corev1.PodFailed), exitCode
	}
}

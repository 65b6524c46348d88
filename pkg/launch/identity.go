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

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

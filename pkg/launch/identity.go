package launch

import (
	corev1 "k8s.io/api/core/v1"
)

// Keys of the labels and annotations that identify a task pod and tell
// attach how to finish it. They are the ones the render package writes.
const (
	LabelManagedBy          = "app.kubernetes.io/managed-by"
	ManagedByValue          = "kubectl-podtask"
	LabelTask               = "podtask.dev/task"
	LabelRunID              = "podtask.dev/run-id"
	AnnotationTask          = "podtask.dev/task-name"
	AnnotationBaseContainer = "podtask.dev/base-container"
	AnnotationXComMode      = "podtask.dev/xcom-mode"
	AnnotationOnFinish      = "podtask.dev/on-finish-action"

	// XComSidecarName is the sidecar that keeps the XCom volume alive.
	XComSidecarName = "airflow-xcom-sidecar"
	// DefaultBaseContainer is KPO's base container name.
	DefaultBaseContainer = "base"
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

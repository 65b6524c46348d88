package render

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// failedTaskPod is a task pod as the API server returns it after it failed.
func failedTaskPod() *corev1.Pod {
	deadline := int64(600)
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "etl-abcd1234", Namespace: "jobs", UID: "u1", ResourceVersion: "42",
			Labels: map[string]string{LabelManagedBy: ManagedByValue, LabelTask: "etl", LabelRunID: "r1", "app": "etl", "controller-uid": "x"},
			Annotations: map[string]string{AnnotationTask: "etl", AnnotationRunID: "r1", AnnotationBaseContainer: "base",
				AnnotationOnFinish: OnFinishKeepPod, AnnotationXComMode: XComSidecar, "team": "data"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "etl-123", APIVersion: "batch/v1"}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-a", RestartPolicy: corev1.RestartPolicyNever, ActiveDeadlineSeconds: &deadline,
			ServiceAccountName: "etl-sa", NodeSelector: map[string]string{"disk": "ssd"},
			Tolerations:    []corev1.Toleration{{Key: "batch", Operator: corev1.TolerationOpExists}},
			InitContainers: []corev1.Container{{Name: "fetch", Image: "busybox:1.35", Command: []string{"true"}}},
			Containers: []corev1.Container{
				{Name: "base", Image: "python:3.12", Command: []string{"python"}, Args: []string{"job.py", "--all"},
					Env:            []corev1.EnvVar{{Name: "DB", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "url"}}}},
					EnvFrom:        []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
					LivenessProbe:  probe,
					ReadinessProbe: probe,
					Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
					VolumeMounts: []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}, {Name: "scratch", MountPath: "/scratch"},
						{Name: XComVolumeName, MountPath: XComMountPath}, {Name: "kube-api-access-x1", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}},
				{Name: XComSidecarName, Image: DefaultXComSidecarImage, Command: XComSidecarCommand,
					VolumeMounts: []corev1.VolumeMount{{Name: XComVolumeName, MountPath: XComMountPath}}},
			},
			Volumes: []corev1.Volume{
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: XComVolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "kube-api-access-x1", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
			},
		},
		Status: corev1.PodStatus{Phase: corev1.PodFailed},
	}
}

func TestDebugCopyKeepsTheEnvironment(t *testing.T) {
	orig := failedTaskPod()
	cp, diffs, err := DebugCopy(orig, "base", DebugOptions{TTY: true, RunID: "r2", NameSuffix: "zzzzzzzz"})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Name != "etl-debug-zzzzzzzz" || cp.Namespace != "jobs" {
		t.Errorf("name = %s/%s", cp.Namespace, cp.Name)
	}
	b := cp.Spec.Containers[0]
	if !reflect.DeepEqual(b.Command, []string{"sh"}) || b.Args != nil || !b.Stdin || b.StdinOnce || !b.TTY {
		t.Errorf("base = command %q args %q stdin %v once %v tty %v", b.Command, b.Args, b.Stdin, b.StdinOnce, b.TTY)
	}
	if b.LivenessProbe != nil || b.ReadinessProbe != nil {
		t.Error("probes kept")
	}
	o := orig.Spec.Containers[0]
	if b.Image != o.Image || !reflect.DeepEqual(b.Env, o.Env) || !reflect.DeepEqual(b.EnvFrom, o.EnvFrom) || !reflect.DeepEqual(b.Resources, o.Resources) {
		t.Error("image, env, envFrom or resources changed")
	}
	if len(b.VolumeMounts) != 3 {
		t.Errorf("mounts = %v, want creds, scratch, xcom (the token volume is injected anew)", b.VolumeMounts)
	}
	s := cp.Spec
	if s.NodeName != "" || s.ActiveDeadlineSeconds != nil || s.ServiceAccountName != "etl-sa" ||
		!reflect.DeepEqual(s.NodeSelector, orig.Spec.NodeSelector) || !reflect.DeepEqual(s.Tolerations, orig.Spec.Tolerations) ||
		len(s.InitContainers) != 1 || len(s.Containers) != 2 || len(s.Volumes) != 3 || s.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("spec = %+v", s)
	}
	if cp.UID != "" || cp.ResourceVersion != "" || cp.OwnerReferences != nil || cp.Status.Phase != "" {
		t.Error("server fields or owners kept")
	}
	wantLabels := map[string]string{LabelManagedBy: ManagedByValue, LabelTask: "etl-debug", LabelRunID: "r2"}
	if !reflect.DeepEqual(cp.Labels, wantLabels) {
		t.Errorf("labels = %v, want %v", cp.Labels, wantLabels)
	}
	a := cp.Annotations
	if a[AnnotationDebugOf] != "etl-abcd1234" || a[AnnotationOnFinish] != OnFinishDeletePod || a[AnnotationXComMode] != XComSidecar ||
		a[AnnotationBaseContainer] != "base" || a["team"] != "data" || a[AnnotationRunID] != "r2" {
		t.Errorf("annotations = %v", a)
	}
	for _, want := range []string{"runs sh instead of python job.py --all", "emptyDir volumes start empty: scratch",
		"node node-a", "labels are dropped", "app, controller-uid", "probes are dropped: base", "activeDeadlineSeconds (600)",
		"init containers run again: fetch", "Job/etl-123"} {
		if !strings.Contains(strings.Join(diffs, "\n"), want) {
			t.Errorf("differences lack %q:\n%s", want, strings.Join(diffs, "\n"))
		}
	}
	if orig.Spec.Containers[0].Command[0] != "python" || orig.Labels["app"] != "etl" || len(orig.Spec.Volumes) != 4 {
		t.Error("the original was changed")
	}
}

func TestDebugCopyOptions(t *testing.T) {
	cp, diffs, err := DebugCopy(failedTaskPod(), "base", DebugOptions{Command: []string{"bash", "-l"}, Image: "debian:13", Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	b := cp.Spec.Containers[0]
	if !reflect.DeepEqual(b.Command, []string{"bash", "-l"}) || b.Image != "debian:13" || b.TTY || !b.StdinOnce {
		t.Errorf("base = %q %s tty %v", b.Command, b.Image, b.TTY)
	}
	if cp.Annotations[AnnotationOnFinish] != OnFinishKeepPod {
		t.Errorf("on-finish = %s, want keep_pod", cp.Annotations[AnnotationOnFinish])
	}
	if !strings.Contains(strings.Join(diffs, "\n"), "runs image debian:13 instead of python:3.12") {
		t.Errorf("differences: %v", diffs)
	}
}

func TestDebugCopyOfAPlainPod(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1"}}}}
	cp, _, err := DebugCopy(pod, "nginx", DebugOptions{TTY: true})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Labels[LabelTask] != "web-7d9f-debug" || cp.Labels["app"] != "" || cp.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("copy = %v %v", cp.Labels, cp.Spec.RestartPolicy)
	}
	if _, _, err := DebugCopy(pod, "base", DebugOptions{}); err == nil || !strings.Contains(err.Error(), `no container "base" (it has nginx)`) {
		t.Errorf("err = %v", err)
	}
}

func TestDebugCopyNamesWhatRenderingDropped(t *testing.T) {
	tpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nightly"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "job", Image: "busybox:1.35",
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}}}}}
	rendered := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nightly-x", Annotations: map[string]string{AnnotationTask: "nightly"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "base", Image: "busybox:1.35", Command: []string{"run"}}}}}
	_, diffs, err := DebugCopy(rendered, "base", DebugOptions{Template: tpl})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(diffs, "\n")
	if !strings.Contains(got, "labels are dropped, so Services and controllers do not select the copy: app") || !strings.Contains(got, "probes are dropped: job") {
		t.Errorf("differences:\n%s", got)
	}
}

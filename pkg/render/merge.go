package render

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MergePods merges client on top of base with KubernetesPodOperator's
// reconcile_pods rules:
//
//   - metadata: labels and annotations are merged (client wins per key),
//     finalizers and ownerReferences are concatenated (base first), any
//     other field is the client's when the client sets it;
//   - spec: initContainers and volumes are concatenated (base first);
//     containers are matched by position: for each pair, volumeMounts, env,
//     envFrom, ports and volumeDevices are concatenated (base first) and any
//     other field is the client's when set; extra containers of either side
//     are kept; any other spec field is the client's when set;
//   - status is dropped.
//
// Neither input is modified. Either may be nil.
func MergePods(base, client *corev1.Pod) *corev1.Pod {
	switch {
	case base == nil && client == nil:
		return nil
	case base == nil:
		return client.DeepCopy()
	case client == nil:
		return base.DeepCopy()
	}
	b, c := base.DeepCopy(), client.DeepCopy()
	out := &corev1.Pod{TypeMeta: c.TypeMeta}
	if out.APIVersion == "" {
		out.TypeMeta = b.TypeMeta
	}
	out.ObjectMeta = mergeMeta(b.ObjectMeta, c.ObjectMeta)
	out.Spec = mergeSpec(b.Spec, c.Spec)
	return out
}

func mergeMeta(b, c metav1.ObjectMeta) metav1.ObjectMeta {
	labels := mergeMaps(b.Labels, c.Labels)
	annotations := mergeMaps(b.Annotations, c.Annotations)
	finalizers := concat(b.Finalizers, c.Finalizers)
	owners := concat(b.OwnerReferences, c.OwnerReferences)
	out := c
	mergeShallow(&out, &b)
	out.Labels, out.Annotations, out.Finalizers, out.OwnerReferences = labels, annotations, finalizers, owners
	return out
}

func mergeSpec(b, c corev1.PodSpec) corev1.PodSpec {
	init := concat(b.InitContainers, c.InitContainers)
	vols := concat(b.Volumes, c.Volumes)
	containers := mergeContainers(b.Containers, c.Containers)
	out := c
	mergeShallow(&out, &b)
	out.InitContainers, out.Volumes, out.Containers = init, vols, containers
	return out
}

func mergeContainers(b, c []corev1.Container) []corev1.Container {
	if len(b) == 0 {
		return c
	}
	if len(c) == 0 {
		return b
	}
	n := max(len(b), len(c))
	out := make([]corev1.Container, 0, n)
	for i := 0; i < n; i++ {
		switch {
		case i >= len(c):
			out = append(out, b[i])
		case i >= len(b):
			out = append(out, c[i])
		default:
			out = append(out, MergeContainer(b[i], c[i]))
		}
	}
	return out
}

// MergeContainer merges client on top of base (KPO's rule for one pair of
// containers matched by position).
func MergeContainer(b, c corev1.Container) corev1.Container {
	mounts := concat(b.VolumeMounts, c.VolumeMounts)
	env := concat(b.Env, c.Env)
	envFrom := concat(b.EnvFrom, c.EnvFrom)
	ports := concat(b.Ports, c.Ports)
	devices := concat(b.VolumeDevices, c.VolumeDevices)
	out := c
	mergeShallow(&out, &b)
	out.VolumeMounts, out.Env, out.EnvFrom, out.Ports, out.VolumeDevices = mounts, env, envFrom, ports, devices
	return out
}

// mergeShallow sets every zero field of *dst to the field of *src.
func mergeShallow[T any](dst, src *T) {
	dv := reflect.ValueOf(dst).Elem()
	sv := reflect.ValueOf(src).Elem()
	for i := 0; i < dv.NumField(); i++ {
		f := dv.Field(i)
		if !f.CanSet() {
			continue
		}
		if unset(f) {
			f.Set(sv.Field(i))
		}
	}
}

func concat[T any](a, b []T) []T {
	if len(a) == 0 && len(b) == 0 {
		if a != nil {
			return a
		}
		return b
	}
	out := make([]T, 0, len(a)+len(b))
	out = append(out, a...)
	return append(out, b...)
}

func mergeMaps(a, b map[string]string) map[string]string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// unset is KPO's "not truthy": zero values, and empty lists and maps.
func unset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

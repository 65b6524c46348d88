package render

import (
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// File is a manifest read from disk (pod_template_file, full_pod_spec).
type File struct {
	Path string
	Data []byte
}

// Options are the inputs of Render that do not come from the task itself.
type Options struct {
	RunID      string    // the run id; NewRunID() when empty
	Now        time.Time // the time templates see; time.Now() when zero
	NameSuffix string    // the pod name's suffix; random when empty (and random_name_suffix is on)

	// Base is the pod template of a workload (--from), the bottom layer.
	Base *corev1.PodTemplateSpec
	// BaseName names the workload Base comes from; it is the task name
	// when the task has none.
	BaseName string

	TemplateFile *File // the content of the task's pod_template_file
	FullPodSpec  *File // the content of the task's full_pod_spec

	// DefaultNamespace is the namespace when neither the task nor a
	// template names one (the kubeconfig context's).
	DefaultNamespace string
}

// Complete fills in the task's defaults and resolves do_xcom_push and
// xcom_mode into XCom. It is idempotent; Render calls it.
func (t *Task) Complete() error {
	if t.BaseContainerName == "" {
		t.BaseContainerName = DefaultBaseContainerName
	}
	switch t.XCom {
	case XComNone, XComSidecar, XComTerminationMessage:
	default:
		return fieldErr("xcom_mode", "must be %q or %q, got %q", XComSidecar, XComTerminationMessage, t.XCom)
	}
	if t.DoXComPush != nil {
		if !*t.DoXComPush && t.XCom != XComNone {
			return fieldErr("xcom_mode", "is %q but do_xcom_push is false; drop one of them", t.XCom)
		}
		if *t.DoXComPush && t.XCom == XComNone {
			t.XCom = XComSidecar
		}
	}
	if t.OnFinishAction == "" {
		t.OnFinishAction = DefaultOnFinishAction
	}
	switch t.OnFinishAction {
	case OnFinishDeletePod, OnFinishKeepPod, OnFinishDeleteSucceededPod, OnFinishDeleteActivePod:
	default:
		return fieldErr("on_finish_action", "must be one of delete_pod, keep_pod, delete_succeeded_pod, delete_active_pod, got %q", t.OnFinishAction)
	}
	// As in KubernetesPodOperator, the schedule timeout is the startup
	// timeout when only that is given.
	if t.ScheduleTimeout == 0 && t.StartupTimeout > 0 {
		t.ScheduleTimeout = t.StartupTimeout
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"schedule_timeout_seconds", &t.ScheduleTimeout, DefaultScheduleTimeout},
		{"startup_timeout_seconds", &t.StartupTimeout, DefaultStartupTimeout},
		{"image_pull_grace_seconds", &t.ImagePullGrace, DefaultImagePullGrace},
	} {
		if *d.v < 0 {
			return fieldErr(d.name, "must not be negative, got %s", *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if t.XCom == XComSidecar && t.XComSidecarImage == "" {
		t.XComSidecarImage = DefaultXComSidecarImage
	}
	if t.RandomNameSuffix == nil {
		yes := true
		t.RandomNameSuffix = &yes
	}
	return t.completeRetries()
}

// taskNameSource is the name the task is known by before templating: its name,
// else the --from workload's, else the template's pod name, else the
// image's repository name.
func taskNameSource(t *Task, opts Options, layers []*corev1.Pod) string {
	if t.Name != "" {
		return t.Name
	}
	if opts.BaseName != "" {
		return opts.BaseName
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i] != nil && layers[i].Name != "" {
			return layers[i].Name
		}
	}
	if t.Image != "" {
		img := t.Image
		if i := strings.IndexAny(img, "@"); i >= 0 {
			img = img[:i]
		}
		img = path.Base(img)
		if i := strings.Index(img, ":"); i >= 0 {
			img = img[:i]
		}
		return img
	}
	return ""
}

// Result is what Build makes of a task.
type Result struct {
	Pod *corev1.Pod
	// Task is the task as rendered: templates executed, KubernetesPodOperator's
	// normalisations applied (env secret targets upper-cased). It is what
	// `render -o airflow` prints.
	Task *Task
	// Name is the task name (after templating): what the pod is named after.
	Name string
	// Warnings say where the pod differs from what the task seems to ask,
	// or from what KubernetesPodOperator would build (docs/kpo-conformance.md).
	Warnings []Warning
}

// Render builds the task's Pod; see Build. Its warnings are dropped.
func Render(t *Task, opts Options) (*corev1.Pod, error) {
	r, err := Build(t, opts)
	if err != nil {
		return nil, err
	}
	return r.Pod, nil
}

// Build builds the task's Pod: it completes and validates the task,
// renders its templates, merges --from base, pod_template_file,
// full_pod_spec and the task's own fields (in that order, KPO's rules, see
// MergePods), adds the XCom parts, and sets restartPolicy Never, the name,
// the namespace, and the identity labels and annotations. Errors are
// *FieldError naming the field. Build does not talk to the cluster; it
// completes t in place (see Complete) and otherwise leaves it as it is.
func Build(t *Task, opts Options) (*Result, error) {
	if t == nil {
		return nil, fieldErr("", "no task")
	}
	if err := t.Complete(); err != nil {
		return nil, err
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	var warns []Warning

	// Layers, bottom first.
	var layers []*corev1.Pod
	if opts.Base != nil {
		layers = append(layers, PodFromTemplate(opts.Base))
	}
	for _, f := range []struct {
		field string
		path  string
		file  *File
	}{
		{"pod_template_file", t.PodTemplateFile, opts.TemplateFile},
		{"full_pod_spec", t.FullPodSpec, opts.FullPodSpec},
	} {
		if f.file == nil {
			if f.path != "" {
				return nil, fieldErr(f.field, "file %s was not loaded", f.path)
			}
			continue
		}
		p := f.file.Path
		if p == "" {
			p = f.field
		}
		pod, err := ParsePod(p, f.file.Data)
		if err != nil {
			return nil, err
		}
		layers = append(layers, pod)
	}

	// Nothing to run: say what is missing first.
	if t.Image == "" && layerImage(layers) == "" {
		return nil, fieldErr("image", "is required (give --image, image: in the task file, or a template with one)")
	}

	// The namespace: the task's (or -n), else the template's, as
	// KubernetesPodOperator and kubectl apply do, else the default.
	if err := validateName("namespace", t.Namespace, validation.IsDNS1123Label); err != nil {
		return nil, err
	}
	ns := t.Namespace
	if ns == "" {
		for i := len(layers) - 1; i >= 0 && ns == ""; i-- {
			ns = layers[i].Namespace
		}
		if err := validateName("metadata.namespace", ns, validation.IsDNS1123Label); err != nil {
			return nil, err
		}
	}
	if ns == "" {
		ns = opts.DefaultNamespace
	}
	nt := *t
	nt.Namespace = ns
	t = &nt

	// The name first: it is a template that cannot see task_name.
	rawName := taskNameSource(t, opts, layers)
	name, err := execTemplate("name", rawName, templateData(t, opts.RunID, opts.Now, ""))
	if err != nil {
		return nil, err
	}
	if rawName == "" {
		return nil, fieldErr("name", "is required (give --name, or name: in the task file)")
	}
	if SanitizeName(name, maxNameLen) == "" {
		return nil, fieldErr("name", "%q has no letters or digits to make a pod name from", name)
	}

	rt, err := applyTemplates(t, templateData(t, opts.RunID, opts.Now, name))
	if err != nil {
		return nil, err
	}
	rt.Namespace = ns
	normalizeKPO(rt)
	if err := validateTask(rt); err != nil {
		return nil, err
	}
	warns = append(warns, taskWarnings(rt, name)...)
	own, err := taskPod(rt)
	if err != nil {
		return nil, err
	}

	var pod *corev1.Pod
	for _, l := range append(layers, own) {
		pod = MergePods(pod, l)
	}
	warns = append(warns, overrideWarnings(rt, layers, pod)...)

	suffix := ""
	if *t.RandomNameSuffix {
		suffix = opts.NameSuffix
		if suffix == "" {
			suffix = RandomSuffix(suffixLen)
		}
	}
	pod.TypeMeta.APIVersion, pod.TypeMeta.Kind = "v1", "Pod"
	pod.Name = PodName(name, suffix)
	pod.GenerateName = ""
	pod.Namespace = ns
	// What the server sets (a template exported with kubectl get -o yaml has it).
	pod.UID, pod.ResourceVersion, pod.Generation, pod.ManagedFields = "", "", 0, nil
	pod.CreationTimestamp, pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = metav1.Time{}, nil, nil
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	pod.Status = corev1.PodStatus{}

	if err := addXCom(pod, rt); err != nil {
		return nil, err
	}
	if err := addFilesAndArtifacts(pod, t); err != nil { // paths as given, not templated: the upload uses them
		return nil, err
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[LabelManagedBy] = ManagedByValue
	pod.Labels[LabelTask] = LabelValue(name)
	pod.Labels[LabelRunID] = LabelValue(opts.RunID)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[AnnotationTask] = name
	pod.Annotations[AnnotationRunID] = opts.RunID
	pod.Annotations[AnnotationBaseContainer] = t.BaseContainerName
	pod.Annotations[AnnotationOnFinish] = t.OnFinishAction
	if t.XCom != XComNone {
		pod.Annotations[AnnotationXComMode] = t.XCom
	} else {
		delete(pod.Annotations, AnnotationXComMode)
	}
	if len(t.SkipOnExitCode) > 0 {
		pod.Annotations[AnnotationSkipOnExitCode] = exitCodesString(t.SkipOnExitCode)
	} else {
		delete(pod.Annotations, AnnotationSkipOnExitCode)
	}
	if err := validatePod(pod, t.BaseContainerName); err != nil {
		return nil, err
	}
	return &Result{Pod: pod, Task: rt, Name: name, Warnings: warns}, nil
}

// layerImage is the image of the first container of the topmost layer that
// has one: the image the base container gets when the task names none.
func layerImage(layers []*corev1.Pod) string {
	for i := len(layers) - 1; i >= 0; i-- {
		if cs := layers[i].Spec.Containers; len(cs) > 0 && cs[0].Image != "" {
			return cs[0].Image
		}
	}
	return ""
}

// PodFromTemplate turns a workload's pod template (or a pod) into a base
// layer: what only the original object should carry is dropped (labels, so
// Services and controllers do not pick the copy up; identity, owners, node
// binding, ephemeral containers, the injected service account token volume,
// and probes, which a changed command would fail).
func PodFromTemplate(tpl *corev1.PodTemplateSpec) *corev1.Pod {
	pod := &corev1.Pod{Spec: *tpl.Spec.DeepCopy()}
	pod.Annotations = make(map[string]string)
	for k, v := range tpl.Annotations {
		if strings.HasPrefix(k, "kubectl.kubernetes.io/last-applied-configuration") || strings.HasPrefix(k, "podtask.dev/") {
			continue
		}
		pod.Annotations[k] = v
	}
	if len(pod.Annotations) == 0 {
		pod.Annotations = nil
	}
	s := &pod.Spec
	s.NodeName = ""
	s.EphemeralContainers = nil
	s.Priority = nil
	drop := map[string]bool{}
	vols := s.Volumes[:0:0]
	for _, v := range s.Volumes {
		if strings.HasPrefix(v.Name, "kube-api-access-") && v.Projected != nil {
			drop[v.Name] = true
			continue
		}
		vols = append(vols, v)
	}
	s.Volumes = vols
	for _, cs := range [][]corev1.Container{s.InitContainers, s.Containers} {
		for i := range cs {
			mounts := cs[i].VolumeMounts[:0:0]
			for _, m := range cs[i].VolumeMounts {
				if !drop[m.Name] {
					mounts = append(mounts, m)
				}
			}
			cs[i].VolumeMounts = mounts
			// As kubectl debug --copy-to: a changed command would fail them.
			cs[i].LivenessProbe, cs[i].ReadinessProbe, cs[i].StartupProbe = nil, nil, nil
		}
	}
	return pod
}

// taskPod is the task's own layer: one base container and the pod fields.
func taskPod(t *Task) (*corev1.Pod, error) {
	c := corev1.Container{
		Name:                     t.BaseContainerName,
		Image:                    t.Image,
		Command:                  t.Cmds,
		Args:                     t.Arguments,
		Ports:                    t.Ports,
		ImagePullPolicy:          t.ImagePullPolicy,
		SecurityContext:          t.ContainerSecurityContext,
		VolumeMounts:             t.VolumeMounts,
		TerminationMessagePolicy: t.TerminationMessagePolicy,
		EnvFrom:                  t.EnvFrom,
	}
	c.Env = append(c.Env, t.EnvVars...)
	for _, e := range t.PodRuntimeInfoEnvs {
		from := e.ValueFrom
		if from == nil {
			from = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: e.FieldPath}}
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, ValueFrom: from})
	}
	for _, cm := range t.ConfigMaps {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: cm}}})
	}
	if t.ContainerResources != nil {
		var err error
		if c.Resources.Requests, err = quantities("container_resources.requests", t.ContainerResources.Requests); err != nil {
			return nil, err
		}
		if c.Resources.Limits, err = quantities("container_resources.limits", t.ContainerResources.Limits); err != nil {
			return nil, err
		}
		for k, l := range c.Resources.Limits {
			if r, ok := c.Resources.Requests[k]; ok && r.Cmp(l) > 0 {
				return nil, fieldErr("container_resources.requests."+string(k), "%s is more than its limit %s", r.String(), l.String())
			}
		}
	}
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		NodeSelector:                  t.NodeSelector,
		Affinity:                      t.Affinity,
		Tolerations:                   t.Tolerations,
		ServiceAccountName:            t.ServiceAccountName,
		AutomountServiceAccountToken:  t.AutomountServiceAccountToken,
		HostAliases:                   t.HostAliases,
		Hostname:                      t.Hostname,
		Subdomain:                     t.Subdomain,
		DNSPolicy:                     t.DNSPolicy,
		DNSConfig:                     t.DNSConfig,
		SecurityContext:               t.SecurityContext,
		PriorityClassName:             t.PriorityClassName,
		SchedulerName:                 t.SchedulerName,
		ActiveDeadlineSeconds:         t.ActiveDeadlineSeconds,
		TerminationGracePeriodSeconds: t.TerminationGracePeriod,
		InitContainers:                t.InitContainers,
		Volumes:                       t.Volumes,
	}
	if t.HostNetwork != nil {
		spec.HostNetwork = *t.HostNetwork
	}
	for _, s := range t.ImagePullSecrets {
		spec.ImagePullSecrets = append(spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	addSecrets(&spec, t.Secrets)
	pod := &corev1.Pod{Spec: spec}
	pod.Labels = t.Labels
	pod.Annotations = t.Annotations
	return pod, nil
}

// addSecrets applies KPO's three secret forms to the base container (the
// first container of spec).
func addSecrets(spec *corev1.PodSpec, secrets []Secret) {
	c := &spec.Containers[0]
	for i, s := range secrets {
		switch {
		case s.DeployType == "env" && s.Key != "":
			c.Env = append(c.Env, corev1.EnvVar{Name: s.DeployTarget, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: s.Secret}, Key: s.Key}}})
		case s.DeployType == "env":
			c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: s.Secret}}})
		case s.DeployType == "volume":
			name := secretVolumeName(i, s.Secret)
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
				Secret: &corev1.SecretVolumeSource{SecretName: s.Secret, Items: s.Items}}})
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: s.DeployTarget, ReadOnly: true})
		}
	}
}

func secretVolumeName(i int, secret string) string {
	prefix := fmt.Sprintf("secretvol%d-", i)
	return prefix + SanitizeName(secret, maxNameLen-len(prefix))
}

// addXCom adds the XCom volume, mounts, sidecar or termination message path.
func addXCom(pod *corev1.Pod, t *Task) error {
	if t.XCom == XComNone {
		return nil
	}
	base := findContainer(pod.Spec.Containers, t.BaseContainerName)
	if base == nil {
		return nil // reported by validatePod
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == XComVolumeName {
			return fieldErr("volumes", "a volume is named %q, which the XCom result needs; rename it", XComVolumeName)
		}
	}
	// First in the lists, as KubernetesPodOperator's add_xcom_sidecar puts them.
	pod.Spec.Volumes = append([]corev1.Volume{{Name: XComVolumeName,
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, pod.Spec.Volumes...)
	mount := corev1.VolumeMount{Name: XComVolumeName, MountPath: XComMountPath}
	base.VolumeMounts = append([]corev1.VolumeMount{mount}, base.VolumeMounts...)
	switch t.XCom {
	case XComSidecar:
		if findContainer(pod.Spec.Containers, XComSidecarName) != nil {
			return fieldErr("containers", "a container is already named %q, the XCom sidecar's name", XComSidecarName)
		}
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{
			Name:            XComSidecarName,
			Image:           t.XComSidecarImage,
			Command:         append([]string(nil), XComSidecarCommand...),
			ImagePullPolicy: corev1.PullIfNotPresent,
			VolumeMounts:    []corev1.VolumeMount{mount},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("1m"),
				corev1.ResourceMemory: resource.MustParse("10Mi"),
			}},
		})
	case XComTerminationMessage:
		if base.TerminationMessagePolicy != "" && base.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			return fieldErr("termination_message_policy", "must be File with xcom_mode %s, got %s", XComTerminationMessage, base.TerminationMessagePolicy)
		}
		base.TerminationMessagePath = XComResultPath
		base.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	return nil
}

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func quantities(field string, in map[string]Quantity) (corev1.ResourceList, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for k, v := range in {
		if k == "" {
			return nil, fieldErr(field, "a resource name is empty")
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(string(v)))
		if err != nil {
			return nil, fieldErr(field+"."+k, "%q is not a quantity (e.g. 500m, 1, 256Mi, 2Gi)", string(v))
		}
		if q.Sign() < 0 {
			return nil, fieldErr(field+"."+k, "%q must not be negative", string(v))
		}
		out[corev1.ResourceName(k)] = q
	}
	return out, nil
}

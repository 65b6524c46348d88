// Jobs: a task's rendered pods (one per item) turned into one batch/v1 Job,
// Indexed when there are items, and the config map that gives each index
// its own command, arguments and environment; KubernetesJobOperator's
// parameters as task-file fields, and the ones refused.

package render

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// JobFields are KubernetesJobOperator's parameters, under the same names.
// The refused ones are kept raw, so that giving one is one clear error.
type JobFields struct {
	BackoffLimit            *int32                    `json:"backoff_limit,omitempty"`
	CompletionMode          string                    `json:"completion_mode,omitempty"`
	Completions             *int32                    `json:"completions,omitempty"`
	Parallelism             *int32                    `json:"parallelism,omitempty"`
	TTLSecondsAfterFinished *int32                    `json:"ttl_seconds_after_finished,omitempty"`
	WaitUntilJobComplete    *bool                     `json:"wait_until_job_complete,omitempty"`
	OnKillPropagationPolicy string                    `json:"on_kill_propagation_policy,omitempty"`
	PodFailurePolicy        *batchv1.PodFailurePolicy `json:"pod_failure_policy,omitempty"`

	Selector                json.RawMessage `json:"selector,omitempty"`
	ManualSelector          json.RawMessage `json:"manual_selector,omitempty"`
	Suspend                 json.RawMessage `json:"suspend,omitempty"`
	JobPollInterval         json.RawMessage `json:"job_poll_interval,omitempty"`
	Deferrable              json.RawMessage `json:"deferrable,omitempty"`
	JobTemplateFile         json.RawMessage `json:"job_template_file,omitempty"`
	FullJobSpec             json.RawMessage `json:"full_job_spec,omitempty"`
	DiscoverPodsRetryNumber json.RawMessage `json:"discover_pods_retry_number,omitempty"`
	UnwrapSingle            json.RawMessage `json:"unwrap_single,omitempty"`
}

// refusedJobFields says, for each KubernetesJobOperator parameter podtask
// does not take, what to do instead.
var refusedJobFields = []struct {
	name string
	get  func(*JobFields) json.RawMessage
	hint string
}{
	{"selector", func(f *JobFields) json.RawMessage { return f.Selector }, "the Job controller selects its pods by their controller-uid label; drop it"},
	{"manual_selector", func(f *JobFields) json.RawMessage { return f.ManualSelector }, "the Job controller selects its pods by their controller-uid label; drop it"},
	{"suspend", func(f *JobFields) json.RawMessage { return f.Suspend }, "a suspended Job runs nothing to follow; drop it (wait_until_job_complete: false creates the Job and leaves)"},
	{"job_poll_interval", func(f *JobFields) json.RawMessage { return f.JobPollInterval }, "the Job is watched, not polled; drop it"},
	{"deferrable", func(f *JobFields) json.RawMessage { return f.Deferrable }, "Airflow only; wait_until_job_complete: false (or --detach) creates the Job and leaves, attach job/NAME follows it later"},
	{"job_template_file", func(f *JobFields) json.RawMessage { return f.JobTemplateFile }, "give the pod with pod_template_file and the Job's settings with their own fields (backoff_limit, parallelism, ...)"},
	{"full_job_spec", func(f *JobFields) json.RawMessage { return f.FullJobSpec }, "give the pod with full_pod_spec and the Job's settings with their own fields (backoff_limit, parallelism, ...)"},
	{"discover_pods_retry_number", func(f *JobFields) json.RawMessage { return f.DiscoverPodsRetryNumber }, "the Job's pods are watched as they are created; drop it"},
	{"unwrap_single", func(f *JobFields) json.RawMessage { return f.UnwrapSingle }, "a Job without items returns its one result as it is, a Job with items an array; drop it"},
}

// Given says whether any Job field is set.
func (f *JobFields) Given() string {
	v := reflect.ValueOf(*f)
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return ""
}

// Check refuses the KubernetesJobOperator parameters podtask does not take
// and checks the others' values.
func (f *JobFields) Check() error {
	for _, r := range refusedJobFields {
		if len(r.get(f)) > 0 {
			return fieldErr(r.name, "is not supported: %s", r.hint)
		}
	}
	switch f.CompletionMode {
	case "", string(batchv1.IndexedCompletion), string(batchv1.NonIndexedCompletion):
	default:
		return fieldErr("completion_mode", "must be Indexed or NonIndexed, got %q", f.CompletionMode)
	}
	switch f.OnKillPropagationPolicy {
	case "", string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground):
	case string(metav1.DeletePropagationOrphan):
		return fieldErr("on_kill_propagation_policy", "Orphan would leave the Job's pods behind when podtask deletes the Job: use Foreground or Background")
	default:
		return fieldErr("on_kill_propagation_policy", "must be Foreground or Background, got %q", f.OnKillPropagationPolicy)
	}
	for _, n := range []struct {
		name string
		v    *int32
		min  int32
	}{{"backoff_limit", f.BackoffLimit, 0}, {"completions", f.Completions, 1}, {"parallelism", f.Parallelism, 1}, {"ttl_seconds_after_finished", f.TTLSecondsAfterFinished, 0}} {
		if n.v != nil && *n.v < n.min {
			return fieldErr(n.name, "must be %d or more, got %d", n.min, *n.v)
		}
	}
	return nil
}

// Labels and files of a Job's pods.
const (
	// JobNamePrefix starts every Job's name, as KubernetesJobOperator's.
	JobNamePrefix = "job-"
	// JobItemsVolume is the config map volume of the items, mounted at
	// JobItemsPath: one file per index that sets the index's environment
	// and runs its command, and params.json, the items' params in order.
	JobItemsVolume = "podtask-job-items"
	JobItemsPath   = "/podtask/job"
	// JobParamsKey is the config map's key of the items' params.
	JobParamsKey = "params.json"
	// AnnotationJobItems on a Job is the number of its items (0 without).
	AnnotationJobItems = "podtask.dev/job-items"
	// AnnotationJobPropagation on a Job is its on_kill_propagation_policy,
	// when given: how attach deletes it too.
	AnnotationJobPropagation = "podtask.dev/job-propagation"
)

// MaxInlineItems is the largest script of every index's command that the
// base container's command carries itself (a case on JOB_COMPLETION_INDEX);
// beyond it each index's file is in the config map, mounted.
const MaxInlineItems = 32 << 10

// inlineScript is one sh case over JOB_COMPLETION_INDEX of every index's file.
func inlineScript(files []string) string {
	var b strings.Builder
	b.WriteString(`case "$JOB_COMPLETION_INDEX" in` + "\n")
	for i, f := range files {
		b.WriteString(strconv.Itoa(i) + ")\n" + f + ";;\n")
	}
	b.WriteString(`*) echo "podtask: no item for index $JOB_COMPLETION_INDEX" >&2; exit 64;;` + "\nesac\n")
	return b.String()
}

// JobMountsItems says whether the Job's pods mount the config map cm, which
// must then exist before they start.
func JobMountsItems(job *batchv1.Job, cm *corev1.ConfigMap) bool {
	if cm == nil {
		return false
	}
	for _, v := range job.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			return true
		}
	}
	return false
}

// JobInput is what BuildJob makes a Job of.
type JobInput struct {
	// Pods are the task's rendered pods: one per item (render.SetMapIndex'd),
	// or the one pod of a task without items.
	Pods []*corev1.Pod
	// Params are the items' params, in item order; nil without items.
	Params []map[string]string
	// Items says the pods are items: an Indexed Job of len(Pods) completions.
	Items bool
	// Parallelism is the Job's parallelism (at most the completions).
	Parallelism int32
	// Retries is each index's retries: backoffLimitPerIndex of an Indexed
	// Job, backoffLimit of a NonIndexed one.
	Retries int32
	// FailFast fails the Job at its first failed index (maxFailedIndexes 0).
	FailFast bool
	// BaseContainer is the task's base container.
	BaseContainer string
	// Fields are the task's Job fields.
	Fields JobFields
}

// BuildJob builds the Job of in and, when there are items, its config map
// (named as the Job; the caller makes the Job its owner), which keeps the
// items' params for attach. Items may differ only in the base container's
// command, arguments and environment values: each index has a small sh
// file that exports those values and runs that command with the image's sh,
// picked by JOB_COMPLETION_INDEX; the files are in the base container's
// command (up to MaxInlineItems) or else in the config map, mounted.
func BuildJob(in JobInput) (*batchv1.Job, *corev1.ConfigMap, error) {
	if len(in.Pods) == 0 {
		return nil, nil, fieldErr("", "no pod to make a Job of")
	}
	f := in.Fields
	if err := f.Check(); err != nil {
		return nil, nil, err
	}
	n := int32(len(in.Pods))
	indexed := in.Items || f.CompletionMode == string(batchv1.IndexedCompletion)
	completions := n
	switch {
	case in.Items && f.Completions != nil && *f.Completions != n:
		return nil, nil, fieldErr("completions", "is %d but there are %d items: drop it (each item is one completion)", *f.Completions, n)
	case in.Items && f.CompletionMode == string(batchv1.NonIndexedCompletion):
		return nil, nil, fieldErr("completion_mode", "NonIndexed cannot give each item its own index: drop it (items make an Indexed Job)")
	case !in.Items && f.Completions != nil:
		completions = *f.Completions
		if completions > 1 && !indexed {
			return nil, nil, fieldErr("completions", "%d NonIndexed completions have no index to tell their results apart: add completion_mode: Indexed, or give --each ITEMS", completions)
		}
	}
	if in.Retries < 0 {
		return nil, nil, fieldErr("retries", "must not be negative")
	}
	base := in.BaseContainer
	if base == "" {
		base = DefaultBaseContainerName
	}

	tpl := in.Pods[0].DeepCopy()
	dropMapIndex(tpl)
	variants, variesEnv, err := indexVariants(in.Pods, base)
	if err != nil {
		return nil, nil, err
	}
	name := jobName(in.Pods[0].Name)
	ns := tpl.Namespace

	var cm *corev1.ConfigMap
	if variants != nil || in.Params != nil {
		cm = &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: identityLabels(tpl.Labels)},
			Data:       map[string]string{},
		}
		params := in.Params
		if params == nil {
			params = []map[string]string{}
		}
		b, _ := json.Marshal(params)
		cm.Data[JobParamsKey] = string(b)
	}
	if variants != nil {
		c := findContainer(tpl.Spec.Containers, base)
		c.Args = nil
		c.Env = slices.DeleteFunc(c.Env, func(e corev1.EnvVar) bool { return variesEnv[e.Name] })
		if script := inlineScript(variants); len(script) <= MaxInlineItems {
			// Small enough to travel in the command itself: no volume,
			// nothing for the kubelet to fetch before the pod starts.
			c.Command = []string{"/bin/sh", "-c", script}
		} else {
			for i, v := range variants {
				cm.Data[strconv.Itoa(i)] = v
			}
			c.Command = []string{"/bin/sh", "-c", `. "` + JobItemsPath + `/$JOB_COMPLETION_INDEX"`}
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: JobItemsVolume, MountPath: JobItemsPath, ReadOnly: true})
			for _, v := range tpl.Spec.Volumes {
				if v.Name == JobItemsVolume {
					return nil, nil, fieldErr("volumes", "a volume is named %q, which a Job's items need; rename it", JobItemsVolume)
				}
			}
			tpl.Spec.Volumes = append(tpl.Spec.Volumes, corev1.Volume{Name: JobItemsVolume, VolumeSource: corev1.VolumeSource{
				ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}})
		}
	}
	tpl.Spec.RestartPolicy = corev1.RestartPolicyNever

	annotations := map[string]string{}
	for k, v := range tpl.Annotations {
		annotations[k] = v
	}
	items := 0
	if in.Items {
		items = int(n)
	}
	annotations[AnnotationJobItems] = strconv.Itoa(items)
	if f.OnKillPropagationPolicy != "" {
		annotations[AnnotationJobPropagation] = f.OnKillPropagationPolicy
	}
	par := in.Parallelism
	if par <= 0 || par > completions {
		par = completions
	}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: identityLabels(tpl.Labels), Annotations: annotations},
		Spec: batchv1.JobSpec{
			Completions:             &completions,
			Parallelism:             &par,
			TTLSecondsAfterFinished: f.TTLSecondsAfterFinished,
			ActiveDeadlineSeconds:   tpl.Spec.ActiveDeadlineSeconds,
			PodFailurePolicy:        f.PodFailurePolicy,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: tpl.Labels, Annotations: tpl.Annotations},
				Spec:       tpl.Spec,
			},
		},
	}
	retries := in.Retries
	if indexed {
		mode := batchv1.IndexedCompletion
		job.Spec.CompletionMode = &mode
		job.Spec.BackoffLimitPerIndex = &retries
		job.Spec.BackoffLimit = f.BackoffLimit
		if in.FailFast {
			zero := int32(0)
			job.Spec.MaxFailedIndexes = &zero
		}
	} else {
		if f.BackoffLimit != nil && in.Retries > 0 && *f.BackoffLimit != in.Retries {
			return nil, nil, fieldErr("backoff_limit", "is %d but retries is %d: give one of them", *f.BackoffLimit, in.Retries)
		}
		if f.BackoffLimit != nil {
			retries = *f.BackoffLimit
		}
		job.Spec.BackoffLimit = &retries
	}
	return job, cm, nil
}

// jobName is "job-" and the first item's pod name, 63 characters at most,
// keeping the random suffix at its end.
func jobName(pod string) string {
	name := JobNamePrefix + pod
	if len(name) <= maxNameLen {
		return name
	}
	head, suffix := pod, ""
	if i := strings.LastIndexByte(pod, '-'); i > 0 && len(pod)-i <= suffixLen+1 {
		head, suffix = pod[:i], pod[i:]
	}
	return strings.TrimRight((JobNamePrefix + head)[:maxNameLen-len(suffix)], "-.") + suffix
}

func dropMapIndex(p *corev1.Pod) {
	delete(p.Labels, LabelMapIndex)
	delete(p.Annotations, AnnotationMapIndex)
	p.Name, p.GenerateName = "", ""
}

// identityLabels are a task pod's labels that name the task and the run.
func identityLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for _, k := range []string{LabelManagedBy, LabelTask, LabelRunID} {
		if v, ok := l[k]; ok {
			out[k] = v
		}
	}
	return out
}

var shellName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// indexVariants checks that the pods differ in nothing but their base
// container's command, arguments and env values, and returns one sh file
// per pod that exports the env values that differ and runs the pod's
// command; nil when the pods do not differ at all.
func indexVariants(pods []*corev1.Pod, base string) (files []string, envDiffers map[string]bool, err error) {
	first := pods[0]
	fc := findContainer(first.Spec.Containers, base)
	if fc == nil {
		return nil, nil, fieldErr("base_container_name", "no container %q in the pod", base)
	}
	argvDiffers := false
	envDiffers = map[string]bool{}
	for i, p := range pods[1:] {
		i++
		a, b := stripVarying(first, base), stripVarying(p, base)
		if !apiequality.Semantic.DeepEqual(a, b) {
			return nil, nil, fieldErr("", "item %d renders a pod that differs from item 0's in more than the %q container's command, arguments and env values (%s): a Job has one pod template; template only those with the items' params, or run without --as-job",
				i, base, firstDifference(a, b))
		}
		c := findContainer(p.Spec.Containers, base)
		if !slices.Equal(c.Command, fc.Command) || !slices.Equal(c.Args, fc.Args) {
			argvDiffers = true
		}
		for j, e := range c.Env {
			if e.Value != fc.Env[j].Value {
				envDiffers[e.Name] = true
			}
		}
	}
	if !argvDiffers && len(envDiffers) == 0 {
		return nil, nil, nil
	}
	if len(fc.Command) == 0 {
		return nil, nil, fieldErr("cmds", "the items change the %q container's arguments or env, but its command comes from the image: set cmds (the Job runs each index's command through the image's sh)", base)
	}
	out := make([]string, len(pods))
	for i, p := range pods {
		c := findContainer(p.Spec.Containers, base)
		var b strings.Builder
		b.WriteString("# item " + strconv.Itoa(i) + "\n")
		for _, e := range c.Env {
			if !envDiffers[e.Name] {
				continue
			}
			if !shellName.MatchString(e.Name) {
				return nil, nil, fieldErr("env_vars", "%s differs between items but is not a shell variable name, which a Job's index file must export: rename it", e.Name)
			}
			if e.ValueFrom != nil {
				return nil, nil, fieldErr("env_vars", "%s differs between items but takes its value from elsewhere (valueFrom)", e.Name)
			}
			if strings.Contains(e.Value, "$(") {
				return nil, nil, fieldErr("env_vars", "%s differs between items and holds a $(VAR) reference, which only the kubelet expands: drop the reference", e.Name)
			}
			b.WriteString("export " + e.Name + "=" + shellQuote(e.Value) + "\n")
		}
		b.WriteString("exec")
		for _, w := range append(slices.Clone(c.Command), c.Args...) {
			if argvDiffers && strings.Contains(w, "$(") {
				return nil, nil, fieldErr("cmds", "the items change the command, and %q holds a $(VAR) reference, which only the kubelet expands: drop the reference", w)
			}
			b.WriteString(" " + shellQuote(w))
		}
		b.WriteString("\n")
		out[i] = b.String()
	}
	return out, envDiffers, nil
}

// stripVarying is the pod without what items may change: its name, its map
// index, and its base container's command, arguments and env values.
func stripVarying(p *corev1.Pod, base string) *corev1.Pod {
	q := p.DeepCopy()
	dropMapIndex(q)
	c := findContainer(q.Spec.Containers, base)
	c.Command, c.Args = nil, nil
	for i := range c.Env {
		if c.Env[i].ValueFrom == nil {
			c.Env[i].Value = ""
		}
	}
	return q
}

// firstDifference names the first top-level part of two pods that differs.
func firstDifference(a, b *corev1.Pod) string {
	switch {
	case !apiequality.Semantic.DeepEqual(a.Labels, b.Labels):
		return "labels"
	case !apiequality.Semantic.DeepEqual(a.Annotations, b.Annotations):
		return "annotations"
	case !apiequality.Semantic.DeepEqual(a.Spec.Containers, b.Spec.Containers):
		return "containers"
	case !apiequality.Semantic.DeepEqual(a.Spec.Volumes, b.Spec.Volumes):
		return "volumes"
	}
	return "the pod spec"
}

// JobItemIndex is a Job pod's completion index (0 for a NonIndexed Job's).
func JobItemIndex(pod *corev1.Pod) int {
	if v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]; ok {
		if i, err := strconv.Atoi(v); err == nil {
			return i
		}
	}
	return 0
}

package render

// This file makes the debug copy of a pod: the same pod, whose base
// container runs an interactive shell instead of its command, and the list of
// what the copy does not share with the original.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationDebugOf names the pod a debug copy was made from.
const AnnotationDebugOf = "podtask.dev/debug-of"

// DefaultDebugShell is the shell a debug copy runs when no command is given.
const DefaultDebugShell = "sh"

// DebugOptions say how a debug copy differs from its original.
type DebugOptions struct {
	// Command replaces the base container's command (its args are dropped);
	// [DefaultDebugShell] when empty.
	Command []string
	// Image replaces the base container's image when not empty.
	Image string
	// TTY gives the base container a terminal (stdin is always open).
	TTY bool
	// Keep keeps the copy when the shell exits (keep_pod); it is deleted
	// otherwise (delete_pod).
	Keep bool
	// Task is the copy's task name; the original's task name (or pod name)
	// with "-debug" when empty.
	Task string
	// RunID is the copy's run id; NewRunID() when empty.
	RunID string
	// NameSuffix is the pod name's suffix; random when empty.
	NameSuffix string
	// Template is the workload's pod template the original was rendered
	// from (--from), whose labels and probes rendering already dropped:
	// the differences name them too.
	Template *corev1.PodTemplateSpec
}

// DebugCopy returns a copy of orig, a pod (a task pod, a pod found in the
// cluster, or one rendered from a task or a workload), whose container base
// runs o.Command with stdin open, and the differences from the original a
// user should know about, one sentence each. What the copy keeps: image (or
// o.Image), env, envFrom, volumes and mounts, service account, resources,
// scheduling (node selector, affinity, tolerations, priority class), init
// containers, other containers (the XCom sidecar included) and the XCom
// contract. What it drops, as `kubectl debug --copy-to` does: labels (so
// controllers and Services do not take it for theirs), owners, the node
// binding, probes, ephemeral containers, the injected service account token
// volume and the active deadline, which would cut the shell off. The copy
// carries podtask's identity labels and annotations of its own.
func DebugCopy(orig *corev1.Pod, base string, o DebugOptions) (*corev1.Pod, []string, error) {
	if orig == nil {
		return nil, nil, fieldErr("", "no pod to copy")
	}
	if findContainer(orig.Spec.Containers, base) == nil {
		names := make([]string, 0, len(orig.Spec.Containers))
		for _, c := range orig.Spec.Containers {
			names = append(names, c.Name)
		}
		return nil, nil, fieldErr("containers", "pod %s has no container %q (it has %s); choose one with --container", orig.Name, base, strings.Join(names, ", "))
	}
	cmd := o.Command
	if len(cmd) == 0 {
		cmd = []string{DefaultDebugShell}
	}
	task := o.Task
	if task == "" {
		task = orig.Annotations[AnnotationTask]
		if task == "" {
			task = orig.Labels[LabelTask]
		}
		if task == "" {
			task = orig.Name
		}
		task += "-debug"
	}
	runID := o.RunID
	if runID == "" {
		runID = NewRunID()
	}
	suffix := o.NameSuffix
	if suffix == "" {
		suffix = RandomSuffix(suffixLen)
	}

	cp := PodFromTemplate(&corev1.PodTemplateSpec{ObjectMeta: orig.ObjectMeta, Spec: orig.Spec})
	cp.TypeMeta.APIVersion, cp.TypeMeta.Kind = "v1", "Pod"
	cp.Name = PodName(task, suffix)
	cp.Namespace = orig.Namespace
	s := &cp.Spec
	s.RestartPolicy = corev1.RestartPolicyNever
	s.ActiveDeadlineSeconds = nil
	c := findContainer(s.Containers, base)
	origCmd := slices.Concat(c.Command, c.Args)
	c.Command, c.Args = slices.Clone(cmd), nil
	// As run -i/-t: without a terminal the end of the input ends the
	// shell's; with one, stdin stays open for attach -it after a detach.
	c.Stdin, c.StdinOnce, c.TTY = true, !o.TTY, o.TTY
	origImage := c.Image
	if o.Image != "" {
		c.Image = o.Image
	}

	cp.Labels = map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelTask:      LabelValue(task),
		LabelRunID:     LabelValue(runID),
	}
	if cp.Annotations == nil {
		cp.Annotations = map[string]string{}
	}
	cp.Annotations[AnnotationTask] = task
	cp.Annotations[AnnotationRunID] = runID
	cp.Annotations[AnnotationBaseContainer] = base
	cp.Annotations[AnnotationDebugOf] = orig.Name
	cp.Annotations[AnnotationOnFinish] = OnFinishDeletePod
	if o.Keep {
		cp.Annotations[AnnotationOnFinish] = OnFinishKeepPod
	}
	if m := orig.Annotations[AnnotationXComMode]; m != "" {
		cp.Annotations[AnnotationXComMode] = m
	}
	if err := validatePod(cp, base); err != nil {
		return nil, nil, err
	}
	return cp, debugDifferences(orig, cp, base, origCmd, origImage, o.Template), nil
}

// debugDifferences says, one sentence each, what the copy does not share
// with the original.
func debugDifferences(orig, cp *corev1.Pod, base string, origCmd []string, origImage string, tpl *corev1.PodTemplateSpec) []string {
	var out []string
	if len(origCmd) > 0 {
		out = append(out, fmt.Sprintf("container %s runs %s instead of %s", base, quoteWords(findContainer(cp.Spec.Containers, base).Command), quoteWords(origCmd)))
	}
	if img := findContainer(cp.Spec.Containers, base).Image; img != origImage {
		out = append(out, fmt.Sprintf("container %s runs image %s instead of %s", base, img, origImage))
	}
	var empty, host, claims []string
	for _, v := range cp.Spec.Volumes {
		switch {
		case v.EmptyDir != nil && v.Name != XComVolumeName:
			empty = append(empty, v.Name)
		case v.HostPath != nil:
			host = append(host, v.Name)
		case v.PersistentVolumeClaim != nil:
			claims = append(claims, v.PersistentVolumeClaim.ClaimName)
		}
	}
	if len(empty) > 0 {
		out = append(out, "emptyDir volumes start empty: "+strings.Join(empty, ", "))
	}
	if len(host) > 0 {
		out = append(out, "hostPath volumes are those of the node the copy runs on: "+strings.Join(host, ", "))
	}
	if len(claims) > 0 {
		out = append(out, "persistent volume claims are shared with the original (a ReadWriteOnce claim in use on another node keeps the copy pending): "+strings.Join(claims, ", "))
	}
	if orig.Spec.NodeName != "" {
		out = append(out, "the original ran on node "+orig.Spec.NodeName+"; the copy is scheduled anew and may run elsewhere")
	}
	labels, containers := orig.Labels, orig.Spec.Containers
	if tpl != nil {
		labels, containers = tpl.Labels, tpl.Spec.Containers
	}
	if len(labels) > 0 {
		var keys []string
		for k := range labels {
			if k != LabelManagedBy && k != LabelTask && k != LabelRunID {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			sort.Strings(keys)
			out = append(out, "labels are dropped, so Services and controllers do not select the copy: "+strings.Join(keys, ", "))
		}
	}
	var probes []string
	for _, c := range containers {
		if c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil {
			probes = append(probes, c.Name)
		}
	}
	if len(probes) > 0 {
		out = append(out, "probes are dropped: "+strings.Join(probes, ", "))
	}
	if orig.Spec.ActiveDeadlineSeconds != nil {
		out = append(out, fmt.Sprintf("activeDeadlineSeconds (%d) is dropped, so the shell is not cut off", *orig.Spec.ActiveDeadlineSeconds))
	}
	if len(cp.Spec.InitContainers) > 0 {
		var names []string
		for _, c := range cp.Spec.InitContainers {
			names = append(names, c.Name)
		}
		out = append(out, "init containers run again: "+strings.Join(names, ", "))
	}
	if len(orig.OwnerReferences) > 0 {
		out = append(out, "the copy has no owner: its controller ("+orig.OwnerReferences[0].Kind+"/"+orig.OwnerReferences[0].Name+") neither counts nor deletes it")
	}
	out = append(out, "the copy has its own name, IP address and hostname")
	return out
}

// quoteWords shows a command as a person would type it.
func quoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsAny(w, " \t\n'\"\\$`;&|<>()*?[]{}!#~") {
			q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
		} else {
			q[i] = w
		}
	}
	return strings.Join(q, " ")
}

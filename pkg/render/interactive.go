// Interactive, privileged and overridden pods: the changes `run -i/-t`,
// `--privileged` and `--overrides` make to a rendered pod, as kubectl run
// makes them to the pod it generates.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	sigsjson "sigs.k8s.io/json"
)

// BaseContainer returns the pod's base container: the one its
// base-container annotation names, else "base", else the first.
func BaseContainer(pod *corev1.Pod) *corev1.Container {
	name := pod.Annotations[AnnotationBaseContainer]
	if name == "" {
		name = DefaultBaseContainerName
	}
	if c := findContainer(pod.Spec.Containers, name); c != nil {
		return c
	}
	if len(pod.Spec.Containers) > 0 && pod.Annotations[AnnotationBaseContainer] == "" {
		return &pod.Spec.Containers[0]
	}
	return nil
}

// SetInteractive gives the base container a stdin (and with tty a
// terminal). Without a terminal stdin is closed after the first attach
// ends (stdinOnce), so that the end of the local input is the end of the
// task's; with one it stays open, so that a shell left by a detach or an
// interrupt can be attached to again.
func SetInteractive(pod *corev1.Pod, tty bool) error {
	c := BaseContainer(pod)
	if c == nil {
		return fmt.Errorf("the pod has no base container %q to give a stdin", pod.Annotations[AnnotationBaseContainer])
	}
	c.Stdin, c.StdinOnce, c.TTY = true, !tty, tty
	return nil
}

// SetPrivileged runs the base container privileged.
func SetPrivileged(pod *corev1.Pod) error {
	c := BaseContainer(pod)
	if c == nil {
		return fmt.Errorf("the pod has no base container %q to make privileged", pod.Annotations[AnnotationBaseContainer])
	}
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	yes := true
	c.SecurityContext.Privileged = &yes
	return nil
}

// Override types, as kubectl's --override-type names them.
const (
	OverrideStrategic = "strategic" // strategic merge patch: lists such as containers are merged by name
	OverrideMerge     = "merge"     // JSON merge patch (RFC 7386): a list replaces the whole list
	OverrideJSON      = "json"      // JSON patch (RFC 6902): a list of operations
)

// ApplyOverrides patches pod with the inline JSON overrides, as kubectl
// run --overrides does, and returns the result. The patched object must
// still be a valid Pod: unknown fields are an error, not dropped.
func ApplyOverrides(pod *corev1.Pod, overrides, kind string) (*corev1.Pod, error) {
	patch := []byte(overrides)
	if !json.Valid(patch) {
		var v any
		err := json.Unmarshal(patch, &v)
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	orig, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch kind {
	case OverrideStrategic, "":
		out, err = strategicpatch.StrategicMergePatch(orig, patch, &corev1.Pod{})
	case OverrideMerge:
		out, err = jsonpatch.MergePatch(orig, patch)
	case OverrideJSON:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(patch); err == nil {
			out, err = p.Apply(orig)
		}
	default:
		return nil, fmt.Errorf("override type %q: use strategic, merge or json", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot apply it: %v", err)
	}
	res := &corev1.Pod{}
	strict, err := sigsjson.UnmarshalStrict(out, res)
	if err != nil {
		return nil, fmt.Errorf("the result is not a Pod: %v", err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("the result is not a Pod: %v", strict[0])
	}
	if !bytes.Equal(bytes.TrimSpace(patch), []byte("{}")) && res.Kind != "" && res.Kind != "Pod" {
		return nil, fmt.Errorf("it changes kind to %q: only a Pod can be run", res.Kind)
	}
	return res, nil
}

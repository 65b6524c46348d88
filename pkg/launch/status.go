// What a pod's status says: the container-status lookup, the container
// waiting for a reason that fails the start (waiting.go's table), and the
// status flattened into PodStatus events.

package launch

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// EventWarning is the type of a Kubernetes warning event.
const EventWarning = corev1.EventTypeWarning

// FindContainerStatus is the status of the container name (an init
// container when init), or nil when the pod has none yet.
func FindContainerStatus(pod *corev1.Pod, name string, init bool) *corev1.ContainerStatus {
	list := pod.Status.ContainerStatuses
	if init {
		list = pod.Status.InitContainerStatuses
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// terminated is the container's terminated state, or nil while it has not ended.
func terminated(pod *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	if cs := FindContainerStatus(pod, name, false); cs != nil {
		return cs.State.Terminated
	}
	return nil
}

func (t *tracker) baseTerminated(pod *corev1.Pod) bool {
	return terminated(pod, t.opts.BaseContainer) != nil
}

func (t *tracker) baseRunning(pod *corev1.Pod) bool {
	cs := FindContainerStatus(pod, t.opts.BaseContainer, false)
	return cs != nil && cs.State.Running != nil
}

// waitingProblem finds a container (init or not) waiting for a reason that
// is fatal, or one that is fatal after the pull grace period.
func waitingProblem(pod *corev1.Pod) (reason, msg string, fatal bool) {
	all := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range all {
		w := cs.State.Waiting
		if w == nil {
			continue
		}
		m := fmt.Sprintf("container %q: %s", cs.Name, strings.TrimSpace(w.Message))
		if w.Message == "" {
			m = fmt.Sprintf("container %q (image %s)", cs.Name, cs.Image)
		}
		switch WaitingReason(w.Reason) {
		case WaitingFatal:
			return w.Reason, m, true
		case WaitingPull:
			reason, msg = w.Reason, m
		}
	}
	return reason, msg, false
}

func unschedulableMessage(pod *corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return ": " + c.Message
		}
	}
	return ""
}

func waitingSummary(pod *corev1.Pod, base string) string {
	if cs := FindContainerStatus(pod, base, false); cs != nil && cs.State.Waiting != nil {
		return fmt.Sprintf(" (waiting: %s)", cs.State.Waiting.Reason)
	}
	return ""
}

// emitStatus reports the pod's phase and container states.
func (t *tracker) emitStatus(pod *corev1.Pod) {
	t.emit(&PodStatus{
		At: t.at(), Phase: string(pod.Status.Phase), Node: pod.Spec.NodeName, PodIP: pod.Status.PodIP,
		Reason: pod.Status.Reason, Message: pod.Status.Message,
		InitContainers: flatten(pod.Spec.InitContainers, pod.Status.InitContainerStatuses, true),
		Containers:     flatten(pod.Spec.Containers, pod.Status.ContainerStatuses, false),
	})
}

func flatten(spec []corev1.Container, statuses []corev1.ContainerStatus, init bool) []ContainerStatus {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	out := make([]ContainerStatus, 0, len(spec))
	for _, c := range spec {
		cs := ContainerStatus{Name: c.Name, Init: init}
		if s, ok := byName[c.Name]; ok {
			cs.Restarts, cs.Ready = s.RestartCount, s.Ready
			switch {
			case s.State.Terminated != nil:
				term := s.State.Terminated
				code := term.ExitCode
				cs.State, cs.Reason, cs.Message, cs.ExitCode = "terminated", term.Reason, term.Message, &code
				cs.Started, cs.Finished = term.StartedAt.Time, term.FinishedAt.Time
			case s.State.Running != nil:
				cs.State, cs.Started = "running", s.State.Running.StartedAt.Time
			case s.State.Waiting != nil:
				cs.State, cs.Reason, cs.Message = "waiting", s.State.Waiting.Reason, s.State.Waiting.Message
			}
		}
		out = append(out, cs)
	}
	return out
}

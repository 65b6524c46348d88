// KubernetesPodOperator's rules that are not merge rules: how parameters
// are normalised before the pod is built, and the warnings render gives
// where a task would silently differ from what it seems to ask (see
// docs/kpo-conformance.md).
package render

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// kpoNameChars is what KubernetesPodOperator accepts in a name
// (airflow.utils.helpers.validate_key): letters, digits, '_', '-', '.'.
var kpoNameChars = regexp.MustCompile(`^[\p{L}\p{N}_.-]+$`)

// kpoMaxName is the longest name KubernetesPodOperator accepts.
const kpoMaxName = 220

// normalizeKPO applies KubernetesPodOperator's normalisations to a rendered
// task: an env secret's target is upper-cased (Secret.__init__).
func normalizeKPO(t *Task) {
	for i := range t.Secrets {
		if t.Secrets[i].DeployType == "env" {
			t.Secrets[i].DeployTarget = strings.ToUpper(t.Secrets[i].DeployTarget)
		}
	}
}

// taskWarnings are the warnings the task's own fields give.
func taskWarnings(t *Task, name string) []Warning {
	var w []Warning
	for i, s := range t.Secrets {
		if s.DeployType == "volume" && s.Key != "" {
			w = append(w, Warning{fmt.Sprintf("secrets[%d].key", i), fmt.Sprintf(
				"%q does not apply to deploy_type volume: the whole secret %s is mounted at %s, as KubernetesPodOperator does; use items to mount only that key",
				s.Key, s.Secret, s.DeployTarget)})
		}
	}
	podName := SanitizeName(name, maxNameLen)
	if !kpoNameChars.MatchString(name) || len(name) > kpoMaxName {
		w = append(w, Warning{"name", fmt.Sprintf(
			"%q would be refused by KubernetesPodOperator (at most %d letters, digits, '_', '-' or '.'); here the pod is named %s...",
			truncate(name, 40), kpoMaxName, podName)})
	} else if !*t.RandomNameSuffix && len(SanitizeName(name, len(name))) > maxNameLen {
		w = append(w, Warning{"name", fmt.Sprintf(
			"is longer than %d characters and random_name_suffix is false: the pod is named %s (KubernetesPodOperator would fail to create it)",
			maxNameLen, podName)})
	}
	return w
}

// overrideWarnings applies, and says, where the task differs on purpose
// from KubernetesPodOperator's "a false, 0 or empty parameter never
// overrides the template" and its forced terminationMessagePolicy. under is
// the layers below the task; pod is the merged pod, changed in place.
func overrideWarnings(t *Task, layers []*corev1.Pod, pod *corev1.Pod) []Warning {
	var w []Warning
	base := &pod.Spec.Containers[0]
	if t.TerminationMessagePolicy == "" {
		switch base.TerminationMessagePolicy {
		case "":
			base.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		case corev1.TerminationMessageReadFile:
		default:
			w = append(w, Warning{"termination_message_policy", fmt.Sprintf(
				"the template's %s is kept (KubernetesPodOperator would replace it with File, its default)", base.TerminationMessagePolicy)})
		}
	}
	falsy := func(b *bool) bool { return b != nil && !*b }
	zero := t.TerminationGracePeriod != nil && *t.TerminationGracePeriod == 0
	if len(layers) == 0 || !falsy(t.HostNetwork) && !falsy(t.AutomountServiceAccountToken) && !zero {
		return w
	}
	var under *corev1.Pod
	for _, l := range layers {
		under = MergePods(under, l)
	}
	const keep = "KubernetesPodOperator would keep the template's: a false or 0 parameter never overrides it"
	if t.HostNetwork != nil && !*t.HostNetwork && under.Spec.HostNetwork {
		pod.Spec.HostNetwork = false
		w = append(w, Warning{"hostnetwork", "false overrides the template's hostNetwork: true (" + keep + ")"})
	}
	if a := under.Spec.AutomountServiceAccountToken; t.AutomountServiceAccountToken != nil && !*t.AutomountServiceAccountToken && a != nil && *a {
		w = append(w, Warning{"automount_service_account_token", "false overrides the template's true (" + keep + ")"})
	}
	if g := under.Spec.TerminationGracePeriodSeconds; t.TerminationGracePeriod != nil && *t.TerminationGracePeriod == 0 && g != nil && *g != 0 {
		w = append(w, Warning{"termination_grace_period", fmt.Sprintf("0 overrides the template's %d (%s)", *g, keep)})
	}
	return w
}

func exitCodesString(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

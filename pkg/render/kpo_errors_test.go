package render

import (
	"errors"
	"strings"
	"testing"
)

// TestKPOErrors: what a task written from a KubernetesPodOperator call gets
// wrong is one error that names the line and the field, and says what to do.
func TestKPOErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		line       int
		field, msg string
	}{
		{"weighted term under required (the how-to's own form)", `name: k
image: ubuntu:16.04
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          labelSelector:
            matchExpressions: [{key: security, operator: In, values: [S1]}]
          topologyKey: failure-domain.beta.kubernetes.io/zone
`, 8, "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].weight",
			"belongs under podAffinity.preferredDuringSchedulingIgnoredDuringExecution"},
		{"weighted anti-affinity term under required", `name: k
image: x
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - podAffinityTerm: {topologyKey: zone}
`, 8, "affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm",
			"belongs under podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution"},
		{"values as a string (the how-to's values=\"S1\")", `name: k
image: x
affinity:
  podAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector:
          matchExpressions: [{key: security, operator: In, values: S1}]
        topologyKey: zone
`, 9, "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.labelSelector.matchExpressions.values",
			"cannot use a string here (want a list of strings)"},
		{"task_id", "name: k\nimage: x\ntask_id: k\n", 5, "task_id", "the task is named by name"},
		{"is_delete_operator_pod", "name: k\nimage: x\nis_delete_operator_pod: true\n", 5, "is_delete_operator_pod", "on_finish_action"},
		{"in_cluster", "name: k\nimage: x\nin_cluster: true\n", 5, "in_cluster", "in-cluster config"},
		{"container_logs", "name: k\nimage: x\ncontainer_logs: true\n", 5, "container_logs", "--container-logs"},
		{"dnspolicy and dns_policy", "name: k\nimage: x\ndnspolicy: Default\ndns_policy: Default\n", 5, "dnspolicy", "same field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTaskFile("k.yaml", []byte(head+tc.body))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a field error, got %v", err)
			}
			if fe.Line != tc.line || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got %s\nwant k.yaml:%d: %s: ...%s...", err, tc.line, tc.field, tc.msg)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("more than one line: %q", err)
			}
		})
	}
}

func TestKPOTemplateErrors(t *testing.T) {
	_, err := ParsePod("tpl.yaml", []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: a, image: b}]\n  nodeSelectr: {a: b}\n"))
	if err == nil || err.Error() != "tpl.yaml:5: spec.nodeSelectr: unknown field: not a Pod field (KubernetesPodOperator would drop it without a word)" {
		t.Errorf("unknown template field: %v", err)
	}
	task, err := ParseTaskFile("t.yaml", []byte(head+"name: k\nimage: x\nsecrets: [{deploy_type: env, deploy_target: X, secret: s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Render(task, Options{}); err == nil || !strings.Contains(err.Error(), "secrets[0].key: is required with deploy_target") ||
		!strings.Contains(err.Error(), "KubernetesPodOperator would ignore deploy_target") {
		t.Errorf("env secret with a target and no key: %v", err)
	}
	if _, err := Render(&Task{}, Options{}); err == nil || err.Error() != "image: is required (give --image, image: in the task file, or a template with one)" {
		t.Errorf("nothing: %v", err)
	}
}

// TestScheduleTimeoutDefault: KPO's schedule_timeout_seconds defaults to
// startup_timeout_seconds.
func TestScheduleTimeoutDefault(t *testing.T) {
	for _, tc := range []struct {
		body              string
		startup, schedule float64
	}{
		{"", 120, 120},
		{"startup_timeout_seconds: 300\n", 300, 300},
		{"startup_timeout_seconds: 300\nschedule_timeout_seconds: 60\n", 300, 60},
		{"schedule_timeout_seconds: 60\n", 120, 60},
	} {
		task, err := ParseTaskFile("t.yaml", []byte(head+"name: k\nimage: x\n"+tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Complete(); err != nil {
			t.Fatal(err)
		}
		if task.StartupTimeout.Seconds() != tc.startup || task.ScheduleTimeout.Seconds() != tc.schedule {
			t.Errorf("%q: startup %s, schedule %s", tc.body, task.StartupTimeout, task.ScheduleTimeout)
		}
	}
}

package render

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const head = "apiVersion: podtask.dev/v1alpha1\nkind: Task\n"

// renderFile parses a task file and renders it with fixed options.
func renderFile(t *testing.T, body string, opts Options) error {
	t.Helper()
	task, err := ParseTaskFile("task.yaml", []byte(body))
	if err != nil {
		return err
	}
	if opts.RunID == "" {
		opts.RunID = "run-1"
	}
	if opts.Now.IsZero() {
		opts.Now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	_, err = Render(task, opts)
	return err
}

func TestBadInput(t *testing.T) {
	img := "image: busybox\n"
	tpl := func(s string) *File { return &File{Path: "tpl.yaml", Data: []byte(s)} }
	cases := []struct {
		name  string
		body  string
		opts  Options
		field string // the error names this field
		line  int    // and this line, when not 0
	}{
		{"missing image", head + "name: a\n", Options{}, "image", 0},
		{"image with space", head + "image: 'busy box'\n", Options{}, "image", 0},
		{"unknown top-level field", head + img + "imagee: x\n", Options{}, "imagee", 4},
		{"unknown nested field", head + img + "tolerations:\n  - key: a\n    bogus: 1\n", Options{}, "tolerations[0].bogus", 6},
		{"unknown field deep", head + img + "affinity:\n  nodeAffinity:\n    bogus: {}\n", Options{}, "affinity.nodeAffinity.bogus", 6},
		{"unknown field in env list", head + img + "env_vars:\n  - name: A\n    valu: x\n", Options{}, "env_vars[0].valu", 6},
		{"duplicate field", head + img + "image: other\n", Options{}, "image", 4},
		{"wrong type", head + img + "cmds: echo\n", Options{}, "cmds", 4},
		{"wrong type nested", head + img + "ports:\n  - containerPort: http\n", Options{}, "ports.containerPort", 5},
		{"bad yaml", head + img + "labels: [a\n", Options{}, "", 0},
		{"wrong apiVersion", "apiVersion: v1\nkind: Task\n" + img, Options{}, "apiVersion", 1},
		{"wrong kind", "apiVersion: podtask.dev/v1alpha1\nkind: Pod\n" + img, Options{}, "kind", 2},
		{"not a mapping", "- a\n- b\n", Options{}, "", 1},
		{"empty file", "\n", Options{}, "", 0},
		{"bad quantity", head + img + "container_resources:\n  requests:\n    cpu: lots\n", Options{}, "container_resources.requests.cpu", 0},
		{"negative quantity", head + img + "container_resources:\n  limits:\n    memory: -1Gi\n", Options{}, "container_resources.limits.memory", 0},
		{"request above limit", head + img + "container_resources:\n  requests: {cpu: '2'}\n  limits: {cpu: '1'}\n", Options{}, "container_resources.requests.cpu", 0},
		{"unknown resources field", head + img + "container_resources:\n  claims: []\n", Options{}, "container_resources.claims", 5},
		{"bad quantity in volume", head + img + "volumes:\n  - name: v\n    emptyDir: {sizeLimit: huge}\n", Options{}, "volumes", 4},
		{"bad name", head + img + "name: '___'\n", Options{}, "name", 0},
		{"bad namespace", head + img + "namespace: Not_OK\n", Options{}, "namespace", 0},
		{"bad base container name", head + img + "base_container_name: Base_1\n", Options{}, "base_container_name", 0},
		{"bad image pull policy", head + img + "image_pull_policy: Sometimes\n", Options{}, "image_pull_policy", 0},
		{"bad termination message policy", head + img + "termination_message_policy: Logs\n", Options{}, "termination_message_policy", 0},
		{"bad dns policy", head + img + "dns_policy: Google\n", Options{}, "dns_policy", 0},
		{"dns None without config", head + img + "dns_policy: None\n", Options{}, "dns_config.nameservers", 0},
		{"bad label key", head + img + "labels: {'-bad': x}\n", Options{}, "labels", 0},
		{"bad label value", head + img + "labels: {ok: 'has space'}\n", Options{}, "labels.ok", 0},
		{"bad node selector", head + img + "node_selector: {'a b': x}\n", Options{}, "node_selector", 0},
		{"bad annotation key", head + img + "annotations: {'/x': y}\n", Options{}, "annotations", 0},
		{"bad env name", head + img + "env_vars: {'1 A': x}\n", Options{}, "env_vars[0].name", 0},
		{"env value and valueFrom", head + img + "env_vars:\n  - name: A\n    value: x\n    valueFrom: {fieldRef: {fieldPath: metadata.name}}\n", Options{}, "env_vars[0]", 0},
		{"env map non-string", head + img + "env_vars: {A: {b: c}}\n", Options{}, "env_vars.A", 4},
		{"env_from empty", head + img + "env_from:\n  - prefix: X\n", Options{}, "env_from[0]", 0},
		{"bad configmap name", head + img + "configmaps: ['Bad Name']\n", Options{}, "configmaps[0]", 0},
		{"bad pull secret", head + img + "image_pull_secrets: 'ok, Not OK'\n", Options{}, "image_pull_secrets[1]", 0},
		{"pull secret wrong object", head + img + "image_pull_secrets:\n  - {nam: x}\n", Options{}, "image_pull_secrets[0]", 5},
		{"secret bad deploy type", head + img + "secrets:\n  - {deploy_type: file, secret: s}\n", Options{}, "secrets[0].deploy_type", 0},
		{"secret missing name", head + img + "secrets:\n  - {deploy_type: env, deploy_target: A, key: k}\n", Options{}, "secrets[0].secret", 0},
		{"secret target without key", head + img + "secrets:\n  - {deploy_type: env, deploy_target: A, secret: s}\n", Options{}, "secrets[0].key", 0},
		{"secret volume relative path", head + img + "secrets:\n  - {deploy_type: volume, deploy_target: etc/x, secret: s}\n", Options{}, "secrets[0].deploy_target", 0},
		{"secret env items", head + img + "secrets:\n  - {deploy_type: env, secret: s, items: [{key: a, path: b}]}\n", Options{}, "secrets[0].items", 0},
		{"secret unknown field", head + img + "secrets:\n  - {deploy_type: env, secret: s, target: x}\n", Options{}, "secrets[0].target", 5},
		{"port out of range", head + img + "ports:\n  - containerPort: 70000\n", Options{}, "ports[0].containerPort", 0},
		{"port bad protocol", head + img + "ports:\n  - {containerPort: 80, protocol: HTTP}\n", Options{}, "ports[0].protocol", 0},
		{"mount relative path", head + img + "volumes: [{name: v, emptyDir: {}}]\nvolume_mounts:\n  - {name: v, mountPath: data}\n", Options{}, "volume_mounts[0].mountPath", 0},
		{"mount of unknown volume", head + img + "volume_mounts:\n  - {name: nope, mountPath: /data}\n", Options{}, "volume_mounts", 0},
		{"runtime env without path", head + img + "pod_runtime_info_envs:\n  - {name: IP}\n", Options{}, "pod_runtime_info_envs[0].field_path", 0},
		{"bad toleration operator", head + img + "tolerations:\n  - {key: a, operator: Is}\n", Options{}, "tolerations[0].operator", 0},
		{"toleration Exists with value", head + img + "tolerations:\n  - {key: a, operator: Exists, value: x}\n", Options{}, "tolerations[0].value", 0},
		{"bad toleration effect", head + img + "tolerations:\n  - {key: a, effect: Never}\n", Options{}, "tolerations[0].effect", 0},
		{"bad host alias", head + img + "host_aliases:\n  - {ip: not-an-ip, hostnames: [a]}\n", Options{}, "host_aliases[0].ip", 0},
		{"bad hostname", head + img + "hostname: Host_1\n", Options{}, "hostname", 0},
		{"bad service account", head + img + "service_account_name: 'a b'\n", Options{}, "service_account_name", 0},
		{"zero active deadline", head + img + "active_deadline_seconds: 0\n", Options{}, "active_deadline_seconds", 0},
		{"negative grace period", head + img + "termination_grace_period: -5\n", Options{}, "termination_grace_period", 0},
		{"init container without image", head + img + "init_containers:\n  - name: init\n", Options{}, "init_containers[0].image", 0},
		{"init container named like base", head + img + "init_containers:\n  - {name: base, image: busybox}\n", Options{}, "containers[0].name", 0},
		{"volume without name", head + img + "volumes:\n  - emptyDir: {}\n", Options{}, "volumes[0].name", 0},
		{"duplicate volume", head + img + "volumes:\n  - {name: v, emptyDir: {}}\n  - {name: v, emptyDir: {}}\n", Options{}, "volumes[1].name", 0},
		{"volume named xcom", head + img + "do_xcom_push: true\nvolumes:\n  - {name: xcom, emptyDir: {}}\n", Options{}, "volumes", 0},
		{"bad on_finish_action", head + img + "on_finish_action: delete_everything\n", Options{}, "on_finish_action", 0},
		{"bad xcom mode", head + img + "xcom_mode: s3\n", Options{}, "xcom_mode", 0},
		{"xcom mode with push false", head + img + "xcom_mode: sidecar\ndo_xcom_push: false\n", Options{}, "xcom_mode", 0},
		{"termination message xcom with log policy", head + img + "xcom_mode: termination-message\ntermination_message_policy: FallbackToLogsOnError\n", Options{}, "termination_message_policy", 0},
		{"negative timeout", head + img + "startup_timeout_seconds: -1\n", Options{}, "startup_timeout_seconds", 4},
		{"template parse error", head + img + "cmds: ['echo {{ .params.x ']\n", Options{}, "cmds[0]", 0},
		{"template missing param", head + img + "cmds: ['echo {{ .params.nope }}']\n", Options{}, "cmds[0]", 0},
		{"template in name uses task_name", head + img + "name: 'x-{{ .task_name }}'\n", Options{}, "name", 0},
		{"template unknown function", head + img + "arguments: ['{{ shout .ds }}']\n", Options{}, "arguments[0]", 0},
		{"template result is a bad quantity", head + img + "params: {mem: lots}\ncontainer_resources:\n  limits: {memory: '{{ .params.mem }}'}\n", Options{}, "container_resources.limits.memory", 0},
		{"bad param key", head + img + "params: {'a.b': x}\n", Options{}, "params", 0},
		{"template file not a pod", head + img + "pod_template_file: tpl.yaml\n", Options{TemplateFile: tpl("apiVersion: apps/v1\nkind: Deployment\n")}, "kind", 2},
		{"template file wrong apiVersion", head + img + "pod_template_file: tpl.yaml\n", Options{TemplateFile: tpl("apiVersion: v2\nkind: Pod\n")}, "apiVersion", 1},
		{"template file unknown field", head + img + "pod_template_file: tpl.yaml\n", Options{TemplateFile: tpl("apiVersion: v1\nkind: Pod\nspec:\n  containerz: []\n")}, "spec.containerz", 4},
		{"template file two documents", head + img + "pod_template_file: tpl.yaml\n", Options{TemplateFile: tpl("apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\n")}, "", 0},
		{"template file not loaded", head + img + "pod_template_file: tpl.yaml\n", Options{}, "pod_template_file", 0},
		{"template container without image", head + "name: t\npod_template_file: tpl.yaml\n", Options{TemplateFile: tpl("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n  - name: b\n")}, "image", 0},
		{"full spec duplicate container", head + img + "full_pod_spec: full.yaml\n", Options{FullPodSpec: &File{Path: "full.yaml", Data: []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - {name: x, image: a}\n  - {name: base, image: b}\n")}}, "containers[1].name", 0},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := renderFile(t, tc.body, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError: %v", err, err)
			}
			if fe.Field != tc.field {
				t.Errorf("field = %q, want %q (error: %s)", fe.Field, tc.field, msg)
			}
			if tc.field != "" && !strings.Contains(msg, tc.field) {
				t.Errorf("error %q does not name %q", msg, tc.field)
			}
			if tc.line != 0 && fe.Line != tc.line {
				t.Errorf("line = %d, want %d (error: %s)", fe.Line, tc.line, msg)
			}
		})
	}
}

// A value that is not a quantity is told by apimachinery's error value, not
// by its words, and said in the task's own terms.
func TestNotAQuantityIsToldByTheError(t *testing.T) {
	_, err := ParsePod("p.yaml", []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        memory: lots\n"))
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3: spec: holds a value that is not a quantity (e.g. 500m, 1, 256Mi, 2Gi)") {
		t.Fatalf("error %v", err)
	}
}

package render

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustRender(t *testing.T, body string, opts Options) (*corev1.Pod, *Task) {
	t.Helper()
	task, err := ParseTaskFile("task.yaml", []byte(body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if opts.RunID == "" {
		opts.RunID = "run-1"
	}
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	if opts.NameSuffix == "" {
		opts.NameSuffix = "abcd1234"
	}
	pod, err := Render(task, opts)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return pod, task
}

func base(t *testing.T, pod *corev1.Pod) *corev1.Container {
	t.Helper()
	c := findContainer(pod.Spec.Containers, pod.Annotations[AnnotationBaseContainer])
	if c == nil {
		t.Fatalf("no base container in %+v", pod.Spec.Containers)
	}
	return c
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

func TestRenderMinimal(t *testing.T) {
	pod, task := mustRender(t, head+"name: hello\nimage: docker.io/library/busybox:1.35\ncmds: [echo, hi]\n", Options{})
	eq(t, "name", pod.Name, "hello-abcd1234")
	eq(t, "kind", pod.Kind, "Pod")
	eq(t, "apiVersion", pod.APIVersion, "v1")
	eq(t, "restartPolicy", pod.Spec.RestartPolicy, corev1.RestartPolicyNever)
	eq(t, "containers", len(pod.Spec.Containers), 1)
	c := pod.Spec.Containers[0]
	eq(t, "container name", c.Name, "base")
	eq(t, "image", c.Image, "docker.io/library/busybox:1.35")
	eq(t, "command", c.Command, []string{"echo", "hi"})
	eq(t, "labels", pod.Labels, map[string]string{
		LabelManagedBy: ManagedByValue, LabelTask: "hello", LabelRunID: "run-1"})
	eq(t, "annotations", pod.Annotations, map[string]string{
		AnnotationTask: "hello", AnnotationRunID: "run-1", AnnotationBaseContainer: "base",
		AnnotationOnFinish: "delete_pod"})
	eq(t, "schedule timeout", task.ScheduleTimeout, 120*time.Second)
	eq(t, "startup timeout", task.StartupTimeout, 120*time.Second)
	eq(t, "pull grace", task.ImagePullGrace, 30*time.Second)
	eq(t, "xcom", task.XCom, "")
}

func TestRenderAllFields(t *testing.T) {
	body := head + `
name: all
namespace: jobs
image: busybox
cmds: [sh, -c]
arguments: ["echo $A"]
env_vars: {B: "2", A: "1"}
env_from:
  - configMapRef: {name: cm1}
configmaps: [cm2]
ports:
  - {containerPort: 8080, name: http}
container_resources:
  requests: {cpu: 100m, memory: 64Mi}
  limits: {cpu: 1, memory: 1Gi}
image_pull_policy: IfNotPresent
container_security_context: {runAsNonRoot: true}
volumes:
  - {name: data, emptyDir: {}}
volume_mounts:
  - {name: data, mountPath: /data}
termination_message_policy: FallbackToLogsOnError
pod_runtime_info_envs:
  - {name: POD_IP, field_path: status.podIP}
  - name: NODE
    valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
base_container_name: main
random_name_suffix: false
labels: {team: data}
annotations: {note: x}
node_selector: {disk: ssd}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions: [{key: zone, operator: In, values: [a]}]
tolerations:
  - {key: dedicated, operator: Equal, value: batch, effect: NoSchedule}
service_account_name: runner
automount_service_account_token: false
hostnetwork: true
host_aliases:
  - {ip: 10.0.0.1, hostnames: [db]}
hostname: h1
subdomain: sub
dns_policy: None
dns_config: {nameservers: [1.1.1.1]}
security_context: {runAsUser: 1000}
priority_class_name: low
schedulername: my-scheduler
active_deadline_seconds: 600
termination_grace_period: 5
image_pull_secrets: [reg1, {name: reg2}]
init_containers:
  - {name: init, image: busybox, command: ["true"]}
on_finish_action: keep_pod
startup_timeout_seconds: 10
schedule_timeout_seconds: 20.5
image_pull_grace_seconds: 3
`
	pod, task := mustRender(t, body, Options{})
	f, tr := false, true
	eq(t, "name", pod.Name, "all")
	eq(t, "namespace", pod.Namespace, "jobs")
	c := base(t, pod)
	eq(t, "container name", c.Name, "main")
	eq(t, "args", c.Args, []string{"echo $A"})
	eq(t, "env", c.Env, []corev1.EnvVar{{Name: "B", Value: "2"}, {Name: "A", Value: "1"},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}})
	eq(t, "envFrom", c.EnvFrom, []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm1"}}},
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm2"}}}})
	eq(t, "ports", c.Ports, []corev1.ContainerPort{{ContainerPort: 8080, Name: "http"}})
	eq(t, "requests", c.Resources.Requests.Cpu().String(), "100m")
	eq(t, "limits", c.Resources.Limits.Memory().String(), "1Gi")
	eq(t, "pull policy", c.ImagePullPolicy, corev1.PullIfNotPresent)
	eq(t, "security context", *c.SecurityContext.RunAsNonRoot, true)
	eq(t, "mounts", c.VolumeMounts, []corev1.VolumeMount{{Name: "data", MountPath: "/data"}})
	eq(t, "termination message policy", c.TerminationMessagePolicy, corev1.TerminationMessageFallbackToLogsOnError)
	s := pod.Spec
	eq(t, "labels", pod.Labels["team"], "data")
	eq(t, "annotations", pod.Annotations["note"], "x")
	eq(t, "node selector", s.NodeSelector, map[string]string{"disk": "ssd"})
	eq(t, "affinity", s.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key, "zone")
	eq(t, "tolerations", s.Tolerations, []corev1.Toleration{{Key: "dedicated", Operator: "Equal", Value: "batch", Effect: "NoSchedule"}})
	eq(t, "service account", s.ServiceAccountName, "runner")
	eq(t, "automount", s.AutomountServiceAccountToken, &f)
	eq(t, "host network", s.HostNetwork, tr)
	eq(t, "host aliases", s.HostAliases, []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"db"}}})
	eq(t, "hostname", s.Hostname+"."+s.Subdomain, "h1.sub")
	eq(t, "dns", string(s.DNSPolicy)+" "+s.DNSConfig.Nameservers[0], "None 1.1.1.1")
	eq(t, "pod security context", *s.SecurityContext.RunAsUser, int64(1000))
	eq(t, "priority class", s.PriorityClassName, "low")
	eq(t, "scheduler", s.SchedulerName, "my-scheduler")
	eq(t, "deadline", *s.ActiveDeadlineSeconds, int64(600))
	eq(t, "grace", *s.TerminationGracePeriodSeconds, int64(5))
	eq(t, "pull secrets", s.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "reg1"}, {Name: "reg2"}})
	eq(t, "init", s.InitContainers[0].Name, "init")
	eq(t, "volumes", s.Volumes, []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}})
	eq(t, "on finish", pod.Annotations[AnnotationOnFinish], "keep_pod")
	eq(t, "base annotation", pod.Annotations[AnnotationBaseContainer], "main")
	eq(t, "startup", task.StartupTimeout, 10*time.Second)
	eq(t, "schedule", task.ScheduleTimeout, 20500*time.Millisecond)
	eq(t, "grace", task.ImagePullGrace, 3*time.Second)
}

func TestEnvAndPullSecretForms(t *testing.T) {
	pod, _ := mustRender(t, head+"name: a\nimage: x\nenv_vars:\n  - {name: Z, value: last}\n  - name: N\n    valueFrom: {fieldRef: {fieldPath: metadata.name}}\nimage_pull_secrets: 'one, two,,three'\n", Options{})
	c := base(t, pod)
	eq(t, "env list keeps order", []string{c.Env[0].Name, c.Env[1].Name}, []string{"Z", "N"})
	eq(t, "pull secrets", pod.Spec.ImagePullSecrets, []corev1.LocalObjectReference{{Name: "one"}, {Name: "two"}, {Name: "three"}})
}

func TestSecretsThreeForms(t *testing.T) {
	body := head + `name: s
image: x
secrets:
  - {deploy_type: env, deploy_target: DB_PASSWORD, secret: db, key: password}
  - {deploy_type: env, secret: all-keys}
  - deploy_type: volume
    deploy_target: /etc/creds
    secret: creds
    items: [{key: token, path: token.txt}]
`
	pod, _ := mustRender(t, body, Options{})
	c := base(t, pod)
	eq(t, "env from key", c.Env, []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}})
	eq(t, "env from all keys", c.EnvFrom, []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "all-keys"}}}})
	eq(t, "mount", c.VolumeMounts, []corev1.VolumeMount{{Name: "secretvol2-creds", MountPath: "/etc/creds", ReadOnly: true}})
	eq(t, "volume", pod.Spec.Volumes, []corev1.Volume{{Name: "secretvol2-creds", VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: "creds", Items: []corev1.KeyToPath{{Key: "token", Path: "token.txt"}}}}}})
}

func TestXComSidecar(t *testing.T) {
	pod, task := mustRender(t, head+"name: x\nimage: busybox\ndo_xcom_push: true\n", Options{})
	eq(t, "mode", task.XCom, XComSidecar)
	eq(t, "annotation", pod.Annotations[AnnotationXComMode], XComSidecar)
	eq(t, "volumes", pod.Spec.Volumes, []corev1.Volume{{Name: "xcom", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}})
	mount := []corev1.VolumeMount{{Name: "xcom", MountPath: "/airflow/xcom"}}
	eq(t, "base mounts", base(t, pod).VolumeMounts, mount)
	if len(pod.Spec.Containers) != 2 {
		t.Fatalf("want base and sidecar, got %d containers", len(pod.Spec.Containers))
	}
	sc := pod.Spec.Containers[1]
	eq(t, "sidecar", sc, corev1.Container{
		Name:  "airflow-xcom-sidecar",
		Image: "docker.io/library/busybox:1.35",
		Command: []string{"sh", "-c",
			"trap 'exit 0' TERM INT; rm -f /tmp/podtask-xcom-stop; mkfifo /tmp/podtask-xcom-stop && { read _ < /tmp/podtask-xcom-stop & wait $!; }; exit 0"},
		ImagePullPolicy: corev1.PullIfNotPresent,
		VolumeMounts:    mount,
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("10Mi")}},
	})
	eq(t, "stop command", XComSidecarStopCommand, []string{"sh", "-c", "echo > /tmp/podtask-xcom-stop"})
	eq(t, "read command", XComReadCommand, []string{"sh", "-c",
		"if [ -s /airflow/xcom/return.json ]; then echo present; cat /airflow/xcom/return.json; else echo absent; fi"})

	pod, _ = mustRender(t, head+"name: x\nimage: busybox\nxcom_mode: sidecar\nxcom_sidecar_image: my/busybox:1\n", Options{})
	eq(t, "sidecar image", pod.Spec.Containers[1].Image, "my/busybox:1")
}

func TestXComTerminationMessage(t *testing.T) {
	pod, task := mustRender(t, head+"name: x\nimage: busybox\nxcom_mode: termination-message\ndo_xcom_push: true\n", Options{})
	eq(t, "mode", task.XCom, XComTerminationMessage)
	eq(t, "annotation", pod.Annotations[AnnotationXComMode], XComTerminationMessage)
	eq(t, "containers", len(pod.Spec.Containers), 1)
	c := base(t, pod)
	eq(t, "path", c.TerminationMessagePath, "/airflow/xcom/return.json")
	eq(t, "policy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile)
	eq(t, "mounts", c.VolumeMounts, []corev1.VolumeMount{{Name: "xcom", MountPath: "/airflow/xcom"}})
	eq(t, "volume", pod.Spec.Volumes[0].Name, "xcom")
}

func TestNoXComNoAnnotation(t *testing.T) {
	pod, _ := mustRender(t, head+"name: x\nimage: busybox\ndo_xcom_push: false\nannotations: {podtask.dev/xcom-mode: sidecar}\n", Options{})
	if _, ok := pod.Annotations[AnnotationXComMode]; ok {
		t.Errorf("xcom-mode annotation set without XCom: %v", pod.Annotations)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ in, suffix, want string }{
		{"hello", "", "hello"},
		{"Hello World!", "", "hello-world"},
		{"--a__b..c--", "", "a-b-c"},
		{"ETL.Daily_Load", "abcd1234", "etl-daily-load-abcd1234"},
		{strings.Repeat("a", 100), "", strings.Repeat("a", 63)},
		{strings.Repeat("a", 100), "abcd1234", strings.Repeat("a", 54) + "-abcd1234"},
		{strings.Repeat("ab-", 30), "", strings.TrimRight(strings.Repeat("ab-", 21), "-")},
	} {
		got := PodName(tc.in, tc.suffix)
		if got != tc.want {
			t.Errorf("PodName(%q, %q) = %q, want %q", tc.in, tc.suffix, got, tc.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("PodName(%q) = %q is not a DNS label: %v", tc.in, got, errs)
		}
	}
	s := RandomSuffix(8)
	if len(s) != 8 || strings.Trim(s, suffixAlphas) != "" {
		t.Errorf("RandomSuffix(8) = %q", s)
	}
	id := NewRunID()
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 || id == NewRunID() {
		t.Errorf("NewRunID() = %q: %v", id, errs)
	}
}

func TestRandomSuffix(t *testing.T) {
	task, err := ParseTaskFile("t", []byte(head+"name: job\nimage: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := Render(task, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pod.Name, "job-") || len(pod.Name) != len("job-")+8 {
		t.Errorf("name %q has no 8-character suffix", pod.Name)
	}
	if pod.Labels[LabelRunID] == "" || pod.Labels[LabelRunID] != pod.Annotations[AnnotationRunID] {
		t.Errorf("run id label %q / annotation %q", pod.Labels[LabelRunID], pod.Annotations[AnnotationRunID])
	}
}

func TestLabelValues(t *testing.T) {
	long := strings.Repeat("x", 80)
	long2 := strings.Repeat("x", 79) + "y"
	for _, in := range []string{"ok", "My Task: daily", "-x-", long, long2, "ü", strings.Repeat("é", 40)} {
		got := LabelValue(in)
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("LabelValue(%q) = %q: %v", in, got, errs)
		}
	}
	eq(t, "kept", LabelValue("etl-daily"), "etl-daily")
	eq(t, "cleaned", LabelValue("My Task: daily"), "My-Task--daily")
	if a, b := LabelValue(long), LabelValue(long2); a == b || len(a) != 63 || !strings.HasPrefix(a, strings.Repeat("x", 52)+"-") {
		t.Errorf("long values: %q and %q", a, b)
	}

	pod, _ := mustRender(t, head+"name: "+long+"\nimage: x\n", Options{RunID: "manual__2026-01-02T03:04:05+00:00"})
	eq(t, "task label hashed", pod.Labels[LabelTask], LabelValue(long))
	eq(t, "task annotation unhashed", pod.Annotations[AnnotationTask], long)
	eq(t, "run id label", pod.Labels[LabelRunID], "manual__2026-01-02T03-04-05-00-00")
	eq(t, "run id annotation", pod.Annotations[AnnotationRunID], "manual__2026-01-02T03:04:05+00:00")
	if len(pod.Name) > 63 {
		t.Errorf("pod name too long: %q", pod.Name)
	}
}

func TestTemplating(t *testing.T) {
	body := head + `name: "etl-{{ .ds_nodash }}-{{ .params.table }}"
namespace: team-a
image: "busybox:{{ .params.tag }}"
cmds: [sh, -c]
arguments:
  - "echo {{ .task_name }} {{ .namespace }} {{ .run_id }} {{ .ds }} {{ .ts }} {{ .params.table | upper }} {{ default \"none\" .params.empty }}"
env_vars: {TABLE: "{{ .params.table }}"}
labels: {table: "{{ .params.table }}"}
params: {table: users, tag: "1.35", empty: ""}
container_resources:
  limits: {memory: "{{ .params.mem }}"}
`
	task, err := ParseTaskFile("t", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	task.Params["mem"] = "128Mi" // as --param mem=128Mi would
	pod, err := Render(task, Options{RunID: "r7", Now: fixedNow, NameSuffix: "zzzzzzzz"})
	if err != nil {
		t.Fatal(err)
	}
	c := base(t, pod)
	eq(t, "name", pod.Name, "etl-20260102-users-zzzzzzzz")
	eq(t, "image", c.Image, "busybox:1.35")
	eq(t, "args", c.Args, []string{"echo etl-20260102-users team-a r7 2026-01-02 2026-01-02T03:04:05Z USERS none"})
	eq(t, "env", c.Env, []corev1.EnvVar{{Name: "TABLE", Value: "users"}})
	eq(t, "label", pod.Labels["table"], "users")
	eq(t, "limit", c.Resources.Limits.Memory().String(), "128Mi")
	eq(t, "task label", pod.Labels[LabelTask], "etl-20260102-users")
	// The task itself keeps its templates.
	eq(t, "task image", task.Image, "busybox:{{ .params.tag }}")
}

func TestDefaultName(t *testing.T) {
	pod, _ := mustRender(t, head+"image: docker.io/library/busybox:1.35\nrandom_name_suffix: false\n", Options{})
	eq(t, "from image", pod.Name, "busybox")
	pod, _ = mustRender(t, head+"image: x\nrandom_name_suffix: false\n", Options{BaseName: "nightly"})
	eq(t, "from workload", pod.Name, "nightly")
}

func TestMergeKPORules(t *testing.T) {
	tplFile := &File{Path: "tpl.yaml", Data: []byte(`apiVersion: v1
kind: Pod
metadata:
  name: from-template
  labels: {team: a, tier: template}
  annotations: {a: "1"}
spec:
  serviceAccountName: template-sa
  nodeSelector: {pool: template}
  initContainers:
    - {name: init-a, image: busybox}
  volumes:
    - {name: tpl-vol, emptyDir: {}}
  containers:
    - name: whatever
      image: template-image
      imagePullPolicy: Always
      workingDir: /work
      env: [{name: FROM_TEMPLATE, value: "1"}]
      volumeMounts: [{name: tpl-vol, mountPath: /tpl}]
      ports: [{containerPort: 80}]
    - name: helper
      image: helper-image
`)}
	fullFile := &File{Path: "full.json", Data: []byte(`{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"labels": {"tier": "full"}},
 "spec": {"priorityClassName": "high", "containers": [{"name": "x", "env": [{"name": "FROM_FULL", "value": "2"}]}]}}`)}
	body := head + `name: merged
cmds: [echo, task]
env_vars: {FROM_TASK: "3"}
labels: {tier: task}
init_containers:
  - {name: init-b, image: busybox}
volumes:
  - {name: task-vol, emptyDir: {}}
volume_mounts:
  - {name: task-vol, mountPath: /task}
ports:
  - containerPort: 81
node_selector: {pool: task}
`
	pod, _ := mustRender(t, body, Options{TemplateFile: tplFile, FullPodSpec: fullFile})
	c := pod.Spec.Containers[0]
	eq(t, "base container renamed", c.Name, "base")
	eq(t, "image from template", c.Image, "template-image")
	eq(t, "command from task", c.Command, []string{"echo", "task"})
	eq(t, "workingDir kept", c.WorkingDir, "/work")
	eq(t, "pull policy kept", c.ImagePullPolicy, corev1.PullAlways)
	eq(t, "env concatenated", c.Env, []corev1.EnvVar{{Name: "FROM_TEMPLATE", Value: "1"}, {Name: "FROM_FULL", Value: "2"}, {Name: "FROM_TASK", Value: "3"}})
	eq(t, "mounts concatenated", c.VolumeMounts, []corev1.VolumeMount{{Name: "tpl-vol", MountPath: "/tpl"}, {Name: "task-vol", MountPath: "/task"}})
	eq(t, "ports concatenated", c.Ports, []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 81}})
	eq(t, "second container kept", pod.Spec.Containers[1].Name, "helper")
	eq(t, "init containers concatenated", []string{pod.Spec.InitContainers[0].Name, pod.Spec.InitContainers[1].Name}, []string{"init-a", "init-b"})
	eq(t, "volumes concatenated", []string{pod.Spec.Volumes[0].Name, pod.Spec.Volumes[1].Name}, []string{"tpl-vol", "task-vol"})
	eq(t, "labels merged", []string{pod.Labels["team"], pod.Labels["tier"]}, []string{"a", "task"})
	eq(t, "annotations merged", pod.Annotations["a"], "1")
	eq(t, "service account from template", pod.Spec.ServiceAccountName, "template-sa")
	eq(t, "priority class from full spec", pod.Spec.PriorityClassName, "high")
	eq(t, "node selector: the caller's wins whole", pod.Spec.NodeSelector, map[string]string{"pool": "task"})
	eq(t, "name from task", pod.Name, "merged-abcd1234")
}

func TestMergePodsUnit(t *testing.T) {
	yes := true
	b := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"x": "b"}, Finalizers: []string{"f1"}},
		Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "c", Image: "i", EnvFrom: []corev1.EnvFromSource{{Prefix: "B"}}}},
			Tolerations: []corev1.Toleration{{Key: "b"}}},
	}
	c := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"y": "c"}, Finalizers: []string{"f2"}},
		Spec: corev1.PodSpec{EnableServiceLinks: &yes, Containers: []corev1.Container{{EnvFrom: []corev1.EnvFromSource{{Prefix: "C"}}}, {Name: "extra", Image: "e"}},
			Tolerations: []corev1.Toleration{{Key: "c"}}},
	}
	bc, cc := b.DeepCopy(), c.DeepCopy()
	m := MergePods(b, c)
	eq(t, "inputs untouched", []*corev1.Pod{b, c}, []*corev1.Pod{bc, cc})
	eq(t, "name", m.Name, "b")
	eq(t, "labels", m.Labels, map[string]string{"x": "b", "y": "c"})
	eq(t, "finalizers", m.Finalizers, []string{"f1", "f2"})
	eq(t, "host network kept", m.Spec.HostNetwork, true)
	eq(t, "service links", *m.Spec.EnableServiceLinks, true)
	eq(t, "tolerations: the caller's wins whole", m.Spec.Tolerations, []corev1.Toleration{{Key: "c"}})
	eq(t, "containers", len(m.Spec.Containers), 2)
	eq(t, "envFrom", m.Spec.Containers[0].EnvFrom, []corev1.EnvFromSource{{Prefix: "B"}, {Prefix: "C"}})
	eq(t, "name and image from base", m.Spec.Containers[0].Name+"/"+m.Spec.Containers[0].Image, "c/i")
	eq(t, "nil base", MergePods(nil, c), cc)
	eq(t, "nil client", MergePods(b, nil), bc)
}

func TestFromWorkload(t *testing.T) {
	tpl := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"batch.kubernetes.io/job-name": "nightly", "controller-uid": "u"},
			Annotations: map[string]string{"keep": "me"},
		},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyOnFailure,
			NodeName:      "node-1",
			Volumes: []corev1.Volume{{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{Name: "job", Image: "busybox", Command: []string{"false"},
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}},
				Env:           []corev1.EnvVar{{Name: "MODE", Value: "prod"}},
				VolumeMounts: []corev1.VolumeMount{{Name: "kube-api-access-abcde", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"},
					{Name: "data", MountPath: "/data"}}}},
		},
	}
	orig := tpl.DeepCopy()
	task := &Task{Cmds: []string{"sh", "-c", "env"}, EnvVars: EnvVars{{Name: "DEBUG", Value: "1"}}}
	pod, err := Render(task, Options{Base: tpl, BaseName: "nightly", RunID: "r", NameSuffix: "abcdefgh"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "template untouched", tpl, orig)
	eq(t, "name", pod.Name, "nightly-abcdefgh")
	eq(t, "restart policy", pod.Spec.RestartPolicy, corev1.RestartPolicyNever)
	eq(t, "node name dropped", pod.Spec.NodeName, "")
	eq(t, "job labels dropped", pod.Labels["controller-uid"]+pod.Labels["batch.kubernetes.io/job-name"], "")
	eq(t, "annotations kept", pod.Annotations["keep"], "me")
	c := base(t, pod)
	eq(t, "image", c.Image, "busybox")
	eq(t, "command replaced", c.Command, []string{"sh", "-c", "env"})
	eq(t, "env added", c.Env, []corev1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "DEBUG", Value: "1"}})
	eq(t, "token volume dropped", pod.Spec.Volumes, []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}})
	eq(t, "probes dropped", c.LivenessProbe == nil, true)
	eq(t, "token mount dropped", c.VolumeMounts, []corev1.VolumeMount{{Name: "data", MountPath: "/data"}})
}

func TestParsePodJSONAndErrors(t *testing.T) {
	p, err := ParsePod("p.json", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"a","image":"b"}]}}`))
	if err != nil || p.Name != "x" || p.Spec.Containers[0].Image != "b" {
		t.Fatalf("ParsePod: %v %+v", err, p)
	}
}

func TestRenderDoesNotKeepState(t *testing.T) {
	task, _ := ParseTaskFile("t", []byte(head+"name: a\nimage: b\nlabels: {x: y}\n"))
	p1, err := Render(task, Options{RunID: "1", NameSuffix: "aaaaaaaa"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := Render(task, Options{RunID: "2", NameSuffix: "bbbbbbbb"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "first run id", p1.Labels[LabelRunID], "1")
	eq(t, "second run id", p2.Labels[LabelRunID], "2")
	eq(t, "task labels untouched", task.Labels, map[string]string{"x": "y"})
}

func TestEnvMapScalars(t *testing.T) {
	pod, _ := mustRender(t, head+"name: a\nimage: x\nenv_vars: {PORT: 80, DEBUG: true, RATIO: 0.5, NAME: y}\n", Options{})
	eq(t, "env", base(t, pod).Env, []corev1.EnvVar{{Name: "PORT", Value: "80"}, {Name: "DEBUG", Value: "true"}, {Name: "RATIO", Value: "0.5"}, {Name: "NAME", Value: "y"}})
	eq(t, "non-ASCII label value", LabelValue("ü") != "", true)
}

func TestTemplateLiteralBraces(t *testing.T) {
	pod, _ := mustRender(t, head+"name: a\nimage: x\ncmds: ['docker inspect -f {{`{{ .Id }}`}}', '{{ \"{{\" }}x']\n", Options{})
	eq(t, "cmds", base(t, pod).Command, []string{"docker inspect -f {{ .Id }}", "{{x"})
}

func TestExportedPodAsTemplate(t *testing.T) {
	tpl := &File{Path: "exported.yaml", Data: []byte(`apiVersion: v1
kind: Pod
metadata:
  name: web-1
  uid: 0b6f2c1e-1111-2222-3333-444455556666
  resourceVersion: "1234"
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl, operation: Update}]
spec:
  containers: [{name: web, image: busybox}]
status:
  phase: Running
`)}
	pod, _ := mustRender(t, head+"cmds: [date]\n", Options{TemplateFile: tpl})
	eq(t, "name", pod.Name, "web-1-abcd1234")
	eq(t, "server fields cleared", []any{pod.UID, pod.ResourceVersion, pod.CreationTimestamp.IsZero(), len(pod.ManagedFields), pod.Status.Phase},
		[]any{types.UID(""), "", true, 0, corev1.PodPhase("")})
}

func TestCustomBaseContainerName(t *testing.T) {
	pod, task := mustRender(t, head+"name: a\nbase_container_name: main\nimage: x\ndo_xcom_push: true\n", Options{})
	eq(t, "name", pod.Spec.Containers[0].Name, "main")
	eq(t, "annotation", pod.Annotations[AnnotationBaseContainer], "main")
	eq(t, "task", task.BaseContainerName, "main")
	eq(t, "xcom mount on main", pod.Spec.Containers[0].VolumeMounts[0].MountPath, XComMountPath)
}

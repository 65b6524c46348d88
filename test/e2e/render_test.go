package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// renderPod runs `render` with args and parses its output back into a Pod.
func renderPod(t *testing.T, args ...string) (*corev1.Pod, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"render"}, args...)...)
	if code != 0 {
		return nil, stderr, code
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(stdout), &pod); err != nil {
		t.Fatalf("render printed no Pod: %v\n%s", err, stdout)
	}
	return &pod, stderr, code
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no repository root above %s", dir)
		}
		dir = parent
	}
}

// render prints the pod field by field as the task file and flags say, and
// creates nothing.
func TestRenderFieldByField(t *testing.T) {
	t.Parallel()
	pod, stderr, code := renderPod(t, "-f", repoFile(t, "examples/xcom.yaml"),
		"--name", "render-e2e-{{ .params.day }}", "--param", "day=monday",
		"--env", "GREETING=hello {{ .params.day }}", "--label", "suite=e2e",
		"--requests", "cpu=10m,memory=16Mi", "--on-finish-action", "keep_pod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("kind", pod.Kind, "Pod")
	check("apiVersion", pod.APIVersion, "v1")
	check("namespace", pod.Namespace, e2eutil.Namespace)
	check("name prefix", strings.HasPrefix(pod.Name, "render-e2e-monday-"), true)
	check("name length", len(pod.Name), len("render-e2e-monday-")+8)
	check("restartPolicy", pod.Spec.RestartPolicy, corev1.RestartPolicyNever)
	check("label suite", pod.Labels["suite"], "e2e")
	check("label managed-by", pod.Labels["app.kubernetes.io/managed-by"], "kubectl-podtask")
	check("label task", pod.Labels["podtask.dev/task"], "render-e2e-monday")
	check("label run id", pod.Labels["podtask.dev/run-id"] != "", true)
	check("annotation xcom", pod.Annotations["podtask.dev/xcom-mode"], "sidecar")
	check("annotation on-finish", pod.Annotations["podtask.dev/on-finish-action"], "keep_pod")
	check("annotation base", pod.Annotations["podtask.dev/base-container"], "base")
	if len(pod.Spec.Containers) != 2 {
		t.Fatalf("containers: %d, want base and sidecar", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	check("container", c.Name, "base")
	check("image", c.Image, e2eutil.BusyboxImage)
	check("command", strings.Join(c.Command, "|"), "sh|-c|mkdir -p /airflow/xcom/;echo '[1,2,3,4]' > /airflow/xcom/return.json")
	check("env", len(c.Env) == 1 && c.Env[0].Name == "GREETING" && c.Env[0].Value == "hello monday", true)
	check("cpu request", c.Resources.Requests.Cpu().String(), "10m")
	check("memory request", c.Resources.Requests.Memory().String(), "16Mi")
	check("xcom mount", len(c.VolumeMounts) == 1 && c.VolumeMounts[0].MountPath == "/airflow/xcom", true)
	s := pod.Spec.Containers[1]
	check("sidecar", s.Name, "airflow-xcom-sidecar")
	check("sidecar image", s.Image, e2eutil.BusyboxImage)
	check("xcom volume", len(pod.Spec.Volumes) == 1 && pod.Spec.Volumes[0].EmptyDir != nil, true)
	if podExists(t, pod.Namespace, pod.Name) {
		t.Errorf("render created pod %s", pod.Name)
	}

	// JSON output is the same pod.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "render", "-o", "json", "--image", e2eutil.BusyboxImage, "--name", "as-json", "--random-name-suffix=false")
	var jp corev1.Pod
	if code != 0 || json.Unmarshal([]byte(stdout), &jp) != nil || jp.Name != "as-json" {
		t.Errorf("render -o json: exit %d, %q\n%s", code, stdout, stderr)
	}
}

// Bad input is one line naming the field, exit 64, and nothing reaches the
// cluster.
func TestRenderBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--name", "no-image"}, "image"},
		{[]string{"--image", e2eutil.BusyboxImage, "--limits", "memory=lots"}, "container_resources.limits.memory"},
		{[]string{"--image", e2eutil.BusyboxImage, "--cmds", "{{ .params.missing }}"}, "cmds[0]"},
		{[]string{"--image", e2eutil.BusyboxImage, "--xcom=false", "--xcom-mode", "sidecar"}, "--xcom"},
	} {
		_, stderr, code := renderPod(t, append(tc.args, "--dry-run=server")...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 64 || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 64 and one line naming %s", tc.args, code, stderr, tc.want)
		}
	}
}

// --dry-run=server: the server accepts a good task (and fills in its
// defaults) and refuses one it finds invalid, in one line, exit 69.
func TestRenderDryRunServer(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("dry-run")
	pod, stderr, code := renderPod(t, "--dry-run=server", "--image", e2eutil.BusyboxImage, "--name", name,
		"--random-name-suffix=false", "--xcom-mode", "termination-message", "--", "true")
	if code != 0 {
		t.Fatalf("good task refused: exit %d: %s", code, stderr)
	}
	if pod.UID == "" || pod.CreationTimestamp.IsZero() {
		t.Errorf("not the server's answer: uid %q created %v", pod.UID, pod.CreationTimestamp)
	}
	if pod.Spec.SchedulerName != "default-scheduler" || pod.Spec.Containers[0].TerminationMessagePath != "/airflow/xcom/return.json" {
		t.Errorf("server defaults missing or our fields lost: scheduler %q path %q", pod.Spec.SchedulerName, pod.Spec.Containers[0].TerminationMessagePath)
	}
	if podExists(t, e2eutil.Namespace, name) {
		t.Errorf("server dry run created pod %s", name)
		e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	}

	// A resource name the API server refuses but the task file allows.
	_, stderr, code = renderPod(t, "--dry-run=server", "--image", e2eutil.BusyboxImage, "--name", "refused",
		"--limits", "bogus=1")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 69 || len(lines) != 1 || !strings.Contains(stderr, "the server rejected the pod") ||
		!strings.Contains(stderr, "resources.limits[bogus]") {
		t.Errorf("rejection: exit %d, stderr %q; want 69 and one line naming resources.limits[bogus]", code, stderr)
	}
}

// --from=job/NAME starts from the job's pod template, with the task's
// command and env on top, and the server accepts the result.
func TestRenderFromJob(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jobs, err := batchv1client.NewForConfig(e2eutil.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	name := e2eutil.UniqueName("render-from")
	suspend := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e2eutil.Namespace},
		Spec: batchv1.JobSpec{
			Suspend: &suspend, // the job itself never runs a pod
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nightly"}, Annotations: map[string]string{"owner": "data"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{
						Name: "etl", Image: e2eutil.BusyboxImage, Command: []string{"sh", "-c", "exit 3"},
						Env:          []corev1.EnvVar{{Name: "MODE", Value: "prod"}},
						VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					}},
					Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
	if _, err := jobs.Jobs(e2eutil.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating job: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bg := metav1.DeletePropagationBackground
		if err := jobs.Jobs(e2eutil.Namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting job %s: %v", name, err)
		}
	})

	for _, dryRun := range []string{"client", "server"} {
		pod, stderr, code := renderPod(t, "--from", "job/"+name, "--dry-run="+dryRun, "--env", "DEBUG=1", "--", "sh", "-c", "env; ls /data")
		if code != 0 {
			t.Fatalf("--dry-run=%s: exit %d: %s", dryRun, code, stderr)
		}
		c := pod.Spec.Containers[0]
		if !strings.HasPrefix(pod.Name, name+"-") || c.Name != "base" || c.Image != e2eutil.BusyboxImage ||
			strings.Join(c.Command, " ") != "sh -c env; ls /data" {
			t.Errorf("--dry-run=%s: name %q container %q image %q command %q", dryRun, pod.Name, c.Name, c.Image, c.Command)
		}
		if len(c.Env) < 2 || c.Env[0].Name != "MODE" || c.Env[1].Name != "DEBUG" {
			t.Errorf("--dry-run=%s: env %+v, want MODE then DEBUG", dryRun, c.Env)
		}
		if len(c.VolumeMounts) == 0 || c.VolumeMounts[0].MountPath != "/data" {
			t.Errorf("--dry-run=%s: mounts %+v", dryRun, c.VolumeMounts)
		}
		if pod.Labels["app"] != "" || pod.Labels["batch.kubernetes.io/job-name"] != "" || pod.Labels["controller-uid"] != "" {
			t.Errorf("--dry-run=%s: workload labels copied: %v", dryRun, pod.Labels)
		}
		if pod.Annotations["owner"] != "data" || pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("--dry-run=%s: annotations %v restartPolicy %s", dryRun, pod.Annotations, pod.Spec.RestartPolicy)
		}
	}

	_, stderr, code := renderPod(t, "--from", "job/"+name+"-absent")
	if code != 69 || !strings.Contains(stderr, "not found") {
		t.Errorf("absent job: exit %d, stderr %q; want 69 and not found", code, stderr)
	}
}

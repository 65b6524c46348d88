package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

const busybox = "docker.io/library/busybox:1.35"

// summary is the part of `run -o json` the tests read.
type summary struct {
	Pod       string          `json:"pod"`
	Namespace string          `json:"namespace"`
	Outcome   string          `json:"outcome"`
	Reason    string          `json:"reason"`
	ExitCode  *int32          `json:"exitCode"`
	XCom      json.RawMessage `json:"xcom"`
	HasXCom   bool            `json:"hasXcom"`
	Deleted   bool            `json:"podDeleted"`
}

func runJSON(t *testing.T, args ...string) (summary, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"run", "-o", "json"}, args...)...)
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("run -o json printed no summary (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	if s.Pod != "" {
		e2eutil.CleanupPod(t, s.Namespace, s.Pod)
	}
	return s, stderr, code
}

func podExists(t *testing.T, ns, name string) bool {
	t.Helper()
	_, err := e2eutil.Client(t).Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("get pod %s: %v", name, err)
	}
	return true
}

// The seed's own XCom example gives [1,2,3,4], exit 0, and no pod is left.
func TestRunXComSidecarSeedExample(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", "xcom-seed", "--image", busybox, "--xcom", "--xcom-out", "-",
		"--", "sh", "-c", "mkdir -p /airflow/xcom/;echo '[1,2,3,4]' > /airflow/xcom/return.json")
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", code, stderr)
	}
	if got := strings.TrimSpace(stdout); got != "[1,2,3,4]" {
		t.Fatalf("stdout = %q, want [1,2,3,4]\nstderr:\n%s", got, stderr)
	}
	if !strings.Contains(stderr, "pod deleted") {
		t.Errorf("stderr does not report the deletion:\n%s", stderr)
	}
	if pods := e2eutil.PodsWithLabel(t, "default", "podtask.dev/task=xcom-seed"); len(pods) > 0 {
		for _, p := range pods {
			if p.DeletionTimestamp == nil {
				t.Errorf("pod %s left behind (not even terminating)", p.Name)
			}
		}
	}
}

func TestRunXComTerminationMessage(t *testing.T) {
	t.Parallel()
	s, stderr, code := runJSON(t, "--image", busybox, "--xcom-mode", "termination-message",
		"--", "sh", "-c", `echo working; echo '{"rows": 42, "ok": true}' > /airflow/xcom/return.json`)
	if code != 0 || s.Outcome != "Succeeded" {
		t.Fatalf("exit %d outcome %s\n%s", code, s.Outcome, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal(s.XCom, &v); err != nil || v["rows"] != float64(42) || v["ok"] != true {
		t.Fatalf("xcom = %s (%v)", s.XCom, err)
	}
	if !s.Deleted {
		t.Errorf("pod not deleted under delete_pod")
	}
}

// A 1 MB result arrives intact through exec.
func TestRunXComOneMegabyte(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "xcom.json")
	// A JSON string of 1,000,000 characters with varied content: the digits of each line number.
	script := `mkdir -p /airflow/xcom; { printf '"'; i=0; while [ $i -lt 142858 ]; do printf '%07d' $i; i=$((i+1)); done | head -c 1000000; printf '"'; } > /airflow/xcom/return.json`
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--image", busybox, "--xcom", "--xcom-out", out, "-q", "--", "sh", "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteByte('"')
	for i := 0; want.Len() < 1000001; i++ {
		fmt.Fprintf(&want, "%07d", i)
	}
	w := want.String()[:1000001] + "\"\n"
	if len(got) != len(w) || sha256.Sum256(got) != sha256.Sum256([]byte(w)) {
		t.Fatalf("xcom of %d bytes differs from the %d bytes written (start %q)", len(got), len(w), string(got[:min(40, len(got))]))
	}
}

func TestRunXComAbsentAndInvalid(t *testing.T) {
	t.Parallel()
	s, stderr, code := runJSON(t, "--image", busybox, "--xcom", "--", "sh", "-c", "echo no result")
	if code != 0 || s.HasXCom {
		t.Fatalf("no result: exit %d hasXcom %v\n%s", code, s.HasXCom, stderr)
	}
	s, stderr, code = runJSON(t, "--image", busybox, "--xcom", "--", "sh", "-c", "mkdir -p /airflow/xcom; echo 'not json {' > /airflow/xcom/return.json")
	if code != 76 {
		t.Fatalf("invalid JSON: exit %d, want 76\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "not valid JSON") || !strings.Contains(stderr, `"not json {`) {
		t.Errorf("error does not quote the start of the content:\n%s", stderr)
	}
	if s.Pod == "" || podExists(t, s.Namespace, s.Pod) && !s.Deleted {
		t.Errorf("pod not cleaned up after an XCom error")
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 3, 42} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			stdout, stderr, got := e2eutil.RunPlugin(t, ctx, "", "run", "--image", busybox, "--", "sh", "-c", fmt.Sprintf("echo line-one; echo line-two; exit %d", code))
			if got != code {
				t.Fatalf("exit %d, want %d\n%s", got, code, stderr)
			}
			if stdout != "line-one\nline-two\n" {
				t.Errorf("stdout = %q: logs should be exactly the container's output", stdout)
			}
			if code != 0 && !strings.Contains(stderr, fmt.Sprintf("exit code %d", code)) {
				t.Errorf("stderr does not report the exit code:\n%s", stderr)
			}
		})
	}
}

func TestRunOnFinishActions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		action   string
		exit     int
		wantKept bool
	}{
		{"delete_pod", 0, false},
		{"delete_pod", 1, false},
		{"keep_pod", 0, true},
		{"keep_pod", 1, true},
		{"delete_succeeded_pod", 0, false},
		{"delete_succeeded_pod", 1, true},
		{"delete_active_pod", 0, true},
		{"delete_active_pod", 1, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-exit%d", c.action, c.exit), func(t *testing.T) {
			t.Parallel()
			s, stderr, code := runJSON(t, "--image", busybox, "--on-finish-action", c.action, "--", "sh", "-c", fmt.Sprintf("exit %d", c.exit))
			if code != c.exit {
				t.Fatalf("exit %d, want %d\n%s", code, c.exit, stderr)
			}
			kept := podExists(t, s.Namespace, s.Pod)
			if kept && !c.wantKept {
				pod, _ := e2eutil.Client(t).Pods(s.Namespace).Get(context.Background(), s.Pod, metav1.GetOptions{})
				if pod == nil || pod.DeletionTimestamp == nil {
					t.Fatalf("pod kept, want deleted\n%s", stderr)
				}
			}
			if !kept && c.wantKept {
				t.Fatalf("pod deleted, want kept\n%s", stderr)
			}
			if c.wantKept && !strings.Contains(stderr, "kubectl podtask attach "+s.Pod) {
				t.Errorf("a kept pod should come with the attach command:\n%s", stderr)
			}
		})
	}
}

func TestRunMissingImageFailsFast(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s, stderr, code := runJSON(t, "--image", "127.0.0.1:1/missing:1.0", "--image-pull-grace", "3s", "--", "true")
	if code != 75 {
		t.Fatalf("exit %d, want 75\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "ErrImagePull") && !strings.Contains(stderr, "ImagePullBackOff") {
		t.Errorf("error does not name the pull failure:\n%s", stderr)
	}
	if s.Outcome != "StartFailed" {
		t.Errorf("outcome %s, want StartFailed", s.Outcome)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("took %s to fail; the grace period was 3s", d)
	}
	e2eutil.WaitPodGone(t, s.Namespace, s.Pod, time.Minute)
}

func TestRunMissingSecretFailsFast(t *testing.T) {
	t.Parallel()
	task := writeFile(t, "task.yaml", `apiVersion: podtask.dev/v1alpha1
kind: Task
name: missing-secret
image: `+busybox+`
cmds: ["true"]
secrets:
  - deploy_type: env
    deploy_target: PASSWORD
    secret: no-such-secret
    key: password
`)
	s, stderr, code := runJSON(t, "-f", task)
	if code != 75 || !strings.Contains(stderr, "CreateContainerConfigError") || !strings.Contains(stderr, "no-such-secret") {
		t.Fatalf("exit %d, want 75 naming CreateContainerConfigError and the secret\n%s", code, stderr)
	}
	e2eutil.WaitPodGone(t, s.Namespace, s.Pod, time.Minute)
}

func TestRunStartupTimeout(t *testing.T) {
	t.Parallel()
	task := writeFile(t, "task.yaml", `apiVersion: podtask.dev/v1alpha1
kind: Task
name: slow-start
image: `+busybox+`
cmds: ["true"]
startup_timeout_seconds: 3
init_containers:
  - name: slow
    image: `+busybox+`
    command: ["sleep", "60"]
`)
	s, stderr, code := runJSON(t, "-f", task)
	if code != 75 || !strings.Contains(stderr, "StartupTimeout") {
		t.Fatalf("exit %d, want 75 with StartupTimeout\n%s", code, stderr)
	}
	e2eutil.WaitPodGone(t, s.Namespace, s.Pod, 2*time.Minute)
}

func TestRunInterruptDeletesPod(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			name := e2eutil.UniqueName("interrupt")
			done := make(chan struct{})
			var stderr string
			var code int
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				defer close(done)
				_, stderr, code = runPluginSignal(t, ctx, sig, "run", "--name", name, "--random-name-suffix=false",
					"--image", busybox, "--", "sh", "-c", "echo started; sleep 300")
			}()
			e2eutil.WaitPod(t, "default", name, 2*time.Minute, func(p *corev1.Pod) bool { return e2eutil.ContainerRunning(p, "base") })
			cancel()
			<-done
			if code != 130 {
				t.Fatalf("exit %d, want 130\n%s", code, stderr)
			}
			e2eutil.WaitPodGone(t, "default", name, time.Minute)
		})
	}
}

// Secrets in KPO's three forms, a config map, a volume with a mount, and an init container.
func TestRunSecretsConfigMapsVolumesInit(t *testing.T) {
	t.Parallel()
	c := e2eutil.Client(t)
	ctx := context.Background()
	sec := e2eutil.UniqueName("creds")
	cm := e2eutil.UniqueName("settings")
	_, err := c.Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sec},
		StringData: map[string]string{"user": "alice", "token": "s3cr3t"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Secrets("default").Delete(context.Background(), sec, metav1.DeleteOptions{}) })
	_, err = c.ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: cm},
		Data:       map[string]string{"MODE": "fast"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ConfigMaps("default").Delete(context.Background(), cm, metav1.DeleteOptions{}) })

	task := writeFile(t, "task.yaml", fmt.Sprintf(`apiVersion: podtask.dev/v1alpha1
kind: Task
name: wiring
image: %[1]s
cmds: ["sh", "-c"]
arguments:
  - 'echo "env-one=$ONE_USER"; echo "env-all=$token"; echo "vol=$(cat /etc/creds/user)"; echo "cm=$MODE"; echo "init=$(cat /work/init.txt)"'
configmaps: [%[3]s]
secrets:
  - {deploy_type: env, deploy_target: ONE_USER, secret: %[2]s, key: user}
  - {deploy_type: env, secret: %[2]s}
  - {deploy_type: volume, deploy_target: /etc/creds, secret: %[2]s}
volumes:
  - name: work
    emptyDir: {}
volume_mounts:
  - {name: work, mountPath: /work}
init_containers:
  - name: prepare
    image: %[1]s
    command: ["sh", "-c", "echo prepared > /work/init.txt"]
    volumeMounts:
      - {name: work, mountPath: /work}
`, busybox, sec, cm))
	stdoutCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, stdoutCtx, "", "run", "-f", task)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"env-one=alice", "env-all=s3cr3t", "vol=alice", "cm=fast", "init=prepared"} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stderr, "s3cr3t") {
		t.Errorf("a secret value appeared on stderr")
	}
}

// A pod template file, a full pod spec and flags, merged with KPO's rules.
func TestRunTemplateFullSpecAndFlagsMerged(t *testing.T) {
	t.Parallel()
	tmpl := writeFile(t, "template.yaml", `apiVersion: v1
kind: Pod
metadata:
  labels: {team: data, layer: template}
spec:
  containers:
    - name: base
      image: `+busybox+`
      env: [{name: FROM_TEMPLATE, value: "t"}]
`)
	full := writeFile(t, "full.yaml", `apiVersion: v1
kind: Pod
metadata:
  labels: {layer: full}
spec:
  containers:
    - name: base
      env: [{name: FROM_FULL, value: "f"}]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", "merged", "--pod-template-file", tmpl, "--full-pod-spec", full,
		"--env", "FROM_FLAG=x", "--label", "layer=flag", "--on-finish-action", "keep_pod", "-o", "json", "--",
		"sh", "-c", `echo "$FROM_TEMPLATE$FROM_FULL$FROM_FLAG"`)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary: %v\n%s", err, stdout)
	}
	e2eutil.CleanupPod(t, s.Namespace, s.Pod)
	if !strings.Contains(stderr, "tfx\n") {
		t.Errorf("env from template, full spec and flag not all present (logs are on stderr with -o json):\n%s", stderr)
	}
	pod, err := e2eutil.Client(t).Pods(s.Namespace).Get(ctx, s.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels["team"] != "data" || pod.Labels["layer"] != "flag" {
		t.Errorf("labels = %v: want team=data from the template and layer=flag from the flag", pod.Labels)
	}
}

// Logs stream while the task runs, not only at the end.
func TestRunStreamsLogsLive(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lines, wait := startPlugin(t, ctx, "run", "--image", busybox, "--", "sh", "-c", "echo first; sleep 6; echo second")
	select {
	case l := <-lines:
		if l != "first" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("no log line while the task ran")
	}
	start := time.Now()
	select {
	case l := <-lines:
		if l != "second" {
			t.Fatalf("second line %q", l)
		}
		if time.Since(start) < 3*time.Second {
			t.Errorf("second line came %s after the first: not live", time.Since(start))
		}
	case <-time.After(90 * time.Second):
		t.Fatal("second line never came")
	}
	if code, stderr := wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunScheduleTimeout(t *testing.T) {
	t.Parallel()
	s, stderr, code := runJSON(t, "--image", busybox, "--node-selector", "podtask.dev/no-such-node=true", "--schedule-timeout", "3s", "--", "true")
	if code != 75 || !strings.Contains(stderr, "ScheduleTimeout") || !strings.Contains(stderr, "node") {
		t.Fatalf("exit %d, want 75 with ScheduleTimeout and the scheduler's reason\n%s", code, stderr)
	}
	e2eutil.WaitPodGone(t, s.Namespace, s.Pod, time.Minute)
}

// --container-logs all and --init-logs stream every container, each line
// prefixed with its container.
func TestRunAllContainerLogs(t *testing.T) {
	t.Parallel()
	tmpl := writeFile(t, "template.yaml", `apiVersion: v1
kind: Pod
spec:
  initContainers:
    - name: prepare
      image: `+busybox+`
      command: ["sh", "-c", "echo from-init"]
  containers:
    - name: base
      image: `+busybox+`
    - name: helper
      image: `+busybox+`
      command: ["sh", "-c", "echo from-helper"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", "many", "--pod-template-file", tmpl,
		"--container-logs", "all", "--init-logs", "--", "sh", "-c", "sleep 1; echo from-base")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"[prepare] from-init", "[base] from-base", "[helper] from-helper"} {
		if !strings.Contains(stdout, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// parseTaskFlags parses args as the command line of a command with task flags.
func parseTaskFlags(t *testing.T, args ...string) (*taskFlags, *pflag.FlagSet, []string) {
	t.Helper()
	tf := &taskFlags{}
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	tf.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return tf, fs, fs.Args()
}

func TestToTaskFlagsOverFile(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "task.yaml", `apiVersion: podtask.dev/v1alpha1
kind: Task
name: from-file
image: file-image
cmds: [file, cmd]
env_vars: {A: file, B: file}
labels: {team: file}
pod_template_file: tpl.yaml
do_xcom_push: false
startup_timeout_seconds: 5
`)
	tf, fs, args := parseTaskFlags(t, "-f", file, "--image", "flag-image", "--env", "B=flag", "--env", "C=flag",
		"--label", "tier=flag", "--xcom-mode", "termination-message", "--schedule-timeout", "1m",
		"--secret-env", "PW=db:password", "--secret-volume", "creds:/etc/creds", "--env-from-secret", "s1,s2",
		"--env-from-configmap", "cm", "--image-pull-secret", "r1,r2", "--requests", "cpu=100m,memory=64Mi",
		"--limits", "memory=128Mi", "--param", "x=1", "--random-name-suffix=false", "--active-deadline-seconds", "60",
		"--", "echo", "hi")
	task, err := tf.toTask(fs, args)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, want %#v", what, got, want)
		}
	}
	check("name from file", task.Name, "from-file")
	check("image from flag", task.Image, "flag-image")
	check("cmds from args", task.Cmds, []string{"echo", "hi"})
	check("env", task.EnvVars, render.EnvVars{{Name: "A", Value: "file"}, {Name: "B", Value: "flag"}, {Name: "C", Value: "flag"}})
	check("labels", task.Labels, map[string]string{"team": "file", "tier": "flag"})
	check("template path relative to the task file", task.PodTemplateFile, filepath.Join(dir, "tpl.yaml"))
	check("xcom mode flag wins over do_xcom_push false", task.XCom, render.XComTerminationMessage)
	check("startup from file", task.StartupTimeout, 5*time.Second)
	check("schedule from flag", task.ScheduleTimeout, time.Minute)
	check("pull grace default", task.ImagePullGrace, render.DefaultImagePullGrace)
	check("secrets", task.Secrets, []render.Secret{
		{DeployType: "env", Secret: "s1"}, {DeployType: "env", Secret: "s2"},
		{DeployType: "env", DeployTarget: "PW", Secret: "db", Key: "password"},
		{DeployType: "volume", DeployTarget: "/etc/creds", Secret: "creds"}})
	check("configmaps", task.ConfigMaps, []string{"cm"})
	check("pull secrets", []string(task.ImagePullSecrets), []string{"r1", "r2"})
	check("requests", task.ContainerResources.Requests, map[string]render.Quantity{"cpu": "100m", "memory": "64Mi"})
	check("limits", task.ContainerResources.Limits, map[string]render.Quantity{"memory": "128Mi"})
	check("params", task.Params, map[string]string{"x": "1"})
	check("random suffix", *task.RandomNameSuffix, false)
	check("deadline", *task.ActiveDeadlineSeconds, int64(60))
}

func TestToTaskBadFlags(t *testing.T) {
	dir := t.TempDir()
	badFile := writeFile(t, dir, "bad.yaml", "apiVersion: podtask.dev/v1alpha1\nkind: Task\nimage: x\nimagee: y\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--xcom=false", "--xcom-mode", "sidecar"}, "--xcom=false"},
		{[]string{"--xcom-mode", "s3"}, "xcom_mode"},
		{[]string{"--cmds", "echo", "--", "echo"}, "--cmds"},
		{[]string{"--env", "NOEQUALS"}, "--env"},
		{[]string{"--label", "=x"}, "--label"},
		{[]string{"--secret-env", "PW=db"}, "--secret-env"},
		{[]string{"--secret-volume", "creds"}, "--secret-volume"},
		{[]string{"--requests", "cpu"}, "--requests"},
		{[]string{"--startup-timeout", "-1s"}, "--startup-timeout"},
		{[]string{"--on-finish-action", "explode"}, "on_finish_action"},
		{[]string{"-f", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"-f", badFile}, "bad.yaml:4: imagee"},
	} {
		tf, fs, args := parseTaskFlags(t, tc.args...)
		_, err := tf.toTask(fs, args)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line naming %q", tc.args, err, tc.want)
		}
	}
}

func TestToTaskXComFlags(t *testing.T) {
	tf, fs, args := parseTaskFlags(t, "--xcom")
	task, err := tf.toTask(fs, args)
	if err != nil || task.XCom != render.XComSidecar {
		t.Fatalf("--xcom: %v %q", err, task.XCom)
	}
	tf, fs, args = parseTaskFlags(t, "--xcom=false")
	task, err = tf.toTask(fs, args)
	if err != nil || task.XCom != render.XComNone {
		t.Fatalf("--xcom=false: %v %q", err, task.XCom)
	}
}

// testKubeconfig writes a kubeconfig whose context namespace is ctxns and
// whose server is server.
func testKubeconfig(t *testing.T, server string) string {
	return writeFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: `+server+`}
contexts:
- name: c
  context: {cluster: c, user: u, namespace: ctxns}
current-context: c
users:
- name: u
  user: {token: t}
`)
}

func configFlags(kubeconfig, ns string) *kubeFlags {
	f := newKubeFlags()
	f.KubeConfig = &kubeconfig
	f.Namespace = &ns
	return f
}

func TestBuildPodNamespace(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	file := writeFile(t, t.TempDir(), "t.yaml", "apiVersion: podtask.dev/v1alpha1\nkind: Task\nimage: x\nnamespace: filens\n")
	for _, tc := range []struct {
		ns   string
		file bool
		want string
	}{
		{"", false, "ctxns"},
		{"", true, "filens"},
		{"flagns", true, "flagns"},
	} {
		args := []string{"--name", "n"}
		if tc.file {
			args = append(args, "-f", file)
		} else {
			args = append(args, "--image", "x")
		}
		tf, fs, rest := parseTaskFlags(t, args...)
		pod, _, err := buildPod(context.Background(), newFactory(configFlags(kc, tc.ns)), tf, fs, rest)
		if err != nil {
			t.Fatal(err)
		}
		if pod.Namespace != tc.want {
			t.Errorf("ns flag %q, file %v: namespace %q, want %q", tc.ns, tc.file, pod.Namespace, tc.want)
		}
	}
}

func TestBuildPodBadInputIsUsage(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"--name", "x"}, // no image
		{"--image", "x", "--requests", "cpu=lots"},       // bad quantity
		{"--image", "x", "--pod-template-file", "/nope"}, // missing file
		{"--image", "x", "--from", "statefulset/db"},     // unsupported kind
		{"--image", "x", "--from", "job"},                // no name
	} {
		tf, fs, rest := parseTaskFlags(t, args...)
		_, _, err := buildPod(context.Background(), newFactory(configFlags(kc, "")), tf, fs, rest)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage {
			t.Errorf("%v: got %v, want an ExitUsage error", args, err)
		}
	}
}

// fakeAPI serves a Job, a CronJob and a Pod in namespace ctxns.
func fakeAPI(t *testing.T) *httptest.Server {
	tpl := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"job-name": "nightly"}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure,
			Containers: []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"false"}, Env: []corev1.EnvVar{{Name: "MODE", Value: "prod"}}}}},
	}
	objects := map[string]any{
		"/apis/batch/v1/namespaces/ctxns/jobs/nightly": &batchv1.Job{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ctxns"}, Spec: batchv1.JobSpec{Template: tpl}},
		"/apis/batch/v1/namespaces/ctxns/cronjobs/hourly": &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
			ObjectMeta: metav1.ObjectMeta{Name: "hourly", Namespace: "ctxns"},
			Spec:       batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tpl}}}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		obj, ok := objects[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: 404,
				Message: "not found: " + r.URL.Path})
			return
		}
		_ = json.NewEncoder(w).Encode(obj)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestBuildPodFrom(t *testing.T) {
	srv := fakeAPI(t)
	kc := testKubeconfig(t, srv.URL)
	for _, from := range []string{"job/nightly", "cronjob/hourly", "cj/hourly"} {
		tf, fs, rest := parseTaskFlags(t, "--from", from, "--env", "DEBUG=1", "--random-name-suffix=false", "--", "sh", "-c", "env")
		pod, _, err := buildPod(context.Background(), newFactory(configFlags(kc, "")), tf, fs, rest)
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		c := pod.Spec.Containers[0]
		if c.Name != "base" || c.Image != "busybox" || strings.Join(c.Command, " ") != "sh -c env" ||
			len(c.Env) != 2 || c.Env[1].Name != "DEBUG" || pod.Spec.RestartPolicy != corev1.RestartPolicyNever ||
			pod.Labels["job-name"] != "" || pod.Namespace != "ctxns" {
			t.Errorf("%s: unexpected pod %+v", from, pod)
		}
		if want := strings.SplitN(from, "/", 2)[1]; pod.Name != want {
			t.Errorf("%s: name %q, want %q", from, pod.Name, want)
		}
	}
	tf, fs, rest := parseTaskFlags(t, "--from", "job/absent")
	_, _, err := buildPod(context.Background(), newFactory(configFlags(kc, "")), tf, fs, rest)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitAPI || !strings.Contains(err.Error(), "job/absent") {
		t.Errorf("missing job: %v, want ExitAPI naming job/absent", err)
	}
}

// renderCmd runs the render command under a root with kubectl's flags;
// fake, when not nil, stands in for the server dry run.
func renderCmd(t *testing.T, kubeconfig string, fake func(context.Context, *corev1.Pod) (*corev1.Pod, error), args ...string) (string, error) {
	t.Helper()
	flags := newKubeFlags()
	var out, errOut bytes.Buffer
	streams := DefaultStreams()
	streams.Out, streams.ErrOut = &out, &errOut
	root := &cobra.Command{Use: "podtask", SilenceErrors: true, SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	o := NewRenderOptions(newFactory(flags), streams)
	if fake != nil {
		o.createDryRun = fake
	}
	root.AddCommand(newRenderCommand(o))
	root.SetArgs(append([]string{"render", "--kubeconfig", kubeconfig}, args...))
	err := root.Execute()
	return out.String(), err
}

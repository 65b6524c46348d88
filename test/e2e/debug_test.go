package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// copyPodRE finds the debug copy's name in what the plugin prints.
var copyPodRE = regexp.MustCompile(`pod/([a-z0-9][a-z0-9.-]*-debug-[a-z0-9]+)`)

// TestDebugCronJob opens a shell in a copy of a CronJob's pod, in a real
// terminal: the shell sees the secret env var, the secret volume and the
// config map; the copy carries none of the CronJob's labels or probes; it is
// deleted when the shell exits, whose exit code is the plugin's.
func TestDebugCronJob(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("debug-cj")
	ns := e2eutil.Namespace
	c := e2eutil.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-s"}, StringData: map[string]string{"token": "tok-" + name}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name + "-c"}, Data: map[string]string{"MODE": "blue"}}
	if _, err := c.Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	batch, err := batchv1client.NewForConfig(e2eutil.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	suspend := true
	labels := map[string]string{"app": name, "tier": "batch"}
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: batchv1.CronJobSpec{Schedule: "0 0 1 1 *", Suspend: &suspend, JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					TerminationGracePeriodSeconds: new(int64),
					Volumes: []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{
						Secret: &corev1.SecretVolumeSource{SecretName: secret.Name}}}},
					Containers: []corev1.Container{{
						Name: "job", Image: busybox, Command: []string{"sh", "-c", "echo the real job; exit 1"},
						Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: secret.Name}, Key: "token"}}}},
						EnvFrom:        []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm.Name}}}},
						VolumeMounts:   []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds"}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}},
					}},
				},
			}},
		}},
	}
	if _, err := batch.CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		bg := context.Background()
		_ = batch.CronJobs(ns).Delete(bg, name, metav1.DeleteOptions{})
		_ = c.Secrets(ns).Delete(bg, secret.Name, metav1.DeleteOptions{})
		_ = c.ConfigMaps(ns).Delete(bg, cm.Name, metav1.DeleteOptions{})
	})

	s, exitFile := startWide(t, name, "debug", "cronjob/"+name)
	screen := s.waitScreen(3*time.Minute, "what the copy does not share", "labels are dropped", "probes are dropped", "/ #")
	m := copyPodRE.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the screen does not name the copy:\n%s", screen)
	}
	copyName := m[1]
	e2eutil.CleanupPod(t, ns, copyName)

	s.keys(`echo "T=$TOKEN M=$MODE F=$(cat /etc/creds/token)"`, "Enter")
	s.waitScreen(time.Minute, "T=tok-"+name+" M=blue F=tok-"+name)

	pod, err := c.Pods(ns).Get(ctx, copyName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the copy: %v", err)
	}
	for k := range labels {
		if _, ok := pod.Labels[k]; ok {
			t.Errorf("the copy carries the CronJob's label %s: %v", k, pod.Labels)
		}
	}
	base := pod.Spec.Containers[0]
	if base.ReadinessProbe != nil || !base.TTY || !base.Stdin || strings.Join(base.Command, " ") != "sh" {
		t.Errorf("the copy's base container: command %q tty %v stdin %v probe %v", base.Command, base.TTY, base.Stdin, base.ReadinessProbe)
	}

	s.keys("exit 4", "Enter")
	if code := waitExit(t, s, exitFile, 2*time.Minute); code != "4" {
		screen, _ := s.capture(false)
		t.Errorf("exit code %s, want 4 (the shell's)\n%s", code, screen)
	}
	e2eutil.WaitPodGone(t, ns, copyName, time.Minute)
}

// TestDebugOnFailure: a task that exits 3 under --debug-on-failure shows
// the end of its log and opens a shell in a copy whose spec is the failed
// pod's but for the command; leaving the shell gives the task's exit code.
func TestDebugOnFailure(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("debug-fail")
	ns := e2eutil.Namespace
	s, exitFile := startWide(t, name, "run", "--name", name, "--image", busybox, "--on-finish-action", "keep_pod",
		"--env", "STAGE=load", "--debug-on-failure", "--", "sh", "-c", "echo loading rows; echo giving up; exit 3")
	screen := s.waitScreen(3*time.Minute, "exited with code 3; the last 2 lines of its log", "| giving up", "/ #")
	m := copyPodRE.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the screen does not name the copy:\n%s", screen)
	}
	copyName := m[1]
	e2eutil.CleanupPod(t, ns, copyName)
	failed := regexp.MustCompile(`pod/(` + regexp.QuoteMeta(name) + `-[a-z0-9]{8}) created`).FindStringSubmatch(screen)
	if failed == nil {
		t.Fatalf("the screen does not name the failed pod:\n%s", screen)
	}
	e2eutil.CleanupPod(t, ns, failed[1])

	s.keys(`echo "stage=$STAGE"`, "Enter")
	s.waitScreen(time.Minute, "stage=load")

	c := e2eutil.Client(t)
	ctx := context.Background()
	orig, err := c.Pods(ns).Get(ctx, failed[1], metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the failed pod (keep_pod): %v", err)
	}
	cp, err := c.Pods(ns).Get(ctx, copyName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the copy: %v", err)
	}
	if d := specDiff(orig.Spec, cp.Spec); d != "" {
		t.Errorf("the copy's spec differs from the failed pod's beyond the command: %s", d)
	}

	s.keys("exit 0", "Enter")
	if code := waitExit(t, s, exitFile, 2*time.Minute); code != "3" {
		t.Errorf("exit code %s, want 3 (the failed task's, not the shell's)", code)
	}
	e2eutil.WaitPodGone(t, ns, copyName, time.Minute)
	if _, err := c.Pods(ns).Get(ctx, failed[1], metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("the failed pod is gone: keep_pod must keep it")
	}
}

// specDiff compares two pod specs but for what a debug copy changes on
// purpose: the base container's command, args and stdin, the node binding
// and the generated service account token volume.
func specDiff(a, b corev1.PodSpec) string {
	norm := func(s corev1.PodSpec) corev1.PodSpec {
		s = *s.DeepCopy()
		s.NodeName = ""
		c := &s.Containers[0]
		c.Command, c.Args, c.Stdin, c.StdinOnce, c.TTY = nil, nil, false, false, false
		var vols []corev1.Volume
		for _, v := range s.Volumes {
			if !strings.HasPrefix(v.Name, "kube-api-access-") {
				vols = append(vols, v)
			}
		}
		s.Volumes = vols
		for i := range s.Containers {
			var mounts []corev1.VolumeMount
			for _, m := range s.Containers[i].VolumeMounts {
				if !strings.HasPrefix(m.Name, "kube-api-access-") {
					mounts = append(mounts, m)
				}
			}
			s.Containers[i].VolumeMounts = mounts
		}
		return s
	}
	na, nb := norm(a), norm(b)
	if reflect.DeepEqual(na, nb) {
		return ""
	}
	va, vb := reflect.ValueOf(na), reflect.ValueOf(nb)
	var diffs []string
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			diffs = append(diffs, va.Type().Field(i).Name)
		}
	}
	return strings.Join(diffs, ", ")
}

// startWide starts the plugin with args in a 250x50 tmux session (no line
// the test looks for is wrapped) whose pane stays after the plugin exits,
// so that a failure shows what it printed; it returns the session and the
// file its exit code is written to.
func startWide(t *testing.T, name string, args ...string) (*tmuxSession, string) {
	t.Helper()
	kubeconfig := e2eutil.PluginKubeconfig(t)
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	exitFile := filepath.Join(t.TempDir(), "exit")
	words := []string{"env", "TERM=xterm-256color", "KUBECONFIG=" + shq(kubeconfig), shq(e2eutil.Plugin(t))}
	for _, a := range args {
		words = append(words, shq(a))
	}
	shell := strings.Join(words, " ") + "; echo EXIT=$? > " + shq(exitFile) + "; sleep 600"
	s := &tmuxSession{t: t, socket: "podtask-e2e-" + name, name: name}
	if out, err := s.cmd("new-session", "-d", "-s", name, "-x", "250", "-y", "50", shell).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = s.cmd("kill-server").Run() })
	return s, exitFile
}

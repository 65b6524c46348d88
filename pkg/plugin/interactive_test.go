package plugin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// runCommand runs the plugin's root command with stdin not a terminal and
// a kubeconfig that points nowhere: what it returns was decided before any
// cluster call.
func runCommand(t *testing.T, args ...string) (error, string) {
	t.Helper()
	t.Setenv("KUBECONFIG", writeFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ns}}]
current-context: c
`))
	var out, errOut bytes.Buffer
	cmd := NewCmdPodtask(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	return cmd.Execute(), errOut.String()
}

func TestInteractiveAndKubectlFlagsBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-it"}, "stdin is not a terminal"},
		{[]string{"run", "-t"}, "-t/--tty needs -i/--stdin"},
		{[]string{"run", "-it", "--tui"}, "--tui and -t"},
		{[]string{"run", "-i", "--tui"}, "--tui reads the keyboard"},
		{[]string{"run", "-i", "--detach-keys", "ctrl-p,ctrl-q"}, "--detach-keys needs a terminal"},
		{[]string{"attach", "-it", "pod-x"}, "stdin is not a terminal"},
		{[]string{"run", "--overrides", `{"spec":`}, "--overrides: not valid JSON"},
		{[]string{"run", "--overrides", `{}`, "--override-type", "yaml"}, `--override-type "yaml"`},
		{[]string{"run", "--rm", "--detach"}, "--rm deletes the pod"},
		{[]string{"run", "--rm", "--on-finish-action", "keep_pod"}, "--rm and --on-finish-action keep_pod"},
		{[]string{"run", "--detach", "--attach=true"}, "contradict"},
		{[]string{"run", "--pod-running-timeout", "1m", "--startup-timeout", "2m"}, "same setting"},
		{[]string{"run", "--overrides", `{"spec":{"containers":[{"name":"base","bogus":1}]}}`}, "the result is not a Pod"},
		{[]string{"run", "--overrides", `{"spec":{"containers":"no"}}`}, "--overrides"},
	} {
		args := tc.args
		if args[0] == "run" {
			args = append(args, "--image", "busybox:1.35", "--", "sh")
		}
		err, _ := runCommand(t, args...)
		if ExitCode(err) != ExitUsage || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, error %v: want 64 and %q", tc.args, ExitCode(err), err, tc.want)
		}
	}
}

func TestParseDetachKeys(t *testing.T) {
	for in, want := range map[string]string{"ctrl-p,ctrl-q": "\x10\x11", "ctrl-@": "\x00", "a,ctrl-[": "a\x1b", "Ctrl-A": "\x01"} {
		got, err := parseDetachKeys(in)
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ctrl-", "ctrl-1", "ab", "ctrl-p,"} {
		if _, err := parseDetachKeys(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func renderedPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "t-1", Namespace: "ns",
			Labels:      map[string]string{render.LabelTask: "t"},
			Annotations: map[string]string{render.AnnotationBaseContainer: "main", render.AnnotationOnFinish: "keep_pod"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "side", Image: "side:1"},
			{Name: "main", Image: "busybox:1.35", Env: []corev1.EnvVar{{Name: "A", Value: "1"}}},
		}},
	}
}

func applyRunFlags(t *testing.T, args ...string) (*corev1.Pod, *render.Task, error) {
	t.Helper()
	var f kubectlRunFlags
	var in interactiveFlags
	var tf taskFlags
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	f.addFlags(fs)
	in.addFlags(fs)
	tf.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := f.validate(fs, &tf); err != nil {
		return nil, nil, err
	}
	spec := &render.Task{}
	pod, err := f.apply(fs, renderedPod(), spec, &in)
	return pod, spec, err
}

func TestKubectlRunFlagsApply(t *testing.T) {
	pod, spec, err := applyRunFlags(t, "-it", "--privileged", "--rm", "--pod-running-timeout", "90s",
		"--overrides", `{"metadata":{"labels":{"x":"y"}},"spec":{"containers":[{"name":"main","env":[{"name":"B","value":"2"}]}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	main := pod.Spec.Containers[1]
	switch {
	case !main.Stdin || main.StdinOnce || !main.TTY:
		t.Errorf("-it: stdin %v stdinOnce %v tty %v, want true false true", main.Stdin, main.StdinOnce, main.TTY)
	case main.SecurityContext == nil || main.SecurityContext.Privileged == nil || !*main.SecurityContext.Privileged:
		t.Errorf("--privileged: %+v", main.SecurityContext)
	case pod.Annotations[render.AnnotationOnFinish] != "delete_pod":
		t.Errorf("--rm: on-finish %q", pod.Annotations[render.AnnotationOnFinish])
	case spec.StartupTimeout.Seconds() != 90:
		t.Errorf("--pod-running-timeout: startup timeout %s", spec.StartupTimeout)
	case pod.Labels["x"] != "y" || pod.Labels[render.LabelTask] != "t":
		t.Errorf("overrides labels %v", pod.Labels)
	case main.Image != "busybox:1.35" || len(main.Env) != 2 || pod.Spec.Containers[0].Image != "side:1":
		t.Errorf("a strategic merge keeps the containers and merges env by name: %+v", pod.Spec.Containers)
	case pod.Spec.Containers[0].Stdin:
		t.Errorf("-i gave stdin to a container that is not the base")
	}

	// -i alone: stdin closed after the first attach.
	pod, _, err = applyRunFlags(t, "-i")
	if c := pod.Spec.Containers[1]; err != nil || !c.Stdin || !c.StdinOnce || c.TTY {
		t.Errorf("-i: %v stdin %v stdinOnce %v tty %v", err, c.Stdin, c.StdinOnce, c.TTY)
	}
	// A merge patch replaces the list, as kubectl's --override-type=merge does.
	pod, _, err = applyRunFlags(t, "--override-type", "merge", "--overrides", `{"spec":{"containers":[{"name":"main","image":"other"}]}}`)
	if err != nil || len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Image != "other" {
		t.Errorf("merge: %v %+v", err, pod.Spec.Containers)
	}
	pod, _, err = applyRunFlags(t, "--override-type", "json", "--overrides", `[{"op":"replace","path":"/spec/containers/1/image","value":"j"}]`)
	if err != nil || pod.Spec.Containers[1].Image != "j" {
		t.Errorf("json: %v %+v", err, pod.Spec.Containers)
	}
}

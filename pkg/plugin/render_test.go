package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func TestRenderCommandYAMLAndJSON(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	out, err := renderCmd(t, kc, nil, "--image", "docker.io/library/busybox:1.35", "--name", "hello", "--xcom", "--", "echo", "hi")
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(out), &pod); err != nil {
		t.Fatalf("output is not a Pod: %v\n%s", err, out)
	}
	if pod.Kind != "Pod" || pod.APIVersion != "v1" || !strings.HasPrefix(pod.Name, "hello-") || pod.Namespace != "ctxns" ||
		len(pod.Spec.Containers) != 2 || strings.Join(pod.Spec.Containers[0].Command, " ") != "echo hi" ||
		pod.Labels[render.LabelManagedBy] != render.ManagedByValue {
		t.Errorf("unexpected pod:\n%s", out)
	}
	out, err = renderCmd(t, kc, nil, "-o", "json", "--image", "x", "--name", "j")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &pod); err != nil || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
}

func TestRenderCommandDryRunServer(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	var sent *corev1.Pod
	accept := func(_ context.Context, p *corev1.Pod) (*corev1.Pod, error) {
		sent = p.DeepCopy()
		got := p.DeepCopy()
		got.UID = "server-uid"
		got.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
		return got, nil
	}
	out, err := renderCmd(t, kc, accept, "--dry-run=server", "--image", "x", "--name", "d")
	if err != nil {
		t.Fatal(err)
	}
	if sent == nil || !strings.Contains(out, "uid: server-uid") || !strings.Contains(out, "/dev/termination-log") {
		t.Errorf("server answer not printed:\n%s", out)
	}
	reject := func(context.Context, *corev1.Pod) (*corev1.Pod, error) {
		return nil, apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "d", field.ErrorList{
			field.Invalid(field.NewPath("spec", "containers").Index(0).Child("image"), "x", "bad")})
	}
	_, err = renderCmd(t, kc, reject, "--dry-run=server", "--image", "x", "--name", "d")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitAPI || !strings.Contains(err.Error(), "the server rejected the pod") ||
		!strings.Contains(err.Error(), "spec.containers[0].image") || strings.Contains(err.Error(), "\n") {
		t.Errorf("rejection: %v", err)
	}
	called := false
	never := func(context.Context, *corev1.Pod) (*corev1.Pod, error) { called = true; return nil, nil }
	if _, err := renderCmd(t, kc, never, "--dry-run=client", "--image", "x"); err != nil || called {
		t.Errorf("client dry run: err %v, server called %v", err, called)
	}
	if _, err := renderCmd(t, kc, never, "--dry-run=server", "--name", "no-image"); err == nil || called {
		t.Errorf("bad input reached the server (called %v): %v", called, err)
	}
}

func TestRenderCommandBadFlags(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	for _, args := range [][]string{
		{"-o", "table", "--image", "x"},
		{"--dry-run=maybe", "--image", "x"},
		{"--image", "x", "stray"},
	} {
		_, err := renderCmd(t, kc, nil, args...)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != ExitUsage {
			t.Errorf("%v: %v, want ExitUsage", args, err)
		}
	}
}

func TestRenderCommandErrorNamesFlag(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	_, err := renderCmd(t, kc, nil, "--image", "x", "--limits", "memory=lots")
	if err == nil || !strings.Contains(err.Error(), "container_resources.limits.memory") || !strings.Contains(err.Error(), "(set by --limits)") {
		t.Errorf("error %v does not name the field and the flag", err)
	}
	var fe *render.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("the hint hides the *render.FieldError: %T", err)
	}
}

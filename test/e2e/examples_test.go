package e2e

// Every task file in examples/ runs on the local cluster, as the README
// tells users to run it, so that the examples and the docs never rot.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// exampleCase says how one example is run and checked; examples not listed
// here just have to run to exit code 0.
type exampleCase struct {
	// setup creates what the example refers to.
	setup func(t *testing.T)
	// renderOnly: the example cannot run here (no registry); its rendered
	// pod is checked instead.
	renderOnly bool
	// args are added to 'run -f FILE'.
	args []string
	// check looks at stdout (and stderr) of the run or render.
	check func(t *testing.T, stdout, stderr string)
}

var exampleCases = map[string]exampleCase{
	"xcom.yaml": {
		args: []string{"--xcom-out", "-"},
		check: func(t *testing.T, stdout, _ string) {
			var got []int
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("XCom on stdout is not JSON: %v\n%q", err, stdout)
			}
			if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
				t.Errorf("XCom = %v, want [1,2,3,4]", got)
			}
		},
	},
	"secrets-configmaps-volumes.yaml": {
		// What the example's header says to create first.
		setup: func(t *testing.T) {
			ensureSecret(t, "db", map[string]string{"password": "db-s3cret-e2e"})
			ensureSecret(t, "api-keys", map[string]string{"API_KEY": "api-key-e2e", "API_SECRET": "api-s3cret-e2e"})
			ensureSecret(t, "tls-client", map[string]string{"client.pem": "pem"})
			ensureConfigMap(t, "etl-settings", map[string]string{"BATCH_SIZE": "500"})
		},
		check: func(t *testing.T, stdout, stderr string) {
			for _, want := range []string{"batch size: 500", "DB_PASSWORD is set", "API_KEY is set", "client.pem"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("logs lack %q:\n%s", want, stdout)
				}
			}
			for _, secret := range []string{"db-s3cret-e2e", "api-key-e2e", "api-s3cret-e2e"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Errorf("a secret value (%q) appears in the output", secret)
				}
			}
		},
	},
	"pod-template.yaml": {
		check: func(t *testing.T, stdout, _ string) {
			if !strings.Contains(stdout, "team=data region=eu-west-1") {
				t.Errorf("logs lack the template's env and the task's param:\n%s", stdout)
			}
		},
	},
	"private-image.yaml": {
		renderOnly: true,
		check: func(t *testing.T, stdout, _ string) {
			var pod corev1.Pod
			if err := json.Unmarshal([]byte(stdout), &pod); err != nil {
				t.Fatalf("render -o json: %v", err)
			}
			if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
				t.Errorf("imagePullSecrets = %v, want [regcred]", pod.Spec.ImagePullSecrets)
			}
		},
	},
}

func TestExamples(t *testing.T) {
	e2eutil.Kubeconfig(t) // skips without a cluster
	root := repoRootDir(t)
	files, err := filepath.Glob(filepath.Join(root, "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples/*.yaml: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		c := exampleCases[name]
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			if c.setup != nil {
				c.setup(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			args := []string{"run", "-f", file, "--on-finish-action", "delete_pod"}
			if c.renderOnly {
				args = []string{"render", "-f", file, "-o", "json"}
			}
			args = append(args, c.args...)
			stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", args...)
			if code != 0 {
				t.Fatalf("kubectl podtask %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
			}
			if c.check != nil {
				c.check(t, stdout, stderr)
			}
		})
	}
	for name := range exampleCases {
		if _, err := os.Stat(filepath.Join(root, "examples", name)); err != nil {
			t.Errorf("examples/%s is checked here but missing: %v", name, err)
		}
	}
}

// ensureSecret creates an Opaque secret in the test namespace, unless one
// of that name exists, and deletes it at the end if it made it.
func ensureSecret(t *testing.T, name string, data map[string]string) {
	t.Helper()
	c := e2eutil.Client(t)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data}
	ensureObject(t, name, func(ctx context.Context) error {
		_, err := c.Secrets(e2eutil.Namespace).Create(ctx, s, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return c.Secrets(e2eutil.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// ensureConfigMap is ensureSecret for a config map.
func ensureConfigMap(t *testing.T, name string, data map[string]string) {
	t.Helper()
	c := e2eutil.Client(t)
	m := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}
	ensureObject(t, name, func(ctx context.Context) error {
		_, err := c.ConfigMaps(e2eutil.Namespace).Create(ctx, m, metav1.CreateOptions{})
		return err
	}, func(ctx context.Context) error {
		return c.ConfigMaps(e2eutil.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	})
}

func ensureObject(t *testing.T, name string, create, del func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := create(ctx)
	switch {
	case apierrors.IsAlreadyExists(err):
		t.Logf("%s exists already; using it", name)
		return
	case err != nil:
		t.Fatalf("creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := del(ctx); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting %s: %v", name, err)
		}
	})
}

package plugin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// renderWithStderr runs `render` and returns stdout and stderr.
func renderWithStderr(t *testing.T, kubeconfig string, args ...string) (string, string, error) {
	t.Helper()
	flags := newKubeFlags()
	var out, errOut bytes.Buffer
	streams := DefaultStreams()
	streams.Out, streams.ErrOut = &out, &errOut
	root := &cobra.Command{Use: "podtask", SilenceErrors: true, SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(newRenderCommand(NewRenderOptions(newFactory(flags), streams)))
	root.SetArgs(append([]string{"render", "--kubeconfig", kubeconfig}, args...))
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestRenderOutputAirflow(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	task := filepath.Join(t.TempDir(), "k.yaml")
	if err := os.WriteFile(task, []byte(`apiVersion: podtask.dev/v1alpha1
kind: Task
name: airflow-test-pod
image: ubuntu:16.04
secrets:
  - {deploy_type: volume, deploy_target: /etc/sql_conn, secret: airflow-secrets, key: sql_alchemy_conn}
  - {deploy_type: env, deploy_target: sql_conn, secret: airflow-secrets, key: sql_alchemy_conn}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := renderWithStderr(t, kc, "-f", task, "-o", "airflow")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n",
		"from airflow.providers.cncf.kubernetes.secret import Secret\n",
		"from kubernetes.client import models as k8s\n",
		"airflow_test_pod = KubernetesPodOperator(\n",
		`    task_id="airflow-test-pod",`,
		`Secret("volume", "/etc/sql_conn", "airflow-secrets", "sql_alchemy_conn")`,
		`Secret("env", "SQL_CONN", "airflow-secrets", "sql_alchemy_conn")`,
		`    namespace="ctxns",`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// The warning is one line on stderr, never in what is pasted into a DAG.
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 ||
		!strings.HasPrefix(lines[0], "podtask: warning: secrets[0].key: ") {
		t.Errorf("stderr: %q", stderr)
	}
	if strings.Contains(out, "warning") {
		t.Errorf("a warning in stdout:\n%s", out)
	}

	_, _, err = renderWithStderr(t, kc, "--image", "x", "-o", "airflow", "--dry-run=server")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage {
		t.Errorf("-o airflow --dry-run=server: %v", err)
	}
}

func TestRenderNothingSaysImage(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	_, _, err := renderWithStderr(t, kc)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.HasPrefix(err.Error(), "image: is required") {
		t.Errorf("render with nothing: %v", err)
	}
}

func TestMissingTemplateSaysWhatKPOWouldDo(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	_, _, err := renderWithStderr(t, kc, "--image", "x", "--pod-template-file", filepath.Join(t.TempDir(), "absent.yaml"))
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage ||
		!strings.Contains(err.Error(), "(KubernetesPodOperator would log a warning and start from an empty pod)") {
		t.Errorf("missing template: %v", err)
	}
}

func TestTemplateNamespaceWhenNoneGiven(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	tpl := filepath.Join(t.TempDir(), "tpl.yaml")
	if err := os.WriteFile(tpl, []byte("apiVersion: v1\nkind: Pod\nmetadata: {namespace: tplns}\nspec:\n  containers: [{name: a, image: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "namespace: tplns"},
		{[]string{"-n", "flagns"}, "namespace: flagns"},
	} {
		root := append([]string{"--pod-template-file", tpl, "--name", "n"}, tc.args...)
		out, _, err := renderWithStderr(t, kc, root...)
		if err != nil || !strings.Contains(out, "\n  "+tc.want+"\n") {
			t.Errorf("%v: %v\n%s", tc.args, err, out)
		}
	}
}

func TestRunNothingSaysImage(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	flags := newKubeFlags()
	streams := DefaultStreams()
	var out, errOut bytes.Buffer
	streams.Out, streams.ErrOut = &out, &errOut
	root := &cobra.Command{Use: "podtask", SilenceErrors: true, SilenceUsage: true}
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(newCmdRun(newFactory(flags), streams))
	root.SetArgs([]string{"run", "--kubeconfig", kc})
	err := root.Execute()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.HasPrefix(err.Error(), "image: is required") {
		t.Errorf("run with nothing: %v", err)
	}
}

package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// complete runs `kubectl-podtask __complete args...` and returns the
// choices and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewCmdPodtask(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %q: %v\n%s", args, err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var words []string
	for _, l := range lines[:len(lines)-1] {
		w, _, _ := strings.Cut(l, "\t")
		words = append(words, w)
	}
	return words, lines[len(lines)-1]
}

func TestEveryFlagCompletes(t *testing.T) {
	root := NewCmdPodtask(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && !c.HasSubCommands() && c.ValidArgsFunction == nil && c.ValidArgs == nil {
			t.Errorf("%s: no completion for its arguments", c.CommandPath())
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || f.Value.Type() == "bool" {
				return
			}
			if _, ok := c.GetFlagCompletionFunc(f.Name); !ok {
				t.Errorf("%s --%s: no completion", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func TestStaticCompletions(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{""}, []string{"attach", "completion", "cp", "create-pull-secret", "debug", "gc", "help", "list", "render", "run", "version", "xcom"}, ":4"},
		{[]string{"run", "--on-finish-action", ""}, []string{"delete_pod", "keep_pod", "delete_succeeded_pod", "delete_active_pod"}, ":4"},
		{[]string{"attach", "--on-finish-action", ""}, []string{"delete_pod", "keep_pod", "delete_succeeded_pod", "delete_active_pod"}, ":4"},
		{[]string{"render", "--xcom-mode", ""}, []string{"sidecar", "termination-message"}, ":4"},
		{[]string{"run", "--image-pull-policy", ""}, []string{"Always", "IfNotPresent", "Never"}, ":4"},
		{[]string{"render", "--dry-run="}, []string{"none", "client", "server"}, ":4"},
		{[]string{"create-pull-secret", "--dry-run="}, []string{"none", "client", "server"}, ":4"},
		{[]string{"run", "-o", ""}, []string{"json", "yaml"}, ":4"},
		{[]string{"render", "-o", ""}, []string{"yaml", "json"}, ":4"},
		{[]string{"list", "-o", ""}, []string{"wide", "name", "json", "yaml", "jsonpath=", "go-template=", "custom-columns="}, ":4"},
		{[]string{"version", "-o", ""}, []string{"json", "yaml"}, ":4"},
		{[]string{"run", "--from", ""}, []string{"cronjob/", "job/", "deployment/", "pod/"}, ":6"},
		{[]string{"run", "--container-logs", ""}, []string{"all"}, ":4"},
		{[]string{"run", "-f", ""}, []string{"yaml", "yml", "json"}, ":8"},
		{[]string{"render", "--pod-template-file", ""}, []string{"yaml", "yml", "json"}, ":8"},
		{[]string{"run", "--kubeconfig", ""}, nil, ":0"},
		{[]string{"list", "--cache-dir", ""}, nil, ":16"},
		{[]string{"run", "--image", ""}, nil, ":4"},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish", "powershell"}, ":4"},
	} {
		got, dir := complete(t, c.args...)
		if strings.Join(got, ",") != strings.Join(c.want, ",") || dir != c.directive {
			t.Errorf("__complete %q = %q %s, want %q %s", c.args, got, dir, c.want, c.directive)
		}
	}
}

func TestKubeconfigCompletions(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "config")
	err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c-dev
  cluster: {server: "https://127.0.0.1:1"}
- name: c-prod
  cluster: {server: "https://127.0.0.1:2"}
users:
- name: alice
  user: {token: t0ken}
contexts:
- name: dev
  context: {cluster: c-dev, user: alice}
- name: prod
  context: {cluster: c-prod, user: alice, namespace: jobs}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--kubeconfig", kc, "--context", ""}, []string{"dev", "prod"}},
		{[]string{"list", "--kubeconfig", kc, "--cluster", ""}, []string{"c-dev", "c-prod"}},
		{[]string{"version", "--kubeconfig", kc, "--user", ""}, []string{"alice"}},
	} {
		got, dir := complete(t, c.args...)
		if strings.Join(got, ",") != strings.Join(c.want, ",") || dir != ":4" {
			t.Errorf("__complete %q = %q %s, want %q :4", c.args, got, dir, c.want)
		}
	}
	// A cluster that does not answer gives no choices, not an error or a hang.
	got, dir := complete(t, "attach", "--kubeconfig", kc, "--request-timeout", "1s", "")
	if len(got) != 0 || dir != ":4" {
		t.Errorf("attach <TAB> on an unreachable cluster = %q %s, want nothing :4", got, dir)
	}
}

func TestHelpReadsLikeKubectl(t *testing.T) {
	root := NewCmdPodtask(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	for _, c := range append(root.Commands(), root) {
		if c.Name() == "help" {
			continue
		}
		if !strings.HasPrefix(c.UseLine(), "kubectl podtask") {
			t.Errorf("%s: usage line %q does not start with 'kubectl podtask'", c.Name(), c.UseLine())
		}
		if c.Example == "" {
			t.Errorf("%s: no examples", c.CommandPath())
		}
		continued := false
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			ok := line == "" || strings.HasPrefix(line, "#") || continued ||
				strings.Contains(line, "kubectl podtask") || line == "source <(kubectl completion bash)"
			if !ok {
				t.Errorf("%s: example line %q is not a kubectl podtask command", c.CommandPath(), line)
			}
			continued = strings.HasSuffix(line, "\\")
		}
	}
	for _, f := range []string{"kubeconfig", "context", "cluster", "user", "namespace", "as", "as-group", "request-timeout",
		"server", "token", "insecure-skip-tls-verify", "certificate-authority", "client-certificate", "client-key", "cache-dir"} {
		if root.PersistentFlags().Lookup(f) == nil {
			t.Errorf("kubectl's global flag --%s is missing", f)
		}
	}
	if root.PersistentFlags().ShorthandLookup("n") == nil {
		t.Errorf("-n is missing")
	}
}

func TestCompletionScriptNamesTheBinary(t *testing.T) {
	var out bytes.Buffer
	root := NewCmdPodtask(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &bytes.Buffer{}})
	root.SetArgs([]string{"completion", "bash"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "complete -o default -F __start_kubectl-podtask kubectl-podtask") {
		t.Errorf("bash script does not complete kubectl-podtask:\n%.400s", out.String())
	}
	if root.Use != "podtask" {
		t.Errorf("root.Use = %q after generating, want podtask", root.Use)
	}
}

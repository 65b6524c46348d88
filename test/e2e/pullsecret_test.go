package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// psPassword is a password with characters that JSON escapes; it must never
// show up in the plugin's output (unless -o asks for the secret itself).
const psPassword = `p&ss<w>rd"ü:` + "TOPSECRET"

func pluginPS(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, stdin, append([]string{"create-pull-secret"}, args...)...)
	printsObject := false
	for _, a := range args {
		if a == "-o" || strings.HasPrefix(a, "--output") {
			printsObject = true
		}
	}
	if strings.Contains(stderr, "TOPSECRET") || (!printsObject && strings.Contains(stdout, "TOPSECRET")) {
		t.Errorf("the password leaked into the plugin's output:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	return stdout, stderr, code
}

func kubectlPS(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(e2eutil.Kubectl(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e2eutil.Kubeconfig(t))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

func cleanupSecret(t *testing.T, name string) {
	t.Helper()
	c := e2eutil.Client(t)
	t.Cleanup(func() {
		err := c.Secrets(e2eutil.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("cleanup: deleting secret %s: %v", name, err)
		}
	})
}

func getSecret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s, err := e2eutil.Client(t).Secrets(e2eutil.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret %s: %v", name, err)
	}
	return s
}

func secretAbsent(t *testing.T, name string) {
	t.Helper()
	_, err := e2eutil.Client(t).Secrets(e2eutil.Namespace).Get(context.Background(), name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("secret %s should not exist (get: %v)", name, err)
	}
}

func dockerConfigJSON(t *testing.T, name string) string {
	t.Helper()
	s := getSecret(t, name)
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("secret %s has type %s", name, s.Type)
	}
	return string(s.Data[corev1.DockerConfigJsonKey])
}

// TestPullSecretParityWithKubectl: for the same inputs, the stored
// .dockerconfigjson is byte for byte what kubectl stores.
func TestPullSecretParityWithKubectl(t *testing.T) {
	e2eutil.Kubeconfig(t)
	cfgFile := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgFile, []byte("{\n \"auths\": {\"f.example\": {\"auth\": \"dTpw\"}}\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name        string
		kubectlArgs []string
		pluginArgs  []string
		stdin       string
	}{
		{"default server", []string{"--docker-username=alice", "--docker-password=" + psPassword},
			[]string{"--docker-username=alice", "--password-stdin"}, psPassword + "\n"},
		{"server and email", []string{"--docker-server=registry.example.com:5000", "--docker-username=bob", "--docker-password=" + psPassword, "--docker-email=bob@example.com"},
			[]string{"--docker-server=registry.example.com:5000", "--docker-username=bob", "--docker-email=bob@example.com", "--password-stdin"}, psPassword},
		{"password flag", []string{"--docker-server=https://r.example/v2/", "--docker-username=c:d", "--docker-password=" + psPassword},
			[]string{"--docker-server=https://r.example/v2/", "--docker-username=c:d", "--docker-password=" + psPassword}, ""},
		{"from file", []string{"--from-file=" + cfgFile}, []string{"--from-file=" + cfgFile}, ""},
		{"from file with key", []string{"--from-file=.dockerconfigjson=" + cfgFile}, []string{"--from-file=.dockerconfigjson=" + cfgFile}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kname, pname := e2eutil.UniqueName("ps-kubectl"), e2eutil.UniqueName("ps-plugin")
			cleanupSecret(t, kname)
			cleanupSecret(t, pname)
			kubectlPS(t, append([]string{"create", "secret", "docker-registry", kname}, c.kubectlArgs...)...)
			stdout, stderr, code := pluginPS(t, c.stdin, append([]string{pname}, c.pluginArgs...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if stdout != "secret/"+pname+" created\n" {
				t.Errorf("stdout = %q", stdout)
			}
			if c.name == "password flag" && !strings.Contains(stderr, "shell history") {
				t.Errorf("no warning for --docker-password: %q", stderr)
			}
			if k, p := dockerConfigJSON(t, kname), dockerConfigJSON(t, pname); k != p {
				t.Errorf("bytes differ:\nkubectl: %s\nplugin:  %s", k, p)
			}
		})
	}
}

// writeHelper writes a docker credential helper script that knows one
// login, and puts it first in PATH.
func writeHelper(t *testing.T, name, server, user, secret string) {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
get)  read -r server || true
      if [ "$server" = %q ]; then
        printf '%%s\n' '{"ServerURL":%q,"Username":%q,"Secret":%q}'
      else
        echo "credentials not found in native keychain"; exit 1
      fi ;;
list) printf '%%s\n' '{%q:%q}' ;;
*)    echo "unsupported" >&2; exit 1 ;;
esac
`, server, server, user, secret, server, user)
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestPullSecretFromDockerConfig copies logins from a docker config: a
// plain auths entry, and one kept by a credential helper script.
func TestPullSecretFromDockerConfig(t *testing.T) {
	e2eutil.Kubeconfig(t)
	dir := t.TempDir()
	auth := "cGxhaW51c2VyOnBsYWlucGFzcw==" // plainuser:plainpass
	cfg := `{"auths":{"https://plain.example:5000":{"auth":"` + auth + `","email":"p@example.com"},"helped.example":{}},` +
		`"credHelpers":{"helped.example":"podtaske2e"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	writeHelper(t, "podtaske2e", "helped.example", "helperuser", psPassword)

	ref := func(server, user, pass, email string) string {
		name := e2eutil.UniqueName("ps-ref")
		cleanupSecret(t, name)
		args := []string{"create", "secret", "docker-registry", name, "--docker-server=" + server, "--docker-username=" + user, "--docker-password=" + pass}
		if email != "" {
			args = append(args, "--docker-email="+email)
		}
		kubectlPS(t, args...)
		return dockerConfigJSON(t, name)
	}

	t.Run("plain entry", func(t *testing.T) {
		name := e2eutil.UniqueName("ps-plain")
		cleanupSecret(t, name)
		_, stderr, code := pluginPS(t, "", name, "--from-docker-config", "--docker-server=plain.example:5000")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got, want := dockerConfigJSON(t, name), ref("https://plain.example:5000", "plainuser", "plainpass", "p@example.com"); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("credential helper", func(t *testing.T) {
		name := e2eutil.UniqueName("ps-helper")
		cleanupSecret(t, name)
		_, stderr, code := pluginPS(t, "", name, "--from-docker-config="+filepath.Join(dir, "config.json"), "--docker-server=https://helped.example")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got, want := dockerConfigJSON(t, name), ref("helped.example", "helperuser", psPassword, ""); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	})
	t.Run("all entries", func(t *testing.T) {
		name := e2eutil.UniqueName("ps-all")
		cleanupSecret(t, name)
		_, stderr, code := pluginPS(t, "", name, "--from-docker-config")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var got struct {
			Auths map[string]map[string]string `json:"auths"`
		}
		if err := json.Unmarshal([]byte(dockerConfigJSON(t, name)), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Auths) != 2 || got.Auths["https://plain.example:5000"]["username"] != "plainuser" ||
			got.Auths["helped.example"]["password"] != psPassword {
			t.Errorf("auths = %v", got.Auths)
		}
	})
	t.Run("bad input creates nothing", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(bad, []byte(`{"auths":{"x":{"auth":"%%%"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		missingHelper := filepath.Join(dir, "missing-helper.json")
		if err := os.WriteFile(missingHelper, []byte(`{"credsStore":"podtasknosuch"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--from-docker-config", "--docker-server=nowhere.example"}, "no credentials for registry nowhere.example"},
			{[]string{"--from-docker-config=" + bad}, `auths entry "x": auth field is not valid base64`},
			{[]string{"--from-docker-config=" + filepath.Join(dir, "nope.json")}, "cannot read docker config"},
			{[]string{"--from-docker-config=" + missingHelper, "--docker-server=r.example"}, "docker-credential-podtasknosuch is not in PATH"},
			{[]string{"--docker-server=", "--docker-username=u", "--password-stdin"}, "--docker-server is empty"},
			{[]string{"--docker-server=r.example", "--password-stdin"}, "--docker-username is required"},
		} {
			name := e2eutil.UniqueName("ps-bad")
			_, stderr, code := pluginPS(t, psPassword, append([]string{name}, c.args...)...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 64 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
				t.Errorf("%v: exit %d, stderr %q; want exit 64 and one line with %q", c.args, code, stderr, c.want)
			}
			secretAbsent(t, name)
		}
	})
}

// TestPullSecretServiceAccountAndOverwrite: --service-account twice adds the
// secret once; an existing secret needs --overwrite, which keeps its labels.
func TestPullSecretServiceAccountAndOverwrite(t *testing.T) {
	c := e2eutil.Client(t)
	ctx := context.Background()
	sa := e2eutil.UniqueName("ps-sa")
	if _, err := c.ServiceAccounts(e2eutil.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.ServiceAccounts(e2eutil.Namespace).Delete(context.Background(), sa, metav1.DeleteOptions{})
	})
	name := e2eutil.UniqueName("ps-sec")
	cleanupSecret(t, name)

	args := []string{name, "--docker-server=r.example", "--docker-username=u", "--password-stdin", "--service-account=" + sa}
	stdout, stderr, code := pluginPS(t, "first", args...)
	if code != 0 || stdout != "secret/"+name+" created\nserviceaccount/"+sa+" patched\n" {
		t.Fatalf("first: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	first := dockerConfigJSON(t, name)

	s := getSecret(t, name)
	s.Labels = map[string]string{"team": "e2e"}
	if _, err := c.Secrets(e2eutil.Namespace).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	_, stderr, code = pluginPS(t, psPassword, args...)
	if code != 64 || !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("second without --overwrite: exit %d, stderr %q", code, stderr)
	}
	if dockerConfigJSON(t, name) != first {
		t.Error("secret changed without --overwrite")
	}

	stdout, stderr, code = pluginPS(t, psPassword, append(args, "--overwrite")...)
	if code != 0 || stdout != "secret/"+name+" configured\nserviceaccount/"+sa+" unchanged\n" {
		t.Fatalf("overwrite: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	s = getSecret(t, name)
	if !strings.Contains(string(s.Data[corev1.DockerConfigJsonKey]), `"auth":"`) || string(s.Data[corev1.DockerConfigJsonKey]) == first || s.Labels["team"] != "e2e" {
		t.Errorf("after overwrite: labels %v, data changed %v", s.Labels, string(s.Data[corev1.DockerConfigJsonKey]) != first)
	}
	got, err := c.ServiceAccounts(e2eutil.Namespace).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ImagePullSecrets) != 1 || got.ImagePullSecrets[0].Name != name {
		t.Errorf("imagePullSecrets = %v, want exactly [%s]", got.ImagePullSecrets, name)
	}

	// A missing service account is checked before anything is created.
	other := e2eutil.UniqueName("ps-nosa")
	_, stderr, code = pluginPS(t, psPassword, other, "--docker-username=u", "--password-stdin", "--service-account=ps-no-such-sa")
	if code != 64 || !strings.Contains(stderr, "nothing was created") {
		t.Errorf("missing service account: exit %d, stderr %q", code, stderr)
	}
	secretAbsent(t, other)
}

// TestPullSecretDryRuns: client and server dry runs create nothing; -o
// prints only the Secret.
func TestPullSecretDryRuns(t *testing.T) {
	e2eutil.Kubeconfig(t)
	name := e2eutil.UniqueName("ps-dry")
	cleanupSecret(t, name)
	base := []string{name, "--docker-server=r.example", "--docker-username=u", "--password-stdin", "--service-account=default"}

	stdout, stderr, code := pluginPS(t, psPassword, append(base, "--dry-run=client")...)
	if code != 0 || stdout != "secret/"+name+" created (dry run)\nserviceaccount/default patched (dry run)\n" {
		t.Errorf("client: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	secretAbsent(t, name)

	stdout, stderr, code = pluginPS(t, psPassword, append(base, "--dry-run=server")...)
	if code != 0 || stdout != "secret/"+name+" created (server dry run)\nserviceaccount/default patched (server dry run)\n" {
		t.Errorf("server: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	secretAbsent(t, name)
	sa, err := e2eutil.Client(t).ServiceAccounts(e2eutil.Namespace).Get(context.Background(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sa.ImagePullSecrets {
		if r.Name == name {
			t.Error("server dry run changed the default service account")
		}
	}

	for _, mode := range []string{"client", "server"} {
		stdout, stderr, code = pluginPS(t, psPassword, append(base, "--dry-run="+mode, "-o", "yaml")...)
		var s corev1.Secret
		if err := yaml.UnmarshalStrict([]byte(stdout), &s); err != nil || code != 0 {
			t.Fatalf("%s -o yaml: exit %d, not one Secret (%v):\n%s\nstderr: %s", mode, code, err, stdout, stderr)
		}
		if s.Kind != "Secret" || s.Name != name || s.Type != corev1.SecretTypeDockerConfigJson || !strings.Contains(string(s.Data[corev1.DockerConfigJsonKey]), "TOPSECRET") {
			t.Errorf("%s -o yaml printed %s/%s type %s", mode, s.Kind, s.Name, s.Type)
		}
		if !strings.HasPrefix(stderr, "serviceaccount/default patched") {
			t.Errorf("%s -o yaml: stderr %q", mode, stderr)
		}
	}
	secretAbsent(t, name)
}

// TestPullSecretVerboseHidesPassword: with client-go's body logging asked
// for, the password still does not appear.
func TestPullSecretVerboseHidesPassword(t *testing.T) {
	e2eutil.Kubeconfig(t)
	name := e2eutil.UniqueName("ps-verbose")
	cleanupSecret(t, name)
	_, stderr, code := pluginPS(t, psPassword, "-v=9", name, "--docker-server=r.example", "--docker-username=u", "--password-stdin")
	if code == 64 && strings.Contains(stderr, "unknown shorthand flag: 'v'") {
		t.Skip("the plugin has no -v flag")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `verb="POST"`) {
		t.Fatalf("-v=9 did not log the requests, so this test proves nothing:\n%s", stderr)
	}
	// pluginPS already failed the test if the password showed up in clear;
	// bodies carry it base64-encoded (JSON) or as bytes (protobuf).
	if strings.Contains(stderr, "Request Body") || strings.Contains(stderr, "Response Body") {
		t.Errorf("request or response bodies were logged:\n%s", stderr)
	}
	secret := getSecret(t, name)
	for _, leak := range []string{
		base64.StdEncoding.EncodeToString(secret.Data[corev1.DockerConfigJsonKey]),
		base64.StdEncoding.EncodeToString([]byte("u:" + psPassword)),
	} {
		if strings.Contains(stderr, leak) {
			t.Errorf("the encoded credentials were logged:\n%s", stderr)
		}
	}
}

// TestPullSecretUsedByTaskPod: a task pod rendered or run with
// --image-pull-secret lists the secret in imagePullSecrets.
func TestPullSecretUsedByTaskPod(t *testing.T) {
	e2eutil.Kubeconfig(t)
	name := e2eutil.UniqueName("ps-task")
	cleanupSecret(t, name)
	if _, stderr, code := pluginPS(t, psPassword, name, "--docker-server=127.0.0.1:1", "--docker-username=u", "--password-stdin"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "render", "--image", busybox, "--name", "ps-render", "--image-pull-secret", name, "--", "true")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	var pod corev1.Pod
	if err := yaml.Unmarshal([]byte(stdout), &pod); err != nil {
		t.Fatalf("render output is not a Pod: %v\n%s", err, stdout)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != name {
		t.Errorf("rendered imagePullSecrets = %v", pod.Spec.ImagePullSecrets)
	}

	s, stderr, code := runJSON(t, "--image", busybox, "--name", "ps-run", "--image-pull-secret", name, "--on-finish-action", "keep_pod", "--", "true")
	if code != 0 || s.Pod == "" {
		t.Fatalf("run: exit %d, summary %+v, stderr %s", code, s, stderr)
	}
	p, err := e2eutil.Client(t).Pods(s.Namespace).Get(ctx, s.Pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.ImagePullSecrets) != 1 || p.Spec.ImagePullSecrets[0].Name != name {
		t.Errorf("run pod imagePullSecrets = %v", p.Spec.ImagePullSecrets)
	}
}

// TestPullSecretPrompt types the password at the prompt on a terminal (a
// pseudo-terminal made by script(1)); it must not be echoed.
func TestPullSecretPrompt(t *testing.T) {
	kubeconfig := e2eutil.Kubeconfig(t)
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed; it provides the terminal for this test")
	}
	name := e2eutil.UniqueName("ps-tty")
	cleanupSecret(t, name)
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	line := strings.Join([]string{quote(e2eutil.Plugin(t)), "create-pull-secret", name, "--docker-server=r.example", "--docker-username=u"}, " ")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptBin, "-qec", line, "/dev/null")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(out.String(), "Password for u at r.example: ") {
		n, err := stdout.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("no prompt (%v); output: %q", err, out.String())
		}
	}
	time.Sleep(300 * time.Millisecond) // let the prompt turn echo off
	typed := "typed-TOPSECRET"
	if _, err := stdin.Write([]byte(typed + "\r")); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	out.Write(rest)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v; output: %q", err, out.String())
	}
	if strings.Contains(out.String(), "TOPSECRET") {
		t.Errorf("the typed password was echoed: %q", out.String())
	}
	if !strings.Contains(out.String(), "secret/"+name+" created") {
		t.Errorf("output: %q", out.String())
	}
	var cfg struct {
		Auths map[string]struct{ Password string } `json:"auths"`
	}
	if err := json.Unmarshal([]byte(dockerConfigJSON(t, name)), &cfg); err != nil || cfg.Auths["r.example"].Password != typed {
		t.Errorf("stored password is not the typed one (%v)", err)
	}
}

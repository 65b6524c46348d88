package plugin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/pullsecret"
)

const testPassword = "TOPSECRET-pw"

type pullSecretRun struct {
	cs     *fake.Clientset
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	err    error
}

// runPullSecret runs the command against a fake cluster holding objs.
func runPullSecret(t *testing.T, stdin string, setup func(*CreatePullSecretOptions), cs *fake.Clientset, args ...string) pullSecretRun {
	t.Helper()
	if cs == nil {
		cs = fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "ns"}})
	}
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	o := NewCreatePullSecretOptions(streams)
	o.Client = cs.CoreV1()
	o.Getenv = func(string) string { return "" }
	if setup != nil {
		setup(o)
	}
	flags := newKubeFlags()
	ns := "ns"
	flags.Namespace = &ns
	empty := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	flags.KubeConfig = &empty
	cmd := newCmdCreatePullSecretWith(newFactory(flags), o)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	r := pullSecretRun{cs: cs, stdout: out, stderr: errOut, err: err}
	printsObject := slices.ContainsFunc(args, func(a string) bool { return a == "-o" || strings.HasPrefix(a, "--output") })
	for _, s := range []string{out.String(), errOut.String(), fmt.Sprint(err)} {
		if strings.Contains(s, testPassword) && !printsObject {
			t.Errorf("the password leaked into output or error: %q", s)
		}
	}
	return r
}

func (r pullSecretRun) secret(t *testing.T, name string) *corev1.Secret {
	t.Helper()
	s, err := r.cs.CoreV1().Secrets("ns").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret %s: %v", name, err)
	}
	return s
}

func writes(r pullSecretRun) int {
	n := 0
	for _, a := range r.cs.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" || a.GetVerb() == "patch" {
			n++
		}
	}
	return n
}

func TestCreatePullSecretPasswordStdin(t *testing.T) {
	r := runPullSecret(t, testPassword+"\n", nil, nil, "regcred", "--docker-server=r.example", "--docker-username=u", "--docker-email=e@x", "--password-stdin")
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := r.secret(t, "regcred")
	want, _ := pullsecret.Build("r.example", "u", testPassword, "e@x")
	if s.Type != corev1.SecretTypeDockerConfigJson || string(s.Data[corev1.DockerConfigJsonKey]) != string(want) {
		t.Errorf("secret = %s %s, want %s", s.Type, s.Data[corev1.DockerConfigJsonKey], want)
	}
	if r.stdout.String() != "secret/regcred created\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	if r.stderr.Len() != 0 {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestCreatePullSecretDefaultServerAndFlagPasswordWarns(t *testing.T) {
	r := runPullSecret(t, "", nil, nil, "regcred", "--docker-username=u", "--docker-password="+testPassword)
	if r.err != nil {
		t.Fatal(r.err)
	}
	want, _ := pullsecret.Build(pullsecret.DockerHubServer, "u", testPassword, "")
	if got := r.secret(t, "regcred").Data[corev1.DockerConfigJsonKey]; string(got) != string(want) {
		t.Errorf("data = %s, want %s", got, want)
	}
	if !strings.Contains(r.stderr.String(), "Warning: --docker-password on the command line can end up in shell history") {
		t.Errorf("no warning: %q", r.stderr)
	}
}

func TestCreatePullSecretPrompt(t *testing.T) {
	var prompt string
	r := runPullSecret(t, "", func(o *CreatePullSecretOptions) {
		o.ReadPassword = func(p string) (string, error) { prompt = p; return testPassword, nil }
	}, nil, "regcred", "--docker-server=r.example", "--docker-username=u")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if prompt != "Password for u at r.example: " {
		t.Errorf("prompt = %q", prompt)
	}
	want, _ := pullsecret.Build("r.example", "u", testPassword, "")
	if got := r.secret(t, "regcred").Data[corev1.DockerConfigJsonKey]; string(got) != string(want) {
		t.Errorf("data = %s", got)
	}
}

func TestCreatePullSecretBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"auths":{"r":{"auth":"`+testPassword+`"}}}`), 0o600)
	dc := filepath.Join(dir, "config.json")
	os.WriteFile(dc, []byte(`{"auths":{"a.example":{"auth":"dTpw"}},"credHelpers":{"h.example":"nosuchhelper"}}`), 0o600)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"--docker-username=u", "--password-stdin"}, "exactly one NAME"},
		{"bad name", []string{"Bad_Name", "--docker-username=u", "--password-stdin"}, `invalid secret name "Bad_Name"`},
		{"empty server", []string{"s", "--docker-server=", "--docker-username=u", "--password-stdin"}, "--docker-server is empty"},
		{"empty user", []string{"s", "--docker-server=r", "--password-stdin"}, "--docker-username is required"},
		{"no password", []string{"s", "--docker-server=r", "--docker-username=u"}, "no password given and stdin is not a terminal"},
		{"empty stdin", []string{"s", "--docker-server=r", "--docker-username=u", "--password-stdin"}, "read an empty password"},
		{"both passwords", []string{"s", "--docker-username=u", "--password-stdin", "--docker-password=x"}, "either with --password-stdin or with --docker-password"},
		{"two sources", []string{"s", "--docker-username=u", "--from-file=" + bad}, "give only one of"},
		{"dry run value", []string{"s", "--dry-run=maybe", "--docker-username=u", "--password-stdin"}, `invalid --dry-run "maybe"`},
		{"output", []string{"s", "-o", "xml", "--docker-username=u", "--password-stdin"}, "xml"},
		{"missing file", []string{"s", "--from-file=" + filepath.Join(dir, "nope")}, "cannot read " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"directory", []string{"s", "--from-file=" + dir}, "is a directory"},
		{"malformed file", []string{"s", "--from-file=" + bad}, `entry "r": auth field is not valid base64`},
		{"no key", []string{"s", "--from-file=other=" + dc}, "must provide the .dockerconfigjson key"},
		{"config unreadable", []string{"s", "--from-docker-config=" + filepath.Join(dir, "nope")}, "cannot read docker config"},
		{"config malformed", []string{"s", "--from-docker-config=" + bad}, "auth field is not valid base64"},
		{"registry not in config", []string{"s", "--from-docker-config=" + dc, "--docker-server=z.example"}, "no credentials for registry z.example in " + dc + " (it has: a.example, h.example)"},
		{"missing helper", []string{"s", "--from-docker-config=" + dc, "--docker-server=h.example"}, "docker-credential-nosuchhelper is not in PATH (named by credHelpers in " + dc},
		{"missing service account", []string{"s", "--docker-username=u", "--docker-server=r", "--password-stdin", "--service-account=ghost"}, `service account "ghost" not found in namespace "ns"; nothing was created`},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdin := ""
			if c.name == "missing service account" {
				stdin = testPassword
			}
			r := runPullSecret(t, stdin, nil, nil, c.args...)
			if r.err == nil || !strings.Contains(r.err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", r.err, c.want)
			}
			if strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error spans lines: %q", r.err)
			}
			if ExitCode(r.err) != ExitUsage {
				t.Errorf("exit code %d, want %d", ExitCode(r.err), ExitUsage)
			}
			if n := writes(r); n != 0 {
				t.Errorf("%d writes to the cluster on bad input", n)
			}
		})
	}
}

func TestCreatePullSecretExistsAndOverwrite(t *testing.T) {
	old := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "ns", Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "keep"}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
	}
	cs := fake.NewClientset(old)
	r := runPullSecret(t, testPassword, nil, cs, "regcred", "--docker-server=r", "--docker-username=u", "--password-stdin")
	if r.err == nil || !strings.Contains(r.err.Error(), `secret "regcred" already exists in namespace "ns"; add --overwrite`) {
		t.Fatalf("error = %v", r.err)
	}
	if string(r.secret(t, "regcred").Data[corev1.DockerConfigJsonKey]) != `{"auths":{}}` {
		t.Error("secret changed without --overwrite")
	}
	r = runPullSecret(t, testPassword, nil, cs, "regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--overwrite")
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := r.secret(t, "regcred")
	want, _ := pullsecret.Build("r", "u", testPassword, "")
	if string(s.Data[corev1.DockerConfigJsonKey]) != string(want) || s.Labels["team"] != "a" || s.Annotations["note"] != "keep" {
		t.Errorf("overwritten secret = %v %s", s.ObjectMeta, s.Data[corev1.DockerConfigJsonKey])
	}
	if r.stdout.String() != "secret/regcred configured\n" {
		t.Errorf("stdout = %q", r.stdout)
	}

	opaque := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "ns"}, Type: corev1.SecretTypeOpaque})
	r = runPullSecret(t, testPassword, nil, opaque, "regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--overwrite")
	if r.err == nil || !strings.Contains(r.err.Error(), `has type "Opaque" and a secret's type cannot change`) {
		t.Errorf("type change error = %v", r.err)
	}
}

func TestCreatePullSecretServiceAccountIdempotent(t *testing.T) {
	cs := fake.NewClientset(&corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder", Namespace: "ns"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other"}},
	})
	args := []string{"regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--service-account=builder"}
	r := runPullSecret(t, testPassword, nil, cs, args...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.stdout.String() != "secret/regcred created\nserviceaccount/builder patched\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	r = runPullSecret(t, testPassword, nil, cs, append(args, "--overwrite")...)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.stdout.String() != "secret/regcred configured\nserviceaccount/builder unchanged\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	sa, _ := cs.CoreV1().ServiceAccounts("ns").Get(context.Background(), "builder", metav1.GetOptions{})
	if got := fmt.Sprint(sa.ImagePullSecrets); got != "[{other} {regcred}]" {
		t.Errorf("imagePullSecrets = %s", got)
	}
}

func TestCreatePullSecretDryRuns(t *testing.T) {
	r := runPullSecret(t, testPassword, func(o *CreatePullSecretOptions) { o.Client = nil }, nil,
		"regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--dry-run=client", "--service-account=default")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.stdout.String() != "secret/regcred created (dry run)\nserviceaccount/default patched (dry run)\n" {
		t.Errorf("client dry run stdout = %q", r.stdout)
	}
	if len(r.cs.Actions()) != 0 {
		t.Errorf("client dry run called the API: %v", r.cs.Actions())
	}

	r = runPullSecret(t, testPassword, nil, nil, "regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--dry-run=server", "--service-account=default")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.stdout.String() != "secret/regcred created (server dry run)\nserviceaccount/default patched (server dry run)\n" {
		t.Errorf("server dry run stdout = %q", r.stdout)
	}
	dry := 0
	for _, a := range r.cs.Actions() {
		switch a := a.(type) {
		case k8stesting.CreateActionImpl:
			dry++
			if fmt.Sprint(a.CreateOptions.DryRun) != "[All]" {
				t.Errorf("create without dryRun=All: %v", a.CreateOptions)
			}
		case k8stesting.UpdateActionImpl:
			dry++
			if fmt.Sprint(a.UpdateOptions.DryRun) != "[All]" {
				t.Errorf("update without dryRun=All: %v", a.UpdateOptions)
			}
		}
	}
	if dry != 2 {
		t.Errorf("server dry run sent %d writes, want 2 (secret, service account)", dry)
	}
}

func TestCreatePullSecretOutputYAML(t *testing.T) {
	r := runPullSecret(t, testPassword, func(o *CreatePullSecretOptions) { o.Client = nil }, nil,
		"regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--dry-run=client", "-o", "json", "--service-account=default")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var s corev1.Secret
	if err := json.Unmarshal(r.stdout.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not only the Secret's JSON: %v\n%s", err, r.stdout)
	}
	want, _ := pullsecret.Build("r", "u", testPassword, "")
	if s.Kind != "Secret" || s.APIVersion != "v1" || s.Name != "regcred" || string(s.Data[corev1.DockerConfigJsonKey]) != string(want) {
		t.Errorf("printed secret = %+v", s)
	}
	if r.stderr.String() != "serviceaccount/default patched (dry run)\n" {
		t.Errorf("stderr = %q", r.stderr)
	}
}

func TestCreatePullSecretFromFileKeepsBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	content := "{\n  \"auths\": {\"r.example\": {\"auth\": \"dTpw\"}}\n}\n"
	os.WriteFile(path, []byte(content), 0o600)
	for _, arg := range []string{"--from-file=" + path, "--from-file=.dockerconfigjson=" + path} {
		r := runPullSecret(t, "", nil, nil, "regcred", arg)
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := string(r.secret(t, "regcred").Data[corev1.DockerConfigJsonKey]); got != content {
			t.Errorf("%s stored %q", arg, got)
		}
	}
}

type scriptedHelpers map[string]string // "program action input" -> stdout

func (s scriptedHelpers) Run(_ context.Context, program, action string, input []byte) ([]byte, error) {
	if out, ok := s[program+" "+action+" "+string(input)]; ok {
		return []byte(out), nil
	}
	return nil, &pullsecret.HelperError{Program: program, Action: action, Message: "credentials not found in native keychain", Err: errors.New("exit status 1")}
}

func TestCreatePullSecretFromDockerConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOmh1YnBhc3M="},"r.example":{}},"credsStore":"fake"}`), 0o600)
	helpers := scriptedHelpers{
		"docker-credential-fake get r.example": `{"ServerURL":"r.example","Username":"ru","Secret":"` + testPassword + `"}`,
		"docker-credential-fake list ":         `{"r.example":"ru"}`,
	}
	setup := func(o *CreatePullSecretOptions) {
		o.Helpers = helpers
		o.Getenv = func(k string) string { return map[string]string{"DOCKER_CONFIG": dir}[k] }
	}
	r := runPullSecret(t, "", setup, nil, "one", "--from-docker-config", "--docker-server=https://r.example")
	if r.err != nil {
		t.Fatal(r.err)
	}
	want, _ := pullsecret.Build("r.example", "ru", testPassword, "")
	if got := r.secret(t, "one").Data[corev1.DockerConfigJsonKey]; string(got) != string(want) {
		t.Errorf("one = %s, want %s", got, want)
	}
	r = runPullSecret(t, "", setup, nil, "all", "--from-docker-config")
	if r.err != nil {
		t.Fatal(r.err)
	}
	want, _ = pullsecret.BuildAll(map[string]pullsecret.Credential{
		"r.example":                {Username: "ru", Password: testPassword},
		pullsecret.DockerHubServer: {Username: "hub", Password: "hubpass"},
	})
	if got := r.secret(t, "all").Data[corev1.DockerConfigJsonKey]; string(got) != string(want) {
		t.Errorf("all = %s, want %s", got, want)
	}
}

func TestCappedVerbosity(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 10})
	l := capVerbosity(base, 7)
	l.V(7).Info("seen")
	l.V(8).Info("body", "body", testPassword)
	l.WithName("n").WithValues("k", "v").V(9).Info("body")
	if len(lines) != 1 || !strings.Contains(lines[0], "seen") {
		t.Errorf("logged %q", lines)
	}
	if capVerbosity(logr.Discard(), 7).V(8).Enabled() {
		t.Error("discard logger enabled")
	}
}

// TestCreatePullSecretBodiesNotLogged: client-go logs request and response
// bodies at -v=8; the command's API calls must not.
func TestCreatePullSecretBodiesNotLogged(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	}))
	defer srv.Close()
	client, err := corev1client.NewForConfig(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{ContentType: "application/json"}})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	logger := funcr.New(func(prefix, args string) { logs.WriteString(args + "\n") }, funcr.Options{Verbosity: 10})
	ctx := klog.NewContext(context.Background(), logger)

	// Without the cap, the body (and so the password) is logged.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, StringData: map[string]string{"k": testPassword}}
	if _, err := client.Secrets("ns").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), testPassword) {
		t.Fatalf("probe: client-go did not log the body at -v=10, so this test proves nothing:\n%s", logs.String())
	}
	logs.Reset()

	streams, in, _, _ := genericiooptions.NewTestIOStreams()
	in.WriteString(testPassword)
	o := NewCreatePullSecretOptions(streams)
	o.Client = client
	o.Name, o.Namespace, o.Username, o.PasswordStdin = "regcred", "ns", "u", true
	if err := o.Run(ctx); err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString([]byte("u:" + testPassword))
	if l := logs.String(); strings.Contains(l, testPassword) || strings.Contains(l, enc) || strings.Contains(l, "TOPSECRET") {
		t.Errorf("the command's API calls logged the password:\n%s", l)
	}
}

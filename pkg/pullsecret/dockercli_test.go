package pullsecret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// fakeHelpers answers helper calls from a table: program -> server -> creds.
type fakeHelpers struct {
	store map[string]map[string]helperCreds
	calls []string
}

func (f *fakeHelpers) Run(_ context.Context, program, action string, input []byte) ([]byte, error) {
	f.calls = append(f.calls, program+" "+action+" "+string(input))
	creds, ok := f.store[program]
	if !ok {
		return nil, fmt.Errorf("%w: %s is not in PATH", ErrHelperNotFound, program)
	}
	switch action {
	case "get":
		c, ok := creds[string(input)]
		if !ok {
			return nil, &HelperError{Program: program, Action: action, Message: "credentials not found in native keychain", Err: errors.New("exit status 1")}
		}
		return json.Marshal(c)
	case "list":
		m := map[string]string{}
		for s, c := range creds {
			m[s] = c.Username
		}
		return json.Marshal(m)
	}
	return nil, errors.New("bad action")
}

func TestConvertToHostnameAndRegistryKey(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.docker.io/v1/": DockerHubServer,
		"docker.io":                   DockerHubServer,
		"registry-1.docker.io":        DockerHubServer,
		"INDEX.docker.io/v1/":         DockerHubServer,
		"https://r.example:5000/v2/":  "r.example:5000",
		"r.example:5000/ns/img":       "r.example:5000",
		"http://r.example":            "r.example",
		"ghcr.io":                     "ghcr.io",
	} {
		if got := RegistryKey(in); got != want {
			t.Errorf("RegistryKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultCLIConfigPath(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	p, _ := DefaultCLIConfigPath(func(k string) string { return env[k] })
	if p != "/home/u/.docker/config.json" {
		t.Errorf("default path = %s", p)
	}
	env["DOCKER_CONFIG"] = "/etc/dc"
	p, _ = DefaultCLIConfigPath(func(k string) string { return env[k] })
	if p != "/etc/dc/config.json" {
		t.Errorf("DOCKER_CONFIG path = %s", p)
	}
}

const cliConfig = `{
  "auths": {
    "https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
    "https://plain.example:5000": {"auth": "cGxhaW46cGxhaW5wYXNz", "email": "p@example.com"},
    "store.example": {},
    "empty.example": {}
  },
  "credsStore": "teststore",
  "credHelpers": {"helped.example": "testhelper"}
}`

func helpers() *fakeHelpers {
	return &fakeHelpers{store: map[string]map[string]helperCreds{
		"docker-credential-teststore": {
			"store.example": {ServerURL: "store.example", Username: "su", Secret: "sp"},
			"tok.example":   {ServerURL: "tok.example", Username: "<token>", Secret: "idtok"},
		},
		"docker-credential-testhelper": {
			"helped.example": {ServerURL: "helped.example", Username: "hu", Secret: "hp"},
		},
	}}
}

func TestLookup(t *testing.T) {
	cfg, err := ParseCLIConfig([]byte(cliConfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Path = "/cfg.json"
	for _, c := range []struct{ server, key, user, pass, email, token string }{
		{"docker.io", DockerHubServer, "hub", "hubpass", "", ""},
		{"https://index.docker.io/v1/", DockerHubServer, "hub", "hubpass", "", ""},
		{"plain.example:5000", "https://plain.example:5000", "plain", "plainpass", "p@example.com", ""},
		{"store.example", "store.example", "su", "sp", "", ""},
		{"https://helped.example", "helped.example", "hu", "hp", "", ""},
		{"tok.example", "tok.example", "", "", "", "idtok"},
	} {
		key, cred, err := cfg.Lookup(context.Background(), helpers(), c.server)
		if err != nil {
			t.Errorf("Lookup(%s): %v", c.server, err)
			continue
		}
		if key != c.key || cred.Username != c.user || cred.Password != c.pass || cred.Email != c.email || cred.IdentityToken != c.token {
			t.Errorf("Lookup(%s) = %s %v (token %q)", c.server, key, cred, cred.IdentityToken)
		}
	}
	_, _, err = cfg.Lookup(context.Background(), helpers(), "nowhere.example")
	if err == nil || !strings.Contains(err.Error(), "no credentials for registry nowhere.example in /cfg.json") {
		t.Errorf("missing registry error = %v", err)
	}
}

func TestLookupHelperProblems(t *testing.T) {
	cfg, _ := ParseCLIConfig([]byte(`{"credHelpers":{"h.example":"absent"}}`))
	cfg.Path = "/cfg.json"
	_, _, err := cfg.Lookup(context.Background(), helpers(), "h.example")
	if err == nil || !errors.Is(err, ErrHelperNotFound) || !strings.Contains(err.Error(), "docker-credential-absent") || !strings.Contains(err.Error(), "credHelpers in /cfg.json") {
		t.Errorf("missing helper error = %v", err)
	}
	cfg, _ = ParseCLIConfig([]byte(`{"credHelpers":{"other.example":"testhelper"}}`))
	h := helpers()
	h.store["docker-credential-testhelper"] = map[string]helperCreds{}
	_, _, err = cfg.Lookup(context.Background(), h, "other.example")
	if err == nil || !strings.Contains(err.Error(), "has no credentials for other.example") {
		t.Errorf("helper without creds error = %v", err)
	}
}

func TestAll(t *testing.T) {
	cfg, _ := ParseCLIConfig([]byte(cliConfig))
	all, err := cfg.All(context.Background(), helpers())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(Servers(all), ",")
	want := "helped.example,https://index.docker.io/v1/,https://plain.example:5000,store.example,tok.example"
	if got != want {
		t.Errorf("All servers = %s, want %s", got, want)
	}
	if all["store.example"].Password != "sp" || all["helped.example"].Username != "hu" {
		t.Errorf("helper entries wrong: %v %v", all["store.example"], all["helped.example"])
	}
	empty, _ := ParseCLIConfig([]byte(`{"auths":{"x":{}}}`))
	empty.Path = "/e.json"
	if _, err := empty.All(context.Background(), helpers()); err == nil || !strings.Contains(err.Error(), "no registry credentials in /e.json") {
		t.Errorf("empty config error = %v", err)
	}
}

func TestParseCLIConfigErrors(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{`{`, "not valid JSON"},
		{`{"auths":{"r":{"auth":"###"}}}`, `auths entry "r": auth field is not valid base64`},
		{`{"credsStore":"../evil"}`, "credsStore: helper name"},
		{`{"credHelpers":{"r":"a/b"}}`, `credHelpers entry "r"`},
		{`{"credHelpers":["x"]}`, "not valid JSON"},
	} {
		if _, err := ParseCLIConfig([]byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseCLIConfig(%s) = %v, want %q", c.data, err, c.want)
		}
	}
	dir := t.TempDir()
	if _, err := LoadCLIConfig(filepath.Join(dir, "nope.json")); err == nil || !strings.Contains(err.Error(), "cannot read docker config") {
		t.Errorf("missing file error = %v", err)
	}
}

// TestExecHelperRunner runs a real helper script, the way docker does.
func TestExecHelperRunner(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
case "$1" in
get) read -r server || true
     if [ "$server" = "script.example" ]; then
       printf '{"ServerURL":"%s","Username":"scriptuser","Secret":"scriptpass"}\n' "$server"
     else
       echo "credentials not found in native keychain"; exit 1
     fi ;;
list) echo '{"script.example":"scriptuser"}' ;;
*) echo "unknown action" >&2; exit 2 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-script"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg, _ := ParseCLIConfig([]byte(`{"credsStore":"script"}`))
	key, cred, err := cfg.Lookup(context.Background(), ExecHelperRunner{}, "https://script.example/v2/")
	if err != nil || key != "script.example" || cred.Username != "scriptuser" || cred.Password != "scriptpass" {
		t.Fatalf("Lookup via script = %s %v %v", key, cred, err)
	}
	all, err := cfg.All(context.Background(), ExecHelperRunner{})
	if err != nil || len(all) != 1 || all["script.example"].Password != "scriptpass" {
		t.Fatalf("All via script = %v %v", Servers(all), err)
	}
	if _, _, err := cfg.Lookup(context.Background(), ExecHelperRunner{}, "other.example"); err == nil || !strings.Contains(err.Error(), "no credentials for registry other.example") {
		t.Errorf("not-found via script = %v", err)
	}
	_, err = ExecHelperRunner{}.Run(context.Background(), "docker-credential-script", "bogus", nil)
	var he *HelperError
	if !errors.As(err, &he) || he.Message != "unknown action" {
		t.Errorf("failing helper error = %v", err)
	}
}

func TestCheckPullSecret(t *testing.T) {
	cs := fake.NewSimpleClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "good", Namespace: "ns"}, Type: corev1.SecretTypeDockerConfigJson},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "ns"}, Type: corev1.SecretTypeDockercfg},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque", Namespace: "ns"}, Type: corev1.SecretTypeOpaque},
	)
	ctx := context.Background()
	for name, want := range map[string]string{
		"good":    "",
		"legacy":  "",
		"opaque":  `has type "Opaque", not kubernetes.io/dockerconfigjson`,
		"missing": `does not exist in namespace "ns"`,
	} {
		got := CheckPullSecret(ctx, cs.CoreV1(), "ns", name)
		if (want == "" && got != "") || (want != "" && !strings.Contains(got, want)) {
			t.Errorf("CheckPullSecret(%s) = %q, want %q", name, got, want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("warning spans lines: %q", got)
		}
	}
	cs.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "good", errors.New("no"))
	})
	if got := CheckPullSecret(ctx, cs.CoreV1(), "ns", "good"); !strings.Contains(got, "could not be checked") {
		t.Errorf("forbidden = %q", got)
	}
}

// FuzzParseCLIConfig: any input parses or gives a one-line error that does
// not quote the config's auth values.
func FuzzParseCLIConfig(f *testing.F) {
	f.Add([]byte(cliConfig))
	f.Add([]byte(`{"auths":{"r":{"auth":"SECRETSECRET"}}}`))
	f.Add([]byte(`{"credHelpers":{"r":""},"credsStore":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseCLIConfig(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			if strings.Contains(string(data), "SECRETSECRET") && strings.Contains(err.Error(), "SECRETSECRET") {
				t.Fatalf("error quotes an auth value: %v", err)
			}
			return
		}
		for _, c := range cfg.Auths {
			_ = c.Entry()
		}
	})
}

// FuzzRegistryKey: the key of a key is itself, and Docker Hub's names all
// fold to its index URL.
func FuzzRegistryKey(f *testing.F) {
	for _, s := range []string{"docker.io", "https://index.docker.io/v1/", "r:5000/x", "http://[::1]:5000/v2/", "a://b", "ghcr.io"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := RegistryKey(s)
		if again := RegistryKey(k); again != k {
			t.Fatalf("RegistryKey(%q) = %q, but RegistryKey(%q) = %q", s, k, k, again)
		}
	})
}

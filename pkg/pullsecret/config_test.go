package pullsecret

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// kubectl's own types and marshalling, copied from
// k8s.io/kubectl/pkg/cmd/create/create_secret_docker.go, as the reference.
type kubectlDockerConfigJSON struct {
	Auths       map[string]kubectlDockerConfigEntry `json:"auths"`
	HttpHeaders map[string]string                   `json:"HttpHeaders,omitempty"`
}

type kubectlDockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

func kubectlBytes(t testing.TB, username, password, email, server string) []byte {
	t.Helper()
	b, err := json.Marshal(kubectlDockerConfigJSON{Auths: map[string]kubectlDockerConfigEntry{server: {
		Username: username, Password: password, Email: email,
		Auth: base64.StdEncoding.EncodeToString([]byte(username + ":" + password)),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildMatchesKubectl(t *testing.T) {
	cases := []struct{ server, user, pass, email string }{
		{DockerHubServer, "alice", "s3cret", ""},
		{"registry.example.com:5000", "bob", "p@ss:with:colons", "bob@example.com"},
		{"https://ghcr.io", "ci", "ünïcødé & <html> \"quotes\"", "x"},
	}
	for _, c := range cases {
		got, err := Build(c.server, c.user, c.pass, c.email)
		if err != nil {
			t.Fatalf("Build(%q): %v", c.server, err)
		}
		want := kubectlBytes(t, c.user, c.pass, c.email, c.server)
		if string(got) != string(want) {
			t.Errorf("Build(%q) =\n%s\nkubectl gives\n%s", c.server, got, want)
		}
	}
	// A literal, to pin the format itself.
	got, _ := Build("r.example", "u", "p", "")
	if want := `{"auths":{"r.example":{"username":"u","password":"p","auth":"dTpw"}}}`; string(got) != want {
		t.Errorf("Build = %s, want %s", got, want)
	}
}

func TestBuildRejectsEmptyInputs(t *testing.T) {
	for _, c := range []struct{ server, user, pass, want string }{
		{"", "u", "p", "server is empty"},
		{"  ", "u", "p", "server is empty"},
		{"r", "", "p", "username is empty"},
		{"r", "u", "", "password is empty"},
	} {
		_, err := Build(c.server, c.user, c.pass, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Build(%q,%q,%q) error = %v, want %q", c.server, c.user, c.pass, err, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	data := `{"auths":{"a.example":{"auth":"dXNlcjpwYTpzcw=="},"b.example":{"username":"x","password":"y","email":"e"},"c.example":{"identitytoken":"tok"}}}`
	creds, err := Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if c := creds["a.example"]; c.Username != "user" || c.Password != "pa:ss" {
		t.Errorf("a.example = %v %q", c, c.Password)
	}
	if c := creds["b.example"]; c.Username != "x" || c.Password != "y" || c.Email != "e" {
		t.Errorf("b.example = %v", c)
	}
	if c := creds["c.example"]; c.IdentityToken != "tok" {
		t.Errorf("c.example token = %q", c.IdentityToken)
	}
	if got := strings.Join(Servers(creds), ","); got != "a.example,b.example,c.example" {
		t.Errorf("Servers = %s", got)
	}
}

func TestParseErrorsDoNotLeak(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{``, "not a docker config JSON"},
		{`{"auths":`, "not a docker config JSON"},
		{`[1,2]`, "not a docker config JSON"},
		{`{"other":{}}`, `no "auths"`},
		{`{"auths":{"r":{"auth":"!!TOPSECRET!!"}}}`, `entry "r": auth field is not valid base64`},
		{`{"auths":{"r":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("TOPSECRET")) + `"}}}`, `does not decode`},
		{`{"auths":{"r":{"password":12}}}`, `entry "r"`},
		{`{"auths":{"r":"TOPSECRET"}}`, `entry "r"`},
	} {
		_, err := Parse([]byte(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s) error = %v, want %q", c.data, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "TOPSECRET") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%s) error leaks or spans lines: %v", c.data, err)
		}
	}
}

func TestCredentialStringRedacts(t *testing.T) {
	c := Credential{Username: "u", Password: "TOPSECRET", IdentityToken: "TOPSECRET"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "TOPSECRET") {
			t.Errorf("credential printed its secret: %s", s)
		}
	}
}

func TestIdentityTokenEntry(t *testing.T) {
	b, err := BuildAll(map[string]Credential{"r": {IdentityToken: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"auths":{"r":{"identitytoken":"tok"}}}`; string(b) != want {
		t.Errorf("token entry = %s, want %s", b, want)
	}
}

// FuzzBuild checks Build against kubectl's marshalling and that Parse reads
// back what Build wrote.
func FuzzBuild(f *testing.F) {
	f.Add(DockerHubServer, "user", "pass", "")
	f.Add("r:5000", "a:b", "p\x00\n\"", "e@x")
	f.Add("ü", "<>&", "\u2028", "\xff")
	f.Fuzz(func(t *testing.T, server, user, pass, email string) {
		got, err := Build(server, user, pass, email)
		if strings.TrimSpace(server) == "" || user == "" || pass == "" {
			if err == nil {
				t.Fatal("Build accepted an empty input")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := kubectlBytes(t, user, pass, email, server); string(got) != string(want) {
			t.Fatalf("bytes differ from kubectl:\n%s\n%s", got, want)
		}
		creds, err := Parse(got)
		if err != nil {
			t.Fatalf("Parse(Build()) = %v", err)
		}
		// json.Marshal replaces invalid UTF-8; compare through a round trip.
		norm := func(s string) string {
			b, _ := json.Marshal(s)
			var out string
			_ = json.Unmarshal(b, &out)
			return out
		}
		c, ok := creds[norm(server)]
		if !ok || len(creds) != 1 {
			t.Fatalf("Parse found %v", Servers(creds))
		}
		// auth carries the exact bytes; Parse prefers it, as docker does.
		if c.Username+":"+c.Password != user+":"+pass {
			t.Fatal("username and password did not round-trip through auth")
		}
		if c.Email != norm(email) {
			t.Fatalf("email %q, want %q", c.Email, norm(email))
		}
	})
}

// FuzzParse checks that any input either parses or gives a one-line error,
// never panics, and that what parses rebuilds into something that parses
// to the same credentials.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"auths":{"r":{"auth":"dTpw"}}}`))
	f.Add([]byte(`{"auths":{"r":{"username":"u","password":"p","identitytoken":"t"}}}`))
	f.Add([]byte(`{"auths":null}`))
	f.Add([]byte(`{"auths":{"r":{"auth":"dTpw","username":"x"}},"HttpHeaders":{"a":"b"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if len(creds) == 0 {
			return
		}
		b, err := BuildAll(creds)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("rebuilt config does not parse: %v", err)
		}
		for s, c := range creds {
			d := again[s]
			if c.Username != d.Username || c.Password != d.Password || c.Email != d.Email {
				t.Fatalf("entry %q changed on rebuild", s)
			}
			if c.Password == "" && c.IdentityToken != d.IdentityToken {
				t.Fatalf("token of %q changed on rebuild", s)
			}
		}
	})
}

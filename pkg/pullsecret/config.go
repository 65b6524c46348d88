// Package pullsecret builds and reads the .dockerconfigjson payload of
// kubernetes.io/dockerconfigjson Secrets, reads the docker CLI's own config
// file (including entries kept by credential helpers), and checks that a
// named pull secret is usable.
//
// The payload is built exactly as `kubectl create secret docker-registry`
// builds it, so the same inputs give the same bytes.
package pullsecret

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// DockerHubServer is the key docker and kubectl use for Docker Hub.
const DockerHubServer = "https://index.docker.io/v1/"

// DockerConfigJSON is the content of a .dockerconfigjson key. Its shape and
// field order are those of kubectl's type of the same name, so that
// json.Marshal gives the same bytes.
type DockerConfigJSON struct {
	Auths       DockerConfig      `json:"auths"`
	HTTPHeaders map[string]string `json:"HttpHeaders,omitempty"`
}

// DockerConfig maps a registry server to its credentials.
type DockerConfig map[string]DockerConfigEntry

// DockerConfigEntry holds the credentials for one registry. The first four
// fields are kubectl's; IdentityToken is only written for registries whose
// credentials are an OAuth identity token (as docker itself stores them).
type DockerConfigEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Email         string `json:"email,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// Credential is one registry login.
type Credential struct {
	Username      string
	Password      string
	Email         string
	IdentityToken string
}

// String never shows the secret parts.
func (c Credential) String() string {
	return fmt.Sprintf("Credential{Username:%q, Password:<redacted>, Email:%q}", c.Username, c.Email)
}

// GoString keeps %#v from printing the secret parts.
func (c Credential) GoString() string { return c.String() }

// Entry turns a credential into a config entry the way kubectl does: the
// username and password both as fields and as base64 "user:password" in auth.
// An identity-token credential without a password is kept as docker keeps
// it: only the token (and the username, if any).
func (c Credential) Entry() DockerConfigEntry {
	if c.IdentityToken != "" && c.Password == "" {
		return DockerConfigEntry{Username: c.Username, Email: c.Email, IdentityToken: c.IdentityToken}
	}
	return DockerConfigEntry{
		Username: c.Username,
		Password: c.Password,
		Email:    c.Email,
		Auth:     EncodeAuth(c.Username, c.Password),
	}
}

// EncodeAuth is base64("username:password"), the auth field of an entry.
func EncodeAuth(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

// DecodeAuth splits an auth field into username and password. Errors never
// include the field's content.
func DecodeAuth(auth string) (username, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(auth))
	if err != nil {
		return "", "", errors.New("auth field is not valid base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New(`auth field does not decode to "username:password"`)
	}
	return user, pass, nil
}

// Build returns the .dockerconfigjson bytes for one registry login, byte for
// byte what `kubectl create secret docker-registry` stores for the same
// --docker-server, --docker-username, --docker-password and --docker-email.
func Build(server, username, password, email string) ([]byte, error) {
	if err := checkLogin(server, username, password); err != nil {
		return nil, err
	}
	return BuildAll(map[string]Credential{server: {Username: username, Password: password, Email: email}})
}

func checkLogin(server, username, password string) error {
	switch {
	case strings.TrimSpace(server) == "":
		return errors.New("the registry server is empty: give --docker-server")
	case username == "":
		return errors.New("the registry username is empty: give --docker-username")
	case password == "":
		return errors.New("the registry password is empty: give --password-stdin, type it at the prompt, or use --docker-password")
	}
	return nil
}

// BuildAll returns the .dockerconfigjson bytes for several registries.
func BuildAll(creds map[string]Credential) ([]byte, error) {
	if len(creds) == 0 {
		return nil, errors.New("no registry credentials to store")
	}
	cfg := DockerConfigJSON{Auths: DockerConfig{}}
	for server, c := range creds {
		cfg.Auths[server] = c.Entry()
	}
	return json.Marshal(cfg)
}

// Parse reads .dockerconfigjson bytes (the content of a pull secret, or a
// file given to --from-file) and checks they hold at least one usable entry.
// The returned credentials have auth decoded into username and password.
// Errors name the problem and the registry but never a credential.
func Parse(data []byte) (map[string]Credential, error) {
	var cfg struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("not a docker config JSON: %s", jsonProblem(err))
	}
	if cfg.Auths == nil {
		return nil, errors.New(`not a docker config JSON: no "auths" object`)
	}
	out := make(map[string]Credential, len(cfg.Auths))
	for server, raw := range cfg.Auths {
		var e fileEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("entry %q: %s", server, jsonProblem(err))
		}
		c, err := e.credential()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", server, err)
		}
		out[server] = c
	}
	return out, nil
}

// fileEntry is an auths entry as docker and kubectl write it.
type fileEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Email         string `json:"email,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// credential decodes auth over explicit username/password, as docker does.
func (e fileEntry) credential() (Credential, error) {
	c := Credential{Username: e.Username, Password: e.Password, Email: e.Email, IdentityToken: e.IdentityToken}
	if e.Auth != "" {
		u, p, err := DecodeAuth(e.Auth)
		if err != nil {
			return Credential{}, err
		}
		c.Username, c.Password = u, p
	}
	return c, nil
}

// Empty reports an entry with nothing to log in with.
func (c Credential) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == ""
}

// jsonProblem describes a JSON decoding error without quoting input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q should be a %s, not a %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected a %s, found a %s", typ.Type, typ.Value)
	default:
		return "invalid JSON"
	}
}

// Servers lists the servers of a credential map in order.
func Servers(creds map[string]Credential) []string {
	out := make([]string, 0, len(creds))
	for s := range creds {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

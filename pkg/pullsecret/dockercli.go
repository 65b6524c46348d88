package pullsecret

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// CLIConfig is the part of the docker CLI's config.json that holds logins.
type CLIConfig struct {
	// Path is where the config was read from; used in messages.
	Path string
	// Auths are the plain entries, with auth decoded.
	Auths map[string]Credential
	// CredsStore is the default credential helper ("desktop", "pass", ...).
	CredsStore string
	// CredHelpers maps a registry to its own credential helper.
	CredHelpers map[string]string
}

// DefaultCLIConfigPath is where the docker CLI keeps its config:
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json.
func DefaultCLIConfigPath(getenv func(string) string) (string, error) {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("cannot find the docker config: neither DOCKER_CONFIG nor HOME is set; give --from-docker-config=PATH")
		}
		home = h
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// LoadCLIConfig reads a docker CLI config file.
func LoadCLIConfig(path string) (*CLIConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("cannot read docker config %s: %v", path, pe.Err)
		}
		return nil, fmt.Errorf("cannot read docker config %s: %v", path, err)
	}
	cfg, err := ParseCLIConfig(data)
	if err != nil {
		return nil, fmt.Errorf("docker config %s: %w", path, err)
	}
	cfg.Path = path
	return cfg, nil
}

// ParseCLIConfig decodes the content of a docker CLI config.json.
func ParseCLIConfig(data []byte) (*CLIConfig, error) {
	var raw struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredsStore  string                     `json:"credsStore"`
		CredHelpers map[string]string          `json:"credHelpers"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not valid JSON: %s", jsonProblem(err))
	}
	cfg := &CLIConfig{Auths: map[string]Credential{}, CredsStore: raw.CredsStore, CredHelpers: raw.CredHelpers}
	for server, r := range raw.Auths {
		var e fileEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("auths entry %q: %s", server, jsonProblem(err))
		}
		c, err := e.credential()
		if err != nil {
			return nil, fmt.Errorf("auths entry %q: %w", server, err)
		}
		cfg.Auths[server] = c
	}
	if err := checkHelperName(cfg.CredsStore); err != nil {
		return nil, fmt.Errorf("credsStore: %w", err)
	}
	for reg, h := range cfg.CredHelpers {
		if err := checkHelperName(h); err != nil {
			return nil, fmt.Errorf("credHelpers entry %q: %w", reg, err)
		}
	}
	return cfg, nil
}

func checkHelperName(name string) error {
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("helper name %q is not a plain name", name)
	}
	return nil
}

// hubHosts are the host names docker treats as Docker Hub.
var hubHosts = map[string]bool{"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true}

// ConvertToHostname strips the scheme and path of a registry key, as the
// docker CLI does when it matches legacy config keys: "https://r:5000/v1/"
// becomes "r:5000".
func ConvertToHostname(maybeURL string) string {
	stripped := maybeURL
	if strings.Contains(stripped, "://") {
		if u, err := url.Parse(stripped); err == nil && u.Hostname() != "" {
			if u.Port() == "" {
				return u.Hostname()
			}
			return u.Hostname() + ":" + u.Port()
		}
		_, stripped, _ = strings.Cut(stripped, "://")
	}
	host, _, _ := strings.Cut(stripped, "/")
	return host
}

// RegistryKey is the key docker files a login for server under: Docker Hub's
// index URL for any Docker Hub name, the host[:port] otherwise.
func RegistryKey(server string) string {
	host := strings.ToLower(strings.TrimSpace(ConvertToHostname(strings.TrimSpace(server))))
	if hubHosts[host] {
		return DockerHubServer
	}
	return host
}

// matchKey finds the key of m that names server: the exact key first, then
// one that names the same registry once scheme, path and Docker Hub aliases
// are set aside.
func matchKey[V any](m map[string]V, server string) (string, bool) {
	if _, ok := m[server]; ok {
		return server, true
	}
	want := RegistryKey(server)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if RegistryKey(k) == want {
			return k, true
		}
	}
	return "", false
}

// registryNames lists the registries a config knows, for messages.
func (c *CLIConfig) registryNames() string {
	seen := map[string]bool{}
	for k, v := range c.Auths {
		if !v.Empty() {
			seen[k] = true
		}
	}
	for k := range c.CredHelpers {
		seen[k] = true
	}
	if len(seen) == 0 {
		return "none"
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

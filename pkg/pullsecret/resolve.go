package pullsecret

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Lookup finds the credentials for one registry in a docker CLI config, as
// docker would when pulling from server: a registry-specific helper in
// credHelpers first, then the credsStore helper, then the plain auths entry.
// Keys match exactly, or by host once scheme, path and Docker Hub's aliases
// (docker.io, index.docker.io, registry-1.docker.io) are set aside. It
// returns the config's key for the registry and its credentials.
func (c *CLIConfig) Lookup(ctx context.Context, r HelperRunner, server string) (string, Credential, error) {
	if key, ok := matchKey(c.CredHelpers, server); ok {
		helper := c.CredHelpers[key]
		cred, found, err := helperGet(ctx, r, helper, key)
		if err != nil {
			return "", Credential{}, c.helperErr(err, "credHelpers", key)
		}
		if !found {
			return "", Credential{}, fmt.Errorf("credential helper %s%s (credHelpers in %s) has no credentials for %s; run docker login %s",
				HelperProgramPrefix, helper, c.Path, key, key)
		}
		return key, c.withEmail(key, cred), nil
	}
	if c.CredsStore != "" {
		for _, candidate := range uniq(server, RegistryKey(server)) {
			cred, found, err := helperGet(ctx, r, c.CredsStore, candidate)
			if err != nil {
				return "", Credential{}, c.helperErr(err, "credsStore", candidate)
			}
			if found {
				return candidate, c.withEmail(candidate, cred), nil
			}
		}
	}
	if key, ok := matchKey(c.Auths, server); ok && !c.Auths[key].Empty() {
		return key, c.Auths[key], nil
	}
	where := c.Path
	if c.CredsStore != "" {
		where += " or its credsStore " + HelperProgramPrefix + c.CredsStore
	}
	return "", Credential{}, fmt.Errorf("no credentials for registry %s in %s (it has: %s); run docker login %s or pick another --docker-server",
		server, where, c.registryNames(), server)
}

// All gathers every login a docker CLI config holds, as `docker` would list
// them: plain auths entries, then the credsStore helper's logins over them,
// then each credHelpers registry over those. Entries with no credentials
// are left out; an empty result is an error.
func (c *CLIConfig) All(ctx context.Context, r HelperRunner) (map[string]Credential, error) {
	out := map[string]Credential{}
	for k, v := range c.Auths {
		if !v.Empty() {
			out[k] = v
		}
	}
	if c.CredsStore != "" {
		servers, err := helperList(ctx, r, c.CredsStore)
		if err != nil {
			return nil, c.helperErr(err, "credsStore", "")
		}
		for _, s := range servers {
			cred, found, err := helperGet(ctx, r, c.CredsStore, s)
			if err != nil {
				return nil, c.helperErr(err, "credsStore", s)
			}
			if found {
				out[s] = c.withEmail(s, cred)
			}
		}
	}
	for _, reg := range sortedKeys(c.CredHelpers) {
		cred, found, err := helperGet(ctx, r, c.CredHelpers[reg], reg)
		if err != nil {
			return nil, c.helperErr(err, "credHelpers", reg)
		}
		if found {
			out[reg] = c.withEmail(reg, cred)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no registry credentials in %s; run docker login first", c.Path)
	}
	return out, nil
}

// withEmail keeps the email docker keeps in the file next to a helper login.
func (c *CLIConfig) withEmail(key string, cred Credential) Credential {
	if k, ok := matchKey(c.Auths, key); ok && cred.Email == "" {
		cred.Email = c.Auths[k].Email
	}
	return cred
}

func (c *CLIConfig) helperErr(err error, field, server string) error {
	if errors.Is(err, ErrHelperNotFound) {
		return fmt.Errorf("%w (named by %s in %s); install it or change the docker config", err, field, c.Path)
	}
	if server != "" {
		return fmt.Errorf("credentials for %s: %w", server, err)
	}
	return err
}

func uniq(ss ...string) []string {
	out := ss[:0:0]
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

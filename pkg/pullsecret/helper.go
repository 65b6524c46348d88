package pullsecret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// HelperProgramPrefix prefixes a credential helper's name to give its program.
const HelperProgramPrefix = "docker-credential-"

// tokenUsername is what helpers return as username for an identity token.
const tokenUsername = "<token>"

// HelperRunner runs a docker credential helper program: `program action`
// with input on stdin, returning its stdout.
type HelperRunner interface {
	Run(ctx context.Context, program, action string, input []byte) ([]byte, error)
}

// ErrHelperNotFound is returned (wrapped) when a helper program is missing.
var ErrHelperNotFound = errors.New("credential helper program not found")

// ExecHelperRunner runs helper programs found in PATH, as docker does.
type ExecHelperRunner struct{}

// Run implements HelperRunner.
func (ExecHelperRunner) Run(ctx context.Context, program, action string, input []byte) ([]byte, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not in PATH", ErrHelperNotFound, program)
	}
	cmd := exec.CommandContext(ctx, path, action)
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &HelperError{Program: program, Action: action, Message: firstLine(stdout.String(), stderr.String()), Err: err}
	}
	return stdout.Bytes(), nil
}

// HelperError is a helper program that ran and failed. Message is the first
// line the helper printed (helpers print "credentials not found in native
// keychain" and the like; they do not print secrets on failure).
type HelperError struct {
	Program, Action, Message string
	Err                      error
}

func (e *HelperError) Error() string {
	msg := fmt.Sprintf("%s %s failed: %v", e.Program, e.Action, e.Err)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *HelperError) Unwrap() error { return e.Err }

// notFound reports the helper's "no credentials for that server" answer.
func (e *HelperError) notFound() bool {
	return strings.Contains(strings.ToLower(e.Message), "credentials not found")
}

func firstLine(outs ...string) string {
	for _, s := range outs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		line, _, _ := strings.Cut(s, "\n")
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		return strings.TrimSpace(line)
	}
	return ""
}

// helperCreds is the JSON a helper prints for `get`.
type helperCreds struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// helperGet asks helper for server's credentials. found is false when the
// helper has none for that server.
func helperGet(ctx context.Context, r HelperRunner, helper, server string) (c Credential, found bool, err error) {
	program := HelperProgramPrefix + helper
	out, err := r.Run(ctx, program, "get", []byte(server))
	if err != nil {
		var he *HelperError
		if errors.As(err, &he) && he.notFound() {
			return Credential{}, false, nil
		}
		return Credential{}, false, err
	}
	var hc helperCreds
	if err := json.Unmarshal(out, &hc); err != nil {
		return Credential{}, false, fmt.Errorf("%s get printed something that is not its credentials JSON (%s)", program, jsonProblem(err))
	}
	if hc.Username == tokenUsername {
		return Credential{IdentityToken: hc.Secret}, true, nil
	}
	if hc.Username == "" && hc.Secret == "" {
		return Credential{}, false, nil
	}
	return Credential{Username: hc.Username, Password: hc.Secret}, true, nil
}

// helperList asks helper for the servers it holds credentials for.
func helperList(ctx context.Context, r HelperRunner, helper string) ([]string, error) {
	program := HelperProgramPrefix + helper
	out, err := r.Run(ctx, program, "list", nil)
	if err != nil {
		return nil, err
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%s list printed something that is not a JSON object (%s)", program, jsonProblem(err))
	}
	servers := make([]string, 0, len(m))
	for s := range m {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	return servers, nil
}

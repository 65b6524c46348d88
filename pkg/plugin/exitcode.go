package plugin

import (
	"errors"
	"fmt"
)

// Exit codes of the plugin itself. A task that ran to completion exits with
// its base container's exit code instead (0-255, as `kubectl run` does); the
// codes below are chosen above the range shells and runtimes commonly use for
// a program's own failures, and are documented in README.md.
const (
	ExitOK          = 0
	ExitTaskFailed  = 1   // the pod failed without a container exit code (evicted, deadline)
	ExitUsage       = 64  // bad flags or task input; nothing was sent to the cluster
	ExitAPI         = 69  // the cluster refused or could not be reached
	ExitStartup     = 75  // the pod never started: image pull, config error, schedule/startup timeout
	ExitXCom        = 76  // the task ran but its XCom result could not be read or is not JSON
	ExitInterrupted = 130 // interrupted by SIGINT/SIGTERM
)

// ExitError carries an exit code with an optional error. A nil Err means
// "exit with Code and print nothing" (the task's own exit code).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// withCode wraps err with an exit code; a nil err stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	return &ExitError{Code: code, Err: err}
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitUsage
}

// ErrorLine is the one line printed on stderr for err, or "" when there is
// nothing to say (success, or a task that failed with its own exit code).
func ErrorLine(err error) string {
	if err == nil {
		return ""
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return ""
	}
	return "error: " + err.Error()
}

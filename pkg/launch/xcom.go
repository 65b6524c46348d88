// The XCom result: read from the sidecar by exec or from the termination
// message, checked to be JSON; the sidecar stopped through its FIFO.

package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// The sidecar's contract (the render package builds the sidecar with the
// matching command): the result is read with XComReadCommand, whose first
// line says whether a non-empty result file exists, and the sidecar is
// stopped by writing to its FIFO with XComStopCommand.
var (
	XComReadCommand = render.XComReadCommand
	XComStopCommand = render.XComSidecarStopCommand
)

// ReadXCom reads the result of a task pod in the given mode. present is
// false when the task wrote no result (missing or empty file).
func (e *Engine) ReadXCom(ctx context.Context, pod *corev1.Pod, mode XComMode, base string) (value json.RawMessage, present bool, err error) {
	switch mode {
	case XComTerminationMessage:
		if term := terminated(pod, base); term != nil {
			return parseXCom([]byte(term.Message))
		}
		return nil, false, &XComError{Msg: fmt.Sprintf("container %q has not finished: its termination message is not there yet", base)}
	case XComSidecar:
		var out []byte
		err := e.retryIdempotent(ctx, func(ctx context.Context) error {
			var stdout, stderr bytes.Buffer
			cctx, cancel := e.callCtx(ctx)
			defer cancel()
			if err := e.Exec.Exec(cctx, pod.Namespace, pod.Name, XComSidecarName, XComReadCommand, &stdout, &stderr); err != nil {
				if s := strings.TrimSpace(stderr.String()); s != "" {
					return fmt.Errorf("%w: %s", err, s)
				}
				return err
			}
			out = stdout.Bytes()
			return nil
		})
		if err != nil {
			return nil, false, &XComError{Msg: "could not read /airflow/xcom/return.json from the sidecar: " + describeAPIError(err)}
		}
		head, rest, _ := bytes.Cut(out, []byte{'\n'})
		switch string(head) {
		case "absent":
			return nil, false, nil
		case "present":
			return parseXCom(rest)
		default:
			return nil, false, &XComError{Msg: "unexpected answer from the sidecar: " + quoteStart(out)}
		}
	}
	return nil, false, nil
}

// StopSidecar lets the XCom sidecar exit so that the pod can finish.
func (e *Engine) StopSidecar(ctx context.Context, pod *corev1.Pod) error {
	var stderr bytes.Buffer
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	return e.Exec.Exec(cctx, pod.Namespace, pod.Name, XComSidecarName, XComStopCommand, &bytes.Buffer{}, &stderr)
}

// parseXCom validates a result; an empty (or blank) one means no result.
func parseXCom(b []byte) (json.RawMessage, bool, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, false, nil
	}
	if !json.Valid(trimmed) {
		return nil, false, &XComError{Msg: "/airflow/xcom/return.json is not valid JSON; it starts with " + quoteStart(trimmed)}
	}
	return json.RawMessage(trimmed), true, nil
}

func quoteStart(b []byte) string {
	const max = 60
	s := string(b)
	if len(s) > max {
		s = s[:max]
		for !utf8.ValidString(s) && len(s) > 0 {
			s = s[:len(s)-1]
		}
		return fmt.Sprintf("%q...", s)
	}
	return fmt.Sprintf("%q", s)
}

// readXCom reads the task's result and reports it.
func (t *tracker) readXCom(ctx context.Context, pod *corev1.Pod) error {
	if t.opts.XCom == XComNone {
		return nil
	}
	if t.opts.XCom == XComSidecar {
		cs := FindContainerStatus(pod, XComSidecarName, false)
		if cs != nil && cs.State.Terminated != nil {
			// A kept pod attached after its sidecar was stopped: the result was
			// handed out then, and is gone with the volume.
			t.emit(&Notice{At: t.at(), Level: "info", Message: "the XCom sidecar has already stopped: the result is no longer available"})
			return nil
		}
		if cs == nil || cs.State.Running == nil {
			return &XComError{Msg: "the XCom sidecar is not running, so the result cannot be read"}
		}
	}
	value, present, err := t.e.ReadXCom(ctx, pod, t.opts.XCom, t.opts.BaseContainer)
	if err != nil {
		return err
	}
	t.result.HasXCom = present
	t.result.XCom = value
	t.emit(&XComResult{At: t.at(), Present: present, Value: value})
	return nil
}

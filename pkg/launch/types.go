// The engine's public vocabulary: on-finish actions, XCom modes, outcomes,
// the Result, and the StopRequest a caller cancels with.

package launch

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// OnFinishAction is KubernetesPodOperator's on_finish_action.
type OnFinishAction string

const (
	DeletePod          OnFinishAction = render.OnFinishDeletePod          // always delete
	KeepPod            OnFinishAction = render.OnFinishKeepPod            // never delete
	DeleteSucceededPod OnFinishAction = render.OnFinishDeleteSucceededPod // delete only when the task succeeded
	DeleteActivePod    OnFinishAction = render.OnFinishDeleteActivePod    // delete only a pod still running when we stop (interrupt, timeout)
)

// OnFinishActions lists the valid actions, for flags and completion.
var OnFinishActions = []OnFinishAction{DeletePod, KeepPod, DeleteSucceededPod, DeleteActivePod}

// OnFinishActionHelp says what each action does, for help and completion.
var OnFinishActionHelp = map[OnFinishAction]string{
	DeletePod:          "always delete the pod (default)",
	KeepPod:            "keep the pod",
	DeleteSucceededPod: "delete the pod only when it succeeded",
	DeleteActivePod:    "delete the pod only while it still runs",
}

// ValidOnFinishAction says whether s names an action.
func ValidOnFinishAction(s string) bool {
	for _, a := range OnFinishActions {
		if string(a) == s {
			return true
		}
	}
	return false
}

// OnFinishActionList is the actions for a message: "delete_pod, keep_pod, ...".
func OnFinishActionList() string {
	out := make([]string, len(OnFinishActions))
	for i, a := range OnFinishActions {
		out[i] = string(a)
	}
	return strings.Join(out, ", ")
}

// XComMode is how the task's result is handed back.
type XComMode string

const (
	XComNone               XComMode = render.XComNone               // no result
	XComSidecar            XComMode = render.XComSidecar            // KPO's sidecar + exec read
	XComTerminationMessage XComMode = render.XComTerminationMessage // terminationMessagePath, no sidecar
)

// XComModes lists the modes, with what each does, for help and completion.
var XComModes = []XComMode{XComSidecar, XComTerminationMessage}

// XComModeHelp says what each mode does.
var XComModeHelp = map[XComMode]string{
	XComSidecar:            "read /airflow/xcom/return.json through a sidecar (KPO's way)",
	XComTerminationMessage: "the container's termination message, at most 4096 bytes",
}

// Outcome classifies how a task ended.
type Outcome string

const (
	OutcomeSucceeded   Outcome = "Succeeded"   // base container exited 0
	OutcomeFailed      Outcome = "Failed"      // base container exited non-zero, or the pod failed
	OutcomeStartFailed Outcome = "StartFailed" // never started: image, config, schedule/startup timeout
	OutcomeInterrupted Outcome = "Interrupted" // the user interrupted (context cancelled)
	OutcomeError       Outcome = "Error"       // the plugin could not follow the task (API errors)
	OutcomeDeleted     Outcome = "Deleted"     // someone else deleted the pod before the task ended
)

// Result is what a task came to. It is returned by Run and Attach and is
// also carried by the Finished event.
type Result struct {
	Pod       string          `json:"pod"`
	Namespace string          `json:"namespace"`
	Task      string          `json:"task,omitempty"`
	RunID     string          `json:"runId,omitempty"`
	Try       int             `json:"try,omitempty"` // the try number (1 for the first) when run with RunTries
	Node      string          `json:"node,omitempty"`
	Phase     string          `json:"phase,omitempty"` // the task's pod phase: once the base container ended, Succeeded or Failed by its exit code (a sidecar may keep the pod itself Running a moment longer)
	Outcome   Outcome         `json:"outcome"`
	Reason    string          `json:"reason,omitempty"`  // e.g. ErrImagePull, OOMKilled, DeadlineExceeded
	Message   string          `json:"message,omitempty"` // a sentence for a person
	ExitCode  *int32          `json:"exitCode,omitempty"`
	XCom      json.RawMessage `json:"xcom,omitempty"`
	HasXCom   bool            `json:"hasXcom"`
	Deleted   bool            `json:"podDeleted"`
	Created   time.Time       `json:"created"`
	Started   time.Time       `json:"started,omitzero"`
	Completed time.Time       `json:"completed,omitzero"`

	// Files in and out (transfer.go).
	Files     *TransferResult  `json:"files,omitempty"`     // what --file sent
	Artifacts []TransferResult `json:"artifacts,omitempty"` // what --artifact fetched
}

// StopRequest is a cancellation cause that overrides the on-finish action:
// a caller that wants "delete the pod now" or "keep it and detach" cancels
// the engine's context with context.WithCancelCause and a *StopRequest.
// A plain cancellation (Ctrl-C) applies the task's own on-finish action.
type StopRequest struct {
	Action OnFinishAction
}

func (s *StopRequest) Error() string { return "stopped by request: " + string(s.Action) }

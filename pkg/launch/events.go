// Package launch is the pod lifecycle engine: it creates a task pod, follows
// it with watches, streams its logs, reads its XCom result, applies the
// cleanup policy, and can pick a task up again later. It never prints: all it
// has to say is sent as typed events to a Sink.
package launch

import (
	"encoding/json"
	"time"
)

// Event is one thing the engine reports. The concrete types below are the
// complete set; consumers switch on them.
type Event interface {
	// When is when the engine saw it.
	When() time.Time
}

// Sink receives events. It is called from the engine's goroutines, possibly
// concurrently (logs and pod updates arrive on different goroutines), so a
// Sink must be safe for concurrent use and should not block for long.
type Sink func(Event)

// At is embedded in every event.
type At struct{ Time time.Time }

// When implements Event.
func (a At) When() time.Time { return a.Time }

// Stage is the engine's own view of where the task is.
type Stage string

const (
	StageCreating   Stage = "Creating"   // sending the pod to the API server
	StageScheduling Stage = "Scheduling" // pod exists, no node yet
	StageStarting   Stage = "Starting"   // on a node, base container not running yet
	StageRunning    Stage = "Running"    // base container running; logs streaming
	StageCompleting Stage = "Completing" // base container done; reading XCom, stopping sidecar
	StageCleaning   Stage = "Cleaning"   // applying the on-finish action
	StageDone       Stage = "Done"
)

// StageChanged says the engine moved to a new stage.
type StageChanged struct {
	At
	Stage Stage
}

// PodCreated says the pod now exists (or, on attach, was found).
type PodCreated struct {
	At
	Pod       string
	Namespace string
	Task      string
	RunID     string
	Attached  bool // found again rather than created
}

// ContainerStatus is one container's state, flattened for display.
type ContainerStatus struct {
	Name     string
	Init     bool
	State    string // "waiting", "running", "terminated" or "" (unknown yet)
	Reason   string // waiting or terminated reason
	Message  string
	ExitCode *int32 // set once terminated
	Restarts int32
	Ready    bool
	Started  time.Time
	Finished time.Time
}

// PodStatus is the pod's phase and container states after a watch update.
type PodStatus struct {
	At
	Phase          string // Pending, Running, Succeeded, Failed, Unknown
	Node           string
	PodIP          string
	Reason         string
	Message        string
	InitContainers []ContainerStatus
	Containers     []ContainerStatus
}

// KubeEvent is a Kubernetes Event about the pod.
type KubeEvent struct {
	At
	Type    string // Normal or Warning
	Reason  string
	Message string
	Source  string // reporting component
	Count   int32
	First   time.Time
	Last    time.Time
}

// LogLine is one line of a container's log, without its newline. Timestamp is
// the kubelet's timestamp of the line; for a container whose log is read
// after it ended, without Options.LogTimestamps, it is the time it was read.
type LogLine struct {
	At
	Container string
	Timestamp time.Time
	Line      string
}

// Notice is something worth telling a person that is not an error: a retry,
// a resumed stream, a slow image pull.
type Notice struct {
	At
	Level   string // "info" or "warning"
	Message string
}

// XComResult is the task's XCom result. Present is false when the task wrote
// no result (missing or empty file); Value is valid JSON otherwise.
type XComResult struct {
	At
	Present bool
	Value   json.RawMessage
}

// Cleanup says what the on-finish action did to the pod.
type Cleanup struct {
	At
	Action  OnFinishAction
	Deleted bool
	Reason  string // why it was kept or deleted, for a person
}

// Finished is always the last event. Result is the same value the engine
// returns.
type Finished struct {
	At
	Result *Result
}

// Container waiting reasons: what each means for a task. The one table the
// engine (a start that fails, a try that is not retried), the plain printer
// and the TUI read.

package launch

// Waiting is what a container's waiting reason means for a task.
type Waiting int

const (
	// WaitingOther is a reason the table does not know: shown as it is.
	WaitingOther Waiting = iota
	// WaitingStarting is the way to running (the image is there, the
	// container is being made): not worth a line of its own.
	WaitingStarting
	// WaitingPull is an image that cannot be pulled yet: it may pass (a
	// registry hiccup, an image pushed a moment later), so it fails the start
	// after the pull grace period.
	WaitingPull
	// WaitingFatal will not pass without a change to the pod: it fails the
	// start at once.
	WaitingFatal
	// WaitingCrashLoop is a container restarted after it crashed. A task's
	// pod never restarts its containers, so it fails no start; a display
	// marks it as bad.
	WaitingCrashLoop
)

// waitingReasons are the kubelet's waiting reasons, by meaning.
var waitingReasons = map[string]Waiting{
	"ContainerCreating": WaitingStarting,
	"PodInitializing":   WaitingStarting,

	"ErrImagePull":        WaitingPull,
	"ImagePullBackOff":    WaitingPull,
	"RegistryUnavailable": WaitingPull,
	"ImageInspectError":   WaitingPull,

	"InvalidImageName":           WaitingFatal,
	"ErrImageNeverPull":          WaitingFatal,
	"SignatureValidationFailed":  WaitingFatal,
	"CreateContainerConfigError": WaitingFatal,
	"CreateContainerError":       WaitingFatal,
	"RunContainerError":          WaitingFatal,
	"RunInitContainerError":      WaitingFatal,
	"VerifyNonRootError":         WaitingFatal,
	"PreCreateHookError":         WaitingFatal,
	"PreStartHookError":          WaitingFatal,
	"PostStartHookError":         WaitingFatal,

	"CrashLoopBackOff": WaitingCrashLoop,
}

// ReasonFailedMount is the event reason of a volume that cannot be mounted;
// a missing secret or config map fails the start after the pull grace period.
const ReasonFailedMount = "FailedMount"

// WaitingReason is what a container waiting for reason means for a task.
func WaitingReason(reason string) Waiting { return waitingReasons[reason] }

// FailsStart says whether a container waiting so fails the task's start, at
// once or after the pull grace period.
func (w Waiting) FailsStart() bool { return w == WaitingFatal || w == WaitingPull }

// Bad says whether a display marks a container waiting so as failing.
func (w Waiting) Bad() bool { return w == WaitingFatal || w == WaitingPull || w == WaitingCrashLoop }

// retryHelps says whether a new pod of the same spec may get past a start
// that failed for reason: not a waiting reason that fails a start (a bad
// image or configuration meets the new pod too), nor a missing volume source.
func retryHelps(reason string) bool {
	return !WaitingReason(reason).FailsStart() && reason != ReasonFailedMount
}

// The engine and its seams, and its two entry points: Run (create a pod and
// follow it) and Attach (find one and follow it); the errors they return.

package launch

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/utils/clock"
)

// Engine runs and follows task pods. Its fields are the seams tests swap.
type Engine struct {
	// Client is the typed core/v1 client the engine talks to.
	Client corev1client.CoreV1Interface
	// Batch is the batch/v1 client of run --as-job's Jobs (job.go).
	Batch batchv1client.BatchV1Interface
	// Logs is the client log streams are read with; Client when nil.
	Logs corev1client.CoreV1Interface
	// Exec runs a command in a container (XCom read, sidecar stop).
	Exec Executor
	// Clock gives the time, the timers and the tickers; the real clock when
	// nil. Tests pass a fake one (k8s.io/utils/clock/testing) so as not to sleep.
	Clock clock.WithTicker
	// CallTimeout bounds every single (non-streaming) API call; 30 s when zero.
	CallTimeout time.Duration
	// CleanupTimeout bounds the cleanup that runs after an interrupt; 30 s when zero.
	CleanupTimeout time.Duration
}

// Options says how to follow one task.
type Options struct {
	// BaseContainer is the container whose exit code and logs are the task's.
	BaseContainer string
	// XCom is how the result is read; XComNone for no result.
	XCom XComMode
	// OnFinish is the cleanup policy.
	OnFinish OnFinishAction
	// ScheduleTimeout bounds the time from creation to a node being assigned.
	ScheduleTimeout time.Duration
	// StartupTimeout bounds the time from scheduling to the base container running.
	StartupTimeout time.Duration
	// ImagePullGrace is how long ErrImagePull/ImagePullBackOff (and a volume
	// whose secret or config map is missing) may last before the start fails.
	ImagePullGrace time.Duration
	// LogContainers are the containers whose logs are streamed besides the
	// base container; "*" means all of them (the XCom sidecar excepted).
	LogContainers []string
	// InitLogs streams init containers' logs too.
	InitLogs bool
	// NoLogs turns log streaming off.
	NoLogs bool
	// LogTimestamps asks for the kubelet's timestamp of every log line
	// (LogLine.Timestamp) even when a container's log is read after it
	// ended, which is otherwise read without them, as cheaper.
	LogTimestamps bool
	// SinceTime and TailLines select where logs start (attach).
	SinceTime *metav1.Time
	TailLines *int64
	// Sink receives the events; may be nil.
	Sink Sink
	// Transfers are the files sent in and the artifacts brought back; may be nil.
	Transfers *Transfers

	// podSet, in a mapped run, is the run's shared watches.
	podSet *podSet
	// onEnd, when set, is told of the try's end before the pod's cleanup
	// (a mapped run records it, so that the pod may go); onTryEnd is what
	// RunTries makes it from, with whether another try follows.
	onEnd    func(res *Result, err error)
	onTryEnd func(res *Result, err error, final bool)
}

func (e *Engine) logClient() corev1client.CoreV1Interface {
	if e.Logs != nil {
		return e.Logs
	}
	return e.Client
}

func (e *Engine) timers() clock.WithTicker {
	if e.Clock != nil {
		return e.Clock
	}
	return clock.RealClock{}
}

func (e *Engine) now() time.Time { return e.timers().Now() }

func (e *Engine) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := e.CallTimeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// Run creates pod and follows it to the end: start, logs, completion, XCom,
// cleanup. It always returns a Result; the error is non-nil when the task did
// not run to completion (start failure, interrupt, API failure) or its XCom
// result could not be read. A task that ran and exited non-zero is not an
// error: see Result.Outcome and Result.ExitCode.
func (e *Engine) Run(ctx context.Context, pod *corev1.Pod, opts Options) (*Result, error) {
	t := e.newTracker(pod, opts)
	t.stage(StageCreating)
	created, err := e.create(ctx, pod)
	if err != nil {
		if ctx.Err() != nil {
			// The create may have reached the server: make sure nothing is left.
			t.pod = pod
			return t.interrupted(ctx)
		}
		t.result.Outcome = OutcomeError
		t.result.Message = err.Error()
		t.finish()
		return t.result, &APIError{Op: "create pod", Err: err}
	}
	t.pod = created
	t.result.Created = created.CreationTimestamp.Time
	t.emit(&PodCreated{At: t.at(), Pod: created.Name, Namespace: created.Namespace,
		Task: t.result.Task, RunID: t.result.RunID})
	return t.follow(ctx)
}

// getPod reads the pod to attach to, retrying transient failures; on failure
// it also returns the Result that says so.
func (e *Engine) getPod(ctx context.Context, namespace, name string) (*corev1.Pod, *Result, error) {
	var pod *corev1.Pod
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		var err error
		pod, err = e.Client.Pods(namespace).Get(cctx, name, metav1.GetOptions{})
		return err
	})
	if err != nil {
		return nil, &Result{Pod: name, Namespace: namespace, Outcome: OutcomeError, Message: err.Error()},
			&APIError{Op: "get pod", Err: err}
	}
	return pod, nil, nil
}

// Attach finds the pod namespace/name and follows it to the end exactly as Run
// would have. Options not set by the caller are taken from the pod's
// annotations (base container, XCom mode, on-finish action).
func (e *Engine) Attach(ctx context.Context, namespace, name string, opts Options) (*Result, error) {
	pod, res, err := e.getPod(ctx, namespace, name)
	if err != nil {
		return res, err
	}
	opts = OptionsFromPod(pod, opts)
	t := e.newTracker(pod, opts)
	t.pod = pod
	t.result.Created = pod.CreationTimestamp.Time
	t.emit(&PodCreated{At: t.at(), Pod: pod.Name, Namespace: pod.Namespace,
		Task: t.result.Task, RunID: t.result.RunID, Attached: true})
	return t.follow(ctx)
}

// create sends the pod, retrying transient failures. A create whose answer
// was lost and that is retried finds its own pod (same name and run id) and
// takes it.
func (e *Engine) create(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	var out *corev1.Pod
	err := e.retryTransient(ctx, func(ctx context.Context) error {
		cctx, cancel := e.callCtx(ctx)
		defer cancel()
		p, err := e.Client.Pods(pod.Namespace).Create(cctx, pod, metav1.CreateOptions{FieldManager: "kubectl-podtask"})
		if apierrors.IsAlreadyExists(err) {
			existing, gerr := e.Client.Pods(pod.Namespace).Get(cctx, pod.Name, metav1.GetOptions{})
			if gerr == nil && sameRun(existing, pod) {
				out = existing
				return nil
			}
		}
		if err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}

func sameRun(a, b *corev1.Pod) bool {
	ra, rb := a.Labels[LabelRunID], b.Labels[LabelRunID]
	return ra != "" && ra == rb
}

// APIError is a failure to talk to the API server.
type APIError struct {
	Op  string
	Err error
}

func (e *APIError) Error() string { return e.Op + ": " + describeAPIError(e.Err) }
func (e *APIError) Unwrap() error { return e.Err }

// StartError says the pod never got its base container running.
type StartError struct {
	Reason  string // ErrImagePull, CreateContainerConfigError, ScheduleTimeout, ...
	Message string
	Events  []string // the last warning events, newest last
}

func (e *StartError) Error() string {
	s := fmt.Sprintf("the task did not start: %s: %s", e.Reason, e.Message)
	return s
}

// DeletedError says someone else deleted the pod before the task ended.
type DeletedError struct {
	Pod     string
	By      string // who, when the pod says so; else "another client"
	Message string
	// Disrupted says the control plane deleted it (eviction, preemption,
	// a node drain): the pod carried a DisruptionTarget condition.
	Disrupted bool
}

func (e *DeletedError) Error() string { return e.Message }

// XComError says the result could not be read or is not valid JSON.
type XComError struct{ Msg string }

func (e *XComError) Error() string { return "xcom: " + e.Msg }

// ErrInterrupted is returned when the context was cancelled before the task ended.
var ErrInterrupted = errors.New("interrupted")

// describeAPIError turns common API errors into one line that says what to do.
func describeAPIError(err error) string {
	if apierrors.IsForbidden(err) {
		var se apierrors.APIStatus
		msg := err.Error()
		if errors.As(err, &se) {
			msg = se.Status().Message
		}
		return "forbidden: " + msg + " (ask for this RBAC permission; README 'Permissions' lists what podtask needs)"
	}
	if utilnet.IsConnectionRefused(err) {
		return err.Error() + " (is the cluster up, and are --kubeconfig/--context/KUBECONFIG the ones you mean?)"
	}
	return err.Error()
}

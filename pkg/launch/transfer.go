package launch

// Transfers: what moving files in and out of a task shares — the options
// and results, the progress event, exec with stdin, and the error type.

import (
	"context"
	"io"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
)

// Transfers say which files go into a task and which folders come back.
type Transfers struct {
	// Upload is what --file sends into the pod before the base container
	// starts; nil for nothing.
	Upload *UploadPlan
	// Artifacts are the folders copied back after the base container ended.
	Artifacts []Artifact
	// Overwrite allows replacing existing local files.
	Overwrite bool
}

// Artifact is one folder to bring back.
type Artifact struct {
	Path    string // in the base container, as the user named it
	Sidecar string // the same folder in the artifacts sidecar
	Local   string // the local folder; empty for artifacts/<pod>/<basename of Path>
}

// TransferResult says what one transfer moved.
type TransferResult struct {
	Path    string  `json:"path,omitempty"`  // the folder in the pod (artifacts)
	Local   string  `json:"local,omitempty"` // the local folder (artifacts)
	Files   int     `json:"files"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// Direction of a transfer.
type Direction string

const (
	Upload   Direction = "upload"
	Download Direction = "download"
)

// Transfer is the progress of one upload or download: sent when it starts,
// at most ten times a second while it runs, and once more when it is done.
type Transfer struct {
	At
	Direction Direction
	Name      string // what moves: "files", or the folder in the pod
	Bytes     int64  // content bytes so far
	Total     int64  // content bytes in all; negative when unknown
	Started   time.Time
	Done      bool
	Err       error // set with Done when it failed
}

// TransferError says files could not be moved in or out.
type TransferError struct {
	Op  string // "upload" or "artifact /out"
	Err error
}

func (e *TransferError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *TransferError) Unwrap() error { return e.Err }

// Streamer runs a command in a container with stdin; RemoteExecutor is one.
type Streamer interface {
	Stream(ctx context.Context, namespace, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// Stream implements Streamer: Exec with the command's stdin fed from stdin.
func (r *RemoteExecutor) Stream(ctx context.Context, namespace, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := r.Client.Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container, Command: cmd, Stdin: stdin != nil, Stdout: stdout != nil, Stderr: stderr != nil,
		}, scheme.ParameterCodec)
	exec, err := fallbackExecutor(r.Config, req.URL())
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// streamer is the engine's executor with stdin.
func (e *Engine) streamer() (Streamer, bool) {
	s, ok := e.Exec.(Streamer)
	return s, ok
}

// meter reports a transfer's progress at most every tick.
type meter struct {
	mu      sync.Mutex
	ev      Transfer
	last    time.Time
	tick    time.Duration
	report  func(*Transfer)
	stopped bool
}

func newMeter(dir Direction, name string, total int64, report func(*Transfer)) *meter {
	now := time.Now()
	m := &meter{ev: Transfer{Direction: dir, Name: name, Total: total, Started: now}, tick: 100 * time.Millisecond, report: report}
	m.send(now)
	return m
}

func (m *meter) send(now time.Time) {
	if m.report == nil {
		return
	}
	ev := m.ev
	ev.At = At{Time: now}
	m.report(&ev)
	m.last = now
}

// set records the bytes moved so far.
func (m *meter) set(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ev.Bytes = n
	if now := time.Now(); !m.stopped && now.Sub(m.last) >= m.tick {
		m.send(now)
	}
}

func (m *meter) add(n int64) {
	m.mu.Lock()
	b := m.ev.Bytes + n
	m.mu.Unlock()
	m.set(b)
}

// done sends the last event.
func (m *meter) done(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	m.stopped = true
	m.ev.Done, m.ev.Err = true, err
	m.send(time.Now())
}

func (m *meter) result() TransferResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return TransferResult{Bytes: m.ev.Bytes, Seconds: time.Since(m.ev.Started).Seconds()}
}

// tailBuffer keeps the last bytes written to it: a command's stderr.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

package launch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogToken says where a log stream is: the timestamp of the last line seen
// and how many lines with exactly that timestamp were seen. A stream resumed
// from it (sinceTime has only second precision) skips what was already seen,
// so no line is lost or repeated.
type LogToken struct {
	Last time.Time
	Seen int
}

// stream starts reading a new stream that was resumed from the token: the
// lines it replays are skipped.
func (tok *LogToken) stream() *dedupe { return &dedupe{tok: tok, skip: tok.Seen} }

// dedupe filters one stream's lines against the token.
type dedupe struct {
	tok  *LogToken
	skip int // lines at tok.Last still to be skipped
}

// accept reports whether a line with timestamp ts is new, and advances the token.
func (d *dedupe) accept(ts time.Time) bool {
	switch {
	case ts.Before(d.tok.Last):
		return false
	case ts.Equal(d.tok.Last) && !d.tok.Last.IsZero():
		if d.skip > 0 {
			d.skip--
			return false
		}
		d.tok.Seen++
		return true
	default:
		d.tok.Last, d.tok.Seen, d.skip = ts, 1, 0
		return true
	}
}

// logFollower streams one container's log, reconnecting after a broken stream.
type logFollower struct {
	t         *tracker
	container string
	init      bool
	cancel    context.CancelFunc
	// terminated is signalled when the watch sees the container end.
	mu         sync.Mutex
	terminated bool
	wake       chan struct{}
	// reconnecting is set from a broken stream until the next one opens.
	reconnecting atomic.Bool
}

func (f *logFollower) stop() { f.cancel() }

func (f *logFollower) setTerminated() {
	f.mu.Lock()
	was := f.terminated
	f.terminated = true
	f.mu.Unlock()
	if !was {
		close(f.wake)
	}
}

func (f *logFollower) isTerminated() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.terminated
}

// wantLogs lists the containers whose logs are streamed.
func (t *tracker) wantLogs(pod *corev1.Pod) map[string]bool {
	want := map[string]bool{}
	if t.opts.NoLogs {
		return want
	}
	want[t.opts.BaseContainer] = true
	for _, c := range t.opts.LogContainers {
		if c == "*" {
			for _, pc := range pod.Spec.Containers {
				if pc.Name != XComSidecarName {
					want[pc.Name] = true
				}
			}
			continue
		}
		want[c] = true
	}
	if t.opts.InitLogs {
		for _, ic := range pod.Spec.InitContainers {
			want[ic.Name] = true
		}
	}
	return want
}

// startLogs starts a follower for every wanted container that has started,
// and tells followers whose container has ended.
func (t *tracker) startLogs(ctx context.Context, pod *corev1.Pod) {
	want := t.wantLogs(pod)
	visit := func(statuses []corev1.ContainerStatus, init bool) {
		for _, cs := range statuses {
			if !want[cs.Name] {
				continue
			}
			started := cs.State.Running != nil || cs.State.Terminated != nil
			f := t.logs[cs.Name]
			if f == nil && started {
				fctx, cancel := context.WithCancel(ctx)
				f = &logFollower{t: t, container: cs.Name, init: init, cancel: cancel, wake: make(chan struct{})}
				if cs.State.Terminated != nil {
					f.setTerminated()
				}
				t.logs[cs.Name] = f
				t.logsWG.Add(1)
				go func() {
					defer t.logsWG.Done()
					defer cancel()
					f.run(fctx)
				}()
			}
			if f != nil && cs.State.Terminated != nil {
				f.setTerminated()
			}
		}
	}
	visit(pod.Status.InitContainerStatuses, true)
	visit(pod.Status.ContainerStatuses, false)
}

// run streams until the container has ended and its stream has been read to
// the end, or ctx is done.
func (f *logFollower) run(ctx context.Context) {
	t := f.t
	var tok LogToken
	first := true
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		opts := &corev1.PodLogOptions{Container: f.container, Follow: true, Timestamps: true}
		if first {
			opts.SinceTime, opts.TailLines = t.opts.SinceTime, t.opts.TailLines
		} else if !tok.Last.IsZero() {
			since := metav1.NewTime(tok.Last)
			opts.SinceTime = &since
		}
		endedBefore := f.isTerminated()
		stream, err := t.e.Client.Pods(t.pod.Namespace).GetLogs(t.pod.Name, opts).Stream(ctx)
		if err == nil {
			f.reconnecting.Store(false)
			first = false
			err = f.read(stream, tok.stream())
			stream.Close()
			if err == nil || errors.Is(err, io.EOF) {
				backoff = 100 * time.Millisecond
				if endedBefore {
					return // the container had ended before this stream began: it was read to the end
				}
				// The stream ended cleanly. Usually the container has just ended and
				// the watch is about to say so; read once more from the token then.
				select {
				case <-ctx.Done():
					return
				case <-f.wake:
				case <-time.After(2 * time.Second):
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		f.reconnecting.Store(true)
		t.emit(&Notice{At: t.at(), Level: "info", Message: "log stream of " + f.container + " broke (" + err.Error() + "); resuming"})
		if !sleepCtx(ctx, backoff) {
			return
		}
		if backoff *= 2; backoff > 2*time.Second {
			backoff = 2 * time.Second
		}
	}
}

// read emits each new line of stream; it returns io.EOF on a clean end.
func (f *logFollower) read(stream io.Reader, tok *dedupe) error {
	br := bufio.NewReaderSize(stream, 64*1024)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		// A line cut by a broken stream is dropped: it is read again, whole,
		// when the stream resumes from the token.
		if len(line) > 0 && (err == nil || errors.Is(err, io.EOF)) {
			f.emitLine(line, tok)
		}
		if err != nil {
			return err
		}
	}
}

func (f *logFollower) emitLine(raw []byte, tok *dedupe) {
	raw = bytes.TrimSuffix(raw, []byte{'\n'})
	raw = bytes.TrimSuffix(raw, []byte{'\r'})
	ts, text := splitTimestamp(raw)
	if !ts.IsZero() && !tok.accept(ts) {
		return
	}
	if ts.IsZero() {
		ts = f.t.e.now()
	}
	f.t.noteLogActivity()
	f.t.emit(&LogLine{At: At{Time: f.t.e.now()}, Container: f.container, Timestamp: ts, Line: string(text)})
}

// splitTimestamp splits "2006-01-02T15:04:05.999999999Z text" into its parts.
func splitTimestamp(b []byte) (time.Time, []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 20 || i > 40 {
		return time.Time{}, b
	}
	ts, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, b
	}
	return ts, b[i+1:]
}

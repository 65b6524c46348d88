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
//
// Lines are read without a timestamp each, as `kubectl logs` reads them: a
// timestamp on every line costs the kubelet, the API server and the plugin
// work per line, and makes the stream about a sixth slower. What was read is
// kept as a position: the number of lines since the stream's origin, a hash of
// them and the last few lines. When a stream breaks, the log is read again
// from its origin, with timestamps; the lines already read are counted off
// (and their hash checked), and from there on a broken stream is resumed from
// the timestamp token, which replays at most one second of lines.
type logFollower struct {
	t         *tracker
	container string
	init      bool
	cancel    context.CancelFunc
	// open opens one stream of the container's log; a seam for tests.
	open func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error)
	// retry is the first pause before reopening a broken stream; it doubles
	// up to 20 times as much.
	retry time.Duration
	// terminated is signalled when the watch sees the container end.
	mu         sync.Mutex
	terminated bool
	wake       chan struct{}
	// reconnecting is set from a broken stream until the next one opens.
	reconnecting atomic.Bool

	pos logPosition
}

// logPosition is how far a follower has read.
type logPosition struct {
	// origin is where the first stream began (--since, --tail).
	origin corev1.PodLogOptions
	// stamped: streams carry timestamps, and resume from tok.
	stamped bool
	tok     LogToken
	// Without timestamps: the lines read since the origin, their hash, and
	// the last of them (a ring).
	lines int
	sum   uint64
	last  [tailRing]string
	// While a re-read from the origin counts off the lines read before:
	// how many are left, the hash they must have, and the hash so far.
	skip      int
	want, got uint64
}

// tailRing is how many of the last lines are kept to align the end of a
// finished container's log with what was read.
const tailRing = 64

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvLine adds one line (and its end) to an FNV-1a hash.
func fnvLine(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	h ^= '\n'
	h *= fnvPrime
	return h
}

// reread starts reading the log again from its origin, with timestamps,
// counting off the lines already read.
func (p *logPosition) reread() {
	p.stamped, p.tok = true, LogToken{}
	p.skip, p.want, p.got = p.lines, p.sum, fnvOffset
}

// options are the next stream's options.
func (p *logPosition) options(container string) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{Container: container, Follow: true, Timestamps: p.stamped}
	if p.tok.Last.IsZero() {
		opts.SinceTime, opts.TailLines = p.origin.SinceTime, p.origin.TailLines
	} else {
		since := metav1.NewTime(p.tok.Last)
		opts.SinceTime = &since
	}
	return opts
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
				f = t.newLogFollower(cs.Name, init, cancel)
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

func (t *tracker) newLogFollower(container string, init bool, cancel context.CancelFunc) *logFollower {
	f := &logFollower{t: t, container: container, init: init, cancel: cancel, wake: make(chan struct{}), retry: 100 * time.Millisecond}
	f.open = func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
		return t.e.logClient().Pods(t.pod.Namespace).GetLogs(t.pod.Name, opts).Stream(ctx)
	}
	f.pos.origin = corev1.PodLogOptions{SinceTime: t.opts.SinceTime, TailLines: t.opts.TailLines}
	// The last N lines are not the same lines when read again: such a
	// stream carries timestamps from the start.
	f.pos.stamped = t.opts.TailLines != nil || t.opts.LogTimestamps
	f.pos.sum = fnvOffset
	return f
}

// run streams until the container has ended and its stream has been read to
// the end, or ctx is done.
func (f *logFollower) run(ctx context.Context) {
	t := f.t
	p := &f.pos
	backoff := f.retry
	for ctx.Err() == nil {
		endedBefore := f.isTerminated()
		stream, err := f.open(ctx, p.options(f.container))
		if err == nil {
			f.reconnecting.Store(false)
			err = f.read(stream, p.tok.stream())
			stream.Close()
			if err == nil || errors.Is(err, io.EOF) {
				backoff = f.retry
				if endedBefore {
					return // the container had ended before this stream began: it was read to the end
				}
				// The stream ended cleanly. Usually the container has just ended and
				// the watch is about to say so.
				select {
				case <-ctx.Done():
					return
				case <-f.wake:
				case <-time.After(2 * time.Second):
				}
				switch {
				case p.stamped:
					// read once more from the token
				case f.isTerminated():
					if f.readTail(ctx) {
						return
					}
					// Read it all again, counting off what was printed; the
					// container has ended, so that stream is the last.
					p.reread()
				case p.lines > 0:
					p.reread() // the stream was cut while the container ran
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		if !p.stamped && p.lines > 0 {
			p.reread()
		}
		f.reconnecting.Store(true)
		t.emit(&Notice{At: t.at(), Level: "info", Message: "log stream of " + f.container + " broke (" + err.Error() + "); resuming"})
		if !sleepCtx(ctx, backoff) {
			return
		}
		if backoff *= 2; backoff > 20*f.retry {
			backoff = 20 * f.retry
		}
	}
}

// readTail reads the end of a finished container's log once more, for lines
// the runtime wrote after the kubelet ended the stream. The end is aligned
// with the last lines read: only what follows them is new. It reports false
// when it could not align them (nothing read yet, no overlap, or an error).
func (f *logFollower) readTail(ctx context.Context) bool {
	p := &f.pos
	if p.lines == 0 {
		return false
	}
	tail := int64(tailRing)
	opts := &corev1.PodLogOptions{Container: f.container, SinceTime: p.origin.SinceTime, TailLines: &tail}
	var lines []string
	stream, err := f.open(ctx, opts)
	if err != nil {
		return false
	}
	err = eachLine(stream, func(b []byte) { lines = append(lines, string(b)) })
	stream.Close()
	if !errors.Is(err, io.EOF) {
		return false
	}
	end, ok := p.overlap(lines)
	if !ok {
		return false
	}
	for _, l := range lines[end:] {
		f.emitText(time.Time{}, []byte(l))
	}
	return true
}

// overlap finds where the last lines read end in tail, the end of the log:
// the largest end such that the lines before it are the last lines read.
// What follows it is new.
func (p *logPosition) overlap(tail []string) (int, bool) {
	kept := min(p.lines, tailRing)
	for end := len(tail); end > 0; end-- {
		n := min(end, kept)
		match := true
		for i := 1; i <= n && match; i++ {
			match = tail[end-i] == p.last[(p.lines-i)%tailRing]
		}
		if match {
			return end, true
		}
	}
	return 0, false
}

// eachLine calls fn with each whole line of r (without its end of line); it
// returns io.EOF on a clean end. A line cut by a broken stream is dropped.
func eachLine(r io.Reader, fn func([]byte)) error {
	br := bufio.NewReaderSize(r, 64*1024)
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
		if len(line) > 0 && (err == nil || errors.Is(err, io.EOF)) {
			line = bytes.TrimSuffix(line, []byte{'\n'})
			fn(bytes.TrimSuffix(line, []byte{'\r'}))
		}
		if err != nil {
			return err
		}
	}
}

// read emits each new line of stream; it returns io.EOF on a clean end.
// A line cut by a broken stream is dropped: it is read again, whole, when the
// stream resumes.
func (f *logFollower) read(stream io.Reader, tok *dedupe) error {
	p := &f.pos
	return eachLine(stream, func(line []byte) {
		var ts time.Time
		text := line
		if p.stamped {
			if ts, text = splitTimestamp(line); !ts.IsZero() && !tok.accept(ts) {
				return
			}
		}
		if p.skip > 0 {
			p.got = fnvLine(p.got, text)
			if p.skip--; p.skip == 0 && p.got != p.want {
				f.t.emit(&Notice{At: f.t.at(), Level: "warning", Message: "the log of " + f.container +
					" changed while its stream was broken (the kubelet rotated it?): lines around here may be missing or repeated"})
			}
			return
		}
		f.emitText(ts, text)
	})
}

// emitText emits one line; ts is zero for a line read without a timestamp.
func (f *logFollower) emitText(ts time.Time, text []byte) {
	p := &f.pos
	now := f.t.e.now()
	if ts.IsZero() {
		ts = now
	}
	s := string(text)
	if !p.stamped {
		p.sum = fnvLine(p.sum, text)
		p.last[p.lines%tailRing] = s
		p.lines++
	}
	f.t.noteLogActivity()
	f.t.emit(&LogLine{At: At{Time: now}, Container: f.container, Timestamp: ts, Line: s})
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

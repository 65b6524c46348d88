// Log streaming: one stream per container, resumed after a break from a
// token (timestamp, lines seen at it) so that no line is lost or repeated,
// and the tail of an ended container read once more for late lines.

package launch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
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
	skip int  // lines at tok.Last still to be skipped
	past bool // a new line was read: the replay is over
}

// accept reports whether a line with timestamp ts is new, and advances the
// token. Once past the replay every line is new: stdout and stderr lines are
// stamped apart, so a line may carry an earlier timestamp than the one before.
func (d *dedupe) accept(ts time.Time) bool {
	if !d.past {
		switch {
		case ts.Before(d.tok.Last):
			return false
		case ts.Equal(d.tok.Last) && !d.tok.Last.IsZero() && d.skip > 0:
			d.skip--
			return false
		}
		d.past = true
	}
	switch {
	case ts.After(d.tok.Last):
		d.tok.Last, d.tok.Seen = ts, 1
	case ts.Equal(d.tok.Last):
		d.tok.Seen++
	}
	return true
}

// logFollower streams one container's log with one stream at a time,
// reconnecting after a broken stream.
//
// Every line carries the kubelet's timestamp, and the follower keeps a token
// of where it is (LogToken): a broken stream is resumed from it, and the lines
// it replays are skipped.
type logFollower struct {
	t         *tracker
	container string
	init      bool
	cancel    context.CancelFunc
	// open opens one stream of the container's log; a seam for tests.
	open func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error)
	// retry is the first pause before reopening a broken stream; it doubles
	// up to 20 times as much while streams break without a line, and starts
	// again from retry after one that delivered lines (reconnectBackoff).
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
	tok    LogToken
	// The log of a container that had ended is read once without
	// timestamps (it no longer changes, and a timestamp on every line costs
	// every reader): plain counts those lines, and if that stream breaks,
	// skip is how many lines the next one, from the origin, counts off.
	plain, skip int
}

// tailLook is how many lines of a finished container's log are read to find
// lines the runtime wrote after the kubelet ended the stream.
const tailLook = 64

// options are the next stream's options.
func (p *logPosition) options(container string) *corev1.PodLogOptions {
	opts := &corev1.PodLogOptions{Container: container, Follow: true, Timestamps: true}
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
	f := &logFollower{t: t, container: container, init: init, cancel: cancel, wake: make(chan struct{}),
		retry: 100 * time.Millisecond}
	// The pod's name is the result's, which never changes: the follow
	// loop replaces t.pod while the follower runs.
	ns, name := t.result.Namespace, t.result.Pod
	f.open = func(ctx context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
		return t.e.logClient().Pods(ns).GetLogs(name, opts).Stream(ctx)
	}
	f.pos.origin = corev1.PodLogOptions{SinceTime: t.opts.SinceTime, TailLines: t.opts.TailLines}
	return f
}

// run streams until the container has ended and its stream has been read to
// the end, or ctx is done.
func (f *logFollower) run(ctx context.Context) {
	t := f.t
	p := &f.pos
	backoff := f.reconnectBackoff()
	clk := t.e.timers()
	for ctx.Err() == nil {
		endedBefore, stamped := f.isTerminated(), true
		opts := p.options(f.container)
		// Without timestamps only while nothing has to be counted off.
		if endedBefore && p.tok.Last.IsZero() && p.skip == 0 && p.origin.TailLines == nil && !t.opts.LogTimestamps {
			opts.Timestamps, stamped = false, false
		}
		stream, err := f.open(ctx, opts)
		if err == nil {
			f.reconnecting.Store(false)
			tok := p.tok
			err = f.read(stream, stamped, p.tok.stream())
			stream.Close()
			if !p.tok.Last.Equal(tok.Last) || p.tok.Seen != tok.Seen || p.plain > 0 {
				backoff = f.reconnectBackoff() // the stream delivered lines
			}
			if err == nil || errors.Is(err, io.EOF) {
				if endedBefore {
					return // the container had ended before this stream began: it was read to the end
				}
				// The stream ended cleanly. Usually the container has just ended and
				// the watch is about to say so.
				wait := clk.NewTimer(2 * time.Second)
				select {
				case <-ctx.Done():
					wait.Stop()
					return
				case <-f.wake:
				case <-wait.C():
				}
				wait.Stop()
				if f.isTerminated() && f.readTail(ctx) {
					return
				}
				continue // read once more from the token
			}
		}
		if ctx.Err() != nil {
			return
		}
		p.skip, p.plain = p.skip+p.plain, 0
		f.reconnecting.Store(true)
		t.emit(&Notice{At: t.at(), Level: "info", Message: "log stream of " + f.container + " broke (" + err.Error() + "); resuming"})
		if !sleepCtx(ctx, clk, backoff.Step()) {
			return
		}
	}
}

// reconnectBackoff is the pause before each next try to reopen a broken
// stream: retry, doubling up to 20 times as much.
func (f *logFollower) reconnectBackoff() wait.Backoff {
	return wait.Backoff{Duration: f.retry, Factor: 2, Cap: 20 * f.retry, Steps: math.MaxInt32}
}

// readTail reads the end of a finished container's log once more, for lines
// the runtime wrote after the kubelet ended the stream; the token skips what
// was read. It reports false when the end does not reach back to the token
// (more new lines than it reads, nothing read yet, or an error): the log is
// then read once more from the token.
func (f *logFollower) readTail(ctx context.Context) bool {
	p := &f.pos
	if p.tok.Last.IsZero() {
		return false
	}
	tail := int64(tailLook)
	stream, err := f.open(ctx, &corev1.PodLogOptions{Container: f.container, Timestamps: true, TailLines: &tail})
	if err != nil {
		return false
	}
	var lines [][]byte
	err = eachLine(stream, func(b []byte, _ bool) error {
		lines = append(lines, bytes.Clone(b))
		return nil
	})
	stream.Close()
	if !errors.Is(err, io.EOF) || len(lines) == 0 {
		return false
	}
	// The first line must come before the token's: then every line after the
	// token's is in the tail. A tail shorter than asked for is the whole log,
	// so it may begin at the token's own line (a task of one line).
	ts, _ := splitTimestamp(lines[0])
	whole := len(lines) < int(tail) && ts.Equal(p.tok.Last)
	if ts.IsZero() || !(ts.Before(p.tok.Last) || whole) {
		return false
	}
	d := p.tok.stream()
	for _, l := range lines {
		if ts, text := splitTimestamp(l); !ts.IsZero() && d.accept(ts) {
			now := f.t.e.now()
			f.t.noteLogActivity(now)
			f.emitText(now, ts, text)
		}
	}
	return true
}

// eachLine calls fn with each whole line of r (without its end of line); it
// returns io.EOF on a clean end, or what fn returned if not nil. A line cut by
// a broken stream is dropped. fresh says that the line came with a new read
// of r (nothing was left buffered before it): a busy stream brings many
// lines per read, and the clock is read once for them.
func eachLine(r io.Reader, fn func(line []byte, fresh bool) error) error {
	br := bufio.NewReaderSize(r, 64*1024)
	var long []byte
	for {
		fresh := br.Buffered() == 0
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
			if ferr := fn(bytes.TrimSuffix(line, []byte{'\r'}), fresh); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}

// read emits each new line of stream (read with timestamps, or without when
// stamped is false); it returns io.EOF on a clean end.
// A line cut by a broken stream is dropped: it is read again, whole, when the
// stream resumes.
func (f *logFollower) read(stream io.Reader, stamped bool, tok *dedupe) error {
	var now time.Time
	return eachLine(stream, func(line []byte, fresh bool) error {
		if fresh || now.IsZero() {
			now = f.t.e.now()
			f.t.noteLogActivity(now)
		}
		if !stamped {
			f.pos.plain++
			f.emitText(now, now, line)
			return nil
		}
		ts, text := splitTimestamp(line)
		if ts.IsZero() {
			f.emitText(now, now, line) // not a kubelet line: shown as it is
			return nil
		}
		if !tok.accept(ts) {
			return nil
		}
		if f.pos.skip > 0 {
			f.pos.skip-- // printed by the stream without timestamps
			return nil
		}
		f.emitText(now, ts, text)
		return nil
	})
}

// emitText emits one line, seen at now, with the kubelet's timestamp ts.
func (f *logFollower) emitText(now, ts time.Time, text []byte) {
	f.t.emit(&LogLine{At: At{Time: now}, Container: f.container, Timestamp: ts, Line: string(text)})
}

// splitTimestamp splits "2006-01-02T15:04:05.999999999Z text" into its parts.
func splitTimestamp(b []byte) (time.Time, []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 20 || i > 40 {
		return time.Time{}, b
	}
	if ts, ok := parseKubeletTime(b[:i]); ok {
		return ts, b[i+1:]
	}
	ts, err := time.Parse(time.RFC3339Nano, string(b[:i]))
	if err != nil {
		return time.Time{}, b
	}
	return ts, b[i+1:]
}

// parseKubeletTime parses the kubelet's own form of a timestamp, UTC with
// up to nine digits of fraction ("2026-12-02T06:10:00.12345Z"), without the
// cost of time.Parse on every line; anything else is left to time.Parse.
func parseKubeletTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	return time.Unix(daysFromCivil(year, month, day)*86400+int64(hour*3600+minute*60+sec), int64(nsec)).UTC(), true
}

// daysFromCivil is the number of days from 1970-01-01 to the given date of
// the proleptic Gregorian calendar.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}

package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeLog is a container's log as the kubelet serves it: sinceTime (second
// precision), tailLines, timestamps, follow. Streams can be cut after a
// number of lines, halfway through the next one.
type fakeLog struct {
	mu    sync.Mutex
	lines []fakeLine
	// cuts: the n-th follow stream opened is cut after cuts[n] lines (none
	// when the list is shorter).
	cuts []int
	// dropped lines are gone from the start of the log (a rotation) for
	// every stream opened after the first cut.
	dropped int
	// atEnd is called when a follow stream reaches the end of the log,
	// before it ends; it may append lines (the runtime's late tail).
	atEnd func(l *fakeLog)
	// ended: the container had ended before the follower started.
	ended bool

	opened []corev1.PodLogOptions
	follow int
	f      *logFollower
	// clk is the follower's clock; followAt is when, on it, each follow
	// stream was opened.
	clk      *clocktesting.FakeClock
	followAt []time.Time
}

type fakeLine struct {
	ts   time.Time
	text string
}

func (l *fakeLog) open(_ context.Context, opts *corev1.PodLogOptions) (io.ReadCloser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opened = append(l.opened, *opts)
	lines := l.lines
	if l.follow > 0 {
		lines = lines[l.dropped:]
	}
	if opts.SinceTime != nil {
		since := opts.SinceTime.Time.Truncate(time.Second) // as sent over the wire
		i := 0
		for i < len(lines) && lines[i].ts.Before(since) {
			i++
		}
		lines = lines[i:]
	}
	if opts.TailLines != nil && int(*opts.TailLines) < len(lines) {
		lines = lines[len(lines)-int(*opts.TailLines):]
	}
	cut := -1
	if opts.Follow {
		l.followAt = append(l.followAt, l.clk.Now())
		if l.follow < len(l.cuts) {
			cut = l.cuts[l.follow]
		}
		l.follow++
	}
	var b strings.Builder
	for i, ln := range lines {
		s := ln.text + "\n"
		if opts.Timestamps {
			s = ln.ts.Format(time.RFC3339Nano) + " " + s
		}
		if i == cut {
			b.WriteString(s[:len(s)/2])
			return &cutReader{r: strings.NewReader(b.String())}, nil
		}
		b.WriteString(s)
	}
	if opts.Follow && l.atEnd != nil {
		l.atEnd(l)
	}
	return io.NopCloser(strings.NewReader(b.String())), nil
}

// cutReader ends in an error, as a broken connection does.
type cutReader struct{ r io.Reader }

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}
func (c *cutReader) Close() error { return nil }

// numbered returns n lines "line-1".. whose timestamps repeat within a
// second and sometimes exactly.
func numbered(n int) []fakeLine {
	base := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	out := make([]fakeLine, n)
	for i := range out {
		out[i] = fakeLine{ts: base.Add(time.Duration(i/3) * 7 * time.Millisecond), text: fmt.Sprintf("line-%d", i+1)}
	}
	return out
}

// follow runs a follower on the fake log of a container that has ended
// once the log has been served to its end; it returns the lines emitted and
// the notices. The follower runs on a fake clock that moves, by the
// follower's first reconnect pause, only while the follower waits on it.
func follow(t *testing.T, l *fakeLog, opts Options) (lines, notices []string) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	opts.Sink = func(ev Event) {
		switch ev := ev.(type) {
		case *LogLine:
			lines = append(lines, ev.Line)
		case *Notice:
			notices = append(notices, ev.Message)
		}
	}
	l.clk = clocktesting.NewFakeClock(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	tr := (&Engine{Clock: l.clk}).newTracker(pod, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := tr.newLogFollower("base", false, cancel)
	f.open = l.open
	l.f = f
	if l.ended {
		f.setTerminated()
	}
	end := l.atEnd
	l.atEnd = func(l *fakeLog) {
		if end != nil {
			end(l)
		}
		l.f.setTerminated() // the watch sees the container end
	}
	done := make(chan struct{})
	go func() { defer close(done); f.run(ctx) }()
	stepWhileWaiting(l.clk, f.retry, done, nil)
	if ctx.Err() != nil {
		t.Fatalf("the follower did not finish: %v", ctx.Err())
	}
	breaks := 0
	for _, n := range notices {
		if strings.HasPrefix(n, "log stream of base broke") {
			breaks++
		}
	}
	if breaks != len(notices) || (breaks > 0 && breaks > l.follow-1) {
		t.Fatalf("%d follow streams, notices %q: want one break notice per stream reopened", l.follow, notices)
	}
	return lines, notices
}

// randomCuts returns 1 to n cuts, each after fewer than max lines.
func randomCuts(r *rand.Rand, n, max int) []int {
	cuts := make([]int, 1+r.IntN(n))
	for i := range cuts {
		cuts[i] = r.IntN(max)
	}
	return cuts
}

func wantAll(t *testing.T, got []string, want []fakeLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].text {
			t.Fatalf("line %d is %q, want %q", i, got[i], want[i].text)
		}
	}
}

// Without a break: one stream, then one look at the tail of the ended
// container's log.
func TestLogsOneStreamWhenNothingBreaks(t *testing.T) {
	l := &fakeLog{lines: numbered(1000)}
	got, notices := follow(t, l, Options{})
	wantAll(t, got, l.lines)
	if len(notices) != 0 {
		t.Fatalf("notices: %q", notices)
	}
	if len(l.opened) != 2 || !l.opened[0].Timestamps || !l.opened[0].Follow || l.opened[1].Follow || l.opened[1].TailLines == nil {
		t.Fatalf("requests %+v, want one follow stream and one look at the tail", l.opened)
	}
}

// Streams cut at random places: every line once, in order, and each cut
// one notice and one stream more.
func TestLogsResumeExactlyOnceAfterCuts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		l := &fakeLog{lines: numbered(500), cuts: randomCuts(r, 8, 400)}
		got, notices := follow(t, l, Options{})
		wantAll(t, got, l.lines)
		if len(notices) != l.follow-1 {
			t.Fatalf("cuts %v: %d follow streams, %d notices", l.cuts, l.follow, len(notices))
		}
	}
}

// A broken stream is reopened after a pause on the engine's clock that
// doubles, up to 20 times the first, while streams break without a line,
// and starts again from the first after a stream that delivered lines.
func TestLogsReconnectBackoffOnTheClock(t *testing.T) {
	l := &fakeLog{lines: numbered(20), cuts: []int{0, 0, 0, 0, 0, 0, 0, 5, 0, 0}}
	got, notices := follow(t, l, Options{})
	wantAll(t, got, l.lines)
	if len(notices) != 10 || len(l.followAt) != 11 {
		t.Fatalf("%d follow streams, notices %q", len(l.followAt), notices)
	}
	r := 100 * time.Millisecond // newLogFollower's first pause
	want := []time.Duration{r, 2 * r, 4 * r, 8 * r, 16 * r, 20 * r, 20 * r, r, 2 * r, 4 * r}
	for i, w := range want {
		if gap := l.followAt[i+1].Sub(l.followAt[i]); gap != w {
			t.Errorf("pause before follow stream %d: %s, want %s (all: %v)", i+2, gap, w, l.followAt)
		}
	}
}

// Lines the runtime writes after the stream ended are read from the tail;
// more than the tail holds make the log be read again from the token: both
// exactly once.
func TestLogsLateTail(t *testing.T) {
	for _, late := range []int{0, 1, 5, tailLook - 1, tailLook + 10, 300} {
		all := numbered(400 + late)
		l := &fakeLog{lines: all[:400]}
		l.atEnd = func(l *fakeLog) {
			if len(l.lines) == 400 {
				l.lines = all
			}
		}
		got, _ := follow(t, l, Options{})
		wantAll(t, got, all)
		if late > 0 && late < tailLook-3 && len(l.opened) != 2 {
			t.Fatalf("%d late lines: requests %+v, want the stream and the tail", late, l.opened)
		}
	}
}

// A short log (a task of a line or two, all stamped alike) is read by the
// stream and one look at the tail, which is then the whole log: late lines
// stamped as the token's are shown once, none is repeated.
func TestLogsShortLogTailIsTheWholeLog(t *testing.T) {
	ts := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct{ seen, late int }{{1, 0}, {2, 0}, {1, 1}, {3, 2}} {
		var all []fakeLine
		for i := range c.seen + c.late {
			all = append(all, fakeLine{ts: ts, text: fmt.Sprintf("line-%d", i+1)})
		}
		l := &fakeLog{lines: all[:c.seen]}
		l.atEnd = func(l *fakeLog) { l.lines = all }
		got, _ := follow(t, l, Options{})
		wantAll(t, got, all)
		if len(l.opened) != 2 {
			t.Fatalf("%d lines, %d late: requests %+v, want the stream and the tail", c.seen, c.late, l.opened)
		}
	}
}

// A log whose last lines repeat, with the same timestamps: the token tells
// them apart, so nothing is repeated or lost.
func TestLogsTailOfRepeatedLines(t *testing.T) {
	all := numbered(200)
	for i := 100; i < 200; i++ {
		all[i].text = "same"
		all[i].ts = all[100].ts
	}
	for _, late := range []int{0, 10} {
		l := &fakeLog{lines: all[:200-late]}
		l.atEnd = func(l *fakeLog) { l.lines = all }
		got, _ := follow(t, l, Options{})
		wantAll(t, got, all)
	}
}

// stdout and stderr lines are stamped apart: a line may carry an earlier
// timestamp than the one before it, and is still shown.
func TestLogsLineStampedBeforeThePreviousOne(t *testing.T) {
	all := numbered(300)
	all[150].ts, all[151].ts = all[151].ts.Add(time.Microsecond), all[150].ts
	l := &fakeLog{lines: all}
	got, _ := follow(t, l, Options{})
	wantAll(t, got, all)
}

// An ended container's log is read once without timestamps; cut, it is read
// again from its origin with them, and what was printed is counted off.
func TestLogsOfAnEndedContainer(t *testing.T) {
	l := &fakeLog{lines: numbered(500), ended: true}
	got, _ := follow(t, l, Options{})
	wantAll(t, got, l.lines)
	if len(l.opened) != 1 || l.opened[0].Timestamps {
		t.Fatalf("requests %+v, want one stream without timestamps", l.opened)
	}
	l = &fakeLog{lines: numbered(500), ended: true}
	follow(t, l, Options{LogTimestamps: true})
	if !l.opened[0].Timestamps {
		t.Fatalf("request %+v, want timestamps when asked", l.opened[0])
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		l := &fakeLog{lines: numbered(500), ended: true, cuts: randomCuts(r, 6, 400)}
		got, _ := follow(t, l, Options{})
		wantAll(t, got, l.lines)
	}
}

// A --tail origin: the stream resumes from the token, not from the origin.
func TestLogsTailOrigin(t *testing.T) {
	l := &fakeLog{lines: numbered(300), cuts: []int{50, 10}}
	tail := int64(100)
	got, _ := follow(t, l, Options{TailLines: &tail})
	wantAll(t, got, l.lines[200:])
	if l.opened[1].TailLines != nil || l.opened[1].SinceTime == nil {
		t.Fatalf("second request %+v, want it to resume from the token", l.opened[1])
	}
}

// A long log that runs well ahead of its reader (the container has printed
// it all by the time the stream starts) is read by one stream, every line
// once and in order: no look at the log's end, no second stream.
func TestLogsALongLogIsReadByOneStream(t *testing.T) {
	l := &fakeLog{lines: numbered(60000)} // about 140 s of log
	got, _ := follow(t, l, Options{})
	wantAll(t, got, l.lines)
	follows := 0
	for _, o := range l.opened {
		if o.Follow {
			follows++
		}
		if o.TailLines != nil && *o.TailLines == 1 {
			t.Fatalf("requests %+v: a look at the log's end", l.opened)
		}
	}
	if follows != 1 {
		t.Fatalf("%d follow streams (%+v), want one", follows, l.opened)
	}
}

func TestCutReaderBreaks(t *testing.T) {
	if _, err := io.ReadAll(&cutReader{r: strings.NewReader("x")}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal("cutReader does not end in an error")
	}
}

// The kubelet's timestamps are parsed without time.Parse, to the same time;
// other forms fall back to it.
func TestParseKubeletTimeAgreesWithTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	base := time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
	for i := range 20000 {
		ts := base.Add(time.Duration(r.Int64N(int64(80 * 365 * 24 * time.Hour))))
		if i%3 == 0 {
			ts = ts.Truncate(time.Second)
		} else if i%3 == 1 {
			ts = ts.Truncate(time.Microsecond)
		}
		s := ts.Format(time.RFC3339Nano)
		got, ok := parseKubeletTime([]byte(s))
		if !ok || !got.Equal(ts) {
			t.Fatalf("%s: got %v (%v), want %v", s, got, ok, ts)
		}
	}
	for _, s := range []string{"2026-12-02T06:10:00+01:00", "2026-13-02T06:10:00Z", "2026-12-02T06:10:00.Z", "2026-12-02 06:10:00Z", "2026-12-02T06:10:00.1234567890Z"} {
		if _, ok := parseKubeletTime([]byte(s)); ok {
			t.Errorf("%s parsed by the fast path", s)
		}
	}
	if ts, _ := splitTimestamp([]byte("2026-12-02T07:10:00.5+01:00 x")); !ts.Equal(time.Date(2026, 12, 2, 6, 10, 0, 5e8, time.UTC)) {
		t.Errorf("an offset timestamp is not parsed by time.Parse: %v", ts)
	}
}

// The cost of reading a busy stream, line by line, as the follower does.
func BenchmarkFollowerReadStamped(b *testing.B) {
	var buf strings.Builder
	base := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	const lines = 100000
	for i := range lines {
		buf.WriteString(base.Add(time.Duration(i)*1234*time.Nanosecond).Format(time.RFC3339Nano) + " " + fmt.Sprint(i) + "\n")
	}
	data := buf.String()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	tr := (&Engine{}).newTracker(pod, Options{Sink: func(Event) {}})
	f := tr.newLogFollower("base", false, func() {})
	b.ResetTimer()
	for range b.N {
		f.pos = logPosition{}
		_ = f.read(strings.NewReader(data), true, f.pos.tok.stream())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}

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

	opened []corev1.PodLogOptions
	follow int
	f      *logFollower
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
// the notices.
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
	tr := (&Engine{}).newTracker(pod, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := tr.newLogFollower("base", false, cancel)
	f.retry = time.Millisecond
	f.open = l.open
	l.f = f
	end := l.atEnd
	l.atEnd = func(l *fakeLog) {
		if end != nil {
			end(l)
		}
		l.f.setTerminated() // the watch sees the container end
	}
	f.run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("the follower did not finish: %v", ctx.Err())
	}
	return lines, notices
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

// Without a break, the log is read without timestamps, then its end is
// checked once: two requests.
func TestLogsReadWithoutTimestampsWhenNothingBreaks(t *testing.T) {
	l := &fakeLog{lines: numbered(1000)}
	got, notices := follow(t, l, Options{})
	wantAll(t, got, l.lines)
	if len(notices) != 0 {
		t.Fatalf("notices: %q", notices)
	}
	if len(l.opened) != 2 || l.opened[0].Timestamps || !l.opened[0].Follow || l.opened[1].Follow || l.opened[1].TailLines == nil {
		t.Fatalf("requests %+v, want one follow stream without timestamps and one look at the tail", l.opened)
	}
}

// Streams cut at random places, in the first stream, during the re-read that
// counts off what was read, and after it: every line once, in order.
func TestLogsResumeExactlyOnceAfterCuts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		l := &fakeLog{lines: numbered(500)}
		for range 1 + r.IntN(8) {
			l.cuts = append(l.cuts, r.IntN(400))
		}
		got, _ := follow(t, l, Options{})
		wantAll(t, got, l.lines)
		if trial == 0 && (l.opened[0].Timestamps || !l.opened[1].Timestamps) {
			t.Fatalf("requests %+v: the first stream has no timestamps, the re-read has", l.opened)
		}
	}
}

// Lines the runtime writes after the stream ended are read from the tail;
// more than the kept lines make the log be read again: both exactly once.
func TestLogsLateTail(t *testing.T) {
	for _, late := range []int{0, 1, 5, tailRing - 1, tailRing + 10, 300} {
		all := numbered(400 + late)
		l := &fakeLog{lines: all[:400]}
		l.atEnd = func(l *fakeLog) {
			if len(l.lines) == 400 {
				l.lines = all
			}
		}
		got, _ := follow(t, l, Options{})
		wantAll(t, got, all)
	}
}

// A log whose last lines repeat: the tail is aligned on the largest overlap,
// so nothing is repeated.
func TestLogsTailOfRepeatedLines(t *testing.T) {
	all := numbered(200)
	for i := 100; i < 200; i++ {
		all[i].text = "same"
	}
	l := &fakeLog{lines: all}
	got, _ := follow(t, l, Options{})
	wantAll(t, got, all)
}

// A --tail origin cannot be read again: those streams carry timestamps from
// the start and resume from the token.
func TestLogsTailOriginUsesTimestamps(t *testing.T) {
	l := &fakeLog{lines: numbered(300), cuts: []int{50, 10}}
	tail := int64(100)
	got, _ := follow(t, l, Options{TailLines: &tail})
	wantAll(t, got, l.lines[200:])
	if !l.opened[0].Timestamps {
		t.Fatalf("first request %+v, want timestamps", l.opened[0])
	}
}

// A log rotated away while the stream was broken cannot be counted off: the
// follower says so.
func TestLogsRotatedWhileBrokenWarns(t *testing.T) {
	l := &fakeLog{lines: numbered(300), cuts: []int{100}, dropped: 20}
	_, notices := follow(t, l, Options{})
	if len(notices) == 0 || !strings.Contains(strings.Join(notices, "\n"), "may be missing or repeated") {
		t.Fatalf("notices %q, want a warning about the rotated log", notices)
	}
}

// --log-file wants the kubelet's timestamps: streams carry them.
func TestLogsTimestampsWhenAsked(t *testing.T) {
	l := &fakeLog{lines: numbered(10)}
	got, _ := follow(t, l, Options{LogTimestamps: true})
	wantAll(t, got, l.lines)
	if !l.opened[0].Timestamps {
		t.Fatalf("first request %+v, want timestamps", l.opened[0])
	}
}

func TestOverlap(t *testing.T) {
	var p logPosition
	for _, s := range []string{"a", "b", "c"} {
		p.last[p.lines%tailRing] = s
		p.lines++
	}
	for _, c := range []struct {
		tail []string
		end  int
		ok   bool
	}{
		{[]string{"a", "b", "c"}, 3, true},
		{[]string{"a", "b", "c", "d"}, 3, true},
		{[]string{"x", "a", "b", "c", "d", "e"}, 4, true}, // a line before the origin
		{[]string{"d", "e"}, 0, false},
	} {
		end, ok := p.overlap(c.tail)
		if end != c.end || ok != c.ok {
			t.Errorf("overlap(%q) = %d, %v; want %d, %v", c.tail, end, ok, c.end, c.ok)
		}
	}
	if _, err := io.ReadAll(&cutReader{r: strings.NewReader("x")}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal("cutReader does not end in an error")
	}
}

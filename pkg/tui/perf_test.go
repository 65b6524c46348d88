package tui

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

func TestRingKeepsTheLastLinesAndCountsDrops(t *testing.T) {
	r := newRing(5)
	for i := range 12 {
		r.add("base", strconv.Itoa(i))
	}
	s := r.snap()
	if s.first != 7 || s.next != 12 || s.dropped != 7 {
		t.Fatalf("snapshot = %+v, want first 7, next 12, dropped 7", s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for seq := s.first; seq < s.next; seq++ {
		if got, c := r.atLocked(seq); got != strconv.Itoa(int(seq)) || c != "base" {
			t.Errorf("line %d = %q from %q", seq, got, c)
		}
	}
	long := strings.Repeat("x", maxLineBytes*2)
	r.mu.Unlock()
	r.add("base", long)
	r.mu.Lock()
	if got, _ := r.atLocked(12); len(got) > maxLineBytes+8 {
		t.Errorf("a long line is stored whole (%d bytes)", len(got))
	}
}

func TestDroppedLinesAreShown(t *testing.T) {
	o := opts(20)
	o.MaxLogLines = 10
	m := New(o)
	for _, msg := range running(25) {
		m.Update(msg)
	}
	s := ansi.Strip(m.View().Content)
	if !strings.Contains(s, "25 lines, oldest 15 dropped") || !strings.Contains(s, "step 025") {
		t.Errorf("screen does not show the drop count:\n%s", s)
	}
}

// TestSinkFromManyGoroutines feeds the model the way the engine does: log
// lines from several goroutines through Sink, other events through the
// program. Run with -race.
func TestSinkFromManyGoroutines(t *testing.T) {
	m := New(opts(20))
	var mu sync.Mutex
	var sent []tea.Msg
	sink := m.Sink(func(msg tea.Msg) { mu.Lock(); sent = append(sent, msg); mu.Unlock() })
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				sink(launch.LogLine{Container: fmt.Sprint("c", g), Line: fmt.Sprint("line ", i)})
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			m.View() // the UI reads while lines arrive
		}
	})
	sink(launch.Notice{Message: "hello"})
	wg.Wait()
	if got := m.logs.ring.snap().next; got != 4000 {
		t.Errorf("ring has %d lines, want 4000", got)
	}
	if len(sent) != 1 {
		t.Errorf("sent %d messages to the program, want only the notice", len(sent))
	}
}

// TestMemoryBound streams 1,000,000 lines of about 20 bytes through the
// model with the default ring, drawing frames as it goes, and checks the
// process stays under 80 MB RSS. This is how DefaultMaxLogLines was chosen.
func TestMemoryBound(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("streams a million lines; the race detector inflates memory")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read RSS")
	}
	runtime.GC()
	debug.FreeOSMemory()
	base := rss(t)
	m := New(opts(20))
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	sink := m.Sink(func(tea.Msg) {})
	start := time.Now()
	peak := base
	for i := range 1_000_000 {
		sink(launch.LogLine{Container: "base", Line: fmt.Sprintf("line %08d ok done", i)})
		if i%50_000 == 0 {
			m.dirty = true
			m.View()
			peak = max(peak, rss(t))
		}
	}
	m.View()
	peak = max(peak, rss(t))
	t.Logf("1,000,000 lines in %s; RSS before %d MB, peak %d MB", time.Since(start).Round(time.Millisecond), base>>20, peak>>20)
	if peak > 80<<20 {
		t.Errorf("peak RSS %d MB is over 80 MB", peak>>20)
	}
	if s := ansi.Strip(m.View().Content); !strings.Contains(s, "line 00999999") || !strings.Contains(s, "1,000,000 lines, oldest 900,000 dropped") {
		t.Errorf("screen after a million lines:\n%s", s)
	}
}

func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// BenchmarkSink is the cost of one log line arriving.
func BenchmarkSink(b *testing.B) {
	m := New(Options{})
	sink := m.Sink(func(tea.Msg) {})
	ev := launch.LogLine{Container: "base", Line: "line 00000001 ok done"}
	b.ReportAllocs()
	for b.Loop() {
		sink(ev)
	}
}

// BenchmarkFrame is the cost of drawing a frame with a full ring: it must
// not depend on how many lines the ring holds.
func BenchmarkFrame(b *testing.B) {
	m := New(Options{Now: fixedClock(20)})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	sink := m.Sink(func(tea.Msg) {})
	for i := range DefaultMaxLogLines {
		sink(launch.LogLine{Container: "base", Line: fmt.Sprintf("line %08d ok done", i)})
	}
	b.ReportAllocs()
	for b.Loop() {
		m.dirty = true
		m.View()
	}
}

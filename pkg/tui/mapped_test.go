package tui

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// newMappedAt is a mapped screen of w×h fed with script.
func newMappedAt(o MapOptions, w, h int, script []tea.Msg) *MapModel {
	m := NewMapped(o)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	for _, msg := range script {
		m.Update(msg)
	}
	return m
}

// mapScreen is the model's screen, checked to fill w×h exactly.
func mapScreen(t *testing.T, m *MapModel, w, h int) string {
	t.Helper()
	content := m.View().Content
	lines := strings.Split(content, "\n")
	if len(lines) != h {
		t.Errorf("screen has %d lines, want %d:\n%s", len(lines), h, ansi.Strip(content))
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, got, w, ansi.Strip(l))
		}
	}
	return ansi.Strip(content)
}

// rowOf is the list row of item i on a plain screen.
func rowOf(screen string, i int) string {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.Trim(l, "│ ▸"))
		if len(f) > 0 && f[0] == fmt.Sprint(i) && strings.Contains(l, "day=") {
			return l
		}
	}
	return ""
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("lacks %q:\n%s", w, s)
		}
	}
}

func TestMappedRowsFollowTheEvents(t *testing.T) {
	m := newMappedAt(mapOpts(6, 3, 4), 100, 30, halfway())
	s := mapScreen(t, m, 100, 30)
	mustContain(t, s, "● 3 running", "✓ 0 succeeded", "✗ 0 failed", "· 3 pending", "of 6", "at most 3 at once",
		"⠙ Running", "q stops the run: every pod is deleted (delete_pod)")
	for i, want := range []string{"● running    ", "● running", "● running", "· pending", "· pending", "· pending"} {
		if r := rowOf(s, i); !strings.Contains(r, want) || !strings.Contains(r, fmt.Sprintf("daily-%02dx7k2q", i)) {
			t.Errorf("row %d = %q, want %q", i, r, want)
		}
	}
	// A running item's duration is live: item 0 started at 0s, it is 4s now.
	if r := rowOf(s, 0); !strings.Contains(r, " 4s ") {
		t.Errorf("row 0 = %q, want 4s", r)
	}
	// The selected item's log and events.
	mustContain(t, s, "[0] Logs", "loading 2026-01-01", "[0] Events", "Scheduled")

	m = newMappedAt(mapOpts(6, 3, 20), 100, 30, mappedRun())
	s = mapScreen(t, m, 100, 30)
	mustContain(t, s, "✓ 5 succeeded", "✗ 1 failed", "· 0 pending")
	if r := rowOf(s, 4); !strings.Contains(r, "✗ failed") || !strings.HasSuffix(strings.TrimRight(r, " │"), "3") {
		t.Errorf("row 4 = %q, want failed with exit 3", r)
	}
	if r := rowOf(s, 1); !strings.Contains(r, "✓ succeeded") || !strings.Contains(r, " 5s ") {
		t.Errorf("row 1 = %q, want succeeded in 5s (from 1s to 6s)", r)
	}
}

func TestMappedFinalStateStaysUntilQ(t *testing.T) {
	var rec stopRecorder
	o := mapOpts(6, 3, 20)
	o.Stop = rec.stop
	m := newMappedAt(o, 100, 30, mappedRun())
	_, cmd := m.Update(mapDone(6, 4))
	if isQuit(cmd) {
		t.Fatal("the screen quit when the run ended")
	}
	s := mapScreen(t, m, 100, 30)
	mustContain(t, s, "✗ 1 of 6 failed", "finished — press q to exit", "1 of 6 items did not succeed", "q quit")
	if strings.Contains(s, "⠙") {
		t.Error("a spinner still turns after the end")
	}
	if _, cmd := m.Update(press('d')); isQuit(cmd) {
		t.Error("d after the end quit")
	}
	if _, cmd := m.Update(keyQ); !isQuit(cmd) {
		t.Error("q after the end did not quit")
	}
	if got := rec.get(); len(got) != 0 {
		t.Errorf("Stop called after the run ended: %v", got)
	}

	// All succeeded.
	m = newMappedAt(mapOpts(2, 2, 20), 100, 30, nil)
	m.Update(mapDone(2, -1))
	mustContain(t, mapScreen(t, m, 100, 30), "✓ Succeeded", "all 2 items succeeded")
}

func TestMappedSelectionLogsAndXCom(t *testing.T) {
	m := newMappedAt(mapOpts(6, 3, 20), 100, 30, mappedRun())
	m.Update(mapDone(6, 4))
	s := mapScreen(t, m, 100, 30)
	mustContain(t, s, "[0] Logs", "loading 2026-01-01", "loaded 0 rows", "[0] XCom", `"day": "2026-01-01"`)

	m.Update(press('j'))
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	s = mapScreen(t, m, 100, 30)
	mustContain(t, s, "[2] Logs", "loading 2026-01-03", `"rows": 20`, "3 of 6")
	if strings.Contains(s, "loading 2026-01-01") {
		t.Error("item 0's log is still shown for item 2")
	}
	m.Update(press('k'))
	mustContain(t, mapScreen(t, m, 100, 30), "[1] Logs", "loading 2026-01-02")

	// f jumps to the failed item: its log, its events, no XCom.
	m.Update(press('f'))
	s = mapScreen(t, m, 100, 30)
	mustContain(t, s, "[4] Logs", "no rows", "[4] Events", "▲ Failed container base")
	if strings.Contains(s, "XCom") {
		t.Errorf("the failed item shows an XCom panel:\n%s", s)
	}
	if !strings.Contains(rowOf(s, 4), "▸") {
		t.Errorf("item 4 is not marked selected:\n%s", s)
	}
	m.Update(press('f')) // the only failed item: it stays
	if m.sel != 4 {
		t.Errorf("f with one failed item moved to %d", m.sel)
	}
	if _, cmd := m.Update(press('y')); cmd != nil {
		t.Error("y on an item without XCom returned a command")
	}

	// G and g: last and first.
	m.Update(press('G'))
	mustContain(t, mapScreen(t, m, 100, 30), "[5] Logs", "6 of 6")
	m.Update(press('g'))
	mustContain(t, mapScreen(t, m, 100, 30), "[0] Logs")
	_, cmd := m.Update(press('y'))
	if cmd == nil {
		t.Fatal("y on item 0 returned no command")
	}
	if got := fmtMsg(cmd()); !strings.Contains(got, `{"day":"2026-01-01","rows":0}`) {
		t.Errorf("clipboard message = %s", got)
	}
}

func TestMappedNoFailedItem(t *testing.T) {
	m := newMappedAt(mapOpts(6, 3, 4), 100, 30, halfway())
	m.Update(press('f'))
	if m.sel != 0 {
		t.Errorf("f without a failed item moved to %d", m.sel)
	}
	mustContain(t, mapScreen(t, m, 100, 30), "no item has failed")
	// A pending item says why it has no log.
	m.Update(press('G'))
	mustContain(t, mapScreen(t, m, 100, 30), "waiting for a free slot (at most 3 pods at once)")
}

func TestMappedLogsAreTheSelectedItemsAndScroll(t *testing.T) {
	m := newMappedAt(mapOpts(3, 3, 20), 100, 30, nil)
	for i := range 3 {
		for j := range 50 {
			m.Update(ev(i, &launch.LogLine{Container: "base", Line: fmt.Sprintf("item %d line %02d", i, j)}))
		}
	}
	m.Update(press('j'))
	s := mapScreen(t, m, 100, 30)
	mustContain(t, s, "item 1 line 49", "50 lines", "following")
	if strings.Contains(s, "item 0 ") || strings.Contains(s, "item 2 ") {
		t.Errorf("another item's lines are shown:\n%s", s)
	}
	// enter focuses the log; up scrolls it and pauses it.
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	s = mapScreen(t, m, 100, 30)
	if strings.Contains(s, "item 1 line 49") || !strings.Contains(s, "paused") {
		t.Errorf("pgup in the log did not scroll it:\n%s", s)
	}
	if m.sel != 1 {
		t.Errorf("scrolling the log moved the selection to %d", m.sel)
	}
	// Search in the item's log.
	m.Update(press('/'))
	for _, r := range "line 07" {
		m.Update(press(r))
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if s := mapScreen(t, m, 100, 30); !strings.Contains(s, "item 1 line 07") {
		t.Errorf("search did not find line 07:\n%s", s)
	}
	// esc clears the query, a second esc goes back to the list.
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	m.Update(press('j'))
	if m.sel != 2 || !m.logs.follow {
		t.Errorf("after esc, j: selection %d (want 2), following %v", m.sel, m.logs.follow)
	}
}

func TestMappedRetriesShowTheTry(t *testing.T) {
	o := mapOpts(2, 2, 12)
	o.Tries = 3
	m := newMappedAt(o, 140, 30, []tea.Msg{
		ev(0, &launch.TryStarted{At: at(0), Try: 1, Tries: 3, Pod: "daily-00x7k2q"}),
		ev(0, &launch.PodCreated{At: at(0), Pod: "daily-00x7k2q"}),
		ev(0, &launch.StageChanged{At: at(1), Stage: launch.StageRunning}),
		ev(0, &launch.Retrying{At: at(10), Try: 1, Tries: 3, Pod: "daily-00x7k2q", Reason: "Error", Message: "container base exited with code 7", Delay: 5 * time.Second}),
	})
	s := mapScreen(t, m, 140, 30)
	mustContain(t, s, "TRY", "[0] Events", "try 1 of 3 failed (Error")
	if r := rowOf(s, 0); !strings.Contains(r, "1/3") || !strings.Contains(r, "↻ retry in 3s") {
		t.Errorf("row 0 = %q, want try 1/3 and a retry in 3s", r)
	}
	m.Update(ev(0, &launch.TryStarted{At: at(15), Try: 2, Tries: 3, Pod: "daily-00x7k2q-try2"}))
	m.Update(ev(0, &launch.StageChanged{At: at(16), Stage: launch.StageRunning}))
	s = mapScreen(t, m, 140, 30)
	if r := rowOf(s, 0); !strings.Contains(r, "2/3") || !strings.Contains(r, "● running") || !strings.Contains(r, "daily-00x7k2q-try2") {
		t.Errorf("row 0 = %q, want try 2/3 running in the try2 pod", r)
	}
	if r := rowOf(s, 1); !strings.Contains(r, "-") || !strings.Contains(r, "· pending") {
		t.Errorf("row 1 = %q", r)
	}
}

func TestMappedQuitStopsThenLeavesWhenTheRunReturns(t *testing.T) {
	var rec stopRecorder
	o := mapOpts(6, 3, 4)
	o.Stop = rec.stop
	tm := teatest.NewTestModel(t, NewMapped(o), teatest.WithInitialTermSize(100, 30))
	for _, msg := range halfway() {
		tm.Send(msg)
	}
	tm.Send(keyQ)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("stopping")) },
		teatest.WithDuration(5*time.Second))
	if got := rec.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("Stop causes = %v, want one nil cause", got)
	}
	// The run answers with every item's cleanup and returns; the screen quits.
	d := MapDone{Interrupted: true, Results: make([]launch.ItemResult, 6)}
	for i := range 6 {
		d.Results[i] = launch.ItemResult{Index: i, Result: &launch.Result{Outcome: launch.OutcomeSkipped}}
		if i < 3 {
			d.Results[i].Result.Outcome = launch.OutcomeInterrupted
		}
	}
	tm.Send(d)
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*MapModel)
	if !m.Finished() || len(rec.get()) != 1 {
		t.Errorf("finished %v, Stop called %d times (want 1)", m.Finished(), len(rec.get()))
	}
	mustContain(t, mapScreen(t, m, 100, 30), "■ Interrupted", "■ 3 interrupted", "– 3 skipped")
}

func TestMappedSecondQLeavesAtOnceAndDeleteRequest(t *testing.T) {
	var rec stopRecorder
	o := mapOpts(6, 3, 4)
	o.Stop = rec.stop
	m := newMappedAt(o, 100, 30, halfway())
	if _, cmd := m.Update(keyCtrlC); isQuit(cmd) {
		t.Fatal("first Ctrl-C quit; it must stop the run and wait")
	}
	mustContain(t, mapScreen(t, m, 100, 30), "stopping — every pod is deleted (delete_pod), no more start", "Stopping")
	if _, cmd := m.Update(keyQ); !isQuit(cmd) {
		t.Fatal("second q did not quit")
	}

	rec = stopRecorder{}
	m = newMappedAt(o, 100, 30, halfway())
	m.Update(press('d'))
	var sr *launch.StopRequest
	if got := rec.get(); len(got) != 1 || !errors.As(got[0], &sr) || sr.Action != launch.DeletePod {
		t.Fatalf("d: Stop causes = %v, want a StopRequest to delete", got)
	}
	mustContain(t, mapScreen(t, m, 100, 30), "deleting every pod of the run")
	if _, cmd := m.Update(MapDone{Results: mapDone(6, -1).Results, Interrupted: true}); !isQuit(cmd) {
		t.Error("the run's end after d did not quit")
	}
}

func TestMappedRunErrorAndSignal(t *testing.T) {
	// The run could not start (its watches): the screen leaves.
	m := newMappedAt(mapOpts(3, 3, 4), 100, 30, nil)
	if _, cmd := m.Update(MapDone{Err: errors.New("forbidden")}); !isQuit(cmd) {
		t.Error("MapDone without results did not quit")
	}
	// Interrupted from outside (a signal): the screen leaves when the run returns.
	m = newMappedAt(mapOpts(3, 3, 4), 100, 30, halfway())
	if _, cmd := m.Update(MapDone{Results: mapDone(3, -1).Results, Interrupted: true}); !isQuit(cmd) {
		t.Error("an interrupted run's end did not quit")
	}
}

func TestMappedRunNoticesAndResize(t *testing.T) {
	m := newMappedAt(mapOpts(6, 3, 20), 100, 30, mappedRun())
	m.Update(ev(-1, &launch.Notice{At: at(9), Level: "warning", Message: "watching the run's pods failed (retrying): connection refused"}))
	mustContain(t, mapScreen(t, m, 100, 30), "watching the run's pods failed")
	for _, size := range [][2]int{{80, 24}, {60, 20}, {132, 43}, {40, 12}, {100, 30}, {200, 60}, {90, 16}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		mapScreen(t, m, size[0], size[1])
		m.Update(press('?'))
		mapScreen(t, m, size[0], size[1])
		m.Update(press('?'))
	}
	m.Update(tea.WindowSizeMsg{Width: 10, Height: 5})
	if got := m.View().Content; !strings.Contains(got, "podtask") {
		t.Errorf("tiny terminal: %q", got)
	}
}

func TestMappedTabFocus(t *testing.T) {
	m := newMappedAt(mapOpts(6, 3, 20), 100, 30, mappedRun())
	seen := map[mapPanel]bool{}
	for range 4 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
		seen[m.focus] = true
	}
	if len(seen) != 4 || m.focus != mapList {
		t.Errorf("tab visited %v and ended on %v, want the 4 panels and back to the list", seen, m.focus)
	}
	// An item without XCom: tab skips the panel it does not have.
	m.Update(press('f'))
	seen = map[mapPanel]bool{}
	for range 3 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
		seen[m.focus] = true
	}
	if seen[mapXCom] || m.focus != mapList {
		t.Errorf("tab on an item without XCom visited %v", seen)
	}
}

// TestMappedSinkCoalesces feeds the model as the run does: events of many
// items from many goroutines through Sink. The program is woken once per
// batch, not once per event, and every event is applied. Run with -race.
func TestMappedSinkCoalesces(t *testing.T) {
	m := NewMapped(mapOpts(100, 10, 20))
	var mu sync.Mutex
	wakes := 0
	sink := m.Sink(func(msg tea.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := msg.(wakeMsg); ok {
			wakes++
		}
	})
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Go(func() {
			for i := g * 10; i < g*10+10; i++ {
				for _, msg := range itemStarts(i%6, 0) {
					e := msg.(ItemEvent)
					sink(i, e.Event)
				}
				sink(i, &launch.Finished{At: at(3), Result: &launch.Result{Outcome: launch.OutcomeSucceeded, ExitCode: i32(0)}})
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			m.Update(wakeMsg{})
			m.View()
		}
	})
	wg.Wait()
	m.Update(MapDone{Results: []launch.ItemResult{}})
	c := m.counts()
	if c[stateSucceeded] != 100 {
		t.Errorf("%d items succeeded, want 100 (counts %v)", c[stateSucceeded], c)
	}
	if got := m.ringOf(42).snap().next; got != 1 {
		t.Errorf("item 42's ring has %d lines, want 1", got)
	}
	events := 100 * 8 // 7 events and a log line per item, and a Finished
	if wakes >= events/2 {
		t.Errorf("%d wakes for %d events: the sink does not coalesce", wakes, events)
	}
	t.Logf("%d wakes for %d events", wakes, events)
}

// TestMappedThousandItemsBounded: a run of 1,000 items whose every item
// logs 2,001 lines keeps at most itemLogLines lines per item, stays small,
// and draws a frame in time independent of the number of items (only the
// visible rows are drawn).
func TestMappedThousandItemsBounded(t *testing.T) {
	const n = 1000
	o := mapOpts(n, 50, 20)
	per := o.itemLogLines()
	if per != minItemLogLines {
		t.Fatalf("with %d items each keeps %d lines, want %d", n, per, minItemLogLines)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	m := NewMapped(o)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	sink := m.Sink(func(tea.Msg) {})
	for i := range n {
		for _, msg := range itemStarts(i%6, 0) {
			m.Update(ItemEvent{Index: i, Event: msg.(ItemEvent).Event})
		}
		for j := range 2000 {
			sink(i, &launch.LogLine{Container: "base", Line: fmt.Sprintf("item %04d line %04d ok done", i, j)})
		}
	}
	for i := range n {
		if s := m.ringOf(i).snap(); s.next-s.first > int64(per) {
			t.Fatalf("item %d holds %d lines, more than %d", i, s.next-s.first, per)
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d items × 2,000 lines: %d lines held, heap %d MB", n, n*per, heap>>20)
	if !raceEnabled && heap > 64<<20 {
		t.Errorf("the model holds %d MB for %d items, want under 64 MB", heap>>20, n)
	}

	// Select the last item: its last lines are on the screen.
	m.Update(press('G'))
	s := mapScreen(t, m, 120, 40)
	mustContain(t, s, "item 0999 line 1999", "1000 of 1000", "2,001 lines, oldest 1,801 dropped", "● 1000 running")
	rows := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "day=") {
			rows++
		}
	}
	if rows > 40 {
		t.Errorf("%d item rows drawn on a 40-row screen", rows)
	}

	// A frame costs what the visible rows do.
	start := time.Now()
	for range 100 {
		m.dirty = true
		m.View()
	}
	per1000 := time.Since(start) / 100
	small := newMappedAt(mapOpts(10, 5, 20), 120, 40, nil)
	start = time.Now()
	for range 100 {
		small.dirty = true
		small.View()
	}
	per10 := time.Since(start) / 100
	t.Logf("a frame: %s with 1,000 items, %s with 10", per1000, per10)
	if !raceEnabled && per1000 > 20*time.Millisecond {
		t.Errorf("a frame with 1,000 items takes %s", per1000)
	}
}

func TestMappedGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		w, h   int
		done   bool
		script []tea.Msg
	}{
		{"running", 100, 30, false, halfway()},
		{"finished_failed_selected", 100, 30, true, mappedRun()},
		{"narrow", 80, 24, true, mappedRun()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sec := 4
			if tc.done {
				sec = 20
			}
			tm := teatest.NewTestModel(t, NewMapped(mapOpts(6, 3, sec)), teatest.WithInitialTermSize(tc.w, tc.h),
				teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.TrueColor)))
			for _, msg := range tc.script {
				tm.Send(msg)
			}
			if tc.done {
				tm.Send(mapDone(6, 4))
				tm.Send(press('f'))
			}
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("podtask")) },
				teatest.WithDuration(5*time.Second))
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*MapModel)
			golden.RequireEqual(t, mapScreen(t, m, tc.w, tc.h))
		})
	}
}

func TestMappedXComPanelOnlyWhenItSaysSomething(t *testing.T) {
	m := newMappedAt(mapOpts(3, 3, 20), 100, 30, nil)
	m.Update(ev(0, &launch.XComResult{At: at(3), Present: false}))
	m.Update(ev(0, &launch.Finished{At: at(3), Result: &launch.Result{Outcome: launch.OutcomeFailed, ExitCode: i32(1)}}))
	if s := mapScreen(t, m, 100, 30); strings.Contains(s, "XCom") {
		t.Errorf("a failed item without a result shows an XCom panel:\n%s", s)
	}
	m.Update(ev(1, &launch.XComResult{At: at(3), Present: false}))
	m.Update(ev(1, &launch.Finished{At: at(3), Result: &launch.Result{Outcome: launch.OutcomeSucceeded, ExitCode: i32(0)}}))
	m.Update(press('j'))
	mustContain(t, mapScreen(t, m, 100, 30), "[1] XCom", "the task wrote no result")
	// A result that arrives while its item is selected is shown at once.
	m.Update(press('j'))
	m.Update(ev(2, &launch.XComResult{At: at(4), Present: true, Value: []byte(`{"late":true}`)}))
	mustContain(t, mapScreen(t, m, 100, 30), "[2] XCom", `"late": true`)
}

// A Job's screen leaves instead of stopping: q asks to leave (no cause) and
// says the Job keeps running, d asks to delete and says the Job goes; the
// help names both.
func TestMappedJobLeavesOrDeletesTheJob(t *testing.T) {
	var rec stopRecorder
	o := mapOpts(6, 3, 4)
	o.Stop = rec.stop
	o.Job = "job-daily-abc"
	m := newMappedAt(o, 120, 30, halfway())
	mustContain(t, mapScreen(t, m, 120, 30), "q leaves: job/job-daily-abc keeps running", "leave (the job runs on)")
	if _, cmd := m.Update(keyQ); isQuit(cmd) {
		t.Fatal("the first q quit; it must leave the job and wait for the follow to return")
	}
	if got := rec.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("q: Stop causes = %v, want one nil cause", got)
	}
	mustContain(t, mapScreen(t, m, 120, 30), "Leaving", "leaving — job/job-daily-abc keeps running")
	if _, cmd := m.Update(MapDone{Results: mapDone(6, -1).Results, Interrupted: true}); !isQuit(cmd) {
		t.Error("the follow's return did not quit")
	}
	mustContain(t, mapScreen(t, m, 120, 30), "■ Left running")

	rec = stopRecorder{}
	m = newMappedAt(o, 120, 30, halfway())
	m.Update(press('d'))
	var sr *launch.StopRequest
	if got := rec.get(); len(got) != 1 || !errors.As(got[0], &sr) || sr.Action != launch.DeletePod {
		t.Fatalf("d: Stop causes = %v, want a StopRequest to delete", got)
	}
	mustContain(t, mapScreen(t, m, 120, 30), "deleting job/job-daily-abc and its pods")
}

package tui

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
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

// stopRecorder records the causes the screen passed to Options.Stop.
type stopRecorder struct {
	mu     sync.Mutex
	causes []error
}

func (s *stopRecorder) stop(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.causes = append(s.causes, cause)
}

func (s *stopRecorder) get() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.causes...)
}

var (
	keyQ     = tea.KeyPressMsg{Code: 'q', Text: "q"}
	keyCtrlC = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
)

func press(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

// play runs a model in a test program at w×h, sends the script, then quits
// it from outside and returns the final model. The program handles sent
// messages in order, so the quit comes after the whole script.
func play(t *testing.T, opts Options, w, h int, script []tea.Msg) *Model {
	t.Helper()
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.TrueColor)))
	for _, msg := range script {
		tm.Send(msg)
	}
	// The program must really draw: wait for the task's name on the output.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("podtask")) },
		teatest.WithDuration(5*time.Second))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
}

// screen is the model's current screen and checks it fills w×h exactly.
func screen(t *testing.T, m *Model, w, h int) string {
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
	return content
}

func opts(sec int) Options {
	return Options{Task: "nightly-report", OnFinishAction: launch.DeleteSucceededPod, Now: fixedClock(sec)}
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		opts   Options
		w, h   int
		script []tea.Msg
		want   []string // must be on the screen
	}{
		{"waiting", opts(4), 80, 24, scheduled(),
			[]string{"Pending", "ContainerCreating", "once the container starts", "Scheduled", "node-1", "4s  ⠙ Pending", "q stops the task: the pod will be deleted"}},
		{"pull_failure", opts(30), 80, 24, pullFailure(),
			[]string{"Failed to start", "ImagePullBackOff", "the container never started", "▲ ×3 Failed to pull", "pod deleted", "finished — press q to exit"}},
		{"running_logs", opts(75), 80, 24, running(60),
			[]string{"Running", "step 060", "following", "60 lines", "1m15s"}},
		{"success_xcom", opts(99), 80, 24, success(),
			[]string{"✓ Succeeded", `"rows": 42000`, "exit 0", "pod deleted", "16s  ✓ Succeeded", "finished — press q to exit"}},
		{"failure_exit", opts(99), 80, 24, failure(),
			[]string{"Failed (exit 3)", "KeyError: 'region'", "Error exit 3", "BackoffLimitExceeded", "pod kept by keep_pod"}},
		{"narrow", opts(99), 60, 20, success(),
			[]string{"Succeeded", `"rows": 42000`, "finished — press q"}},
		{"wide", opts(99), 120, 30, success(),
			[]string{"Succeeded", `"shards": [`, "step 040"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := play(t, tc.opts, tc.w, tc.h, tc.script)
			plain := ansi.Strip(screen(t, m, tc.w, tc.h))
			for _, s := range tc.want {
				if !strings.Contains(plain, s) {
					t.Errorf("screen lacks %q:\n%s", s, plain)
				}
			}
			golden.RequireEqual(t, plain)
		})
	}
}

// colourSGR matches SGR sequences that set a colour (30-38, 40-48, 90-107).
var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]`)

func TestNoColor(t *testing.T) {
	o := opts(99)
	o.NoColor = true
	m := play(t, o, 80, 24, success())
	out := screen(t, m, 80, 24)
	if loc := colourSGR.FindStringIndex(out); loc != nil {
		t.Errorf("NoColor screen sets a colour at %d: %q", loc[0], out[max(loc[0]-10, 0):min(loc[1]+10, len(out))])
	}
	golden.RequireEqual(t, out) // attributes (bold, reverse) only
}

func TestColour(t *testing.T) {
	m := play(t, opts(99), 80, 24, success())
	out := screen(t, m, 80, 24)
	if !colourSGR.MatchString(out) {
		t.Fatal("the coloured screen has no colours")
	}
	golden.RequireEqual(t, out)
}

func TestResize(t *testing.T) {
	m := New(opts(99))
	for _, msg := range success() {
		m.Update(msg)
	}
	for _, size := range [][2]int{{80, 24}, {60, 20}, {132, 43}, {40, 12}, {100, 30}, {80, 24}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		screen(t, m, size[0], size[1])
	}
	m.Update(tea.WindowSizeMsg{Width: 10, Height: 5})
	if got := ansi.Strip(m.View().Content); !strings.Contains(got, "podta") {
		t.Errorf("tiny terminal: %q", got)
	}
}

func TestQuitStopsWithOnFinishActionThenLeavesAfterFinished(t *testing.T) {
	var rec stopRecorder
	o := opts(20)
	o.Stop = rec.stop
	tm := teatest.NewTestModel(t, New(o), teatest.WithInitialTermSize(80, 24))
	for _, msg := range running(5) {
		tm.Send(msg)
	}
	tm.Send(keyQ)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("stopping")) },
		teatest.WithDuration(5*time.Second))
	if got := rec.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("Stop causes = %v, want one nil cause", got)
	}
	// The engine answers with cleanup and Finished; then the screen quits.
	tm.Send(launch.Cleanup{At: at(21), Action: launch.DeleteSucceededPod, Deleted: false, Reason: "the task did not succeed"})
	res := &launch.Result{Outcome: launch.OutcomeInterrupted}
	tm.Send(launch.Finished{At: at(21), Result: res})
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if m.Result() != res {
		t.Errorf("Result() = %v, want the Finished result", m.Result())
	}
	if len(rec.get()) != 1 {
		t.Errorf("Stop called %d times, want 1", len(rec.get()))
	}
}

func TestDeleteAndKeepRequests(t *testing.T) {
	for _, tc := range []struct {
		key  rune
		want launch.OnFinishAction
		text string
	}{{'d', launch.DeletePod, "deleting the pod"}, {'k', launch.KeepPod, "keeping the pod"}} {
		var rec stopRecorder
		o := opts(20)
		o.Stop = rec.stop
		m := New(o)
		for _, msg := range running(1) {
			m.Update(msg)
		}
		m.Update(press(tc.key))
		got := rec.get()
		var sr *launch.StopRequest
		if len(got) != 1 || !errors.As(got[0], &sr) || sr.Action != tc.want {
			t.Fatalf("%c: Stop causes = %v, want StopRequest %s", tc.key, got, tc.want)
		}
		if s := ansi.Strip(m.View().Content); !strings.Contains(s, tc.text) {
			t.Errorf("%c: screen does not say %q", tc.key, tc.text)
		}
		// Finished after a request quits.
		_, cmd := m.Update(launch.Finished{At: at(21), Result: &launch.Result{Outcome: launch.OutcomeInterrupted}})
		if !isQuit(cmd) {
			t.Errorf("%c: Finished after a request does not quit", tc.key)
		}
	}
}

func TestSecondCtrlCLeavesAtOnce(t *testing.T) {
	var rec stopRecorder
	o := opts(20)
	o.Stop = rec.stop
	m := New(o)
	for _, msg := range running(1) {
		m.Update(msg)
	}
	if _, cmd := m.Update(keyCtrlC); isQuit(cmd) {
		t.Fatal("first Ctrl-C quit; it must stop the task and wait")
	}
	if _, cmd := m.Update(keyCtrlC); !isQuit(cmd) {
		t.Fatal("second Ctrl-C did not quit")
	}
	if got := rec.get(); len(got) != 1 || got[0] != nil {
		t.Fatalf("Stop causes = %v, want one nil cause", got)
	}
}

func TestFinishedStaysUntilQ(t *testing.T) {
	var rec stopRecorder
	o := opts(99)
	o.Stop = rec.stop
	m := New(o)
	var last tea.Cmd
	for _, msg := range success() {
		_, last = m.Update(msg)
	}
	if isQuit(last) {
		t.Fatal("the screen quit on Finished without ExitOnFinish")
	}
	if s := ansi.Strip(m.View().Content); !strings.Contains(s, "finished — press q to exit") {
		t.Errorf("screen does not say how to leave:\n%s", s)
	}
	if _, cmd := m.Update(press('d')); isQuit(cmd) {
		t.Error("d after the end quit")
	}
	if _, cmd := m.Update(keyQ); !isQuit(cmd) {
		t.Error("q after the end did not quit")
	}
	if got := rec.get(); len(got) != 0 {
		t.Errorf("Stop called after the task finished: %v", got)
	}

	o.ExitOnFinish = true
	m = New(o)
	for _, msg := range success() {
		_, last = m.Update(msg)
	}
	if !isQuit(last) {
		t.Error("ExitOnFinish: Finished did not quit")
	}
}

func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestCopyXCom(t *testing.T) {
	m := New(opts(99))
	_, cmd := m.Update(press('y'))
	if cmd != nil {
		t.Error("y without a result returned a command")
	}
	for _, msg := range success() {
		m.Update(msg)
	}
	_, cmd = m.Update(press('y'))
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	// tea.SetClipboard's message is unexported; its value is the text set.
	msg := cmd()
	if got := strings.TrimSpace(strings.TrimPrefix(fmtMsg(msg), "tea.setClipboardMsg")); got != `{"rows":42000,"shards":["a","b"],"ok":true,"skipped":null,"ratio":0.97}` {
		t.Errorf("clipboard message = %s", fmtMsg(msg))
	}
	if s := ansi.Strip(m.View().Content); !strings.Contains(s, "XCom copied") {
		t.Error("screen does not confirm the copy")
	}
}

func fmtMsg(msg tea.Msg) string { return fmt.Sprintf("%T %v", msg, msg) }

func TestScrollPausesFollowAndSearch(t *testing.T) {
	m := New(opts(20))
	for _, msg := range running(100) {
		m.Update(msg)
	}
	view := func() string { return ansi.Strip(m.View().Content) }
	if !strings.Contains(view(), "step 100") {
		t.Fatal("following view does not show the newest line")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyUp})
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	s := view()
	if strings.Contains(s, "step 100") || !strings.Contains(s, "paused") {
		t.Fatalf("after scrolling up the view still follows:\n%s", s)
	}
	// New lines do not move a paused view.
	before := s
	m.Update(launch.LogLine{At: at(9), Container: "base", Line: "a new line"})
	if after := view(); strings.Contains(after, "a new line") || bodyOf(after) != bodyOf(before) {
		t.Errorf("a paused view moved:\n%s", after)
	}
	// f follows again.
	m.Update(press('f'))
	if s := view(); !strings.Contains(s, "a new line") || !strings.Contains(s, "following") {
		t.Errorf("f did not follow:\n%s", s)
	}
	// Search for an old line jumps to it and highlights it.
	m.Update(press('/'))
	for _, r := range "STEP 007" {
		m.Update(press(r))
	}
	if s := view(); !strings.Contains(s, "/STEP 007") {
		t.Errorf("search prompt not shown:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if s := view(); !strings.Contains(s, "step 007") || strings.Contains(s, "step 100") {
		t.Errorf("search did not jump to the match:\n%s", s)
	}
	if !strings.Contains(m.View().Content, m.st.match.Render("step 007")) {
		t.Error("match is not highlighted")
	}
	m.Update(press('/'))
	for _, r := range "no such thing" {
		m.Update(press(r))
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if s := view(); !strings.Contains(s, "no match for") {
		t.Errorf("missing match not reported:\n%s", s)
	}
}

// bodyOf is the log panel's body lines (between the Logs title and the note).
func bodyOf(screen string) string {
	lines := strings.Split(screen, "\n")
	var out []string
	in := false
	for _, l := range lines {
		switch {
		case strings.Contains(l, "Logs"):
			in = true
		case strings.HasPrefix(l, "╰"):
			in = false
		case in:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestContainerFilterAndWrap(t *testing.T) {
	m := New(opts(20))
	for _, msg := range running(3) {
		m.Update(msg)
	}
	m.Update(launch.LogLine{At: at(9), Container: "airflow-xcom-sidecar", Line: "sidecar says hi"})
	s := ansi.Strip(m.View().Content)
	if !strings.Contains(s, "base │ step 003") || !strings.Contains(s, "airflow-xcom-sidecar │ sidecar says hi") {
		t.Fatalf("two containers: lines are not prefixed:\n%s", s)
	}
	m.Update(press('c')) // base only
	if s := ansi.Strip(m.View().Content); strings.Contains(s, "sidecar says hi") || !strings.Contains(s, "Logs · base") {
		t.Errorf("filter base:\n%s", s)
	}
	m.Update(press('c')) // sidecar only
	if s := ansi.Strip(m.View().Content); strings.Contains(s, "step 003") || !strings.Contains(s, "sidecar says hi") {
		t.Errorf("filter sidecar:\n%s", s)
	}
	m.Update(press('c')) // all again
	m.Update(launch.LogLine{At: at(9), Container: "base", Line: strings.Repeat("x", 150) + "END"})
	if s := ansi.Strip(m.View().Content); strings.Contains(s, "END") {
		t.Errorf("long line not cut without wrap")
	}
	m.Update(press('w'))
	if s := ansi.Strip(m.View().Content); !strings.Contains(s, "END") || !strings.Contains(s, "wrap") {
		t.Errorf("wrap did not wrap:\n%s", s)
	}
	screen(t, m, 80, 24)
}

func TestCleanStripsControlSequences(t *testing.T) {
	m := New(opts(20))
	m.Update(launch.LogLine{Container: "base", Line: "\x1b[31mred\x1b[0m\tand\x1b]0;title\x07 bell\x07"})
	s := m.View().Content
	if strings.Contains(s, "title") || strings.Contains(s, "\x07") || strings.Contains(s, "\x1b[31m") {
		t.Errorf("control sequences from the log reached the screen: %q", s)
	}
	if !strings.Contains(ansi.Strip(s), "red and bell") {
		t.Errorf("cleaned line lost its text: %q", ansi.Strip(s))
	}
}

func TestEnginePointersAndDone(t *testing.T) {
	m := New(opts(20))
	// The engine sends pointers; values and pointers draw the same.
	for _, msg := range running(3) {
		if ev, ok := msg.(launch.LogLine); ok {
			m.Update(&ev)
			continue
		}
		m.Update(msg)
	}
	m.Update(&launch.Notice{At: at(4), Level: "warning", Message: "log stream broke; resuming"})
	s := ansi.Strip(m.View().Content)
	for _, want := range []string{"step 003", "Running", "log stream broke"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	// Done without Finished: the engine failed early; the screen leaves.
	if _, cmd := m.Update(Done{Err: errors.New("boom")}); !isQuit(cmd) {
		t.Error("Done without Finished did not quit")
	}
	// Done after Finished changes nothing.
	m = New(opts(99))
	for _, msg := range success() {
		m.Update(msg)
	}
	if _, cmd := m.Update(Done{}); cmd != nil {
		t.Error("Done after Finished returned a command")
	}
	// A task interrupted from outside (a signal) leaves on Finished.
	m = New(opts(20))
	if _, cmd := m.Update(&launch.Finished{At: at(3), Result: &launch.Result{Outcome: launch.OutcomeInterrupted}}); !isQuit(cmd) {
		t.Error("an interrupted task's Finished did not quit")
	}
}

func TestFullHelpAndFocus(t *testing.T) {
	m := New(opts(99))
	for _, msg := range success() {
		m.Update(msg)
	}
	m.Update(press('?'))
	s := ansi.Strip(screen(t, m, 80, 24))
	for _, want := range []string{"next/prev match", "wrap", "container", "top/bottom"} {
		if !strings.Contains(s, want) {
			t.Errorf("full help lacks %q:\n%s", want, s)
		}
	}
	m.Update(press('?'))

	// tab: logs -> events -> xcom -> logs; the focused frame is drawn in
	// the accent colour and takes the scroll keys.
	if m.focus != panelLogs {
		t.Fatalf("initial focus %v", m.focus)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if m.focus != panelEvents {
		t.Fatalf("after tab focus %v, want events", m.focus)
	}
	if !strings.Contains(m.View().Content, m.st.focused.Render("╭")+m.st.focused.Render("─")+" "+m.st.panelTtl.Render("Events")) {
		t.Error("the events frame is not drawn as focused")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if m.focus != panelXCom {
		t.Fatalf("after two tabs focus %v, want xcom", m.focus)
	}
	before := ansi.Strip(m.View().Content)
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	after := ansi.Strip(m.View().Content)
	if before == after || !strings.Contains(after, `"ok": true`) {
		t.Errorf("down did not scroll the XCom panel:\n%s", after)
	}
	if !strings.Contains(after, "following") {
		t.Error("scrolling the XCom panel paused the log")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if m.focus != panelLogs {
		t.Errorf("after three tabs focus %v, want logs", m.focus)
	}
}

func TestLevelWordsAreColoured(t *testing.T) {
	m := New(opts(20))
	m.Update(launch.LogLine{Container: "base", Line: "2026-03-14 ERROR cannot reach db"})
	m.Update(launch.LogLine{Container: "base", Line: "WARN retrying"})
	m.Update(launch.LogLine{Container: "base", Line: "an error in prose stays plain"})
	out := m.View().Content
	if !strings.Contains(out, "2026-03-14 "+m.st.text[toneBad].Bold(true).Render("ERROR")+" cannot reach db") {
		t.Error("ERROR is not coloured")
	}
	if !strings.Contains(out, m.st.text[toneWait].Bold(true).Render("WARN")+" retrying") {
		t.Error("WARN is not coloured")
	}
	if !strings.Contains(out, "an error in prose stays plain") {
		t.Error("a lower-case error was decorated")
	}
}

func TestSummary(t *testing.T) {
	m := New(opts(99))
	if m.Summary() != "" {
		t.Error("summary before the end")
	}
	for _, msg := range success() {
		m.Update(msg)
	}
	want := `podtask: nightly-report Succeeded in 16s · pod/nightly-report-7k2xq deleted by delete_succeeded_pod · xcom {"rows":42000,"shards":["a","b"],"ok":true,"skipped":null,"ratio":0.97}`
	if got := m.Summary(); got != want {
		t.Errorf("summary:\n got %s\nwant %s", got, want)
	}
	m = New(opts(99))
	for _, msg := range failure() {
		m.Update(msg)
	}
	if got := m.Summary(); !strings.Contains(got, "Failed (exit 3) in 7s") || !strings.Contains(got, "kept by keep_pod; attach with") {
		t.Errorf("failure summary: %s", got)
	}
}

func TestFocusedEventsWrap(t *testing.T) {
	m := New(opts(30))
	for _, msg := range pullFailure() {
		m.Update(msg)
	}
	if s := ansi.Strip(m.View().Content); strings.Contains(s, "connection refused") {
		t.Fatalf("unfocused events are not cut:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	// The failure is above the newest rows: scroll up to it.
	for range 10 {
		if s := ansi.Strip(screen(t, m, 80, 24)); strings.Contains(s, "connection") && strings.Contains(s, "refused") {
			return
		}
		m.Update(tea.KeyPressMsg{Code: tea.KeyUp})
	}
	t.Errorf("focused events do not wrap the message:\n%s", ansi.Strip(m.View().Content))
}

func TestAttachCountsFromTheTaskStartAndSortsEvents(t *testing.T) {
	m := New(opts(60))
	m.Update(&launch.PodCreated{At: at(50), Pod: "p-1", Namespace: "default", Task: "t", Attached: true})
	m.Update(&launch.PodStatus{At: at(50), Phase: "Running", Containers: []launch.ContainerStatus{
		{Name: "base", State: "running", Started: t0.Add(10 * time.Second)},
	}})
	m.Update(&launch.KubeEvent{At: at(50), Type: "Normal", Reason: "Started", Message: "later", Last: t0.Add(10 * time.Second)})
	m.Update(&launch.KubeEvent{At: at(50), Type: "Normal", Reason: "Scheduled", Message: "earlier", Last: t0.Add(9 * time.Second)})
	s := ansi.Strip(m.View().Content)
	if !strings.Contains(s, "50s") || !strings.Contains(s, "(attached)") {
		t.Errorf("attached: elapsed should count from the container start (50s):\n%s", s)
	}
	if i, j := strings.Index(s, "earlier"), strings.Index(s, "later"); i < 0 || j < 0 || i > j {
		t.Errorf("events are not in time order:\n%s", s)
	}
}

// An event whose message starts with its reason shows the reason once.
func TestEventReasonShownOnce(t *testing.T) {
	for _, c := range []struct {
		reason, message, want string
		repeats               bool
	}{
		{"Started", "Started container base", "container base", true},
		{"Failed", "Failed to pull image", "to pull image", true},
		{"Scheduled", "Successfully assigned default/p to vm", "Successfully assigned default/p to vm", false},
		{"", " x", " x", false},
	} {
		if got, repeats := eventText(c.reason, c.message); got != c.want || repeats != c.repeats {
			t.Errorf("%q %q: %q %v, want %q %v", c.reason, c.message, got, repeats, c.want, c.repeats)
		}
	}
}

// The containers panel marks a waiting container as failing by launch's
// table of waiting reasons, the one the engine fails a start by.
func TestContainerLookReadsTheWaitingTable(t *testing.T) {
	for reason, bad := range map[string]bool{
		"ContainerCreating": false, "SomethingNew": false,
		"ErrImagePull": true, "PreStartHookError": true, "PostStartHookError": true, "CrashLoopBackOff": true,
	} {
		icon, tn, _ := containerLook(launch.ContainerStatus{Name: "base", State: "waiting", Reason: reason})
		if got := icon == "✗" && tn == toneBad; got != bad || got != launch.WaitingReason(reason).Bad() {
			t.Errorf("%s: icon %q tone %v, want bad=%v", reason, icon, tn, bad)
		}
	}
}

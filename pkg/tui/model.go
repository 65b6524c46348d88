// Package tui is the live terminal screen of `kubectl podtask run --tui` and
// `attach --tui`: a Bubble Tea v2 model that draws what the launch engine
// reports. It only consumes launch events; it never calls the API.
//
// Feeding it: every launch event type is a tea.Msg, so Update accepts
// launch.Event values directly (program.Send(ev)). For a live run use
// Model.Sink, which sends the rare events to the program and writes log
// lines straight into the model's bounded ring, so that 100k lines per
// second cost a lock and an append each rather than a trip through the
// program's event loop; the screen picks new lines up on its next frame.
//
// Stopping: the screen never stops anything itself. q and Ctrl-C call
// Options.Stop(nil) (the task's own on-finish action applies), d calls it
// with &launch.StopRequest{Action: launch.DeletePod} and k with KeepPod. The
// screen then shows the cleanup and quits after the Finished event, or at
// once on a second q or Ctrl-C.
package tui

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// frameInterval is how often the screen redraws while something moves
// (spinner, clock, new log lines). Log lines are coalesced between frames.
const frameInterval = 80 * time.Millisecond

// panel names the focusable panels.
type panel int

const (
	panelLogs panel = iota
	panelEvents
	panelXCom
	panelCount
)

// frameMsg drives redraws while the task runs.
type frameMsg struct{}

// Model is the root model. Create it with New; it is used by pointer.
type Model struct {
	opts   Options
	st     styles
	keys   keyMap
	help   help.Model
	width  int
	height int

	hdr    header
	conts  containers
	events eventsView
	logs   logView
	xcom   xcomView

	focus    panel
	stopping string // what the user asked for ("", "stop", "delete", "keep")
	ticking  bool
	status   string // a short message for the status line (e.g. after y)

	cache    string // last rendered screen
	dirty    bool
	lastSpin int    // spinner frame drawn last
	lastEl   string // elapsed text drawn last
	lastGen  int64  // ring sequence drawn last
}

// New returns the screen's root model.
func New(opts Options) *Model {
	st := newStyles(opts.NoColor)
	h := help.New()
	h.Styles = st.help
	m := &Model{
		opts:  opts,
		st:    st,
		keys:  newKeyMap(),
		help:  h,
		hdr:   header{task: opts.Task, uiStart: opts.now()},
		logs:  newLogView(opts.maxLogLines()),
		xcom:  newXComView(),
		dirty: true,
	}
	m.events = newEventsView()
	m.width, m.height = 80, 24
	return m
}

// Sink returns a launch.Sink feeding this model while it runs in a program:
// log lines go into the model's ring directly (safe for concurrent use);
// every other event is passed to send, usually (*tea.Program).Send.
func (m *Model) Sink(send func(tea.Msg)) launch.Sink {
	r := m.logs.ring
	return func(ev launch.Event) {
		switch ev := ev.(type) {
		case launch.LogLine:
			r.add(ev.Container, ev.Line)
		case *launch.LogLine:
			r.add(ev.Container, ev.Line)
		default:
			send(ev)
		}
	}
}

// Result is the engine's result once Finished has arrived, else nil.
func (m *Model) Result() *launch.Result { return m.hdr.result }

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	m.ticking = true
	return tick()
}

func tick() tea.Cmd {
	return tea.Tick(frameInterval, func(time.Time) tea.Msg { return frameMsg{} })
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.dirty = true
		return m, nil
	case frameMsg:
		if m.hdr.finished() && m.logs.ring.snap().next == m.lastGen {
			m.ticking = false // nothing moves any more: stop redrawing
			return m, nil
		}
		return m, tick()
	case tea.KeyPressMsg:
		return m.onKey(msg)
	case Done:
		if m.hdr.finished() {
			return m, nil
		}
		// The engine ended without a Finished event (it failed before it
		// could follow the task): leave, the caller reports the error.
		return m, tea.Quit
	case launch.Event:
		switch ev := deref(msg).(type) {
		case launch.LogLine:
			m.logs.ring.add(ev.Container, ev.Line)
			return m, m.ensureTicking()
		default:
			return m.onEvent(ev)
		}
	}
	return m, nil
}

// Done tells the screen the engine has returned. Send it after the engine's
// Run or Attach returns: it makes the screen quit if the engine ended
// without a Finished event; otherwise it changes nothing.
type Done struct {
	Result *launch.Result
	Err    error
}

// deref turns the engine's event pointers into values; Update accepts both.
func deref(ev launch.Event) launch.Event {
	switch e := ev.(type) {
	case *launch.StageChanged:
		return *e
	case *launch.PodCreated:
		return *e
	case *launch.PodStatus:
		return *e
	case *launch.KubeEvent:
		return *e
	case *launch.LogLine:
		return *e
	case *launch.Notice:
		return *e
	case *launch.XComResult:
		return *e
	case *launch.Cleanup:
		return *e
	case *launch.Finished:
		return *e
	case *launch.TryStarted:
		return *e
	case *launch.Retrying:
		return *e
	}
	return ev
}

func (m *Model) ensureTicking() tea.Cmd {
	if m.ticking {
		return nil
	}
	m.ticking = true
	return tick()
}

func (m *Model) onEvent(ev launch.Event) (tea.Model, tea.Cmd) {
	m.dirty = true
	switch ev := ev.(type) {
	case launch.StageChanged:
		m.hdr.stage = ev.Stage
		m.hdr.ran = m.hdr.ran || ev.Stage == launch.StageRunning
	case launch.PodCreated:
		m.hdr.pod, m.hdr.namespace, m.hdr.runID = ev.Pod, ev.Namespace, ev.RunID
		if ev.Task != "" {
			m.hdr.task = ev.Task
		}
		m.hdr.attached = ev.Attached
		if m.hdr.created.IsZero() {
			m.hdr.created = ev.Time
		}
	case launch.PodStatus:
		m.hdr.phase = ev.Phase
		m.hdr.ran = m.hdr.ran || ev.Phase == "Running" || ev.Phase == "Succeeded" || ev.Phase == "Failed"
		if ev.Node != "" {
			m.hdr.node = ev.Node
		}
		m.hdr.podReason = ev.Reason
		m.conts.set(ev)
		for _, cs := range m.conts.list {
			if !cs.Started.IsZero() && (m.hdr.firstStart.IsZero() || cs.Started.Before(m.hdr.firstStart)) {
				m.hdr.firstStart = cs.Started
			}
		}
	case launch.KubeEvent:
		m.events.addKube(ev)
	case launch.Notice:
		m.events.addNotice(ev)
	case launch.XComResult:
		m.xcom.set(ev.Present, ev.Value, m.st)
		m.keys.Copy.SetEnabled(m.xcom.present)
	case launch.Cleanup:
		c := ev
		m.hdr.cleanup = &c
		m.events.addCleanup(ev)
	case launch.Finished:
		m.hdr.result = ev.Result
		m.keys.finished()
		m.hdr.finishedAt = ev.Time
		if r := ev.Result; r != nil {
			if r.Node != "" && m.hdr.node == "" {
				m.hdr.node = r.Node
			}
			if r.Phase != "" {
				m.hdr.phase = r.Phase
			}
			if !m.xcom.has && r.HasXCom {
				m.xcom.set(true, r.XCom, m.st)
				m.keys.Copy.SetEnabled(true)
			}
		}
		interrupted := ev.Result != nil && ev.Result.Outcome == launch.OutcomeInterrupted
		if m.stopping != "" || m.opts.ExitOnFinish || interrupted {
			// Asked to stop (here, or by a signal to the process): leave.
			return m, tea.Quit
		}
		return m, m.ensureTicking()
	}
	return m, nil
}

func (m *Model) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	m.dirty = true
	if m.logs.searching {
		m.logs.searchKey(msg)
		return m, nil
	}
	m.status = ""
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		switch {
		case m.hdr.finished() || m.stopping != "":
			// finished, or asked twice: leave now
			return m, tea.Quit
		default:
			m.stopping = "stop"
			m.opts.stop(nil)
		}
	case key.Matches(msg, k.Delete):
		m.request("delete", launch.DeletePod)
	case key.Matches(msg, k.Keep):
		m.request("keep", launch.KeepPod)
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Tab):
		m.cycleFocus(1)
	case key.Matches(msg, k.BackTab):
		m.cycleFocus(-1)
	case key.Matches(msg, k.Copy):
		if !m.xcom.has {
			m.status = "no XCom result yet"
			return m, nil
		}
		m.status = "XCom copied to the clipboard"
		return m, tea.SetClipboard(m.xcom.raw)
	case key.Matches(msg, k.Search):
		m.focus = panelLogs
		m.logs.startSearch()
	case key.Matches(msg, k.Follow):
		m.focus = panelLogs
		m.logs.follow = true
	case k.logKeys.onKey(msg, &m.logs):
	case msg.String() == "esc":
		m.logs.query = ""
	default:
		m.scroll(msg)
	}
	return m, nil
}

// request asks the engine to stop with an explicit action.
func (m *Model) request(what string, action launch.OnFinishAction) {
	if m.hdr.finished() {
		m.status = "the task has finished; nothing to stop"
		return
	}
	if m.stopping == what {
		return
	}
	m.stopping = what
	m.opts.stop(&launch.StopRequest{Action: action})
}

func (m *Model) cycleFocus(d int) {
	for range panelCount {
		m.focus = (m.focus + panel(d) + panelCount) % panelCount
		if m.focus != panelXCom || m.xcom.has {
			return
		}
	}
}

func (m *Model) scroll(msg tea.KeyPressMsg) {
	k := m.keys
	page := max(m.layout().logRows-1, 1)
	n, ok := k.step(msg, page)
	if !ok {
		return
	}
	switch m.focus {
	case panelLogs:
		m.logs.scroll(n, m.layout().logRows)
	case panelEvents:
		m.events.scroll(n)
	case panelXCom:
		m.xcom.scroll(n)
	}
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	now := m.opts.now()
	spin := m.hdr.spinFrame(now)
	el := m.hdr.elapsedText(now)
	gen := m.logs.ring.snap().next
	if m.dirty || spin != m.lastSpin || el != m.lastEl || gen != m.lastGen || m.cache == "" {
		m.cache = m.render(now)
		m.dirty, m.lastSpin, m.lastEl, m.lastGen = false, spin, el, gen
	}
	v := tea.NewView(m.cache)
	v.AltScreen = true
	v.WindowTitle = "podtask " + m.hdr.taskName()
	return v
}

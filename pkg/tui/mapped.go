// The screen of a mapped run (`run --each ITEMS --tui`): a task list with a
// row per item (index, params, pod, try, state, duration, exit code) and a
// counter line, and the selected item's logs, events and XCom result.
//
// Feeding it: MapModel.Sink is the mapped run's sink (launch.MapOptions.Sink).
// Log lines go straight into the item's own bounded ring; every other event
// is queued, and the program is woken once for all that queued up since it
// last looked, so a burst of events from a thousand items costs one update
// and one frame. When the run has returned, send MapDone.
//
// Stopping is as on the single task's screen: q and Ctrl-C call
// Options.Stop(nil) (every pod of the run gets its on-finish action), d calls
// it with a StopRequest to delete every pod; the screen shows the cleanup and
// quits once the run has returned, or at once on a second q or Ctrl-C. A
// Job's screen (MapOptions.Job) leaves instead: q leaves the Job running, d
// deletes it.

package tui

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// MapItem is what the screen is told about an item before the run starts.
type MapItem struct {
	Params string // the item's params, short ("day=2026-01-01 rows=10")
	Pod    string // its first try's pod
}

// MapOptions configure the screen of a mapped run.
type MapOptions struct {
	Options
	RunID       string
	Namespace   string
	Parallelism int
	// Tries is how many tries each item may take (retries + 1); the list
	// has a try column when it is more than one.
	Tries int
	Items []MapItem
	// Job is the name of the Job the run is (run --as-job), whose
	// controller keeps it going: q leaves it running, d deletes it.
	Job string
}

// minItemLogLines is the fewest log lines an item keeps, however many items.
const minItemLogLines = 200

// itemLogLines is each item's ring size: MaxLogLines shared by the items,
// but never fewer than minItemLogLines (nor more than MaxLogLines).
func (o MapOptions) itemLogLines() int {
	total := o.maxLogLines()
	return min(max(total/max(len(o.Items), 1), minItemLogLines), total)
}

// ItemEvent is one event of a mapped run: Index is the item's, -1 for the
// run itself. Update accepts it directly; Sink queues them instead.
type ItemEvent struct {
	Index int
	Event launch.Event
}

// MapDone tells the screen the mapped run has returned. Results are in item
// order; Err is the run's own error (its watches could not start);
// Interrupted says the run was cancelled, by the screen or by a signal.
type MapDone struct {
	Results     []launch.ItemResult
	Err         error
	Interrupted bool
}

// wakeMsg says events are queued in the inbox.
type wakeMsg struct{}

// inbox queues the engine's events between two updates of the program.
type inbox struct {
	mu    sync.Mutex
	evs   []ItemEvent
	woken bool // a wakeMsg is on its way and the queue not taken yet
}

func (b *inbox) put(ev ItemEvent, send func(tea.Msg)) {
	b.mu.Lock()
	b.evs = append(b.evs, ev)
	wake := !b.woken
	b.woken = true
	b.mu.Unlock()
	if wake {
		send(wakeMsg{})
	}
}

func (b *inbox) take() []ItemEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	evs := b.evs
	b.evs, b.woken = nil, false
	return evs
}

// MapModel is the root model of a mapped run's screen. Create it with
// NewMapped; it is used by pointer.
type MapModel struct {
	opts   MapOptions
	st     styles
	keys   mapKeyMap
	help   help.Model
	width  int
	height int

	items  []mapItem
	rings  []atomic.Pointer[ring] // each item's log, made on its first line
	noLogs *ring                  // drawn for an item without a line yet
	in     inbox
	runLog eventList // the run's own notices (index -1)

	sel    int // the selected item
	top    int // the first item row drawn
	focus  mapPanel
	logs   logView // the selected item's log, on its ring
	events eventsView
	xcom   xcomView
	xcomOf int // the item xcom shows, -1 for none

	podW, paramsW int // widest pod name and params seen, for the columns

	started  time.Time
	done     *MapDone
	doneAt   time.Time
	stopping string // "", "stop" or "delete"
	ticking  bool
	status   string

	cache   string
	dirty   bool
	lastKey frameKey
}

// mapPanel names the focusable panels.
type mapPanel int

const (
	mapList mapPanel = iota
	mapLogs
	mapEvents
	mapXCom
	mapPanelCount
)

// frameKey is what, besides an update, changes the screen: the spinner,
// the clock of running items, new lines in the selected item's log.
type frameKey struct {
	spin int
	sec  int64
	gen  int64
	ring *ring
}

// NewMapped returns the screen of a mapped run.
func NewMapped(opts MapOptions) *MapModel {
	st := newStyles(opts.NoColor)
	h := help.New()
	h.Styles = st.help
	m := &MapModel{
		opts:    opts,
		st:      st,
		keys:    newMapKeyMap(opts.Job != ""),
		help:    h,
		items:   make([]mapItem, len(opts.Items)),
		rings:   make([]atomic.Pointer[ring], len(opts.Items)),
		noLogs:  newRing(1),
		runLog:  eventList{limit: maxItemEventRows},
		events:  newEventsView(),
		xcom:    newXComView(),
		xcomOf:  -1,
		started: opts.now(),
		dirty:   true,
		width:   80,
		height:  24,
	}
	for i, it := range opts.Items {
		m.items[i] = newMapItem(it, opts.Tries)
		m.podW = max(m.podW, len(it.Pod))
		m.paramsW = max(m.paramsW, len(it.Params))
	}
	m.logs = logView{ring: m.noLogs, follow: true}
	return m
}

// Sink returns the mapped run's sink feeding this model while it runs in a
// program (send is usually (*tea.Program).Send). It is safe for concurrent
// use: log lines go into the item's ring, other events into the inbox.
func (m *MapModel) Sink(send func(tea.Msg)) func(index int, ev launch.Event) {
	return func(i int, ev launch.Event) {
		if i >= 0 && i < len(m.rings) {
			switch ll := ev.(type) {
			case *launch.LogLine:
				m.ringFor(i).add(ll.Container, ll.Line)
				return
			case launch.LogLine:
				m.ringFor(i).add(ll.Container, ll.Line)
				return
			}
		}
		m.in.put(ItemEvent{Index: i, Event: ev}, send)
	}
}

// ringFor is item i's ring, made on first use.
func (m *MapModel) ringFor(i int) *ring {
	if r := m.rings[i].Load(); r != nil {
		return r
	}
	r := newRing(m.opts.itemLogLines())
	if m.rings[i].CompareAndSwap(nil, r) {
		return r
	}
	return m.rings[i].Load()
}

// ringOf is item i's ring, or the empty one when it has no line yet.
func (m *MapModel) ringOf(i int) *ring {
	if i >= 0 && i < len(m.rings) {
		if r := m.rings[i].Load(); r != nil {
			return r
		}
	}
	return m.noLogs
}

// Finished says whether the run has returned (MapDone arrived).
func (m *MapModel) Finished() bool { return m.done != nil }

// Init implements tea.Model.
func (m *MapModel) Init() tea.Cmd {
	m.ticking = true
	return tick()
}

// Update implements tea.Model.
func (m *MapModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.dirty = true
	case frameMsg:
		if m.done != nil && m.frameKey(m.opts.now()) == m.lastKey {
			m.ticking = false // nothing moves any more
			return m, nil
		}
		return m, tick()
	case wakeMsg:
		for _, ev := range m.in.take() {
			m.apply(ev)
		}
	case ItemEvent:
		m.apply(msg)
	case MapDone:
		return m.onDone(msg)
	case tea.KeyPressMsg:
		return m.onKey(msg)
	}
	return m, nil
}

// apply folds one event in: an item's, or a notice of the run's.
func (m *MapModel) apply(ev ItemEvent) {
	m.dirty = true
	if ev.Index < 0 || ev.Index >= len(m.items) {
		if n, ok := deref(ev.Event).(launch.Notice); ok {
			m.runLog.addNotice(n)
		}
		return
	}
	it := &m.items[ev.Index]
	if ll, ok := deref(ev.Event).(launch.LogLine); ok {
		m.ringFor(ev.Index).add(ll.Container, ll.Line)
		return
	}
	it.apply(ev.Event)
	m.podW = max(m.podW, len(it.pod))
	switch deref(ev.Event).(type) {
	case launch.XComResult, launch.Finished:
		if ev.Index == m.xcomOf {
			m.xcomOf = -1 // load the result again on the next frame
		}
	}
}

func (m *MapModel) onDone(d MapDone) (tea.Model, tea.Cmd) {
	for _, ev := range m.in.take() {
		m.apply(ev)
	}
	m.dirty = true
	if d.Results == nil && d.Err != nil {
		// The run could not start: leave, the caller reports the error.
		m.done = &d
		return m, tea.Quit
	}
	for _, r := range d.Results {
		if r.Index >= 0 && r.Index < len(m.items) {
			m.items[r.Index].finish(r)
		}
	}
	m.done, m.doneAt = &d, m.opts.now()
	m.xcomOf = -1
	m.keys.finished()
	if m.stopping != "" || m.opts.ExitOnFinish || d.Interrupted {
		return m, tea.Quit
	}
	return m, m.ensureTicking()
}

func (m *MapModel) ensureTicking() tea.Cmd {
	if m.ticking {
		return nil
	}
	m.ticking = true
	return tick()
}

// counts is how many items are in each state.
func (m *MapModel) counts() [stateCount]int {
	var c [stateCount]int
	for i := range m.items {
		c[m.items[i].state()]++
	}
	return c
}

// failedLike says whether an item counts as not succeeded for f/F.
func failedLike(s itemState) bool { return s == stateFailed || s == stateStopped }

func (m *MapModel) onKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	m.dirty = true
	m.syncSelection()
	if m.logs.searching {
		m.logs.searchKey(msg)
		return m, nil
	}
	m.status = ""
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		if m.done != nil || m.stopping != "" {
			return m, tea.Quit // over, or asked twice: leave now
		}
		m.stopping = "stop"
		m.opts.stop(nil)
	case key.Matches(msg, k.Delete):
		switch {
		case m.done != nil:
			m.status = "the run has finished; nothing to stop"
		case m.stopping != "delete":
			m.stopping = "delete"
			m.opts.stop(&launch.StopRequest{Action: launch.DeletePod})
		}
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Tab):
		m.cycleFocus(1)
	case key.Matches(msg, k.BackTab):
		m.cycleFocus(-1)
	case key.Matches(msg, k.Open):
		m.focus = mapLogs
	case key.Matches(msg, k.NextFailed):
		m.jumpFailed(1)
	case key.Matches(msg, k.PrevFailed):
		m.jumpFailed(-1)
	case key.Matches(msg, k.Copy):
		it := &m.items[m.sel]
		if it.xcomValue == nil {
			m.status = "this item has no XCom result"
			return m, nil
		}
		m.status = "XCom of item " + strconv.Itoa(m.sel) + " copied to the clipboard"
		m.syncXCom()
		return m, tea.SetClipboard(m.xcom.raw)
	case key.Matches(msg, k.Search):
		m.focus = mapLogs
		m.logs.startSearch()
	case k.logKeys.onKey(msg, &m.logs):
	case msg.String() == "esc":
		if m.logs.query != "" {
			m.logs.query = ""
		} else {
			m.focus = mapList
		}
	default:
		m.move(msg)
	}
	return m, nil
}

// jumpFailed selects the next item (d 1) or the previous one (-1) that did
// not succeed, wrapping around.
func (m *MapModel) jumpFailed(d int) {
	n := len(m.items)
	for step := 1; step <= n; step++ {
		i := ((m.sel+d*step)%n + n) % n
		if failedLike(m.items[i].state()) {
			m.selectItem(i)
			m.focus = mapList
			return
		}
	}
	m.status = "no item has failed"
}

func (m *MapModel) cycleFocus(d int) {
	l := m.layout()
	for range mapPanelCount {
		m.focus = (m.focus + mapPanel(d) + mapPanelCount) % mapPanelCount
		switch m.focus {
		case mapLogs:
			if l.logRows > 0 {
				return
			}
		case mapEvents:
			if l.evRows > 0 {
				return
			}
		case mapXCom:
			if l.xcomRows > 0 {
				return
			}
		default:
			return
		}
	}
}

// move is a movement key: it moves the selection in the list, else scrolls
// the focused panel.
func (m *MapModel) move(msg tea.KeyPressMsg) {
	k := m.keys
	l := m.layout()
	rows := l.listRows
	if m.focus == mapLogs {
		rows = l.logRows
	}
	page := max(rows-1, 1)
	n, ok := k.step(msg, page)
	if !ok {
		return
	}
	switch m.focus {
	case mapList:
		m.selectItem(min(max(m.sel+n, 0), len(m.items)-1))
	case mapLogs:
		m.logs.scroll(n, l.logRows)
	case mapEvents:
		m.events.scroll(n)
	case mapXCom:
		m.xcom.scroll(n)
	}
}

// selectItem makes item i the selected one: its log follows from the
// newest line, its events from the newest row.
func (m *MapModel) selectItem(i int) {
	if i < 0 || i >= len(m.items) || i == m.sel {
		return
	}
	m.sel = i
	m.logs = logView{ring: m.ringOf(i), follow: true, wrap: m.logs.wrap}
	m.events.follow = true
	m.events.vp.GotoTop()
	m.xcomOf = -1
	m.xcom.vp.GotoTop()
}

// syncSelection points the log view at the selected item's ring (made
// after the selection when its first line came later).
func (m *MapModel) syncSelection() {
	if len(m.items) == 0 {
		return
	}
	if r := m.ringOf(m.sel); m.logs.ring != r {
		m.logs.ring = r
	}
}

// syncXCom loads the selected item's result into the XCom view.
func (m *MapModel) syncXCom() {
	if m.xcomOf == m.sel || len(m.items) == 0 {
		return
	}
	it := &m.items[m.sel]
	m.xcomOf = m.sel
	// A result, or the news that an item that succeeded wrote none; a
	// failed item's missing result is no news.
	if !it.hasXCom || it.xcomValue == nil && it.state() != stateSucceeded {
		m.xcom.has, m.xcom.present, m.xcom.raw, m.xcom.lines = false, false, "", nil
		m.keys.Copy.SetEnabled(false)
		return
	}
	m.xcom.set(it.xcomValue != nil, it.xcomValue, m.st)
	m.keys.Copy.SetEnabled(m.xcom.present)
}

// frameKey is the state of what moves without an update.
func (m *MapModel) frameKey(now time.Time) frameKey {
	r := m.ringOf(m.sel)
	k := frameKey{gen: r.snap().next, ring: r, spin: -1}
	if m.done == nil {
		k.spin = int(now.UnixMilli()/spin.FPS.Milliseconds()) % len(spin.Frames)
		k.sec = now.Unix()
	}
	return k
}

// View implements tea.Model. A frame is drawn again only when something on
// it changed: an update, the spinner, a second of the clock, a new line of
// the selected item's log.
func (m *MapModel) View() tea.View {
	now := m.opts.now()
	m.syncSelection()
	k := m.frameKey(now)
	if m.dirty || k != m.lastKey || m.cache == "" {
		m.syncXCom()
		m.cache = m.render(now)
		m.dirty, m.lastKey = false, k
	}
	v := tea.NewView(m.cache)
	v.AltScreen = true
	v.WindowTitle = "podtask " + m.taskName() + " (" + strconv.Itoa(len(m.items)) + " items)"
	return v
}

func (m *MapModel) taskName() string {
	if m.opts.Task != "" {
		return m.opts.Task
	}
	if len(m.items) > 0 {
		return m.items[0].pod
	}
	return "run"
}

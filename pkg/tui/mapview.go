// How a mapped run's screen is laid out and drawn: the header and counter
// line, the task list (only the rows that fit are drawn), the selected
// item's log, events and XCom, the status line and the help.

package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// mapLayout is where everything goes for the current size. Row counts are
// inside the frames; 0 hides a panel.
type mapLayout struct {
	listRows   int // item rows, below the column header
	logW       int
	logRows    int
	sideW      int // the events (and XCom) column at the right of the log
	evRows     int
	xcomRows   int
	xcomBelow  bool // the XCom panel is below the log (narrow screens)
	footerRows int
}

func (m *MapModel) layout() mapLayout {
	m.syncXCom()
	w, h := m.width, m.height
	var l mapLayout
	m.help.SetWidth(w)
	// The full help shows the columns that fit: count the lines it draws.
	l.footerRows = 1 + len(strings.Split(m.help.View(m.keys), "\n"))
	avail := h - 2 - l.footerRows // below the header, above the footer

	// The list takes what its rows need, up to two fifths of the screen.
	inner := min(len(m.items)+1, max(avail*2/5, 4))
	if avail-inner-2 < 5 {
		// Too short for the detail: the list alone.
		l.listRows = max(avail-3, 1)
		return l
	}
	l.listRows = inner - 1
	detail := avail - inner - 2 // rows of the detail's frames, borders included
	hasX := m.xcom.has
	if w >= 90 {
		l.sideW = min(max(w*2/5, 30), 60)
		l.logW = w - l.sideW
		l.logRows = detail - 2
		l.evRows = detail - 2
		if hasX {
			xh := max(min(m.xcom.height()+2, detail/2), 3)
			l.xcomRows = xh - 2
			if l.evRows = detail - xh - 2; l.evRows < 1 {
				l.evRows, l.xcomRows = 0, detail-2
			}
		}
		return l
	}
	l.logW = w
	l.logRows = detail - 2
	if hasX {
		xh := max(min(m.xcom.height()+2, detail/3), 3)
		if detail-xh-2 >= 1 {
			l.xcomRows, l.xcomBelow = xh-2, true
			l.logRows = detail - xh - 2
		}
	}
	return l
}

// render draws the whole screen.
func (m *MapModel) render(now time.Time) string {
	w := m.width
	if w < 30 || m.height < 8 || len(m.items) == 0 {
		return fit("podtask: the terminal is too small", w)
	}
	st := m.st
	l := m.layout()
	out := []string{m.headerLine(now), m.counterLine()}

	m.clampTop(l.listRows)
	title := st.panelTtl.Render("Items")
	note := fmt.Sprintf("%d of %d", m.sel+1, len(m.items))
	out = append(out, st.frame(title, note, m.listBody(now, w-3, l.listRows), w, l.listRows+3, m.focus == mapList))

	if l.logRows > 0 {
		tag := st.prefix.Render("[" + strconv.Itoa(m.sel) + "]")
		body, lnote := m.logBody(l.logW-3, l.logRows)
		logs := st.frame(tag+" "+m.logs.title(st), lnote, body, l.logW, l.logRows+2, m.focus == mapLogs)
		switch {
		case l.sideW > 0:
			var side []string
			if l.xcomRows > 0 {
				side = append(side, m.xcomFrame(tag, l.sideW, l.xcomRows+2))
			}
			if l.evRows > 0 {
				m.events.rows = m.items[m.sel].events.rows
				evBody := m.events.view(st, l.sideW-3, l.evRows, m.focus == mapEvents)
				side = append(side, st.frame(tag+" "+st.panelTtl.Render("Events"), "", evBody, l.sideW, l.evRows+2, m.focus == mapEvents))
			}
			out = append(out, joinH(logs, strings.Join(side, "\n")))
		case l.xcomBelow:
			out = append(out, logs, m.xcomFrame(tag, w, l.xcomRows+2))
		default:
			out = append(out, logs)
		}
	}

	out = append(out, footer(m.statusLine(now), &m.help, m.keys, w)...)
	return strings.Join(out, "\n")
}

// headerLine is the run's name, its clock and its badge.
func (m *MapModel) headerLine(now time.Time) string {
	st := m.st
	label, tn := m.badge()
	if m.done == nil {
		label = spin.Frames[int(now.UnixMilli()/spin.FPS.Milliseconds())%len(spin.Frames)] + " " + label
	}
	end := now
	if m.done != nil {
		end = m.doneAt
	}
	start := m.started
	for i := range m.items {
		if t := m.items[i].start; !t.IsZero() && t.Before(start) {
			start = t // the clock counts from the first pod's create
		}
	}
	right := st.elapsed.Render(humanDuration(max(end.Sub(start), 0))) + " " + st.badge[tn].Render(label)
	left := st.title.Render("podtask") + " " + st.task.Render(m.taskName())
	if m.opts.RunID != "" {
		left += st.dim.Render(" · run " + m.opts.RunID)
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		left = ansi.Truncate(left, max(m.width-ansi.StringWidth(right)-1, 0), "…")
		gap = m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	}
	return fit(left+strings.Repeat(" ", max(gap, 1))+right, m.width)
}

// badge is the run's state: running, stopping, or how it ended.
func (m *MapModel) badge() (string, tone) {
	if m.done == nil {
		switch {
		case m.stopping == "":
			return "Running", toneInfo
		case m.opts.Job != "" && m.stopping == "stop":
			return "Leaving", toneWarn
		}
		return "Stopping", toneWarn
	}
	if m.done.Interrupted {
		if m.opts.Job != "" && m.stopping != "delete" {
			return "■ Left running", toneWarn
		}
		return "■ Interrupted", toneWarn
	}
	c := m.counts()
	if bad := len(m.items) - c[stateSucceeded]; bad > 0 {
		return fmt.Sprintf("✗ %d of %d failed", bad, len(m.items)), toneBad
	}
	return "✓ Succeeded", toneOK
}

// counterLine counts the items by state, with the run's bounds.
func (m *MapModel) counterLine() string {
	st := m.st
	c := m.counts()
	part := func(n int, tn tone, icon, word string) string {
		s := icon + " " + strconv.Itoa(n) + " " + word
		if n == 0 {
			return st.dim.Render(s)
		}
		return st.text[tn].Render(s)
	}
	parts := []string{
		part(c[stateActive], toneInfo, "●", "running"),
		part(c[stateSucceeded], toneOK, "✓", "succeeded"),
		part(c[stateFailed], toneBad, "✗", "failed"),
	}
	if c[stateStopped] > 0 {
		parts = append(parts, part(c[stateStopped], toneWarn, "■", "interrupted"))
	}
	if c[stateSkipped] > 0 {
		parts = append(parts, part(c[stateSkipped], toneNone, "–", "skipped"))
	}
	parts = append(parts, part(c[statePending], toneWait, "·", "pending"))
	s := " " + strings.Join(parts, "  ") + st.dim.Render(fmt.Sprintf("  of %d", len(m.items)))
	var more []string
	if m.opts.Parallelism > 0 {
		more = append(more, fmt.Sprintf("at most %d at once", m.opts.Parallelism))
	}
	if m.opts.Namespace != "" {
		more = append(more, "ns "+m.opts.Namespace)
	}
	if len(more) > 0 {
		s += st.dim.Render("  ·  " + strings.Join(more, "  ·  "))
	}
	return fit(s, m.width)
}

// clampTop keeps the selected row in the window of rows drawn.
func (m *MapModel) clampTop(rows int) {
	rows = max(rows, 1)
	if m.sel < m.top {
		m.top = m.sel
	}
	if m.sel >= m.top+rows {
		m.top = m.sel - rows + 1
	}
	m.top = max(min(m.top, len(m.items)-rows), 0)
}

// columns are the list's column widths for an inside of w cells.
type columns struct {
	idx, params, pod, try, state, time, exit int
}

const colGap = 2

func (m *MapModel) columns(w int) columns {
	c := columns{idx: max(len(strconv.Itoa(len(m.items)-1)), 1), state: 20, time: 6, exit: 4}
	if m.opts.Tries > 1 {
		c.try = 5
	}
	fixed := 2 + c.idx + colGap + colGap + colGap + c.state + colGap + c.time + colGap + c.exit
	if c.try > 0 {
		fixed += c.try + colGap
	}
	rem := max(w-fixed, 6)
	// Both fit, or the params give way first, down to a third.
	c.params = min(max(m.paramsW, 6), max(rem-max(m.podW, 3), rem/3))
	c.pod = max(min(max(m.podW, 3), rem-c.params), 3)
	return c
}

// listBody is the column header and the rows that fit, nothing more: a
// thousand items cost what the visible ones do.
func (m *MapModel) listBody(now time.Time, w, rows int) []string {
	st := m.st
	c := m.columns(w)
	gap := strings.Repeat(" ", colGap)
	head := "  " + padL("#", c.idx) + gap + fit("PARAMS", c.params) + gap + fit("POD", c.pod) + gap
	if c.try > 0 {
		head += fit("TRY", c.try) + gap
	}
	head += fit("STATE", c.state) + gap + padL("TIME", c.time) + gap + padL("EXIT", c.exit)
	out := []string{st.dim.Render(fit(head, w))}
	for i := m.top; i < len(m.items) && i < m.top+rows; i++ {
		out = append(out, m.row(now, i, c))
	}
	return out
}

// row draws item i.
func (m *MapModel) row(now time.Time, i int, c columns) string {
	st := m.st
	it := &m.items[i]
	gap := strings.Repeat(" ", colGap)
	var b strings.Builder
	idx := padL(strconv.Itoa(i), c.idx)
	if i == m.sel {
		mark := st.dim
		if m.focus == mapList {
			mark = st.focused
		}
		b.WriteString(mark.Render("▸") + " " + st.bold.Render(idx))
	} else {
		b.WriteString("  " + idx)
	}
	b.WriteString(gap + fit(clean(it.params), c.params) + gap)
	pod := it.pod
	if pod == "" {
		pod = "-"
	}
	b.WriteString(fit(pod, c.pod) + gap)
	if c.try > 0 {
		try := "-"
		if it.try > 0 {
			try = fmt.Sprintf("%d/%d", it.try, max(it.tries, it.try))
		} else if r := it.result; r != nil && r.Try > 0 {
			try = fmt.Sprintf("%d/%d", r.Try, max(it.tries, r.Try))
		}
		b.WriteString(fit(try, c.try) + gap)
	}
	word, tn := it.look(now)
	b.WriteString(st.text[tn].Render(fit(word, c.state)) + gap)
	el := "-"
	if d, ok := it.elapsed(now); ok {
		el = humanDuration(d)
	}
	b.WriteString(st.dim.Render(padL(el, c.time)) + gap)
	exit := "-"
	etn := toneNone
	if code := it.exitCode(); code != nil {
		exit = strconv.Itoa(int(*code))
		etn = toneOK
		if *code != 0 {
			etn = toneBad
		}
	}
	b.WriteString(st.text[etn].Render(padL(exit, c.exit)))
	return b.String()
}

// padL right-aligns s in w cells.
func padL(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return fit(s, w)
}

// logBody is the selected item's log, or why it has none.
func (m *MapModel) logBody(w, h int) ([]string, string) {
	it := &m.items[m.sel]
	if m.logs.ring != m.noLogs {
		return m.logs.view(m.st, w, h, it.ran, it.finished())
	}
	var msg string
	switch it.state() {
	case statePending:
		msg = "waiting for a free slot"
		if p := m.opts.Parallelism; p > 0 {
			msg += fmt.Sprintf(" (at most %d pods at once)", p)
		}
	case stateSkipped:
		msg = "never started"
		if it.result != nil && it.result.Message != "" {
			msg = clean(it.result.Message)
		}
	case stateActive:
		msg = "logs appear once the container starts…"
		if it.ran {
			msg = "no log lines yet"
		}
	default:
		msg = "no log lines"
		if !it.ran {
			msg = "no logs: the container never started"
		}
	}
	return []string{m.st.dim.Render(msg)}, ""
}

func (m *MapModel) xcomFrame(tag string, w, h int) string {
	st := m.st
	note := ""
	if m.xcom.present {
		note = "y copy"
		if m.xcom.height() > h-2 {
			note = "tab ↓ more · y copy"
		}
	}
	var body []string
	if m.xcom.present && m.xcom.height() > h-2 && ansi.StringWidth(m.xcom.raw) <= w-3 {
		// Too tall indented, narrow enough on one line: the compact form.
		body, note = []string{highlightJSON(m.xcom.raw, st)}, "y copy"
	} else {
		body = m.xcom.view(w-3, h-2)
	}
	return st.frame(tag+" "+st.panelTtl.Render("XCom")+st.dim.Render(" · return value"), note, body, w, h, m.focus == mapXCom)
}

// statusLine says what is going on and what q will do.
func (m *MapModel) statusLine(now time.Time) string {
	st := m.st
	if s, ok := transientStatus(st, &m.logs, m.status); ok {
		return s
	}
	if m.done != nil {
		parts := []string{st.bold.Render("finished — press q to exit")}
		c := m.counts()
		if bad := len(m.items) - c[stateSucceeded]; bad > 0 {
			parts = append(parts, st.text[toneBad].Render(fmt.Sprintf("%d of %d items did not succeed", bad, len(m.items))))
		} else {
			parts = append(parts, st.text[toneOK].Render(fmt.Sprintf("all %d items succeeded", len(m.items))))
		}
		if m.done.Err != nil {
			parts = append(parts, st.text[toneBad].Render(clean(m.done.Err.Error())))
		}
		return " " + strings.Join(parts, st.dim.Render(" · "))
	}
	if m.stopping != "" {
		frame := spin.Frames[int(now.UnixMilli()/spin.FPS.Milliseconds())%len(spin.Frames)]
		what := "stopping — " + m.stopEffect() + ", no more start…"
		switch {
		case m.opts.Job != "" && m.stopping == "delete":
			what = "deleting job/" + m.opts.Job + " and its pods…"
		case m.opts.Job != "":
			what = "leaving — job/" + m.opts.Job + " keeps running…"
		case m.stopping == "delete":
			what = "stopping — deleting every pod of the run, no more start…"
		}
		return " " + st.text[toneWarn].Render(frame+" "+what) + st.dim.Render("  (q again to leave now)")
	}
	if n := len(m.runLog.rows); n > 0 && m.runLog.rows[n-1].tn == toneWarn {
		return " " + st.text[toneWarn].Render("! "+clean(m.runLog.rows[n-1].message))
	}
	if m.opts.Job != "" {
		return st.dim.Render(" q leaves: job/" + m.opts.Job + " keeps running · d deletes it")
	}
	return st.dim.Render(" q stops the run: " + m.stopEffect())
}

// stopEffect says what stopping does to the run's pods.
func (m *MapModel) stopEffect() string {
	a := m.opts.OnFinishAction
	switch a {
	case launch.KeepPod:
		return "every pod is kept (" + string(a) + ")"
	case launch.DeletePod, launch.DeleteSucceededPod, launch.DeleteActivePod:
		// A stopped pod did not fail: the engine does not orphan it.
		return "every pod is deleted (" + string(a) + ")"
	}
	return "every pod gets its on-finish action"
}

package tui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// layout is where everything goes for the current size. Row counts are
// inside the frames.
type layout struct {
	topRows    int  // containers and events panels; 0 hides them
	stacked    bool // containers above events (narrow screens)
	contW      int  // containers panel width when side by side
	evRows     int  // events panel rows when stacked
	logRows    int
	xcomRows   int // below the logs; 0 when none or at the side
	xcomSideW  int // width of the XCom panel at the side of the logs; 0 when below
	footerRows int
}

func (m *Model) layout() layout {
	w, h := m.width, m.height
	var l layout
	helpRows := 1
	if m.help.ShowAll {
		helpRows = 0
		for _, col := range m.keys.FullHelp() {
			helpRows = max(helpRows, len(col))
		}
	}
	l.footerRows = 1 + helpRows
	avail := h - 2 - l.footerRows // below the header, above the footer

	n := max(len(m.conts.list), 1)
	switch {
	case h < 16 || avail < 8:
		// too short for the side panels: the header says the phase
	case w >= 56:
		maxTop := 3
		if h >= 36 {
			maxTop = 6
		} else if h >= 30 {
			maxTop = 4
		}
		l.topRows = min(max(n, 2, min(len(m.events.rows), maxTop)), maxTop)
		l.contW = max(min(w*9/20, 48), 28)
		avail -= l.topRows + 2
	default:
		l.stacked = true
		l.topRows = min(n, 2)
		l.evRows = 2
		avail -= l.topRows + 2 + l.evRows + 2
	}

	if m.xcom.has {
		if w >= 110 {
			widest := 0
			for _, ln := range m.xcom.lines {
				widest = max(widest, ansi.StringWidth(ln))
			}
			l.xcomSideW = min(max(widest+4, 30), w*2/5)
		} else {
			// Share the rows: a short log leaves the rest to the result.
			rows := avail - 4 // two frames
			want := m.xcom.height()
			logWant := max(int(m.logs.ring.snap().next), 3)
			if want+logWant > rows {
				want = min(want, max(rows/2, rows-logWant))
			}
			l.xcomRows = max(min(want, rows-1), 1)
			avail -= l.xcomRows + 2
		}
	}
	l.logRows = max(avail-2, 1)
	return l
}

// render draws the whole screen.
func (m *Model) render(now time.Time) string {
	w := m.width
	if w < 20 || m.height < 8 {
		return fit("podtask: the terminal is too small", w)
	}
	st := m.st
	l := m.layout()
	var out []string
	out = append(out, m.hdr.view(st, w, now))

	if l.topRows > 0 {
		contW := wOr(l.stacked, w, l.contW)
		title := st.panelTtl.Render("Containers")
		if c := m.hdr.cleanup; c != nil && c.Deleted {
			title += st.dim.Render(" · last seen")
		}
		conts := st.frame(title, "", m.conts.rows(st, contW-3), contW, l.topRows+2, false)
		evW := w - l.contW
		evRows := l.topRows
		if l.stacked {
			evW, evRows = w, l.evRows
		}
		evBody := m.events.view(st, evW-3, evRows, m.focus == panelEvents)
		events := st.frame(st.panelTtl.Render("Events"), "", evBody, evW, evRows+2, m.focus == panelEvents)
		if l.stacked {
			out = append(out, conts, events)
		} else {
			out = append(out, joinH(conts, events))
		}
	}

	logW := w - l.xcomSideW
	body, note := m.logs.view(st, logW-3, l.logRows, m.hdr.started(), m.hdr.finished())
	logs := st.frame(m.logs.title(st), note, body, logW, l.logRows+2, m.focus == panelLogs)
	switch {
	case l.xcomSideW > 0:
		out = append(out, joinH(logs, m.xcomFrame(l.xcomSideW, l.logRows+2)))
	case l.xcomRows > 0:
		out = append(out, logs, m.xcomFrame(w, l.xcomRows+2))
	default:
		out = append(out, logs)
	}

	out = append(out, footer(m.statusLine(now), &m.help, m.keys, w)...)
	return strings.Join(out, "\n")
}

// transientStatus is the status line while the log is searched, a message
// is up, or a search found nothing; ok is false otherwise.
func transientStatus(st styles, l *logView, status string) (string, bool) {
	switch {
	case l.searching:
		return st.bold.Render("/") + l.input + "▏" + st.dim.Render("  enter search · esc cancel"), true
	case status != "":
		return " " + status, true
	case l.notFound && l.query != "":
		return st.text[toneWarn].Render(" no match for “" + l.query + "”"), true
	}
	return "", false
}

// footer is the status line and the help under it, each fit to w cells.
func footer(status string, h *help.Model, keys help.KeyMap, w int) []string {
	out := []string{fit(status, w)}
	h.SetWidth(w)
	for _, hl := range strings.Split(h.View(keys), "\n") {
		out = append(out, fit(hl, w))
	}
	return out
}

func wOr(stacked bool, full, part int) int {
	if stacked {
		return full
	}
	return part
}

func (m *Model) xcomFrame(w, h int) string {
	st := m.st
	note := ""
	if m.xcom.present {
		note = "y copy"
		if m.xcom.height() > h-2 {
			note = "tab ↓ more · y copy"
		}
	}
	body := m.xcom.view(w-3, h-2)
	return st.frame(st.panelTtl.Render("XCom")+st.dim.Render(" · return value"), note, body, w, h, m.focus == panelXCom)
}

// statusLine says what is going on and what q will do.
func (m *Model) statusLine(now time.Time) string {
	st := m.st
	if s, ok := transientStatus(st, &m.logs, m.status); ok {
		return s
	}
	h := &m.hdr
	if h.finished() {
		return " " + m.finishedText()
	}
	if m.stopping != "" {
		frame := ""
		if f := h.spinFrame(now); f >= 0 {
			frame = spin.Frames[f] + " "
		}
		var what string
		switch m.stopping {
		case "delete":
			what = "stopping — deleting the pod…"
		case "keep":
			what = "stopping — keeping the pod and detaching…"
		default:
			what = "stopping — " + m.quitEffect() + "…"
		}
		if h.cleanup != nil {
			what = "cleanup: " + cleanupText(h.cleanup) + " — waiting for the engine to finish…"
		}
		return " " + st.text[toneWarn].Render(frame+what) + st.dim.Render("  (q again to leave now)")
	}
	return st.dim.Render(" q stops the task: " + m.quitEffect())
}

// quitEffect says what the on-finish action does to a pod stopped early.
func (m *Model) quitEffect() string {
	a := m.opts.OnFinishAction
	switch a {
	case launch.DeletePod:
		return "the pod will be deleted (" + string(a) + ")"
	case launch.KeepPod:
		return "the pod will be kept (" + string(a) + ")"
	case launch.DeleteSucceededPod, launch.DeleteActivePod:
		// A stopped pod did not fail: the engine does not orphan it.
		return "the pod will be deleted (" + string(a) + ")"
	}
	return "the on-finish action applies"
}

// cleanupText is what cleanup did: "pod deleted by delete_pod", "pod kept
// by keep_pod; attach with: …" (the engine's reason says by what).
func cleanupText(c *launch.Cleanup) string {
	r := clean(c.Reason)
	if strings.HasPrefix(r, "kept") || strings.HasPrefix(r, "deleted") {
		return "pod " + r
	}
	s := "pod kept"
	if c.Deleted {
		s = "pod deleted"
	}
	if r != "" {
		s += " (" + r + ")"
	}
	return s
}

// finishedText sums the outcome up once the task is over.
func (m *Model) finishedText() string {
	st := m.st
	h := &m.hdr
	parts := []string{st.bold.Render("finished — press q to exit")}
	if h.cleanup != nil {
		parts = append(parts, cleanupText(h.cleanup))
	}
	if r := h.result; r != nil && r.Message != "" {
		_, tn := h.badge()
		parts = append(parts, st.text[tn].Render(clean(r.Message)))
	}
	return strings.Join(parts, st.dim.Render(" · "))
}

// Summary is a plain line to print after the screen has closed, so the
// outcome stays in the terminal's scrollback: "" until Finished arrived.
func (m *Model) Summary() string {
	h := &m.hdr
	if h.result == nil {
		return ""
	}
	label, _ := h.badge()
	s := "podtask: " + h.taskName() + " " + strings.TrimLeft(label, "✓✗■! ") + " in " + humanDuration(h.elapsed(m.opts.now()))
	if h.pod != "" {
		s += " · pod/" + h.pod
	}
	if h.cleanup != nil {
		s += " " + strings.TrimPrefix(cleanupText(h.cleanup), "pod ")
	}
	if m.xcom.present && len(m.xcom.raw) <= 200 {
		s += " · xcom " + m.xcom.raw
	}
	return s
}

package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/viewport"
	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// maxEventRows bounds the events panel's history.
const maxEventRows = 200

// eventRow is one line of the events panel: a Kubernetes event, a notice
// from the engine, or what cleanup did.
type eventRow struct {
	t       time.Time
	tn      tone
	reason  string
	message string
	count   int32
}

// eventList is a bounded, time-ordered list of rows: the task's, or one
// item's of a mapped run.
type eventList struct {
	rows  []eventRow
	limit int // most rows kept; maxEventRows when zero
}

type eventsView struct {
	eventList
	vp     viewport.Model
	follow bool // stick to the newest row
}

func newEventsView() eventsView {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{} // keys are routed by the root model
	vp.MouseWheelEnabled = false
	return eventsView{vp: vp, follow: true}
}

// add inserts r in time order: on attach the API lists old events after
// newer ones have been seen.
func (e *eventList) add(r eventRow) {
	i := len(e.rows)
	for i > 0 && !r.t.IsZero() && r.t.Before(e.rows[i-1].t) {
		i--
	}
	e.rows = slices.Insert(e.rows, i, r)
	limit := e.limit
	if limit <= 0 {
		limit = maxEventRows
	}
	if len(e.rows) > limit {
		e.rows = append(e.rows[:0], e.rows[len(e.rows)-limit:]...)
	}
}

func (e *eventList) addKube(ev launch.KubeEvent) {
	tn := toneNone
	if ev.Type == "Warning" {
		tn = toneBad
	}
	t := ev.Last
	if t.IsZero() {
		t = ev.Time
	}
	// The same event seen again (count went up) replaces its row.
	for i := range e.rows {
		if e.rows[i].reason == ev.Reason && e.rows[i].message == ev.Message {
			e.rows = slices.Delete(e.rows, i, i+1)
			break
		}
	}
	e.add(eventRow{t: t, tn: tn, reason: ev.Reason, message: ev.Message, count: ev.Count})
}

func (e *eventList) addNotice(ev launch.Notice) {
	tn := toneInfo
	if ev.Level == "warning" {
		tn = toneWarn
	}
	e.add(eventRow{t: ev.Time, tn: tn, reason: "podtask", message: ev.Message})
}

func (e *eventList) addCleanup(ev launch.Cleanup) {
	msg := cleanupText(&ev)
	e.add(eventRow{t: ev.Time, tn: toneInfo, reason: "Cleanup", message: msg})
}

func (e *eventsView) scroll(n int) {
	switch {
	case n < 0:
		e.vp.ScrollUp(-n)
	case n > 0:
		e.vp.ScrollDown(n)
	}
	e.follow = e.vp.AtBottom()
}

// view lays the rows out for a w×h inside and returns the visible lines.
// With wrap (the panel has the focus) long messages wrap instead of being cut.
func (e *eventsView) view(st styles, w, h int, wrap bool) []string {
	lines := make([]string, 0, len(e.rows))
	for _, r := range e.rows {
		if !wrap {
			lines = append(lines, fit(r.line(st), w))
			continue
		}
		for i, l := range strings.Split(ansi.Wrap(r.line(st), w-2, " "), "\n") {
			if i > 0 {
				l = "  " + l
			}
			lines = append(lines, fit(l, w))
		}
	}
	if len(lines) == 0 {
		lines = append(lines, st.dim.Render("no events yet"))
	}
	e.vp.SetWidth(w)
	e.vp.SetHeight(h)
	e.vp.SetContentLines(lines)
	if e.follow {
		e.vp.GotoBottom()
	}
	return strings.Split(e.vp.View(), "\n")
}

func (r eventRow) line(st styles) string {
	icon := "·"
	switch r.tn {
	case toneBad:
		icon = "▲"
	case toneWarn:
		icon = "!"
	case toneInfo:
		icon = "›"
	}
	var b strings.Builder
	if !r.t.IsZero() {
		b.WriteString(st.dim.Render(r.t.Format("15:04:05")))
		b.WriteString(" ")
	}
	rest, repeats := eventText(r.reason, r.message)
	if repeats {
		// The message starts with the reason: the count goes first, so that
		// the sentence reads on ("▲ ×3 Failed to pull image ...").
		b.WriteString(st.text[r.tn].Render(icon))
		if r.count > 1 {
			b.WriteString(st.dim.Render(fmt.Sprintf(" ×%d", r.count)))
		}
		b.WriteString(" " + st.text[r.tn].Render(r.reason) + " " + clean(rest))
		return b.String()
	}
	b.WriteString(st.text[r.tn].Render(icon + " " + r.reason))
	if r.count > 1 {
		b.WriteString(st.dim.Render(fmt.Sprintf(" ×%d", r.count)))
	}
	b.WriteString(" ")
	b.WriteString(clean(r.message))
	return b.String()
}

// eventText is an event's message without the reason it starts with, and
// whether it did: the kubelet's "Started" comes with "Started container
// base", which is shown once.
func eventText(reason, message string) (string, bool) {
	if rest, ok := strings.CutPrefix(message, reason+" "); ok && reason != "" {
		return rest, true
	}
	return message, false
}

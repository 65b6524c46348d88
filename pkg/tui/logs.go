package tui

import (
	"fmt"
	"regexp"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// logView draws a window of the ring. It never copies the log: each frame
// reads only the lines that fit on screen, so drawing costs the same for ten
// lines as for ten million.
type logView struct {
	ring   *ring
	follow bool  // keep the newest line at the bottom
	bottom int64 // sequence number of the bottom line when not following
	wrap   bool
	filter string // container shown, "" for all

	searching bool   // typing a query
	input     string // the query being typed
	query     string // the active query (highlighted, n/N)
	notFound  bool
}

func newLogView(capacity int) logView {
	return logView{ring: newRing(capacity), follow: true}
}

// bottomSeq is the sequence number of the line drawn at the bottom; the
// caller holds the ring's lock.
func (l *logView) bottomSeqLocked(s snapshot) int64 {
	if l.follow || l.bottom >= s.next {
		return s.next - 1
	}
	return max(l.bottom, s.first)
}

func (l *logView) matchLocked(seq int64) bool {
	if l.filter == "" {
		return true
	}
	_, c := l.ring.atLocked(seq)
	return c == l.filter
}

// scroll moves the window by n lines (negative is up, older). Scrolling up
// stops following; reaching the newest line follows again.
func (l *logView) scroll(n int, rows int) {
	r := l.ring
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapLocked()
	if s.next == s.first {
		return
	}
	seq := l.bottomSeqLocked(s)
	// Never leave fewer lines above the bottom than the window shows.
	lowest := s.first
	for c := 1; c < rows && lowest < s.next-1; {
		if l.matchLocked(lowest) {
			c++
		}
		lowest++
	}
	for ; n < 0 && seq > lowest; seq-- {
		if l.matchLocked(seq - 1) {
			n++
		}
	}
	for ; n > 0 && seq < s.next-1; seq++ {
		if l.matchLocked(seq + 1) {
			n--
		}
	}
	l.bottom = seq
	l.follow = seq >= s.next-1
}

func (l *logView) cycleContainer() {
	names := l.ring.containers()
	if len(names) < 2 && l.filter == "" {
		return
	}
	next := ""
	if l.filter == "" {
		next = names[0]
	} else {
		for i, n := range names {
			if n == l.filter && i+1 < len(names) {
				next = names[i+1]
			}
		}
	}
	l.filter = next
}

func (l *logView) startSearch() {
	l.searching = true
	l.input = ""
}

func (l *logView) searchKey(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "enter":
		l.searching = false
		l.query = l.input
		if l.query != "" {
			l.findNext(true)
		}
	case "esc", "ctrl+c":
		l.searching = false
	case "backspace":
		if r := []rune(l.input); len(r) > 0 {
			l.input = string(r[:len(r)-1])
		}
	default:
		if msg.Text != "" {
			l.input += msg.Text
		}
	}
}

// findNext moves the window to the next match above the bottom line
// (older) or, with older false, below it.
func (l *logView) findNext(older bool) {
	if l.query == "" {
		return
	}
	q := strings.ToLower(l.query)
	r := l.ring
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapLocked()
	seq := l.bottomSeqLocked(s)
	step := int64(-1)
	if !older {
		step = 1
	}
	for i := seq + step; i >= s.first && i < s.next; i += step {
		line, _ := r.atLocked(i)
		if l.matchLocked(i) && strings.Contains(strings.ToLower(line), q) {
			l.bottom, l.follow, l.notFound = i, false, false
			return
		}
	}
	// The bottom line itself may be the only match.
	if seq >= s.first && seq < s.next {
		if line, _ := r.atLocked(seq); strings.Contains(strings.ToLower(line), q) {
			l.bottom, l.follow, l.notFound = seq, false, false
			return
		}
	}
	l.notFound = true
}

// view returns the visible lines for a w×h inside, and the note for the
// panel's bottom edge.
func (l *logView) view(st styles, w, h int, started, finished bool) ([]string, string) {
	r := l.ring
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snapLocked()
	prefix := len(r.names) > 1 && l.filter == ""
	var rows []string // collected bottom-up
	if s.next > s.first {
		for seq := l.bottomSeqLocked(s); seq >= s.first && len(rows) < h; seq-- {
			line, c := r.atLocked(seq)
			if l.filter != "" && c != l.filter {
				continue
			}
			text := l.decorate(st, clean(line))
			if prefix {
				text = st.prefix.Render(c) + st.dim.Render(" │ ") + text
			}
			if !l.wrap {
				rows = append(rows, fit(text, w))
				continue
			}
			parts := strings.Split(ansi.Hardwrap(text, w, true), "\n")
			for i := len(parts) - 1; i >= 0 && len(rows) < h; i-- {
				rows = append(rows, fit(parts[i], w))
			}
		}
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if len(rows) == 0 {
		msg := "no log lines yet"
		switch {
		case !started && finished:
			msg = "no logs: the container never started"
		case !started:
			msg = "logs appear once the container starts…"
		}
		if l.filter != "" {
			msg = "no lines from " + l.filter
		}
		rows = []string{st.dim.Render(msg)}
	}
	return rows, l.note(s)
}

// levelWord finds a log level word worth colouring: upper case only, so
// prose that mentions an error stays calm.
var levelWord = regexp.MustCompile(`\b(ERROR|FATAL|CRITICAL|PANIC|Traceback|WARN|WARNING)\b`)

// decorate colours a line's level word and highlights the active query.
func (l *logView) decorate(st styles, line string) string {
	lower := strings.ToLower(line)
	q := strings.ToLower(l.query)
	if l.query == "" || len(lower) != len(line) || !strings.Contains(lower, q) {
		if loc := levelWord.FindStringIndex(line); loc != nil {
			tn := toneBad
			if line[loc[0]] == 'W' {
				tn = toneWait
			}
			return line[:loc[0]] + st.text[tn].Bold(true).Render(line[loc[0]:loc[1]]) + line[loc[1]:]
		}
		return line
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, q)
		if i < 0 {
			b.WriteString(line)
			return b.String()
		}
		b.WriteString(line[:i])
		b.WriteString(st.match.Render(line[i : i+len(q)]))
		line, lower = line[i+len(q):], lower[i+len(q):]
	}
}

// title is the panel's title: "Logs", the filter, follow or paused.
func (l *logView) title(st styles) string {
	t := st.panelTtl.Render("Logs")
	if l.filter != "" {
		t += st.dim.Render(" · ") + st.prefix.Render(l.filter)
	}
	if l.follow {
		t += st.dim.Render(" · following")
	} else {
		t += st.text[toneWait].Render(" · paused (f to follow)")
	}
	if l.wrap {
		t += st.dim.Render(" · wrap")
	}
	return t
}

func (l *logView) note(s snapshot) string {
	n := s.next
	if n == 0 {
		return ""
	}
	note := plural(n, "line")
	if s.dropped > 0 {
		note += fmt.Sprintf(", oldest %s dropped", count(s.dropped))
	}
	if !l.follow {
		note = fmt.Sprintf("at %s of %s", count(l.bottomSeqLocked(s)+1), note)
	}
	return note
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return count(n) + " " + word + "s"
}

// count formats n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

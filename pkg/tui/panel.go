package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// frame draws a rounded box of exactly w×h cells around body lines, with a
// title set into the top edge and an optional note into the bottom edge.
// Body lines wider than the inside are cut; missing lines are blank.
func (s styles) frame(title, note string, body []string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	bs := s.border
	if focused {
		bs = s.focused
	}
	inner := w - 2
	var b strings.Builder

	// top: ╭─ Title ───────╮
	t := ""
	if title != "" {
		t = " " + ansi.Truncate(title, inner-3, "…") + " "
	}
	fill := inner - 1 - ansi.StringWidth(t)
	if t == "" {
		fill = inner
	}
	b.WriteString(bs.Render("╭"))
	if t != "" {
		b.WriteString(bs.Render("─"))
		b.WriteString(t)
	}
	b.WriteString(bs.Render(strings.Repeat("─", max(fill, 0)) + "╮"))
	b.WriteByte('\n')

	side := bs.Render("│")
	for i := range h - 2 {
		line := ""
		if i < len(body) {
			line = body[i]
		}
		b.WriteString(side)
		b.WriteString(fit(" "+line, inner))
		b.WriteString(side)
		b.WriteByte('\n')
	}

	// bottom: ╰──────── note ─╯
	n := ""
	if note != "" {
		n = " " + ansi.Truncate(note, inner-3, "…") + " "
	}
	if n == "" {
		b.WriteString(bs.Render("╰" + strings.Repeat("─", inner) + "╯"))
	} else {
		fill := inner - 1 - ansi.StringWidth(n)
		b.WriteString(bs.Render("╰" + strings.Repeat("─", max(fill, 0))))
		b.WriteString(s.dim.Render(ansi.Strip(n)))
		b.WriteString(bs.Render("─╯"))
	}
	return b.String()
}

// fit cuts or pads s (which may hold styles) to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	return s + strings.Repeat(" ", max(w-sw, 0))
}

// clean makes a line from a container safe to draw: escape sequences and
// control characters go, tabs become spaces.
func clean(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x9b }) {
		return s
	}
	s = ansi.Strip(s)
	var b strings.Builder
	b.Grow(len(s))
	col := 0
	for _, r := range s {
		switch {
		case r == '\t':
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			// dropped
		default:
			b.WriteRune(r)
			col++
		}
	}
	return b.String()
}

// join puts the blocks side by side; every block must have the same height.
func joinH(blocks ...string) string {
	split := make([][]string, len(blocks))
	rows := 0
	for i, bl := range blocks {
		split[i] = strings.Split(bl, "\n")
		rows = max(rows, len(split[i]))
	}
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteByte('\n')
		}
		for _, lines := range split {
			if r < len(lines) {
				b.WriteString(lines[r])
			}
		}
	}
	return b.String()
}

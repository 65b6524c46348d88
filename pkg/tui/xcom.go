package tui

import (
	"bytes"
	"encoding/json"
	"strings"

	"charm.land/bubbles/v2/viewport"
)

// xcomView shows the task's XCom result as indented, highlighted JSON.
type xcomView struct {
	has     bool   // a result event arrived
	present bool   // the task wrote a result
	raw     string // compact JSON, for the clipboard
	lines   []string
	vp      viewport.Model
}

func newXComView() xcomView {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{}
	vp.MouseWheelEnabled = false
	return xcomView{vp: vp}
}

func (x *xcomView) set(present bool, value json.RawMessage, st styles) {
	x.has, x.present = true, present && len(value) > 0
	if !x.present {
		x.raw, x.lines = "", []string{st.dim.Render("the task wrote no result")}
		return
	}
	var compact, pretty bytes.Buffer
	if json.Compact(&compact, value) != nil || json.Indent(&pretty, value, "", "  ") != nil {
		// Not JSON after all: show it as it came.
		x.raw = string(value)
		x.lines = strings.Split(clean(string(value)), "\n")
		return
	}
	x.raw = compact.String()
	x.lines = strings.Split(highlightJSON(pretty.String(), st), "\n")
}

// height is how many lines the result wants.
func (x *xcomView) height() int { return len(x.lines) }

func (x *xcomView) scroll(n int) {
	switch {
	case n < 0:
		x.vp.ScrollUp(-n)
	case n > 0:
		x.vp.ScrollDown(n)
	}
}

func (x *xcomView) view(w, h int) []string {
	x.vp.SetWidth(w)
	x.vp.SetHeight(h)
	x.vp.SetContentLines(append([]string(nil), x.lines...))
	return strings.Split(x.vp.View(), "\n")
}

// highlightJSON colours indented JSON: keys, strings, numbers, literals and
// punctuation. The input is valid JSON from json.Indent.
func highlightJSON(s string, st styles) string {
	var b strings.Builder
	b.Grow(len(s) * 2)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			tok := s[i:j]
			// A string followed by a colon is a key.
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k < len(s) && s[k] == ':' {
				b.WriteString(st.jsonKey.Render(tok))
			} else {
				b.WriteString(st.jsonString.Render(tok))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(s) && strings.IndexByte("+-0123456789.eE", s[j]) >= 0 {
				j++
			}
			b.WriteString(st.jsonNumber.Render(s[i:j]))
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			b.WriteString(st.jsonLiteral.Render(s[i:j]))
			i = j
		case strings.IndexByte("{}[],:", c) >= 0:
			b.WriteString(st.jsonPunct.Render(string(c)))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

package tui

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// palette: mid-tone colours that read on dark and light backgrounds alike.
var (
	colAccent  = lipgloss.Color("#7D56F4")
	colBorder  = lipgloss.Color("#5C6370")
	colDim     = lipgloss.Color("#8A8F98")
	colBlue    = lipgloss.Color("#4FA3E0")
	colGreen   = lipgloss.Color("#5FB86A")
	colAmber   = lipgloss.Color("#D9A441")
	colRed     = lipgloss.Color("#E06C75")
	colOrange  = lipgloss.Color("#D19A66")
	colMagenta = lipgloss.Color("#C678DD")
	colOnBadge = lipgloss.Color("#FFFFFF")
	colMatchBg = lipgloss.Color("#D9A441")
	colMatchFg = lipgloss.Color("#1E1E1E")
)

// tone is a semantic colour: what a thing means, not how it looks.
type tone int

const (
	toneNone tone = iota
	toneInfo      // running, in progress
	toneWait      // pending, waiting
	toneOK        // succeeded
	toneBad       // failed, warning that blocks
	toneWarn      // interrupted, warnings
)

// styles holds every style the screen uses. Built once by newStyles; with
// noColor every colour is left out and only attributes remain.
type styles struct {
	noColor bool

	title    lipgloss.Style // the "podtask" tag in the header
	task     lipgloss.Style
	label    lipgloss.Style // dim labels: "pod", "ns"
	value    lipgloss.Style
	dim      lipgloss.Style
	bold     lipgloss.Style
	elapsed  lipgloss.Style
	badge    map[tone]lipgloss.Style
	text     map[tone]lipgloss.Style
	border   lipgloss.Style
	focused  lipgloss.Style // border of the focused panel
	panelTtl lipgloss.Style
	match    lipgloss.Style // search matches in the log
	prefix   lipgloss.Style // container prefix of a log line

	jsonKey, jsonString, jsonNumber, jsonLiteral, jsonPunct lipgloss.Style

	help help.Styles
}

func newStyles(noColor bool) styles {
	fg := func(c color.Color) lipgloss.Style {
		if noColor {
			return lipgloss.NewStyle()
		}
		return lipgloss.NewStyle().Foreground(c)
	}
	badge := func(c color.Color) lipgloss.Style {
		if noColor {
			return lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1)
		}
		return lipgloss.NewStyle().Bold(true).Foreground(colOnBadge).Background(c).Padding(0, 1)
	}
	s := styles{
		noColor: noColor,
		title:   badge(colAccent),
		task:    lipgloss.NewStyle().Bold(true),
		label:   fg(colDim),
		value:   lipgloss.NewStyle(),
		dim:     fg(colDim),
		bold:    lipgloss.NewStyle().Bold(true),
		elapsed: fg(colDim),
		badge: map[tone]lipgloss.Style{
			toneNone: badge(colDim),
			toneInfo: badge(colBlue),
			toneWait: badge(colAmber),
			toneOK:   badge(colGreen),
			toneBad:  badge(colRed),
			toneWarn: badge(colOrange),
		},
		text: map[tone]lipgloss.Style{
			toneNone: lipgloss.NewStyle(),
			toneInfo: fg(colBlue),
			toneWait: fg(colAmber),
			toneOK:   fg(colGreen),
			toneBad:  fg(colRed),
			toneWarn: fg(colOrange),
		},
		border:      fg(colBorder),
		focused:     fg(colAccent),
		panelTtl:    lipgloss.NewStyle().Bold(true),
		prefix:      fg(colMagenta),
		jsonKey:     fg(colBlue),
		jsonString:  fg(colGreen),
		jsonNumber:  fg(colOrange),
		jsonLiteral: fg(colMagenta),
		jsonPunct:   fg(colDim),
	}
	if noColor {
		s.match = lipgloss.NewStyle().Reverse(true)
		s.help = help.Styles{}
	} else {
		s.match = lipgloss.NewStyle().Foreground(colMatchFg).Background(colMatchBg)
		s.help = help.Styles{
			ShortKey:       fg(colDim).Bold(true),
			ShortDesc:      fg(colDim),
			ShortSeparator: fg(colBorder),
			Ellipsis:       fg(colBorder),
			FullKey:        fg(colDim).Bold(true),
			FullDesc:       fg(colDim),
			FullSeparator:  fg(colBorder),
		}
	}
	return s
}

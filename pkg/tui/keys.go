package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// moveKeys are the movement bindings of both screens.
type moveKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// step is how far a movement key moves: a line, a page of page lines, or
// to an end; ok is false for another key.
func (k moveKeys) step(msg tea.KeyPressMsg, page int) (n int, ok bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, true
	case key.Matches(msg, k.Down):
		return 1, true
	case key.Matches(msg, k.PageUp):
		return -page, true
	case key.Matches(msg, k.PageDown):
		return page, true
	case key.Matches(msg, k.Top):
		return -1 << 40, true
	case key.Matches(msg, k.Bottom):
		return 1 << 40, true
	}
	return 0, false
}

// logKeys are the log panel's own bindings on both screens.
type logKeys struct {
	Next, Prev, Wrap, Container key.Binding
}

func newLogKeys() logKeys {
	return logKeys{
		Next:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n/N", "next/prev match")),
		Prev:      key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
		Wrap:      key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap")),
		Container: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "container")),
	}
}

// onKey applies a log key to the log view; it tells whether msg was one.
func (k logKeys) onKey(msg tea.KeyPressMsg, l *logView) bool {
	switch {
	case key.Matches(msg, k.Next):
		l.findNext(true)
	case key.Matches(msg, k.Prev):
		l.findNext(false)
	case key.Matches(msg, k.Wrap):
		l.wrap = !l.wrap
	case key.Matches(msg, k.Container):
		l.cycleContainer()
	default:
		return false
	}
	return true
}

// keyMap is every binding of the screen; it implements help.KeyMap.
type keyMap struct {
	moveKeys
	Quit   key.Binding
	Delete key.Binding
	Keep   key.Binding
	logKeys
	Follow  key.Binding
	Search  key.Binding
	Tab     key.Binding
	BackTab key.Binding
	Copy    key.Binding
	Help    key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		moveKeys: moveKeys{
			Up:       key.NewBinding(key.WithKeys("up"), key.WithHelp("↑/↓", "scroll")),
			Down:     key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "scroll down")),
			PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/pgdn", "page")),
			PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn", "page down")),
			Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/G", "top/bottom")),
			Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		},
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop")),
		Delete:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete pod")),
		Keep:    key.NewBinding(key.WithKeys("k"), key.WithHelp("k", "keep pod")),
		Follow:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow")),
		logKeys: newLogKeys(),
		Search:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Tab:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "panel")),
		BackTab: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous panel")),
		Copy:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy xcom"), key.WithDisabled()),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more")),
	}
}

// finished adapts the bindings once the task is over: q leaves, d and k
// have nothing left to stop.
func (k *keyMap) finished() {
	k.Quit.SetHelp("q", "quit")
	k.Delete.SetEnabled(false)
	k.Keep.SetEnabled(false)
}

// ShortHelp implements help.KeyMap: the one-line help.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Quit, k.Delete, k.Keep, k.Copy, k.Search, k.Follow, k.Tab, k.Help}
}

// FullHelp implements help.KeyMap: the columns shown by ?.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Quit, k.Delete, k.Keep, k.Help},
		{k.Follow, k.Search, k.Next, k.Wrap, k.Container},
		{k.Tab, k.Up, k.PageUp, k.Top},
		{k.Copy},
	}
}

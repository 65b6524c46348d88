// The key bindings of a mapped run's screen: the single task's, with the
// task list's own (j/k select, f/F jump to a failed item, enter opens its log).

package tui

import "charm.land/bubbles/v2/key"

// mapKeyMap is every binding of the mapped run's screen; it implements
// help.KeyMap.
type mapKeyMap struct {
	moveKeys
	Quit       key.Binding
	Delete     key.Binding
	NextFailed key.Binding
	PrevFailed key.Binding
	Open       key.Binding
	Tab        key.Binding
	BackTab    key.Binding
	logKeys
	Search key.Binding
	Copy   key.Binding
	Help   key.Binding
}

// newMapKeyMap returns the bindings; a Job's screen (job) leaves on q and
// deletes the Job on d.
func newMapKeyMap(job bool) mapKeyMap {
	k := mapKeyMap{
		moveKeys: moveKeys{
			Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/↓ j/k", "select")),
			Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
			PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/pgdn", "page")),
			PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn", "page down")),
			Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/G", "first/last")),
			Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last")),
		},
		Quit:       key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "stop")),
		Delete:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "stop, delete pods")),
		NextFailed: key.NewBinding(key.WithKeys("f"), key.WithHelp("f/F", "next/prev failed")),
		PrevFailed: key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "previous failed")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "scroll its log")),
		Tab:        key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "panel")),
		BackTab:    key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous panel")),
		logKeys:    newLogKeys(),
		Search:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search log")),
		Copy:       key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy xcom"), key.WithDisabled()),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more")),
	}
	if job {
		k.Quit.SetHelp("q", "leave (the job runs on)")
		k.Delete.SetHelp("d", "delete the job")
	}
	return k
}

// finished adapts the bindings once the run is over.
func (k *mapKeyMap) finished() {
	k.Quit.SetHelp("q", "quit")
	k.Delete.SetEnabled(false)
}

// ShortHelp implements help.KeyMap: the one-line help.
func (k mapKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Quit, k.Up, k.NextFailed, k.Open, k.Search, k.Copy, k.Tab, k.Help}
}

// FullHelp implements help.KeyMap: the columns shown by ?.
func (k mapKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Quit, k.Delete, k.Help},
		{k.Up, k.PageUp, k.Top, k.NextFailed, k.Open},
		{k.Search, k.Next, k.Wrap, k.Container},
		{k.Tab, k.Copy},
	}
}

package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// containers is the latest state of the pod's containers.
type containers struct {
	list []launch.ContainerStatus
}

func (c *containers) set(ps launch.PodStatus) {
	c.list = c.list[:0]
	c.list = append(c.list, ps.InitContainers...)
	c.list = append(c.list, ps.Containers...)
}

// rows draws one line per container.
func (c *containers) rows(st styles, w int) []string {
	if len(c.list) == 0 {
		return []string{st.dim.Render("waiting for the pod…")}
	}
	states := make([]string, len(c.list))
	widest := 0
	for i, cs := range c.list {
		states[i] = c.state(st, cs)
		widest = max(widest, ansi.StringWidth(states[i]))
	}
	nameW := 4
	for _, cs := range c.list {
		nameW = max(nameW, len(cs.Name)+initMark(cs))
	}
	// The state matters more than the whole name: names give way first.
	nameW = max(min(nameW, w-4-widest), 6)
	out := make([]string, 0, len(c.list))
	for i, cs := range c.list {
		icon, tn, _ := containerLook(cs)
		name := cs.Name
		if cs.Init {
			name = "init:" + name
		}
		var b strings.Builder
		b.WriteString(st.text[tn].Render(icon))
		b.WriteString(" ")
		b.WriteString(fit(name, nameW))
		b.WriteString(" ")
		b.WriteString(states[i])
		out = append(out, b.String())
	}
	return out
}

// state is a container's state: the waiting reason, the exit code, or a word.
func (c *containers) state(st styles, cs launch.ContainerStatus) string {
	_, tn, word := containerLook(cs)
	var b strings.Builder
	switch {
	case cs.State == "waiting" && cs.Reason != "":
		// The icon says waiting; the reason says why.
		b.WriteString(st.text[tn].Render(cs.Reason))
	case cs.State == "terminated":
		if cs.Reason != "" && cs.Reason != "Completed" {
			b.WriteString(st.text[toneBad].Render(cs.Reason) + " ")
		}
		if cs.ExitCode != nil {
			b.WriteString(st.dim.Render("exit "))
			b.WriteString(st.text[tn].Render(fmt.Sprint(*cs.ExitCode)))
		} else {
			b.WriteString(st.text[tn].Render(word))
		}
	default:
		b.WriteString(st.text[tn].Render(word))
	}
	if cs.Restarts > 0 {
		b.WriteString(st.text[toneWarn].Render(fmt.Sprintf(" ↻%d", cs.Restarts)))
	}
	return b.String()
}

func initMark(cs launch.ContainerStatus) int {
	if cs.Init {
		return len("init:")
	}
	return 0
}

// containerLook is a container's icon, tone and short state word.
func containerLook(cs launch.ContainerStatus) (string, tone, string) {
	switch cs.State {
	case "running":
		return "●", toneInfo, "running"
	case "waiting":
		if launch.WaitingReason(cs.Reason).Bad() {
			return "✗", toneBad, "waiting"
		}
		return "◌", toneWait, "waiting"
	case "terminated":
		if cs.ExitCode != nil && *cs.ExitCode != 0 {
			return "✗", toneBad, "exited"
		}
		return "✓", toneOK, "done"
	}
	return "·", toneNone, "pending"
}

package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/spinner"
	"github.com/charmbracelet/x/ansi"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// spin is the spinner shown in the phase badge while the task is not done.
// Its frame is taken from the clock, so a fixed clock draws a fixed frame.
var spin = spinner.MiniDot

// header is the task's identity and where it stands.
type header struct {
	task, pod, namespace, node, runID string
	attached                          bool
	ran                               bool // the stage reached Running, or the pod ran
	stage                             launch.Stage
	phase                             string
	podReason                         string
	uiStart, created, finishedAt      time.Time
	firstStart                        time.Time // earliest container start seen
	cleanup                           *launch.Cleanup
	result                            *launch.Result
}

func (h *header) finished() bool { return h.result != nil || !h.finishedAt.IsZero() }

// started says whether the task's container got as far as running.
func (h *header) started() bool { return h.ran }

func (h *header) taskName() string {
	if h.task != "" {
		return h.task
	}
	return h.pod
}

func (h *header) spinFrame(now time.Time) int {
	if h.finished() {
		return -1
	}
	return int(now.UnixMilli()/spin.FPS.Milliseconds()) % len(spin.Frames)
}

func (h *header) elapsed(now time.Time) time.Duration {
	start := h.created
	if start.IsZero() {
		start = h.uiStart
	}
	if h.attached && !h.firstStart.IsZero() && h.firstStart.Before(start) {
		start = h.firstStart // attached later: count from when the task started
	}
	end := now
	if h.finished() && !h.finishedAt.IsZero() {
		end = h.finishedAt
	}
	if end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

func (h *header) elapsedText(now time.Time) string { return humanDuration(h.elapsed(now)) }

// humanDuration is a calm, fixed-precision duration: 7s, 1m05s, 2h03m.
func humanDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// badge is the phase shown in the header: the outcome once finished, else
// the pod's phase (or the engine's stage before the pod has one).
func (h *header) badge() (string, tone) {
	if r := h.result; r != nil {
		switch r.Outcome {
		case launch.OutcomeSucceeded:
			return "✓ Succeeded", toneOK
		case launch.OutcomeFailed:
			if r.ExitCode != nil {
				return fmt.Sprintf("✗ Failed (exit %d)", *r.ExitCode), toneBad
			}
			return "✗ Failed", toneBad
		case launch.OutcomeStartFailed:
			return "✗ Failed to start", toneBad
		case launch.OutcomeInterrupted:
			return "■ Interrupted", toneWarn
		case launch.OutcomeError:
			return "! Error", toneBad
		}
		return string(r.Outcome), toneNone
	}
	switch h.phase {
	case "Pending":
		return "Pending", toneWait
	case "Running":
		if h.stage == launch.StageCompleting || h.stage == launch.StageCleaning {
			return string(h.stage), toneInfo
		}
		return "Running", toneInfo
	case "Succeeded":
		return "Succeeded", toneOK
	case "Failed":
		return "Failed", toneBad
	case "Unknown":
		return "Unknown", toneWarn
	}
	if h.stage != "" {
		return string(h.stage), toneWait
	}
	return "Starting", toneWait
}

// view draws two lines: title, badge and clock; then pod, namespace, node.
func (h *header) view(st styles, w int, now time.Time) string {
	label, tn := h.badge()
	if f := h.spinFrame(now); f >= 0 {
		label = spin.Frames[f] + " " + label
	}
	right := st.elapsed.Render(h.elapsedText(now)) + " " + st.badge[tn].Render(label)
	left := st.title.Render("podtask") + " " + st.task.Render(h.taskName())
	if h.attached {
		left += st.dim.Render(" (attached)")
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		left = ansi.Truncate(left, max(w-ansi.StringWidth(right)-1, 0), "…")
		gap = w - ansi.StringWidth(left) - ansi.StringWidth(right)
	}
	line1 := fit(left+strings.Repeat(" ", max(gap, 1))+right, w)

	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, st.label.Render(k)+" "+st.value.Render(v))
		}
	}
	pod := h.pod
	if pod == "" {
		pod = "…"
	}
	add("pod", pod)
	add("ns", h.namespace)
	node := h.node
	if node == "" && h.pod != "" && !h.finished() {
		node = "(not scheduled)"
	}
	add("node", node)
	if h.podReason != "" {
		parts = append(parts, st.text[toneBad].Render(h.podReason))
	}
	line2 := fit(" "+strings.Join(parts, st.dim.Render("  ·  ")), w)
	return line1 + "\n" + line2
}

package plugin

// The transfer progress bar: launch.Transfer events drawn on one stderr line
// (bytes, rate, ETA) when stderr is a terminal and the transfer has taken
// more than a second; nothing on a pipe or with -q. The end of a transfer is
// one ordinary progress line.

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// ExitTransfer: files could not be sent into the task or its artifacts
// could not be brought back (sysexits' EX_IOERR).
const ExitTransfer = 74

// barDelay is how long a transfer runs before its bar shows.
const barDelay = time.Second

// progressBar draws one transfer at a time.
type progressBar struct {
	w     io.Writer
	tty   bool
	width int
	shown bool
}

func newProgressBar(w io.Writer) *progressBar {
	b := &progressBar{w: w, width: 80}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 40 {
			b.width = cols
		}
	}
	return b
}

// transfer handles one event; the caller holds the printer's lock.
func (p *printer) transfer(ev *launch.Transfer) {
	if p.bar == nil {
		p.bar = newProgressBar(p.progress)
	}
	b := p.bar
	if ev.Done {
		b.clear()
		if ev.Err == nil && ev.Direction == launch.Upload {
			p.say("files uploaded: %s in %s (%s)", formatBytes(ev.Bytes), ev.When().Sub(ev.Started).Round(10*time.Millisecond), rate(ev.Bytes, ev.When().Sub(ev.Started)))
		}
		return
	}
	if p.quiet || !b.tty || ev.When().Sub(ev.Started) < barDelay {
		return
	}
	p.logs.Flush()
	fmt.Fprint(b.w, "\r"+b.line(ev)+"\x1b[K")
	b.shown = true
}

func (b *progressBar) clear() {
	if b.shown {
		fmt.Fprint(b.w, "\r\x1b[K")
		b.shown = false
	}
}

// line is "podtask: upload files [=====>    ]  42% 84.0 MiB/200.0 MiB 95.1 MiB/s ETA 1s".
func (b *progressBar) line(ev *launch.Transfer) string {
	elapsed := ev.When().Sub(ev.Started)
	head := fmt.Sprintf("podtask: %s %s ", ev.Direction, ev.Name)
	tail := " " + formatBytes(ev.Bytes)
	eta := ""
	pct := -1.0
	if ev.Total > 0 {
		pct = float64(ev.Bytes) / float64(ev.Total)
		if pct > 1 {
			pct = 1
		}
		tail += "/" + formatBytes(ev.Total)
		if ev.Bytes > 0 {
			left := time.Duration(float64(elapsed) * (float64(ev.Total-ev.Bytes) / float64(ev.Bytes)))
			eta = " ETA " + left.Round(time.Second).String()
		}
	}
	tail += " " + rate(ev.Bytes, elapsed) + eta
	if pct < 0 {
		return head + strings.TrimSpace(tail)
	}
	barW := b.width - len(head) - len(tail) - 8
	if barW < 10 {
		return head + fmt.Sprintf("%3.0f%%", pct*100) + tail
	}
	fill := int(pct * float64(barW))
	bar := strings.Repeat("=", fill)
	if fill < barW {
		bar += ">" + strings.Repeat(" ", barW-fill-1)
	}
	return head + "[" + bar + "] " + fmt.Sprintf("%3.0f%%", pct*100) + tail
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-/s"
	}
	return formatBytes(int64(float64(n)/d.Seconds())) + "/s"
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

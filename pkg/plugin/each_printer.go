// The plain output of a mapped run: each log line prefixed with its item
// ("[3] ...", coloured on a terminal) or written to DIR/<item>.log, a
// progress line per item's milestones, and the summary table at the end.

package plugin

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

type eachPrinter struct {
	mu       sync.Mutex
	logs     *bufio.Writer
	progress io.Writer
	quiet    bool
	color    bool
	logDir   string
	files    map[int]*os.File
	width    int // digits of the largest index

	flushPending bool
	fileErr      error
}

func newEachPrinter(logs, progress io.Writer, quiet, color bool, logDir string, n int) *eachPrinter {
	return &eachPrinter{logs: bufio.NewWriterSize(logs, 64*1024), progress: progress, quiet: quiet, color: color,
		logDir: logDir, files: map[int]*os.File{}, width: len(strconv.Itoa(max(n-1, 0)))}
}

// itemColors are ANSI foreground colours, one per item in turn.
var itemColors = []string{"36", "33", "35", "32", "34", "91", "96", "93", "95", "92"}

func (p *eachPrinter) prefix(i int) string {
	s := "[" + strconv.Itoa(i) + "] "
	if p.color {
		return "\x1b[" + itemColors[i%len(itemColors)] + "m" + s + "\x1b[0m"
	}
	return s
}

// handle is the mapped run's sink; index -1 is the run itself.
func (p *eachPrinter) handle(i int, ev launch.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *launch.LogLine:
		p.logLine(i, ev)
		return
	case *launch.PodCreated:
		p.say(i, "pod/%s created", ev.Pod)
	case *launch.TryStarted:
		if ev.Try > 1 {
			p.say(i, "try %d of %d: pod/%s", ev.Try, ev.Tries, ev.Pod)
		}
	case *launch.Retrying:
		when := "retrying in " + ev.Delay.String()
		if ev.Delay < 0 {
			when = "the Job controller retries it"
		}
		p.sayAlways(i, "try %d of %d failed (%s): %s", ev.Try, ev.Tries, oneLine(strings.TrimSpace(ev.Reason+" "+ev.Message)), when)
	case *launch.KubeEvent:
		if ev.Type == launch.EventWarning {
			p.sayAlways(i, "event: %s %s: %s", ev.Type, ev.Reason, oneLine(ev.Message))
		}
	case *launch.Notice:
		if ev.Level == "warning" || !p.quiet {
			p.sayAlways(i, "%s: %s", ev.Level, ev.Message)
		}
	case *launch.Finished:
		if f := p.files[i]; f != nil {
			// The item is done: its log file is complete.
			f.Close()
			delete(p.files, i)
		}
		r := ev.Result
		switch {
		case r.Outcome == launch.OutcomeSucceeded && p.quiet:
		case r.ExitCode != nil:
			p.sayAlways(i, "%s: exit code %d", r.Outcome, *r.ExitCode)
		default:
			p.sayAlways(i, "%s: %s", r.Outcome, oneLine(r.Message))
		}
	}
	p.flushLocked()
}

func (p *eachPrinter) logLine(i int, ev *launch.LogLine) {
	if p.logDir != "" {
		f := p.files[i]
		if f == nil {
			var err error
			f, err = os.Create(filepath.Join(p.logDir, strconv.Itoa(i)+".log"))
			if err != nil {
				if p.fileErr == nil {
					p.fileErr = err
					fmt.Fprintf(p.progress, "podtask: warning: --log-dir: %v (the item's log goes to stdout)\n", err)
				}
				p.logs.WriteString(p.prefix(i) + ev.Line + "\n")
				return
			}
			p.files[i] = f
		}
		_, _ = f.WriteString(ev.Line + "\n")
		return
	}
	p.logs.WriteString(p.prefix(i))
	p.logs.WriteString(ev.Line)
	p.logs.WriteByte('\n')
	if !p.flushPending {
		p.flushPending = true
		time.AfterFunc(15*time.Millisecond, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.flushLocked()
		})
	}
}

func (p *eachPrinter) flushLocked() {
	p.flushPending = false
	p.logs.Flush()
}

func (p *eachPrinter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
}

// close flushes and closes the log files.
func (p *eachPrinter) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
	for _, f := range p.files {
		f.Close()
	}
	p.files = map[int]*os.File{}
}

func (p *eachPrinter) say(i int, format string, args ...any) {
	if p.quiet {
		return
	}
	p.sayAlways(i, format, args...)
}

// sayAlways prints a progress line about item i (the run when -1).
func (p *eachPrinter) sayAlways(i int, format string, args ...any) {
	p.logs.Flush()
	if i >= 0 {
		format = p.prefix(i) + format
	}
	fmt.Fprintf(p.progress, "podtask: "+format+"\n", args...)
}

// printEachTable writes the summary: item, pod, try, outcome, exit code,
// duration, XCom.
func printEachTable(w io.Writer, rows []eachResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tPOD\tTRY\tOUTCOME\tEXIT\tDURATION\tXCOM")
	for _, r := range rows {
		exit := "-"
		if r.ExitCode != nil {
			exit = strconv.Itoa(int(*r.ExitCode))
		}
		try := "-"
		if r.Try > 0 {
			try = strconv.Itoa(r.Try)
		}
		x := "-"
		if r.XCom != nil {
			x = oneLine(string(r.XCom))
			if len(x) > 40 {
				x = x[:37] + "..."
			}
		}
		pod := r.Pod
		if pod == "" {
			pod = "-"
		}
		d := time.Duration(r.DurationSeconds * float64(time.Second)).Round(100 * time.Millisecond)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, pod, try, r.Outcome, exit, d, x)
	}
	tw.Flush()
}

package plugin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// printer turns engine events into plain text: logs on one writer, progress
// on another. It is safe for concurrent use, as a launch.Sink must be.
type printer struct {
	mu       sync.Mutex
	logs     *bufio.Writer
	progress io.Writer
	quiet    bool
	prefix   bool // prefix log lines with [container]
	logFile  *bufio.Writer

	flushPending bool
	lastPhase    string
	seenState    map[string]string
	xcom         *launch.XComResult
	bar          *progressBar // transfers, see progress.go
}

func newPrinter(logs, progress io.Writer, quiet, prefix bool, logFile io.Writer) *printer {
	p := &printer{
		logs: bufio.NewWriterSize(logs, 64*1024), progress: progress, quiet: quiet, prefix: prefix,
		seenState: map[string]string{},
	}
	if logFile != nil {
		p.logFile = bufio.NewWriterSize(logFile, 64*1024)
	}
	return p
}

// handle is the launch.Sink.
func (p *printer) handle(ev launch.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *launch.LogLine:
		p.logLine(ev)
		return
	case *launch.PodCreated:
		if ev.Attached {
			p.say("attached to pod/%s in namespace %s", ev.Pod, ev.Namespace)
		} else {
			p.say("pod/%s created in namespace %s", ev.Pod, ev.Namespace)
		}
	case *launch.PodStatus:
		p.status(ev)
	case *launch.KubeEvent:
		if ev.Type == "Warning" || !p.quiet {
			p.sayAlways(ev.Type == "Warning", "event: %s %s: %s", ev.Type, ev.Reason, oneLine(ev.Message))
		}
	case *launch.Notice:
		p.sayAlways(ev.Level == "warning", "%s: %s", ev.Level, ev.Message)
	case *launch.XComResult:
		p.xcom = ev
	case *launch.Transfer:
		p.transfer(ev)
	case *launch.TryStarted:
		p.lastPhase, p.seenState = "", map[string]string{}
		p.say("try %d of %d: pod/%s", ev.Try, ev.Tries, ev.Pod)
	case *launch.Retrying:
		p.sayAlways(true, "try %d of %d failed (%s): retrying in %s", ev.Try, ev.Tries, oneLine(strings.TrimSpace(ev.Reason+" "+ev.Message)), ev.Delay)
	case *launch.Cleanup:
		if ev.Deleted {
			p.say("pod deleted (%s)", ev.Action)
		} else {
			p.sayAlways(true, "pod %s", ev.Reason)
		}
	}
	p.flushLocked()
}

func (p *printer) logLine(ev *launch.LogLine) {
	if p.prefix {
		p.logs.WriteString("[" + ev.Container + "] ")
	}
	p.logs.WriteString(ev.Line)
	p.logs.WriteByte('\n')
	if p.logFile != nil {
		p.logFile.WriteString(ev.Timestamp.Format(time.RFC3339Nano) + " [" + ev.Container + "] " + ev.Line + "\n")
	}
	// Lines arrive in bursts: write them out shortly after a burst instead
	// of once per line.
	if !p.flushPending {
		p.flushPending = true
		time.AfterFunc(15*time.Millisecond, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.flushLocked()
		})
	}
}

func (p *printer) flushLocked() {
	p.flushPending = false
	p.logs.Flush()
	if p.logFile != nil {
		p.logFile.Flush()
	}
}

// flush writes out everything still buffered.
func (p *printer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushLocked()
}

func (p *printer) status(ev *launch.PodStatus) {
	if ev.Phase != p.lastPhase {
		p.lastPhase = ev.Phase
		if ev.Node != "" {
			p.say("phase %s on node %s", ev.Phase, ev.Node)
		} else {
			p.say("phase %s", ev.Phase)
		}
	}
	for _, cs := range append(append([]launch.ContainerStatus{}, ev.InitContainers...), ev.Containers...) {
		key := cs.State + "/" + cs.Reason
		if cs.State == "" || p.seenState[cs.Name] == key {
			continue
		}
		p.seenState[cs.Name] = key
		kind := "container"
		if cs.Init {
			kind = "init container"
		}
		switch cs.State {
		case "waiting":
			if w := launch.WaitingReason(cs.Reason); cs.Reason != "" && w != launch.WaitingStarting {
				p.sayAlways(true, "%s %s waiting: %s %s", kind, cs.Name, cs.Reason, oneLine(cs.Message))
			}
		case "running":
			p.say("%s %s running", kind, cs.Name)
		case "terminated":
			p.say("%s %s terminated: exit code %d (%s)", kind, cs.Name, *cs.ExitCode, cs.Reason)
		}
	}
}

// say prints a progress line unless quiet.
func (p *printer) say(format string, args ...any) {
	p.sayAlways(false, format, args...)
}

// sayAlways prints a progress line; important ones are printed even when quiet.
func (p *printer) sayAlways(important bool, format string, args ...any) {
	if p.quiet && !important {
		return
	}
	p.logs.Flush()
	if p.bar != nil {
		p.bar.clear()
	}
	fmt.Fprintf(p.progress, "podtask: "+format+"\n", args...)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// prettyJSON indents a JSON value for a person; it returns the input when it cannot.
func prettyJSON(v json.RawMessage) string {
	if len(v) <= 72 && !bytes.ContainsAny(v, "\n") {
		return string(v)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, v, "", "  "); err != nil {
		return string(v)
	}
	return out.String()
}

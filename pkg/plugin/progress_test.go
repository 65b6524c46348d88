package plugin

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

func TestProgressBarLine(t *testing.T) {
	start := time.Unix(1000, 0)
	b := &progressBar{width: 100}
	ev := &launch.Transfer{At: launch.At{Time: start.Add(2 * time.Second)}, Direction: launch.Upload, Name: "files",
		Bytes: 50 << 20, Total: 200 << 20, Started: start}
	line := b.line(ev)
	for _, want := range []string{"podtask: upload files [", " 25%", "50.0 MiB/200.0 MiB", "25.0 MiB/s", "ETA 6s"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if len(line) > 100 {
		t.Errorf("line of %d columns in a terminal of 100", len(line))
	}
}

// On a pipe the printer draws no bar, only the summary line; -q drops that too.
func TestProgressNothingOnAPipe(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var out bytes.Buffer
		p := newPrinter(&bytes.Buffer{}, &out, quiet, false, nil)
		start := time.Now().Add(-5 * time.Second)
		p.handle(&launch.Transfer{At: launch.At{Time: time.Now()}, Direction: launch.Upload, Name: "files", Bytes: 1 << 20, Total: 2 << 20, Started: start})
		p.handle(&launch.Transfer{At: launch.At{Time: time.Now()}, Direction: launch.Upload, Name: "files", Bytes: 2 << 20, Total: 2 << 20, Started: start, Done: true})
		p.handle(&launch.Transfer{At: launch.At{Time: time.Now()}, Direction: launch.Download, Name: "/out", Bytes: 1, Total: 2, Started: start, Done: true, Err: errors.New("x")})
		got := out.String()
		if strings.Contains(got, "\r") || strings.Contains(got, "ETA") {
			t.Fatalf("quiet=%v: a bar on a pipe: %q", quiet, got)
		}
		if want := !quiet; strings.Contains(got, "files uploaded: 2.0 MiB") != want {
			t.Fatalf("quiet=%v: summary line: %q", quiet, got)
		}
	}
}

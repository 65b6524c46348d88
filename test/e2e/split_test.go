package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// A task that prints far faster than one log stream is served: the plugin
// looks at the log's end, reads the rest with a second stream, and every line
// still arrives exactly once and in order. The audit log shows the look and
// the second stream.
func TestRunSplitsALogThatRunsAhead(t *testing.T) {
	t.Parallel()
	const n = 600000
	name := e2eutil.UniqueName("split")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", name, "--random-name-suffix=false",
		"--image", busybox, "--", "sh", "-c", "seq 1 "+strconv.Itoa(n)+"; sleep 3")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("line %d is %q, want %d", i+1, l, i+1)
		}
	}

	var probes, seconds int
	for _, q := range logRequests(t, name) {
		switch {
		case q.Get("tailLines") == "1":
			probes++
		case q.Get("follow") == "true" && q.Get("sinceTime") != "":
			seconds++
		}
	}
	t.Logf("%d lines; %d looks at the log's end, %d streams from a later second", len(lines), probes, seconds)
	if probes == 0 || seconds == 0 {
		t.Fatalf("the log was read by one stream: %d looks, %d later streams\n%s", probes, seconds, stderr)
	}
}

// A finished pod's log is read by attach without timestamps, every line
// once; with --log-file, every line of the file has the kubelet's timestamp.
func TestAttachReadsAFinishedPodsLog(t *testing.T) {
	t.Parallel()
	const n = 50000
	name := e2eutil.UniqueName("finished")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", name, "--random-name-suffix=false",
		"--on-finish-action", "keep_pod", "--image", busybox, "--", "sh", "-c", "seq 1 "+strconv.Itoa(n)+"; sleep 2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	defer e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	check := func(out string) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("%d lines, want %d", len(lines), n)
		}
		for i, l := range lines {
			if l != strconv.Itoa(i+1) {
				t.Fatalf("line %d is %q", i+1, l)
			}
		}
	}
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "attach", name, "--on-finish-action", "keep_pod")
	if code != 0 {
		t.Fatalf("attach: exit %d\n%s", code, stderr)
	}
	check(stdout)
	logFile := t.TempDir() + "/log"
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, "", "attach", name, "--log-file", logFile, "--on-finish-action", "delete_pod")
	if code != 0 {
		t.Fatalf("attach --log-file: exit %d\n%s", code, stderr)
	}
	check(stdout)
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	logged := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(logged) != n {
		t.Fatalf("log file has %d lines, want %d", len(logged), n)
	}
	for _, l := range logged {
		ts, _, _ := strings.Cut(l, " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Fatalf("log file line %q has no timestamp", l)
		}
	}
	// The requests: run's stream had timestamps, the first attach's not,
	// the second attach's had.
	var stamped, plain int
	for _, q := range logRequests(t, name) {
		if q.Get("follow") != "true" {
			continue
		}
		if q.Get("timestamps") == "true" {
			stamped++
		} else {
			plain++
		}
	}
	if plain != 1 || stamped != 2 {
		t.Fatalf("%d log streams without timestamps and %d with, want 1 and 2", plain, stamped)
	}
}

// logRequests returns the query of every completed request for pod's log,
// from the API server's audit log.
func logRequests(t *testing.T, pod string) []url.Values {
	t.Helper()
	f, err := os.Open(e2eutil.AuditLogPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []url.Values
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Stage      string `json:"stage"`
			RequestURI string `json:"requestURI"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil || !strings.HasSuffix(u.Path, "/pods/"+pod+"/log") {
			continue
		}
		out = append(out, u.Query())
	}
	return out
}

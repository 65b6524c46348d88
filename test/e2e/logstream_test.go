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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// A log far ahead of its reader: a running pod has printed 300,000 lines
// over six seconds when attach starts reading it. One stream reads it all:
// every line arrives exactly once and in order, and the audit log shows one
// follow stream of the log and no look at its end.
func TestAttachReadsALogThatRunsAheadWithOneStream(t *testing.T) {
	t.Parallel()
	const chunks, per = 6, 50000
	name := e2eutil.UniqueName("split")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	script := "for i in $(seq 0 " + strconv.Itoa(chunks-1) + "); do seq $((i*" + strconv.Itoa(per) + "+1)) $((i*" + strconv.Itoa(per) + "+" +
		strconv.Itoa(per) + ")); sleep 1; done; sleep 20"
	c := e2eutil.Client(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
			Name: "base", Image: busybox, Command: []string{"sh", "-c", script}}}},
	}
	if _, err := c.Pods(e2eutil.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	// Wait until the whole log is written.
	last := strconv.Itoa(chunks * per)
	one := int64(1)
	for {
		b, _ := c.Pods(e2eutil.Namespace).GetLogs(name, &corev1.PodLogOptions{TailLines: &one}).DoRaw(ctx)
		if strings.TrimSpace(string(b)) == last {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the pod did not print its lines: last %q", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "attach", name, "--on-finish-action", "delete_pod")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	wantNumbered(t, stdout, chunks*per)
	var follows, probes int
	for _, q := range logRequests(t, name) {
		switch {
		case q.Get("follow") == "true":
			follows++
		case q.Get("tailLines") == "1":
			probes++
		}
	}
	t.Logf("%d lines; %d follow streams, %d looks at the log's end", chunks*per, follows, probes)
	if follows != 1 || probes != 0 {
		t.Fatalf("the log was read by %d follow streams and %d looks at its end, want one stream and none\n%s", follows, probes, stderr)
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
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "attach", name, "--on-finish-action", "keep_pod")
	if code != 0 {
		t.Fatalf("attach: exit %d\n%s", code, stderr)
	}
	wantNumbered(t, stdout, n)
	logFile := t.TempDir() + "/log"
	stdout, stderr, code = e2eutil.RunPlugin(t, ctx, "", "attach", name, "--log-file", logFile, "--on-finish-action", "delete_pod")
	if code != 0 {
		t.Fatalf("attach --log-file: exit %d\n%s", code, stderr)
	}
	wantNumbered(t, stdout, n)
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

// wantNumbered checks that out is the lines 1 to n, each once and in order.
func wantNumbered(t *testing.T, out string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("line %d is %q, want %d (lost or repeated lines)", i+1, l, i+1)
		}
	}
}

// logRequests returns the query of every completed request the plugin made
// for pod's log, from the API server's audit log (the tests' own requests,
// with their own user agent, are left out).
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
			UserAgent  string `json:"userAgent"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseComplete" || !strings.HasPrefix(ev.UserAgent, "kubectl-podtask/") {
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

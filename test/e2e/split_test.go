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

	// The plugin's requests for this pod's log, in the order received.
	var probes, seconds int
	f, err := os.Open(e2eutil.AuditLogPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Stage      string `json:"stage"`
			RequestURI string `json:"requestURI"`
			UserAgent  string `json:"userAgent"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Stage != "ResponseStarted" && ev.Stage != "ResponseComplete" {
			continue
		}
		u, err := url.Parse(ev.RequestURI)
		if err != nil || !strings.HasSuffix(u.Path, "/pods/"+name+"/log") || ev.Stage != "ResponseComplete" {
			continue
		}
		q := u.Query()
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

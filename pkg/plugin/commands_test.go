package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// run on the fake: the pod is created, its log printed, its exit code
// returned, the pod deleted.
func TestRunOnAFake(t *testing.T) {
	f := newFakeFactory()
	go kubelet(t, f, podRunning, baseExits(3))
	stdout, stderr, code := execute(t, f, "run", "--image", "busybox", "--name", "hello", "--random-name-suffix=false", "--", "echo", "hi")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "fake logs") {
		t.Errorf("stdout %q lacks the log", stdout)
	}
	if !strings.Contains(stderr, "pod/hello created") || !strings.Contains(stderr, "pod deleted (delete_pod)") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if l, _ := f.cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("%d pods left", len(l.Items))
	}
}

// --xcom-out to a folder that does not exist is bad input, found before
// anything is created.
func TestRunXComOutUnwritableCreatesNothing(t *testing.T) {
	f := newFakeFactory()
	_, stderr, code := execute(t, f, "run", "--image", "busybox", "--xcom", "--xcom-out", "/no/such/dir/f", "--", "true")
	if code != ExitUsage || !strings.Contains(stderr, "--xcom-out /no/such/dir/f cannot be written") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, a := range f.cs.Actions() {
		if a.GetVerb() == "create" {
			t.Fatalf("a %s was sent: %v", a.GetResource().Resource, a)
		}
	}
}

// --xcom-out without --xcom turns XCom on, in sidecar mode, and writes
// the result.
func TestRunXComOutImpliesXCom(t *testing.T) {
	f := newFakeFactory()
	f.exec.result = "present\n[1,2]\n"
	out := filepath.Join(t.TempDir(), "result.json")
	go kubelet(t, f, podRunning, baseExits(0))
	_, stderr, code := execute(t, f, "run", "--image", "busybox", "--name", "x", "--xcom-out", out, "--", "true")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(b)) != "[1,2]" {
		t.Fatalf("--xcom-out has %q (%v), want [1,2]", b, err)
	}
	var created *corev1.Pod
	for _, a := range f.cs.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok {
			created, _ = c.GetObject().(*corev1.Pod)
		}
	}
	if created == nil || created.Annotations[launch.AnnotationXComMode] != "sidecar" || len(created.Spec.Containers) != 2 {
		t.Fatalf("created pod %+v, want a sidecar", created)
	}
	// With --xcom=false it is a contradiction, refused before anything runs.
	_, stderr, code = execute(t, newFakeFactory(), "run", "--image", "busybox", "--xcom=false", "--xcom-out", out, "--", "true")
	if code != ExitUsage || !strings.Contains(stderr, "--xcom-out wants the XCom result") {
		t.Fatalf("--xcom=false --xcom-out: exit %d, %q", code, stderr)
	}
}

// A result that cannot be written after all is printed on stderr.
func TestXComOutWriteFailurePrintsTheResult(t *testing.T) {
	dir := t.TempDir()
	ff := &followFlags{xcomOut: dir} // a folder: the write fails
	var out, errOut strings.Builder
	streams := testStreams(&out, &errOut)
	err := ff.report(streams, newPrinter(&out, &errOut, false, false, nil),
		&launch.Result{HasXCom: true, XCom: []byte(`{"rows": 42}`), Outcome: launch.OutcomeSucceeded, ExitCode: new(int32)}, nil, false)
	if ExitCode(err) != ExitXCom || !strings.Contains(errOut.String(), `{"rows": 42}`) {
		t.Fatalf("exit %d, stderr %q: the result was lost", ExitCode(err), errOut.String())
	}
}

// attach on the fake: a kept, finished pod is followed as run would, with
// its own on-finish action (here: kept).
func TestAttachOnAFake(t *testing.T) {
	p := taskPodFor("done", "keep_pod", "termination-message", time.Now().Add(-time.Hour), exited(0, time.Now(), `{"rows": 42}`))
	f := newFakeFactory(p)
	stdout, stderr, code := execute(t, f, "attach", "done")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "fake logs") || !strings.Contains(stderr, `{"rows": 42}`) || !strings.Contains(stderr, "pod kept by keep_pod") {
		t.Fatalf("stdout %q\nstderr %s", stdout, stderr)
	}
	if _, err := f.cs.CoreV1().Pods("default").Get(context.Background(), "done", metav1.GetOptions{}); err != nil {
		t.Fatalf("the kept pod is gone: %v", err)
	}
	if _, stderr, code := execute(t, f, "attach"); code != ExitUsage || !strings.Contains(stderr, "name the pod") {
		t.Fatalf("attach without a pod: exit %d %q", code, stderr)
	}
}

// xcom on the fake: the termination message, and nothing else on stdout.
func TestXComOnAFake(t *testing.T) {
	p := taskPodFor("done", "keep_pod", "termination-message", time.Now(), exited(0, time.Now(), `{"rows": 42}`))
	stdout, stderr, code := execute(t, newFakeFactory(p), "xcom", "done")
	if code != 0 || strings.TrimSpace(stdout) != `{"rows": 42}` {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	p = taskPodFor("plain", "keep_pod", "", time.Now(), exited(0, time.Now(), ""))
	if _, stderr, code := execute(t, newFakeFactory(p), "xcom", "plain"); code != ExitXCom || !strings.Contains(stderr, "not started with XCom") {
		t.Fatalf("exit %d %q", code, stderr)
	}
}

// list on the fake: the table with its GC column, and kubectl's output
// formats.
func TestListOnAFake(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := newFakeFactory(
		taskPodFor("left-behind", "delete_pod", "", old, exited(0, old, "")),
		taskPodFor("kept", "keep_pod", "", old, exited(0, old, "")),
		taskPodFor("running", "delete_pod", "", time.Now(), corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}),
	)
	stdout, stderr, code := execute(t, f, "list")
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		fields := strings.Fields(l)
		rows[fields[0]] = fields[len(fields)-1]
	}
	if rows["left-behind"] != "due" || rows["kept"] != "-" || rows["running"] != "-" {
		t.Fatalf("GC column %v\n%s", rows, stdout)
	}
	for _, c := range []struct{ output, want string }{
		{"name", "pod/kept\npod/left-behind\npod/running\n"},
		{"jsonpath={.items[*].metadata.name}", "kept left-behind running"},
		{"go-template={{range .items}}{{.metadata.name}};{{end}}", "kept;left-behind;running;"},
	} {
		stdout, stderr, code := execute(t, f, "list", "-o", c.output)
		if code != 0 || stdout != c.want {
			t.Errorf("-o %s: exit %d, %q (want %q) %s", c.output, code, stdout, c.want, stderr)
		}
	}
	stdout, _, code = execute(t, f, "list", "-o", "custom-columns=POD:.metadata.name,NODE:.spec.nodeName")
	if code != 0 || !strings.HasPrefix(stdout, "POD") || !strings.Contains(stdout, "left-behind   node-1") {
		t.Errorf("custom-columns: %q", stdout)
	}
	stdout, _, _ = execute(t, f, "list", "-o", "json")
	if !strings.Contains(stdout, `"kind": "PodList"`) && !strings.Contains(stdout, `"kind": "List"`) {
		t.Errorf("-o json: %.200s", stdout)
	}
	if _, stderr, code := execute(t, f, "list", "-o", "toml"); code != ExitUsage || !strings.Contains(stderr, "not supported") {
		t.Errorf("-o toml: exit %d %q", code, stderr)
	}
}

// gc deletes what its on-finish action says should be gone, and only that.
func TestGCOnAFake(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := newFakeFactory(
		taskPodFor("left-behind", "delete_pod", "", old, exited(0, old, "")),
		taskPodFor("failed-kept", "delete_succeeded_pod", "", old, exited(2, old, "")),
		taskPodFor("kept", "keep_pod", "", old, exited(0, old, "")),
		taskPodFor("recent", "delete_pod", "", time.Now(), exited(0, time.Now(), "")),
		taskPodFor("running", "delete_pod", "", old, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}),
	)
	stdout, _, code := execute(t, f, "gc", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "pod/left-behind would be deleted") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("dry run: exit %d %q", code, stdout)
	}
	stdout, _, code = execute(t, f, "gc")
	if code != 0 || !strings.Contains(stdout, "pod/left-behind deleted") {
		t.Fatalf("gc: exit %d %q", code, stdout)
	}
	l, _ := f.cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	var left []string
	for _, p := range l.Items {
		left = append(left, p.Name)
	}
	if strings.Join(left, ",") != "failed-kept,kept,recent,running" {
		t.Fatalf("left %v", left)
	}
	if stdout, _, _ := execute(t, f, "gc", "--min-age", "0s", "--dry-run"); !strings.Contains(stdout, "pod/recent would be deleted") {
		t.Fatalf("--min-age 0s: %q", stdout)
	}
}

// gc deletes a mapped run's record once it was last written --min-age ago
// and no pod of the run runs; a run with a running pod keeps its record.
func TestGCRunRecordsOnAFake(t *testing.T) {
	old, now := time.Now().Add(-time.Hour), time.Now()
	record := func(run string, created time.Time, written *time.Time) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: launch.RecordName(run), Namespace: "default", UID: types.UID("uid-" + run),
			CreationTimestamp: metav1.NewTime(created),
			Labels: map[string]string{launch.LabelManagedBy: launch.ManagedByValue, launch.LabelRunID: run,
				launch.LabelRecord: launch.RecordMappedRun, launch.LabelTask: "t"}}}
		if written != nil {
			cm.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl-podtask", Time: &metav1.Time{Time: *written}}}
		}
		return cm
	}
	f := newFakeFactory(
		record("abandoned", old, nil),
		record("written-lately", old, &now),
		record("r-running", old, nil),
		taskPodFor("running", "delete_pod", "", old, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}),
	)
	stdout, _, code := execute(t, f, "gc", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "configmap/podtask-run-abandoned would be deleted") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("dry run: exit %d %q", code, stdout)
	}
	if stdout, _, code = execute(t, f, "gc"); code != 0 || !strings.Contains(stdout, "configmap/podtask-run-abandoned deleted") {
		t.Fatalf("gc: exit %d %q", code, stdout)
	}
	l, _ := f.cs.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	var left []string
	for _, cm := range l.Items {
		left = append(left, cm.Name)
	}
	if strings.Join(left, ",") != "podtask-run-r-running,podtask-run-written-lately" {
		t.Fatalf("left %v", left)
	}
}

// list --runs shows each mapped run's record: items, done, its pods
// running, and whether gc would delete it; -o name names the records.
func TestListRunsOnAFake(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	record := func(run string, done int) *corev1.ConfigMap {
		items := map[string]launch.RecordedItem{}
		for i := range done {
			items[strconv.Itoa(i)] = launch.RecordedItem{Final: true, Result: &launch.Result{Outcome: launch.OutcomeSucceeded}}
		}
		b, _ := json.Marshal(items)
		settings, _ := json.Marshal(launch.RunSettings{Task: "nightly", Parallelism: 2, Params: make([]map[string]string, 5)})
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: launch.RecordName(run), Namespace: "default", CreationTimestamp: metav1.NewTime(old),
			Labels: map[string]string{launch.LabelManagedBy: launch.ManagedByValue, launch.LabelRunID: run, launch.LabelRecord: launch.RecordMappedRun}},
			Data: map[string]string{"run.json": string(settings), "items.json": string(b)}}
	}
	f := newFakeFactory(record("stopped", 3), record("r-running", 1),
		taskPodFor("running", "delete_pod", "", old, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}))
	stdout, stderr, code := execute(t, f, "list", "--runs")
	if code != 0 {
		t.Fatalf("exit %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := [][]string{
		{"RUN-ID", "TASK", "ITEMS", "DONE", "RUNNING", "WRITTEN", "GC"},
		{"r-running", "nightly", "5", "1", "1", "60m", "-"},
		{"stopped", "nightly", "5", "3", "0", "60m", "due"},
	}
	if len(lines) != len(want) {
		t.Fatalf("list --runs:\n%s", stdout)
	}
	for i, l := range lines {
		if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(want[i], " ") {
			t.Errorf("line %d: %q, want %q", i, got, want[i])
		}
	}
	if stdout, _, _ := execute(t, f, "list", "--runs", "-o", "name"); stdout != "configmap/podtask-run-r-running\nconfigmap/podtask-run-stopped\n" {
		t.Errorf("-o name: %q", stdout)
	}
}

// A pod deleted by someone else during run is its own outcome, exit 1, not
// an API error.
func TestRunPodDeletedElsewhere(t *testing.T) {
	f := newFakeFactory()
	go func() {
		kubelet(t, f, podRunning)
		time.Sleep(50 * time.Millisecond)
		_ = f.cs.CoreV1().Pods("default").Delete(context.Background(), "gone", metav1.DeleteOptions{})
	}()
	_, stderr, code := execute(t, f, "run", "--image", "busybox", "--name", "gone", "--random-name-suffix=false", "--", "sleep", "60")
	if code != ExitTaskFailed || !strings.Contains(stderr, "pod deleted by another client") || !strings.Contains(stderr, "while running") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
}

// Completion offers secret names from their metadata alone: the request
// asks for PartialObjectMetadataList, so no secret's data is sent.
func TestCompletionListsSecretMetadataOnly(t *testing.T) {
	var accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","items":[{"metadata":{"name":"regcred"}},{"metadata":{"name":"db"}}]}`))
	}))
	defer srv.Close()
	c, err := corev1client.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeFactory()
	f.core = c
	stdout, _, _ := execute(t, f, "__complete", "run", "--env-from-secret", "")
	if !strings.Contains(stdout, "regcred\ndb\n") {
		t.Fatalf("choices %q", stdout)
	}
	if !strings.Contains(accept, "as=PartialObjectMetadataList") {
		t.Fatalf("Accept %q: the secrets were asked for whole", accept)
	}
}

// The second Ctrl-C leaves at once, after writing out what is buffered for
// --log-file.
func TestSecondSignalFlushesTheLogFile(t *testing.T) {
	var logs, progress, file strings.Builder
	p := newPrinter(&logs, &progress, false, false, &file)
	p.handle(&launch.LogLine{Container: "base", Line: "the last line"})
	var code int
	cancelled := false
	h := &signalHandler{cancel: func(error) { cancelled = true }, first: func() {}, flush: p.flush, exit: func(c int) {
		code = c
		if !strings.Contains(file.String(), "the last line") {
			t.Errorf("left with %q in --log-file: the last line was lost", file.String())
		}
	}}
	h.signal()
	if !cancelled || code != 0 {
		t.Fatalf("first signal: cancelled %v, exit %d", cancelled, code)
	}
	h.signal()
	if code != ExitInterrupted {
		t.Fatalf("second signal: exit %d", code)
	}
}

// The clients a command makes carry the plugin's user agent and a rate
// limit a mapped run does not wait on (client-go's default is 5 a second).
func TestFactoryConfigUserAgentAndRateLimit(t *testing.T) {
	f := newFactory(configFlags(testKubeconfig(t, "http://127.0.0.1:1"), ""))
	cfg, err := f.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserAgent != userAgent() {
		t.Errorf("user agent %q, want %q", cfg.UserAgent, userAgent())
	}
	if cfg.QPS != clientQPS || cfg.Burst != clientBurst {
		t.Errorf("QPS %v burst %d, want %v and %d", cfg.QPS, cfg.Burst, float32(clientQPS), clientBurst)
	}
}

// The printer reads launch's table of waiting reasons: the way to running is
// not worth a line; a reason that fails the start is shown, also with -q.
func TestPrinterWaitingReasonsFromTheTable(t *testing.T) {
	var progress strings.Builder
	p := newPrinter(&strings.Builder{}, &progress, true, false, nil)
	for _, reason := range []string{"ContainerCreating", "PodInitializing", "PreStartHookError", "ErrImagePull"} {
		p.handle(&launch.PodStatus{Phase: "Pending", Containers: []launch.ContainerStatus{
			{Name: "base", State: "waiting", Reason: reason, Message: "because"}}})
	}
	got := progress.String()
	for _, reason := range []string{"ContainerCreating", "PodInitializing"} {
		if launch.WaitingReason(reason) != launch.WaitingStarting || strings.Contains(got, reason) {
			t.Errorf("%s is printed or not in the table as the way to running:\n%s", reason, got)
		}
	}
	for _, reason := range []string{"PreStartHookError", "ErrImagePull"} {
		if !launch.WaitingReason(reason).FailsStart() || !strings.Contains(got, "container base waiting: "+reason+" because") {
			t.Errorf("%s is not printed with -q, or does not fail a start:\n%s", reason, got)
		}
	}
}

package launch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podtask-dev/kubectl-podtask/pkg/archive"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

func TestPlanUploadRefuses(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "in/sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o600)
	os.Symlink("../../secret", filepath.Join(dir, "in/sub/out"))
	_, err := PlanUpload([]UploadTarget{{Local: filepath.Join(dir, "in"), Entry: "files/in"}})
	if err == nil || !strings.Contains(err.Error(), "outside") || !strings.Contains(err.Error(), "sub/out") {
		t.Fatalf("symlink out: %v", err)
	}
	_, err = PlanUpload([]UploadTarget{{Local: filepath.Join(dir, "missing"), Entry: "files/missing"}})
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing: %v", err)
	}
}

// The archive an upload sends unpacks to the same files, modes and sums.
func TestUploadArchiveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "a/b"), 0o750)
	os.WriteFile(filepath.Join(src, "a/b/run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(src, "data"), []byte("data"), 0o640)
	os.Symlink("a/b/run.sh", filepath.Join(src, "link"))
	plan, err := PlanUpload([]UploadTarget{{Local: src, Entry: "files/src"}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Files != 2 || plan.Bytes != 22 {
		t.Fatalf("plan %d files %d bytes", plan.Files, plan.Bytes)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeUpload(pw, plan, newMeter(Upload, "files", plan.Bytes, nil))) }()
	out := filepath.Join(dir, "out")
	if _, err := archive.Extract(pr, out, archive.Options{Announced: -1}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(out, "files/src/a/b/run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh %v %v", fi, err)
	}
	sums, _ := os.ReadFile(filepath.Join(out, render.FilesSumsName))
	sum := sha256.Sum256([]byte("data"))
	if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  ./files/src/data\n") {
		t.Fatalf("sums:\n%s", sums)
	}
	if l, _ := os.Readlink(filepath.Join(out, "files/src/link")); l != "a/b/run.sh" {
		t.Fatalf("link = %q", l)
	}
}

// The command the pod runs, run here with busybox: it unpacks, checks every
// file while the next arrives, and names a file whose sum differs.
func TestUploadScriptWithBusybox(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox here")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "a"), 0o755)
	os.WriteFile(filepath.Join(src, "a/one"), bytes.Repeat([]byte("1"), 3<<20), 0o644)
	os.WriteFile(filepath.Join(src, "-two"), []byte("2"), 0o755)
	plan, err := PlanUpload([]UploadTarget{{Local: src, Entry: "files/src"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, pipelined := range []bool{true, false} {
		var archive bytes.Buffer
		if err := writeUpload(&archive, plan, newMeter(Upload, "files", plan.Bytes, nil)); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out", map[bool]string{true: "p", false: "s"}[pipelined])
		cmd := uploadScript(out, "", plan, pipelined)
		run := func(data []byte) (string, error) {
			c := exec.Command(bb, append([]string{"sh"}, cmd[1:]...)...)
			c.Stdin = bytes.NewReader(data)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			err := c.Run()
			return stderr.String(), err
		}
		if msg, err := run(archive.Bytes()); err != nil {
			t.Fatalf("pipelined=%v: %v: %s", pipelined, err, msg)
		}
		if fi, err := os.Stat(filepath.Join(out, "files/src/-two")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("-two: %v %v", fi, err)
		}
		if _, err := os.Stat(filepath.Join(out, render.FilesSumsName)); err == nil {
			t.Fatal("the sums file was left behind")
		}
		// Corrupt one byte of a file's content in the archive.
		bad := append([]byte(nil), archive.Bytes()...)
		i := bytes.Index(bad, bytes.Repeat([]byte("1"), 64))
		bad[i] = '0'
		os.RemoveAll(out)
		msg, err := run(bad)
		if err == nil || !strings.Contains(msg, "./files/src/a/one") || strings.Contains(msg, "-two") {
			t.Fatalf("pipelined=%v: a corrupt file: %v %q", pipelined, err, msg)
		}
	}
}

// cutStreamer reads the whole upload, then fails as an exec whose
// container ended under it does, calling after first.
type cutStreamer struct {
	calls int
	after func(call int)
}

func (c *cutStreamer) Exec(context.Context, string, string, string, []string, io.Writer, io.Writer) error {
	return errors.New("not used")
}

func (c *cutStreamer) Stream(_ context.Context, _, _, _ string, _ []string, stdin io.Reader, _, _ io.Writer) error {
	c.calls++
	_, _ = io.Copy(io.Discard, stdin)
	if c.after != nil {
		c.after(c.calls)
	}
	return errors.New("error executing command in container: no running task found")
}

// A files upload whose stream was cut is judged by the init container the
// upload lets exit: exited 0 is arrived (not sent again into a container
// that is gone), exited non-zero is failed, still waiting is sent again.
func TestFilesUploadJudgedByTheInitContainer(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data"), []byte("data"), 0o644)
	plan, err := PlanUpload([]UploadTarget{{Local: filepath.Join(dir, "data"), Entry: "files/data"}})
	if err != nil {
		t.Fatal(err)
	}
	initState := func(exit int32, running bool) corev1.ContainerState {
		if running {
			return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		}
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}}
	}
	for _, c := range []struct {
		name        string
		first, then corev1.ContainerState // the init container after the first and later sends
		wantErr     bool
		wantCalls   int
	}{
		{"exited 0", initState(0, false), initState(0, false), false, 1},
		{"exited 1", initState(1, false), initState(1, false), true, 1},
		{"still waiting, then exited 0", initState(0, true), initState(0, false), false, 2},
		{"still waiting twice", initState(0, true), initState(0, true), true, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
				Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{Name: render.FilesInitName}}}}
			clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			// seen is the pod as the follow loop's watch hands it on.
			seen := newPodMailbox()
			seen.put(pod, false)
			s := &cutStreamer{after: func(call int) {
				p := pod.DeepCopy()
				p.Status.InitContainerStatuses[0].State = c.first
				if call > 1 {
					p.Status.InitContainerStatuses[0].State = c.then
				}
				seen.put(p, false)
			}}
			e := &Engine{Exec: s, Clock: clk}
			var res TransferResult
			done := make(chan struct{})
			go func() {
				defer close(done)
				res, err = e.sendUpload(t.Context(), pod, render.FilesInitName, FilesUploadCommand(plan), plan, nil, filesArrived(clk, seen))
			}()
			stepWhileWaiting(clk, time.Second, done, nil)
			if (err != nil) != c.wantErr || s.calls != c.wantCalls {
				t.Fatalf("err %v after %d sends, want error %v after %d", err, s.calls, c.wantErr, c.wantCalls)
			}
			if !c.wantErr && (res.Files != 1 || res.Error != "") {
				t.Fatalf("result %+v, want 1 file and no error", res)
			}
		})
	}
}

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// filesSummary is the part of `run -o json` about files and artifacts.
type filesSummary struct {
	summary
	Files *struct {
		Files int   `json:"files"`
		Bytes int64 `json:"bytes"`
	} `json:"files"`
	Artifacts []struct {
		Path  string `json:"path"`
		Local string `json:"local"`
		Files int    `json:"files"`
		Bytes int64  `json:"bytes"`
		Error string `json:"error"`
	} `json:"artifacts"`
}

func runFilesJSON(t *testing.T, timeout time.Duration, args ...string) (filesSummary, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", append([]string{"run", "-o", "json"}, args...)...)
	var s filesSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("run -o json printed no summary (exit %d): %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	if s.Pod != "" {
		e2eutil.CleanupPod(t, s.Namespace, s.Pod)
	}
	return s, stderr, code
}

// writeRandomTree writes about total bytes of random files in nested
// folders under dir, one of them an executable script, and returns the
// sha256sum-style lines of every file, relative to dir.
func writeRandomTree(t *testing.T, dir string, total int64) string {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{14})
	sizes := []int64{total * 40 / 100, total * 30 / 100, total * 20 / 100}
	rest := total - sizes[0] - sizes[1] - sizes[2]
	paths := []string{"a/b/c/big1.bin", "a/d/big2.bin", "e/big3.bin"}
	for i := 0; i < 10; i++ {
		paths = append(paths, fmt.Sprintf("a/b/small/%02d.dat", i))
		sizes = append(sizes, rest/10)
	}
	for i, p := range paths {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(full, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rng, sizes[i]); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	script := filepath.Join(dir, "a/bin/check.sh")
	os.MkdirAll(filepath.Dir(script), 0o750)
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho executable ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "a/bin"), 0o750)
	return sumTree(t, dir)
}

// sumTree lists "sha256  ./path mode" for every file and folder under dir.
func sumTree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		if d.IsDir() {
			if rel != "." {
				lines = append(lines, fmt.Sprintf("dir %s %o", rel, info.Mode().Perm()))
			}
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		io.Copy(h, f)
		lines = append(lines, fmt.Sprintf("%s  ./%s %o", hex.EncodeToString(h.Sum(nil)), rel, info.Mode().Perm()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// sha256sumLines turns sumTree's listing into a file sha256sum -c reads.
func sha256sumLines(tree string) string {
	var b strings.Builder
	for _, l := range strings.Split(tree, "\n") {
		if strings.HasPrefix(l, "dir ") {
			continue
		}
		b.WriteString(l[:strings.LastIndex(l, " ")] + "\n")
	}
	return b.String()
}

// 200 MB of random files go in with --file, are checked in the pod by the
// task (sha256sum -c), and come back with --artifact identical, modes included.
func TestFilesInAndArtifactsOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tree := writeRandomTree(t, data, 200<<20)
	sums := filepath.Join(dir, "SHA256SUMS")
	if err := os.WriteFile(sums, []byte(sha256sumLines(tree)), 0o644); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back")
	name := e2eutil.UniqueName("files-roundtrip")
	s, stderr, code := runFilesJSON(t, 8*time.Minute, "--name", name, "--image", busybox,
		"--file", data, "--file", sums+":sums/SHA256SUMS", "--artifact", "/out:"+back,
		"--", "sh", "-c", "cd /podtask/files/data && sha256sum -c -s /podtask/files/sums/SHA256SUMS && echo sums ok && "+
			"./a/bin/check.sh && cp -a /podtask/files/data/. /out/")
	if code != 0 || !strings.Contains(stderr, "sums ok") || !strings.Contains(stderr, "executable ran") {
		t.Fatalf("exit %d, want 0 with the sums checked in the pod\n%s", code, stderr)
	}
	if strings.Contains(stderr, "ETA") || strings.Contains(stderr, "\r") {
		t.Fatalf("a progress bar was drawn on a pipe:\n%s", stderr)
	}
	if s.Files == nil || s.Files.Bytes < 200<<20 || s.Files.Files != 15 {
		t.Fatalf("summary files = %+v", s.Files)
	}
	if len(s.Artifacts) != 1 || s.Artifacts[0].Files != 14 || s.Artifacts[0].Local != back || s.Artifacts[0].Error != "" {
		t.Fatalf("summary artifacts = %+v", s.Artifacts)
	}
	if got := sumTree(t, back); got != tree {
		t.Fatalf("what came back differs from what went in:\n got:\n%s\nwant:\n%s", got, tree)
	}
}

// A task that exits 1 still has its artifact folder brought back, and the
// run's exit code is 1.
func TestArtifactsOfAFailedTask(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := e2eutil.UniqueName("artifacts-failed")
	s, stderr, code := runFilesJSON(t, 3*time.Minute, "--name", name, "--image", busybox, "--artifact", "/out:"+dir+"/got",
		"--", "sh", "-c", "mkdir -p /out/logs && echo 'step 3 failed' > /out/logs/error.txt && exit 1")
	if code != 1 || s.Outcome != "Failed" {
		t.Fatalf("exit %d outcome %s, want 1 Failed\n%s", code, s.Outcome, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "got/logs/error.txt"))
	if err != nil || string(b) != "step 3 failed\n" {
		t.Fatalf("artifact = %q, %v\n%s", b, err, stderr)
	}
	if !s.Deleted {
		t.Fatalf("the pod was not deleted after its artifacts were fetched")
	}
}

// cp fetches the artifacts of a kept pod whose base container ended, and an
// existing file is not replaced without --overwrite.
func TestCpFromKeptPod(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := e2eutil.UniqueName("cp-kept")
	s, stderr, code := runFilesJSON(t, 3*time.Minute, "--name", name, "--image", busybox, "--on-finish-action", "keep_pod",
		"--artifact", "/out:"+dir+"/first", "--", "sh", "-c", "mkdir -p /out/r && echo 42 > /out/r/answer && chmod 600 /out/r/answer")
	if code != 0 || s.Deleted {
		t.Fatalf("exit %d deleted %v\n%s", code, s.Deleted, stderr)
	}
	pod := e2eutil.WaitPod(t, "default", s.Pod, time.Minute, func(p *corev1.Pod) bool { return baseTerminated(p) })
	if e2eutil.ContainerRunning(pod, "base") {
		t.Fatal("the base container still runs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	local := filepath.Join(dir, "later")
	_, stderr, code = e2eutil.RunPlugin(t, ctx, "", "cp", s.Pod+":/out", local)
	if code != 0 {
		t.Fatalf("cp: exit %d\n%s", code, stderr)
	}
	fi, err := os.Stat(filepath.Join(local, "r/answer"))
	b, _ := os.ReadFile(filepath.Join(local, "r/answer"))
	if err != nil || string(b) != "42\n" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cp brought %q (%v, %v)", b, fi, err)
	}
	// A single file, to a new name.
	_, stderr, code = e2eutil.RunPlugin(t, ctx, "", "cp", s.Pod+":/out/r/answer", filepath.Join(dir, "answer.txt"))
	if b, _ := os.ReadFile(filepath.Join(dir, "answer.txt")); code != 0 || string(b) != "42\n" {
		t.Fatalf("cp of a file: exit %d, %q\n%s", code, b, stderr)
	}
	_, stderr, code = e2eutil.RunPlugin(t, ctx, "", "cp", s.Pod+":/out", local)
	if code != 74 || !strings.Contains(stderr, "--overwrite") {
		t.Fatalf("cp over existing files: exit %d, want 74 asking for --overwrite\n%s", code, stderr)
	}
	_, stderr, code = e2eutil.RunPlugin(t, ctx, "", "cp", "--overwrite", s.Pod+":/out", local)
	if code != 0 {
		t.Fatalf("cp --overwrite: exit %d\n%s", code, stderr)
	}
}

// listOutside lists what is in dir besides the folder keep.
func listOutside(t *testing.T, dir, keep string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if rel != "." && rel != keep && !strings.HasPrefix(rel, keep+string(filepath.Separator)) {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// A task whose artifact folder holds links out, a named pipe and a device
// node: each is refused by name, the good file comes back, nothing lands
// outside LOCAL.
func TestArtifactsRefuseUnsafeEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	name := e2eutil.UniqueName("artifacts-unsafe")
	s, stderr, code := runFilesJSON(t, 3*time.Minute, "--name", name, "--image", busybox, "--artifact", "/out:"+dir+"/got",
		"--", "sh", "-c", "echo ok > /out/ok.txt && ln -s /etc/passwd /out/abs-link && ln -s ../../../../../etc /out/up-link && "+
			"mkfifo /out/pipe && { mknod /out/null c 1 3 || echo cannot-mknod; }")
	if code != 74 {
		t.Fatalf("exit %d, want 74\n%s", code, stderr)
	}
	for _, entry := range []string{"abs-link", "up-link", "pipe", "null"} {
		if entry == "null" && strings.Contains(stderr, "cannot-mknod") {
			t.Log("the container may not make device nodes; the device case is covered by cp of a crafted archive")
			continue
		}
		if !strings.Contains(stderr, entry) || len(s.Artifacts) != 1 || !strings.Contains(s.Artifacts[0].Error, entry) {
			t.Errorf("entry %s is not named\n%s\n%+v", entry, stderr, s.Artifacts)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "got/ok.txt")); string(b) != "ok\n" {
		t.Errorf("the good file did not come back: %q", b)
	}
	if o := listOutside(t, dir, "got"); len(o) > 0 {
		t.Fatalf("written outside LOCAL: %v", o)
	}
}

// craftedTar is an archive no honest tar makes: traversal, an absolute
// path, links out, a device node, and more content than announced.
func craftedTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Mode, h.ModTime = 0o644, time.Unix(1700000000, 0)
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	add(&tar.Header{Name: "./ok.txt", Typeflag: tar.TypeReg}, "o")
	add(&tar.Header{Name: "../../../evil.txt", Typeflag: tar.TypeReg}, "evil")
	add(&tar.Header{Name: "/tmp/abs-evil.txt", Typeflag: tar.TypeReg}, "evil")
	add(&tar.Header{Name: "./link-out", Typeflag: tar.TypeSymlink, Linkname: "../../outside"}, "")
	add(&tar.Header{Name: "./self", Typeflag: tar.TypeSymlink, Linkname: "."}, "")
	add(&tar.Header{Name: "./self/through-link.txt", Typeflag: tar.TypeReg}, "evil")
	add(&tar.Header{Name: "./dev-null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}, "")
	add(&tar.Header{Name: "./too-big.bin", Typeflag: tar.TypeReg}, strings.Repeat("x", 4096))
	tw.Close()
	return buf.Bytes()
}

// cp from a container that sends a crafted archive stream (its tar is
// shell is replaced by one that prints an archive shipped with --file): every bad
// entry is named, nothing is written outside LOCAL.
func TestCpRefusesCraftedArchive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	crafted := filepath.Join(dir, "crafted.tar")
	if err := os.WriteFile(crafted, craftedTar(t), 0o644); err != nil {
		t.Fatal(err)
	}
	name := e2eutil.UniqueName("cp-crafted")
	e2eutil.CleanupPod(t, "default", name)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	lines, wait := startPlugin(t, ctx, "run", "--name", name, "--random-name-suffix=false", "--image", busybox,
		"--on-finish-action", "delete_pod", "--file", crafted, "--", "sh", "-c",
		"mkdir -p /data && echo o > /data/ok.txt && mkdir -p /bbx && cp /bin/busybox /bbx/busybox && rm -f /bin/sh && "+
			"printf '#!/bbx/busybox ash\\nprintf \"d 2\\\\n\"; cat /podtask/files/crafted.tar\\n' > /bin/sh && "+
			"chmod 755 /bin/sh && echo ready && trap 'exit 0' TERM && sleep 300 & wait")
	for l := range lines {
		if l == "ready" {
			break
		}
	}
	local := filepath.Join(dir, "got")
	_, stderr, code := e2eutil.RunPlugin(t, ctx, "", "cp", name+":/data", local)
	cancel()
	wait()
	if code != 74 {
		t.Fatalf("cp: exit %d, want 74\n%s", code, stderr)
	}
	for _, entry := range []string{"../../../evil.txt", "/tmp/abs-evil.txt", "./link-out", "./self/through-link.txt", "./dev-null", "./too-big.bin"} {
		if !strings.Contains(stderr, `"`+entry+`"`) {
			t.Errorf("entry %s is not named\n%s", entry, stderr)
		}
	}
	if !strings.Contains(stderr, "more bytes than announced") {
		t.Errorf("the oversized entry is not refused as such\n%s", stderr)
	}
	if o := listOutside(t, dir, "got"); len(o) != 1 || o[0] != "crafted.tar" {
		t.Fatalf("written outside LOCAL: %v", o)
	}
	if _, err := os.Stat("/tmp/abs-evil.txt"); err == nil {
		t.Fatal("/tmp/abs-evil.txt was written")
	}
}

// Ctrl-C during a 500 MB upload: exit 130, and no pod is left.
func TestFilesInterruptedUploadLeavesNoPod(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(500 << 20) // sparse: no disk used, every byte is read and sent
	f.Close()
	name := e2eutil.UniqueName("files-interrupt")
	e2eutil.CleanupPod(t, "default", name)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := pluginCmd(t, ctx, "run", "--name", name, "--random-name-suffix=false", "--image", busybox,
		"--on-finish-action", "keep_pod", "--file", big, "--", "true")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	e2eutil.WaitPod(t, "default", name, 2*time.Minute, func(p *corev1.Pod) bool {
		for _, cs := range p.Status.InitContainerStatuses {
			if cs.Name == "podtask-files" && cs.State.Running != nil {
				return true
			}
		}
		return false
	})
	time.Sleep(700 * time.Millisecond) // the upload is under way
	select {
	case err := <-done:
		t.Fatalf("the run ended before the interrupt (exit %d)\n%s", exitCodeOf(t, err), stderr.String())
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if code := exitCodeOf(t, <-done); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr.String())
	}
	e2eutil.WaitPodGone(t, "default", name, 90*time.Second)
}

// A local path that is missing, or a folder with a link leaving it, is one
// clear error before anything is created.
func TestFilesBadLocalPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.Symlink("/etc/passwd", filepath.Join(dir, "src", "passwd"))
	for _, c := range []struct{ arg, want string }{
		{filepath.Join(dir, "missing.py"), "does not exist"},
		{filepath.Join(dir, "src"), "outside"},
	} {
		name := e2eutil.UniqueName("files-bad")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--name", name, "--random-name-suffix=false", "--image", busybox, "--file", c.arg, "--", "true")
		cancel()
		if code != 64 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("--file %s: exit %d, want 64 and one line with %q\n%s", c.arg, code, c.want, stderr)
		}
		if podExists(t, "default", name) {
			t.Errorf("a pod was created for --file %s", c.arg)
		}
	}
}

// sparseFile makes a file of size zero bytes that takes no disk.
func sparseFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zeros.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return p
}

// In a terminal (tmux) an upload that takes more than a second draws a bar
// with bytes, rate and ETA, cleared at the end; -q draws none.
func TestFilesProgressBarInTerminal(t *testing.T) {
	t.Parallel()
	big := sparseFile(t, 300<<20)
	name := e2eutil.UniqueName("files-bar")
	e2eutil.CleanupPod(t, "default", name)
	s, exitFile := startTUI(t, name, "run", "--name", name, "--random-name-suffix=false", "--image", busybox, "--file", big, "--", "sleep", "3")
	screen := s.waitScreen(3*time.Minute, "podtask: upload files [", "MiB/s", "ETA", "300.0 MiB")
	t.Logf("during the upload:\n%s", strings.TrimSpace(screen))
	screen = s.waitScreen(3*time.Minute, "podtask: files uploaded: 300.0 MiB")
	if strings.Contains(screen, "ETA") {
		t.Fatalf("the bar was not replaced by the summary line:\n%s", screen)
	}
	if code := waitExit(t, s, exitFile, 4*time.Minute); code != "0" {
		t.Fatalf("exit %s", code)
	}

	quiet := e2eutil.UniqueName("files-bar-q")
	e2eutil.CleanupPod(t, "default", quiet)
	s, exitFile = startTUI(t, quiet, "run", "-q", "--name", quiet, "--random-name-suffix=false", "--image", busybox, "--file", big, "--", "true")
	for deadline := time.Now().Add(4 * time.Minute); ; {
		screen, _ := s.capture(false)
		if strings.Contains(screen, "ETA") || strings.Contains(screen, "upload files") {
			t.Fatalf("-q drew a bar:\n%s", screen)
		}
		if b := readFile(exitFile); strings.HasPrefix(b, "EXIT=") {
			if code := strings.TrimSpace(strings.TrimPrefix(b, "EXIT=")); code != "0" {
				t.Fatalf("-q: exit %s\n%s", code, screen)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("-q: the plugin did not exit:\n%s", screen)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

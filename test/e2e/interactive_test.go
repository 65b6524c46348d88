package e2e

// interactive_test.go: run -i and run -it / attach -it in a real terminal
// (tmux) against the cluster, as the plugin's least-privilege user.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// termRun is the plugin started in a tmux terminal: its pid, exit code and
// the terminal's settings (stty -g) before and after it.
type termRun struct {
	*tmuxSession
	dir string
}

// startTerm runs the plugin with args in a fresh 100x30 tmux terminal.
func startTerm(t *testing.T, name string, args ...string) *termRun {
	t.Helper()
	return startTermAs(t, name, interactiveKubeconfig(t), args...)
}

var interactiveKC struct {
	once sync.Once
	path string
	err  error
}

// interactiveKubeconfig is a least-privilege user of these tests' own, bound
// to exactly README's rules (e2eutil.PodtaskRules): the suite's user is
// shared by every run of the suite on the cluster, whose rules may be
// another build's.
func interactiveKubeconfig(t *testing.T) string {
	t.Helper()
	admin := e2eutil.Kubeconfig(t)
	interactiveKC.once.Do(func() {
		dir, err := os.MkdirTemp("", "podtask-e2e-interactive-")
		if err != nil {
			interactiveKC.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		interactiveKC.path, interactiveKC.err = e2eutil.ServiceAccountKubeconfig(ctx, admin, "default", "podtask-e2e-interactive", e2eutil.PodtaskRules, dir)
	})
	if interactiveKC.err != nil {
		t.Fatalf("the least-privilege user: %v", interactiveKC.err)
	}
	return interactiveKC.path
}

// startTermAs is startTerm with the plugin's kubeconfig.
func startTermAs(t *testing.T, name, kubeconfig string, args ...string) *termRun {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	words := []string{"env", "KUBECONFIG=" + shq(kubeconfig), shq(e2eutil.Plugin(t))}
	for _, a := range args {
		words = append(words, shq(a))
	}
	f := func(n string) string { return shq(filepath.Join(dir, n)) }
	script := "stty -g > " + f("before") + "; sh -c 'echo $$ > " + filepath.Join(dir, "pid") + "; exec \"$@\"' sh " +
		strings.Join(words, " ") + "; echo EXIT=$? > " + f("exit") + "; stty -g > " + f("after") + "; sleep 600"
	s := &tmuxSession{t: t, socket: "podtask-e2e-" + name, name: name}
	if out, err := s.cmd("new-session", "-d", "-s", name, "-x", "100", "-y", "30", script).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = s.cmd("kill-server").Run() })
	return &termRun{tmuxSession: s, dir: dir}
}

// wait waits for the plugin's exit code and checks the terminal settings
// are what they were before it.
func (r *termRun) wait(timeout time.Duration) string {
	r.t.Helper()
	code := waitExit(r.t, r.tmuxSession, filepath.Join(r.dir, "exit"), timeout)
	for deadline := time.Now().Add(10 * time.Second); readFile(filepath.Join(r.dir, "after")) == "" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	before, after := readFile(filepath.Join(r.dir, "before")), readFile(filepath.Join(r.dir, "after"))
	if before == "" || before != after {
		r.t.Errorf("the terminal was not restored: stty -g before %q, after %q", before, after)
	}
	return code
}

func (r *termRun) signal(sig syscall.Signal) {
	r.t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(filepath.Join(r.dir, "pid"))))
	if err != nil {
		r.t.Fatalf("no pid: %v", err)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		r.t.Fatalf("kill %d: %v", pid, err)
	}
}

// joined is the screen with wrapped lines joined.
func (r *termRun) joined() string {
	out, _ := r.cmd("capture-pane", "-p", "-J", "-t", r.name).Output()
	return string(out)
}

// typeLine types a line and Enter.
func (r *termRun) typeLine(line string) {
	r.keys("-l", line)
	r.keys("Enter")
}

// prompt is busybox sh's, as tmux captures it (trailing blanks trimmed).
const prompt = "/ #"

// The prompt appears without a key pressed, once; typed commands run;
// stty size follows two resizes; Ctrl-C interrupts a sleep and the shell
// survives; exit 5 is the exit code; the terminal is restored; the pod is
// gone.
func TestInteractiveShell(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("it-sh")
	r := startTerm(t, name, "run", "-it", "-q", "--name", name, "--random-name-suffix=false", "--image", busybox, "--", "sh")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	screen := r.waitScreen(2*time.Minute, prompt)
	if n := strings.Count(screen, prompt); n != 1 {
		t.Errorf("the prompt is on the screen %d times, want once:\n%s", n, screen)
	}
	r.typeLine("echo sum=$((6*7))")
	r.waitScreen(20*time.Second, "sum=42")
	for _, size := range [][2]int{{90, 25}, {120, 40}} {
		if out, err := r.cmd("resize-window", "-t", name, "-x", strconv.Itoa(size[0]), "-y", strconv.Itoa(size[1])).CombinedOutput(); err != nil {
			t.Fatalf("tmux resize-window: %v: %s", err, out)
		}
		time.Sleep(300 * time.Millisecond)
		r.typeLine("echo size=$(stty size | tr ' ' x)")
		r.waitScreen(20*time.Second, fmt.Sprintf("size=%dx%d", size[1], size[0]))
	}
	r.typeLine("sleep 100; echo slept")
	time.Sleep(time.Second)
	r.keys("C-c")
	r.typeLine("echo alive=$((1+1))")
	screen = r.waitScreen(20*time.Second, "alive=2")
	if strings.Contains(screen, "\nslept\n") {
		t.Errorf("Ctrl-C did not interrupt the sleep:\n%s", screen)
	}
	r.typeLine("exit 5")
	if code := r.wait(time.Minute); code != "5" {
		t.Errorf("exit code %s, want 5 (the shell's)", code)
	}
	e2eutil.WaitPodGone(t, e2eutil.Namespace, name, time.Minute)
}

// A pod deleted from elsewhere mid-session ends the session with the
// terminal restored.
func TestInteractivePodDeleted(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("it-del")
	r := startTerm(t, name, "run", "-it", "--name", name, "--random-name-suffix=false", "--image", busybox, "--", "sh")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	r.waitScreen(2*time.Minute, prompt)
	one := int64(1)
	if err := e2eutil.Client(t).Pods(e2eutil.Namespace).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &one}); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(2 * time.Minute); code == "0" {
		t.Errorf("exit code 0 for a pod deleted mid-session")
	}
}

// SIGTERM restores the terminal and, with keep_pod, leaves the shell
// running; attach -it gets the same shell back.
func TestInteractiveSIGTERMKeepPodAttach(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("it-term")
	r := startTerm(t, name, "run", "-it", "--name", name, "--random-name-suffix=false", "--on-finish-action", "keep_pod",
		"--image", busybox, "--", "sh")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	r.waitScreen(2*time.Minute, prompt)
	r.typeLine("X=kept$((40+2))")
	time.Sleep(500 * time.Millisecond)
	r.signal(syscall.SIGTERM)
	if code := r.wait(time.Minute); code != "130" {
		t.Errorf("exit code %s, want 130", code)
	}
	if screen := r.joined(); !strings.Contains(screen, "attach with: kubectl podtask attach -it "+name+" -n default") {
		t.Errorf("no attach command on the screen:\n%s", screen)
	}
	// The shell was attached on the kubelet's Started event: the pod's
	// status may say so a moment later.
	e2eutil.WaitPod(t, e2eutil.Namespace, name, 30*time.Second, func(p *corev1.Pod) bool { return e2eutil.ContainerRunning(p, "base") })
	a := startTerm(t, name+"-a", "attach", "-it", name)
	a.waitScreen(time.Minute, prompt)
	a.typeLine("echo X=$X")
	a.waitScreen(20*time.Second, "X=kept42")
	a.typeLine("exit 7")
	if code := a.wait(time.Minute); code != "7" {
		t.Errorf("attach -it: exit code %s, want 7", code)
	}
}

// A connection to the API server that breaks mid-session restores the
// terminal, keeps the pod, and says how to attach again; attach -it does.
func TestInteractiveConnectionDropped(t *testing.T) {
	t.Parallel()
	proxy := newCutProxy(t, "127.0.0.1:6443")
	via := kubeconfigVia(t, interactiveKubeconfig(t), proxy.ln.Addr().String())
	name := e2eutil.UniqueName("it-cut")
	r := startTermAs(t, name, via, "run", "-it", "--name", name, "--random-name-suffix=false", "--image", busybox, "--", "sh")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	r.waitScreen(2*time.Minute, prompt)
	r.typeLine("Z=survived")
	time.Sleep(500 * time.Millisecond)
	if n := proxy.cut(); n == 0 {
		t.Fatal("no connection to cut")
	}
	if code := r.wait(time.Minute); code != "69" {
		t.Errorf("exit code %s after the connection broke, want 69", code)
	}
	if screen := r.joined(); !strings.Contains(screen, "kubectl podtask attach -it "+name+" -n default") {
		t.Errorf("no attach command on the screen:\n%s", screen)
	}
	a := startTerm(t, name+"-a", "attach", "-it", name)
	a.waitScreen(time.Minute, prompt)
	a.typeLine("echo Z=$Z")
	a.waitScreen(20*time.Second, "Z=survived")
	a.typeLine("exit")
	if code := a.wait(time.Minute); code != "0" {
		t.Errorf("attach -it: exit code %s, want 0", code)
	}
}

// The detach keys leave the pod running and print how to attach again;
// attach -it re-enters the same shell, and its exit deletes the pod.
func TestInteractiveDetachKeys(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("it-detach")
	r := startTerm(t, name, "run", "-it", "--detach-keys", "ctrl-p,ctrl-q", "--name", name, "--random-name-suffix=false",
		"--image", busybox, "--", "sh")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	r.waitScreen(2*time.Minute, prompt)
	r.typeLine("Y=still$((1+2))")
	time.Sleep(500 * time.Millisecond)
	r.keys("C-p", "C-q")
	if code := r.wait(time.Minute); code != "0" {
		t.Errorf("exit code %s after the detach keys, want 0", code)
	}
	if screen := r.joined(); !strings.Contains(screen, "attach again with: kubectl podtask attach -it "+name+" -n default") {
		t.Errorf("no attach command on the screen:\n%s", screen)
	}
	a := startTerm(t, name+"-a", "attach", "-it", name)
	a.waitScreen(time.Minute, prompt)
	a.typeLine("echo Y=$Y")
	a.waitScreen(20*time.Second, "Y=still3")
	a.typeLine("exit")
	if code := a.wait(time.Minute); code != "0" {
		t.Errorf("attach -it: exit code %s, want 0", code)
	}
	e2eutil.WaitPodGone(t, e2eutil.Namespace, name, time.Minute)
}

// 50 MB of random bytes through sha256sum in the pod give the local sum.
func TestStdinSha256(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "random.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, 50<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := hex.EncodeToString(h.Sum(nil))
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := pluginCmd(t, ctx, "run", "-i", "--image", busybox, "--", "sha256sum")
	cmd.Env = append(cmd.Env, "KUBECONFIG="+interactiveKubeconfig(t))
	cmd.Stdin = in
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	code := exitCodeOf(t, cmd.Run())
	t.Logf("50 MB through run -i in %s", time.Since(start).Round(time.Millisecond))
	if code != 0 || !strings.HasPrefix(out.String(), want+"  -") {
		t.Fatalf("exit %d, stdout %q: want %s\n%s", code, out.String(), want, errOut.String())
	}
}

// A task that prints 1,000 numbered lines at once, while it reads stdin,
// shows all of them, in order, and then what it read.
func TestStdinLinesAtStart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := `i=1; while [ $i -le 1000 ]; do echo line-$i; i=$((i+1)); done; cat; echo done`
	cmd := pluginCmd(t, ctx, "run", "-i", "--image", busybox, "--", "sh", "-c", script)
	cmd.Env = append(cmd.Env, "KUBECONFIG="+interactiveKubeconfig(t))
	cmd.Stdin = strings.NewReader("from-stdin\n")
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	code := exitCodeOf(t, cmd.Run())
	stdout, stderr := out.String(), errOut.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 1002 {
		t.Fatalf("%d lines, want 1002:\n%s", len(lines), stdout)
	}
	for i := 0; i < 1000; i++ {
		if lines[i] != fmt.Sprintf("line-%d", i+1) {
			t.Fatalf("line %d is %q, want line-%d", i+1, lines[i], i+1)
		}
	}
	if lines[1000] != "from-stdin" || lines[1001] != "done" {
		t.Errorf("after the numbered lines: %q, want from-stdin, done", lines[1000:])
	}
}

// Bad interactive input is one error line, exit 64, and no pod.
func TestInteractiveBadInput(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-it"},          // stdin is not a terminal
		{"-it", "--tui"}, // both want the terminal
		{"--overrides", `{"spec":`},
	} {
		name := e2eutil.UniqueName("it-bad")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		all := append(append([]string{"run"}, args...), "--name", name, "--random-name-suffix=false", "--image", busybox, "--", "sh")
		_, stderr, code := e2eutil.RunPlugin(t, ctx, "", all...)
		cancel()
		if lines := errorLines(stderr); code != 64 || len(lines) != 1 {
			t.Errorf("%v: exit %d, error lines %q: want 64 and one line\n%s", args, code, lines, stderr)
		}
		if podExists(t, e2eutil.Namespace, name) {
			t.Errorf("%v: a pod was created", args)
		}
	}
}

// --detach creates the pod and prints it and the command to attach; the
// overrides are on the pod.
func TestRunDetachWithOverrides(t *testing.T) {
	t.Parallel()
	name := e2eutil.UniqueName("detach")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := e2eutil.RunPlugin(t, ctx, "", "run", "--detach", "--name", name, "--random-name-suffix=false",
		"--overrides", `{"metadata":{"labels":{"from-overrides":"yes"}},"spec":{"containers":[{"name":"base","workingDir":"/tmp"}]}}`,
		"--image", busybox, "--", "sleep", "5")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	if code != 0 || stdout != "pod/"+name+" created\n" || !strings.Contains(stderr, "kubectl podtask attach "+name) {
		t.Fatalf("exit %d, stdout %q: want 0, pod/%s created, and the attach command\n%s", code, stdout, name, stderr)
	}
	p, err := e2eutil.Client(t).Pods(e2eutil.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels["from-overrides"] != "yes" || p.Spec.Containers[0].WorkingDir != "/tmp" || p.Spec.Containers[0].Image != busybox {
		t.Errorf("the overrides are not merged onto the pod:\n%s", e2eutil.DescribePod(p))
	}
}

// Without pods/attach, run -i fails with one line naming it, and its pod is
// deleted.
func TestStdinNeedsAttachPermission(t *testing.T) {
	t.Parallel()
	var rules []rbacv1.PolicyRule
	for _, r := range e2eutil.PodtaskRules {
		if r.Resources[0] != "pods/attach" {
			rules = append(rules, r)
		}
	}
	kc, err := e2eutil.ServiceAccountKubeconfig(context.Background(), e2eutil.Kubeconfig(t), "default", "podtask-noattach", rules, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	name := e2eutil.UniqueName("noattach")
	e2eutil.CleanupPod(t, e2eutil.Namespace, name)
	_, stderr, code := runAs(t, kc, "run", "-i", "--overrides", `{"spec":{"terminationGracePeriodSeconds":1}}`, "--name", name, "--random-name-suffix=false", "--image", busybox, "--", "cat")
	lines := errorLines(stderr)
	if code != 69 || len(lines) != 1 || !strings.Contains(lines[0], "pods/attach") {
		t.Fatalf("exit %d, error lines %q: want 69 and one line naming pods/attach\n%s", code, lines, stderr)
	}
	e2eutil.WaitPodGone(t, e2eutil.Namespace, name, time.Minute)
}

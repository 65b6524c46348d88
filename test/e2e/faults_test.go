package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

var metaListOne = metav1.ListOptions{Limit: 1}

// cutProxy forwards TCP to the API server and can cut every connection.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(u, c); done <- struct{}{} }()
	go func() { io.Copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// cut closes every open connection and reports how many client connections it cut.
func (p *cutProxy) cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for c := range p.conns {
		c.Close()
		n++
	}
	p.conns = map[net.Conn]struct{}{}
	return n / 2
}

// kubeconfigVia writes a copy of kubeconfig whose server is addr.
func kubeconfigVia(t *testing.T, kubeconfig, addr string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + addr
	}
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// restartAPIServer stops the local cluster's kube-apiserver and starts it
// again with the same command line, and waits until it is ready.
func restartAPIServer(t *testing.T) {
	t.Helper()
	pidFile := filepath.Join(e2eutil.ClusterDir(), "run", "kube-apiserver.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("apiserver pid: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("apiserver command line: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	client := e2eutil.Client(t) // made while the server is up: Client skips when it is not
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	logf, err := os.OpenFile(filepath.Join(e2eutil.ClusterDir(), "logs", "kube-apiserver.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("restarting the apiserver: %v", err)
	}
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait() // reap it if it ever exits while the test runs
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if _, err := client.Pods("default").List(ctx, metaListOne); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the apiserver did not come back within 90s")
}

// alive tells whether pid runs and is not a zombie waiting to be reaped.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

// A task prints 100,000 numbered lines while every connection between the
// plugin and the API server is cut again and again and the API server is
// restarted: every line arrives exactly once, in order, and the exit code
// and XCom are right.
func TestStreamsSurviveCutsAndAPIServerRestart(t *testing.T) {
	proxy := newCutProxy(t, "127.0.0.1:6443")
	kubeconfig := kubeconfigVia(t, e2eutil.PluginKubeconfig(t), proxy.ln.Addr().String())
	xcomFile := filepath.Join(t.TempDir(), "xcom.json")

	// 200 batches of 500 lines, 0.15 s apart: about 30 s of streaming.
	script := `i=0; while [ $i -lt 200 ]; do seq $((i*500+1)) $((i*500+500)); i=$((i+1)); usleep 150000; done; ` +
		`mkdir -p /airflow/xcom; echo '{"lines": 100000}' > /airflow/xcom/return.json; exit 7`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2eutil.Plugin(t), "run", "--image", busybox, "--xcom", "--xcom-out", xcomFile,
		"--name", "faults", "--", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var lines []string
	firstLine := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			lines = append(lines, sc.Text())
			once.Do(func() { close(firstLine) })
		}
	}()

	select {
	case <-firstLine:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no log line within 2 minutes\n%s", stderr.String())
	}
	// Cut every 300 ms (40 times at most) until the run ends; restart the
	// API server after the tenth cut.
	cuts := 0
	restarted := false
	for ended := false; !ended; {
		select {
		case <-readDone:
			ended = true
		case <-time.After(300 * time.Millisecond):
			if cuts < 40 && proxy.cut() > 0 {
				cuts++
			}
			if cuts == 10 && !restarted {
				restartAPIServer(t)
				restarted = true
			}
		}
	}
	<-readDone
	code := exitCodeOf(t, cmd.Wait())
	t.Logf("%d cuts of all connections, API server restarted: %v, %d lines", cuts, restarted, len(lines))
	if cuts < 20 || !restarted {
		t.Fatalf("only %d cuts (restart %v): the task ended too early for the test to mean anything", cuts, restarted)
	}
	if code != 7 {
		t.Fatalf("exit %d, want 7\n%s", code, stderr.String())
	}
	if len(lines) != 100000 {
		t.Errorf("%d lines, want 100000\n%s", len(lines), stderr.String())
	}
	for i, l := range lines {
		if l != strconv.Itoa(i+1) {
			t.Fatalf("line %d is %q, want %d (lost or repeated lines)", i+1, l, i+1)
		}
	}
	b, err := os.ReadFile(xcomFile)
	if err != nil {
		t.Fatalf("xcom: %v\n%s", err, stderr.String())
	}
	var v map[string]int
	if err := json.Unmarshal(b, &v); err != nil || v["lines"] != 100000 {
		t.Fatalf("xcom %q", b)
	}
	if !strings.Contains(stderr.String(), "resuming") {
		t.Errorf("stderr does not show that the log stream was resumed:\n%s", stderr.String())
	}
}

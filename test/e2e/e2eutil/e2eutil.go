// Package e2eutil connects end-to-end tests to the local test cluster (see
// test/cluster/README.md) and runs the built plugin against it.
//
// The cluster is found only through its contract: the admin kubeconfig at
// $PODTASK_CLUSTER_DIR/kubeconfig (default /tmp/podtask-cluster). The
// KUBECONFIG environment variable is deliberately ignored so that tests never
// create pods in whatever cluster a developer's shell points at. Tests skip
// with a clear message when no local cluster is reachable.
package e2eutil

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
)

const (
	// Namespace is the namespace the admin kubeconfig points at.
	Namespace = "default"
	// BusyboxImage is preloaded on the node (busybox-static: sh, cat,
	// mkfifo, sleep, ...). Its pull policy resolves to IfNotPresent.
	BusyboxImage = "docker.io/library/busybox:1.35"
	// MissingImage names an image that cannot be pulled: every registry
	// is routed to a closed loopback port, so the pull fails fast.
	MissingImage = "127.0.0.1:1/missing:1.0"
	// UserAgent is the user agent of the clients made here, so that the
	// audit log tells test traffic apart from the plugin's.
	UserAgent = "podtask-e2e"
)

// ClusterDir is the local cluster's state folder.
func ClusterDir() string {
	if d := os.Getenv("PODTASK_CLUSTER_DIR"); d != "" {
		return d
	}
	return "/tmp/podtask-cluster"
}

// AuditLogPath is the API server's audit log (JSON lines, Metadata level,
// one entry per request with userAgent and requestURI).
func AuditLogPath() string { return filepath.Join(ClusterDir(), "audit.log") }

// Kubeconfig returns the path of the local cluster's admin kubeconfig, or
// skips the test when the file is missing or the API server does not
// answer /readyz within 5 seconds.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(ClusterDir(), "kubeconfig")
	if err := ready(path); err != nil {
		t.Skipf("no local cluster at %s: run 'make cluster' (make test does it for you): %v", ClusterDir(), err)
	}
	return path
}

func ready(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(cfg.Host, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz answered %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// RESTConfig is the admin REST config of the local cluster.
func RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", Kubeconfig(t))
	if err != nil {
		t.Fatalf("loading the local cluster's kubeconfig: %v", err)
	}
	cfg.UserAgent = UserAgent
	cfg.QPS, cfg.Burst = 50, 100
	return cfg
}

// Client is a typed core/v1 client of the local cluster.
func Client(t testing.TB) corev1client.CoreV1Interface {
	t.Helper()
	c, err := corev1client.NewForConfig(RESTConfig(t))
	if err != nil {
		t.Fatalf("making a core/v1 client: %v", err)
	}
	return c
}

// Kubectl is the path of the cluster's own kubectl (same version as the
// cluster).
func Kubectl(t testing.TB) string {
	t.Helper()
	Kubeconfig(t)
	p := filepath.Join(ClusterDir(), "bin", "kubectl")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("kubectl of the local cluster missing at %s: run 'make cluster'", p)
	}
	return p
}

// Plugin is the path of the built plugin: $PODTASK_BIN, or
// <repo root>/bin/kubectl-podtask.
func Plugin(t testing.TB) string {
	t.Helper()
	p := os.Getenv("PODTASK_BIN")
	if p == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("finding the repository root: %v (set PODTASK_BIN)", err)
		}
		p = filepath.Join(root, "bin", "kubectl-podtask")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("plugin binary missing at %s: run 'make build' (or set PODTASK_BIN)", p)
	}
	return p
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/podtask-dev/kubectl-podtask\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/podtask-dev/kubectl-podtask above the working directory")
		}
		dir = parent
	}
}

// RunPlugin runs the plugin with KUBECONFIG set to the local cluster and
// the given stdin, and returns its output and exit code. Cancelling ctx
// sends SIGINT (as Ctrl-C would) and SIGKILL 15 s later.
func RunPlugin(t testing.TB, ctx context.Context, stdin string, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	kubeconfig := PluginKubeconfig(t)
	cmd := exec.CommandContext(ctx, Plugin(t), args...)
	cmd.Env = append(withoutEnv(os.Environ(), "KUBECONFIG"), "KUBECONFIG="+kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 15 * time.Second
	start := time.Now()
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running %s %s: %v", filepath.Base(cmd.Path), strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	t.Logf("kubectl-podtask %s: exit %d in %s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String(), code
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// UniqueName returns prefix-<random suffix>, a valid object name.
func UniqueName(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	name := strings.ToLower(prefix) + "-" + string(b)
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	return strings.TrimLeft(name, "-.")
}

// CleanupPod deletes the pod (grace period 0) when the test ends, unless
// it is already gone.
func CleanupPod(t testing.TB, ns, name string) {
	t.Helper()
	c := Client(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		zero := int64(0)
		err := c.Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("cleanup: deleting pod %s/%s: %v", ns, name, err)
		}
	})
}

// WaitPodGone waits, with a watch, until the pod no longer exists, and
// fails the test after timeout.
func WaitPodGone(t testing.TB, ns, name string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := watchPod(ctx, Client(t), ns, name, func(p *corev1.Pod) bool { return p == nil })
	if err != nil {
		t.Fatalf("pod %s/%s still there after %s: %v", ns, name, timeout, err)
	}
}

// WaitPod waits, with a watch, until cond holds for the pod, and returns
// the pod as cond saw it. A pod that does not exist yet is waited for (the
// plugin may be about to create it); the test fails after timeout or when
// the pod is deleted after it was seen.
func WaitPod(t testing.TB, ns, name string, timeout time.Duration, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last, match *corev1.Pod
	gone := false
	err := watchPod(ctx, Client(t), ns, name, func(p *corev1.Pod) bool {
		if p == nil {
			gone = last != nil
			return gone
		}
		last = p
		if cond(p) {
			match = p
			return true
		}
		return false
	})
	switch {
	case gone:
		t.Fatalf("pod %s/%s was deleted while waiting; last seen: %s", ns, name, DescribePod(last))
	case err != nil && last == nil:
		t.Fatalf("pod %s/%s did not appear within %s: %v", ns, name, timeout, err)
	case err != nil:
		t.Fatalf("waiting for pod %s/%s: %v; last seen: %s", ns, name, err, DescribePod(last))
	}
	return match
}

// watchPod calls fn with the pod's current state, and again on every
// change (nil once the pod is gone), until fn returns true or ctx ends.
// A watch closed by the server is resumed from a fresh list.
func watchPod(ctx context.Context, c corev1client.CoreV1Interface, ns, name string, fn func(*corev1.Pod) bool) error {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	for {
		list, err := c.Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return err
		}
		var cur *corev1.Pod
		if len(list.Items) > 0 {
			cur = &list.Items[0]
		}
		if fn(cur) {
			return nil
		}
		w, err := c.Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
		if err != nil {
			return err
		}
		done, err := drain(ctx, w, fn)
		w.Stop()
		if done || err != nil {
			return err
		}
	}
}

func drain(ctx context.Context, w watch.Interface, fn func(*corev1.Pod) bool) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				if fn(nil) {
					return true, nil
				}
			case watch.Added, watch.Modified:
				if p, ok := ev.Object.(*corev1.Pod); ok && fn(p) {
					return true, nil
				}
			case watch.Error:
				return false, apierrors.FromObject(ev.Object)
			}
		}
	}
}

// DescribePod is a one-line summary of a pod's phase and container states
// for failure messages.
func DescribePod(p *corev1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s", p.Status.Phase)
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		switch s := cs.State; {
		case s.Waiting != nil:
			fmt.Fprintf(&b, " %s=waiting(%s: %s)", cs.Name, s.Waiting.Reason, s.Waiting.Message)
		case s.Running != nil:
			fmt.Fprintf(&b, " %s=running", cs.Name)
		case s.Terminated != nil:
			fmt.Fprintf(&b, " %s=terminated(%s, exit %d)", cs.Name, s.Terminated.Reason, s.Terminated.ExitCode)
		}
	}
	return b.String()
}

// WaitingReason is the reason a container of the pod is waiting for
// (ErrImagePull, ContainerCreating, ...), or "".
func WaitingReason(p *corev1.Pod, container string) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Waiting != nil {
			return cs.State.Waiting.Reason
		}
	}
	return ""
}

// ContainerRunning tells whether a container of the pod is running.
func ContainerRunning(p *corev1.Pod, container string) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			return cs.State.Running != nil
		}
	}
	return false
}

// PodsWithLabel lists the pods in ns matching the label selector.
func PodsWithLabel(t testing.TB, ns, selector string) []corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := Client(t).Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("listing pods %q in %s: %v", selector, ns, err)
	}
	return list.Items
}

// Streams are the standard streams of an exec or attach session; nil
// members are not requested.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Exec runs cmd in a container of a pod (WebSocket, falling back to SPDY,
// as kubectl does) and returns when it ends.
func Exec(ctx context.Context, cfg *rest.Config, ns, pod, container string, s Streams, cmd ...string) error {
	opts := &corev1.PodExecOptions{
		Container: container, Command: cmd,
		Stdin: s.Stdin != nil, Stdout: s.Stdout != nil, Stderr: s.Stderr != nil,
	}
	return stream(ctx, cfg, ns, pod, "exec", opts, s)
}

// Attach attaches to the running process of a container (WebSocket,
// falling back to SPDY) and returns when the session ends.
func Attach(ctx context.Context, cfg *rest.Config, ns, pod, container string, s Streams) error {
	opts := &corev1.PodAttachOptions{
		Container: container,
		Stdin:     s.Stdin != nil, Stdout: s.Stdout != nil, Stderr: s.Stderr != nil,
	}
	return stream(ctx, cfg, ns, pod, "attach", opts, s)
}

func stream(ctx context.Context, cfg *rest.Config, ns, pod, sub string, opts runtime.Object, s Streams) error {
	c, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return err
	}
	req := c.RESTClient().Post().Namespace(ns).Resource("pods").Name(pod).SubResource(sub).
		VersionedParams(opts, runtime.NewParameterCodec(scheme))
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr})
}

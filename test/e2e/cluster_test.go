package e2e

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/test/e2e/e2eutil"
)

// TestCluster proves, with client-go only, that the local cluster does what
// the plugin relies on: multi-container pods with a shared emptyDir, log
// streaming while a container runs, exec, attach, delete, and image pull
// failures reported as such.
func TestCluster(t *testing.T) {
	c := e2eutil.Client(t)
	cfg := e2eutil.RESTConfig(t)
	ns := e2eutil.Namespace

	t.Run("missing images", func(t *testing.T) {
		t.Parallel()
		name := e2eutil.UniqueName("cluster-missing")
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "podtask-e2e"}},
			Spec: corev1.PodSpec{
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: new(int64),
				Containers: []corev1.Container{
					{Name: "pull", Image: e2eutil.MissingImage, Command: []string{"true"}},
					{Name: "never", Image: "docker.io/library/busybox:0.0-absent", ImagePullPolicy: corev1.PullNever, Command: []string{"true"}},
				},
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := c.Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod: %v", err)
		}
		e2eutil.CleanupPod(t, ns, name)
		p := e2eutil.WaitPod(t, ns, name, time.Minute, func(p *corev1.Pod) bool {
			return slices.Contains([]string{"ErrImagePull", "ImagePullBackOff"}, e2eutil.WaitingReason(p, "pull")) &&
				e2eutil.WaitingReason(p, "never") == "ErrImageNeverPull"
		})
		t.Logf("reported: %s", e2eutil.DescribePod(p))
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("phase = %s, want Pending", p.Status.Phase)
		}
	})

	t.Run("run logs exec attach delete", func(t *testing.T) {
		t.Parallel()
		name := e2eutil.UniqueName("cluster-basic")
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/name": "podtask-e2e"}},
			Spec: corev1.PodSpec{
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: new(int64(1)),
				Volumes:                       []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{
					{
						// writer writes the shared file, then ticks until told to stop.
						Name: "writer", Image: e2eutil.BusyboxImage,
						Command: []string{"sh", "-c", `echo shared-payload > /shared/data
i=0
while [ ! -e /shared/stop ]; do i=$((i+1)); echo "tick $i"; sleep 0.2; done
echo "writer done"`},
						VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}},
					},
					{
						// reader answers each line on stdin until "quit".
						Name: "reader", Image: e2eutil.BusyboxImage, Stdin: true,
						Command:      []string{"sh", "-c", `while read -r line; do echo "got: $line"; [ "$line" = quit ] && exit 0; done`},
						VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}},
					},
				},
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		if _, err := c.Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating pod: %v", err)
		}
		e2eutil.CleanupPod(t, ns, name)
		e2eutil.WaitPod(t, ns, name, time.Minute, func(p *corev1.Pod) bool {
			if p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
				t.Fatalf("pod ended before it was seen running: %s", e2eutil.DescribePod(p))
			}
			return p.Status.Phase == corev1.PodRunning
		})
		t.Logf("created to Running in %s", time.Since(start).Round(time.Millisecond))

		// Logs stream while the writer runs.
		logs, err := c.Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: "writer", Follow: true}).Stream(ctx)
		if err != nil {
			t.Fatalf("streaming logs: %v", err)
		}
		defer logs.Close()
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(logs)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		for i := 1; i <= 3; i++ {
			select {
			case l := <-lines:
				if !strings.HasPrefix(l, "tick ") {
					t.Fatalf("log line %d = %q, want a tick", i, l)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no log line %d within 20s of following", i)
			}
		}
		p, err := c.Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !e2eutil.ContainerRunning(p, "writer") {
			t.Fatalf("log lines arrived but writer is not running: %s", e2eutil.DescribePod(p))
		}

		// Exec in the second container reads what the first wrote.
		var out, errOut bytes.Buffer
		if err := e2eutil.Exec(ctx, cfg, ns, name, "reader", e2eutil.Streams{Stdout: &out, Stderr: &errOut}, "cat", "/shared/data"); err != nil {
			t.Fatalf("exec cat: %v (stderr %q)", err, errOut.String())
		}
		if got := strings.TrimSpace(out.String()); got != "shared-payload" {
			t.Fatalf("exec cat /shared/data = %q, want shared-payload", got)
		}
		// A failing command reports its exit code.
		err = e2eutil.Exec(ctx, cfg, ns, name, "reader", e2eutil.Streams{Stdout: io.Discard}, "sh", "-c", "exit 3")
		if err == nil || !strings.Contains(err.Error(), "exit code 3") {
			t.Fatalf("exec exit 3: err = %v, want exit code 3", err)
		}

		// Attach talks to the reader's own process.
		stdinR, stdinW := io.Pipe()
		outR, outW := io.Pipe()
		attachDone := make(chan error, 1)
		go func() {
			attachDone <- e2eutil.Attach(ctx, cfg, ns, name, "reader", e2eutil.Streams{Stdin: stdinR, Stdout: outW})
			outW.Close()
		}()
		answers := bufio.NewScanner(outR)
		for _, msg := range []string{"hello", "quit"} {
			if _, err := io.WriteString(stdinW, msg+"\n"); err != nil {
				t.Fatalf("attach: writing %q: %v", msg, err)
			}
			if !answers.Scan() {
				t.Fatalf("attach: no answer to %q: %v", msg, answers.Err())
			}
			if got, want := answers.Text(), "got: "+msg; got != want {
				t.Fatalf("attach: answer %q, want %q", got, want)
			}
		}
		stdinW.Close()
		select {
		case err := <-attachDone:
			if err != nil {
				t.Fatalf("attach ended with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("attach did not end after the reader exited")
		}

		// Stop the writer; its log stream ends with its last line.
		if err := e2eutil.Exec(ctx, cfg, ns, name, "writer", e2eutil.Streams{Stdout: io.Discard}, "touch", "/shared/stop"); err != nil {
			t.Fatalf("exec touch: %v", err)
		}
		var last string
		timeout := time.After(30 * time.Second)
	follow:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break follow
				}
				last = l
			case <-timeout:
				t.Fatal("log stream did not end within 30s of the writer stopping")
			}
		}
		if last != "writer done" {
			t.Fatalf("last log line = %q, want %q", last, "writer done")
		}
		p = e2eutil.WaitPod(t, ns, name, time.Minute, func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if p.Status.Phase != corev1.PodSucceeded {
			t.Fatalf("pod ended %s, want Succeeded: %s", p.Status.Phase, e2eutil.DescribePod(p))
		}

		start = time.Now()
		if err := c.Pods(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("deleting: %v", err)
		}
		e2eutil.WaitPodGone(t, ns, name, time.Minute)
		t.Logf("deleted in %s", time.Since(start).Round(time.Millisecond))
	})
}

package plugin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	batchv1client "k8s.io/client-go/kubernetes/typed/batch/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// fakeFactory is the Factory of a client-go fake clientset, as kubectl's
// command tests use a test factory.
type fakeFactory struct {
	ns   string
	cs   *fake.Clientset
	exec *fakeExec
	core corev1client.CoreV1Interface // CoreV1 when set (a real client against a test server)
}

// fakeCore is the fake core/v1 client, which (like the fake clientset)
// cannot stream a watch list's initial events.
type fakeCore struct{ corev1client.CoreV1Interface }

func (fakeCore) IsWatchListSemanticsUnSupported() bool { return true }

func newFakeFactory(objects ...any) *fakeFactory {
	cs := fake.NewClientset()
	for _, o := range objects {
		if o, ok := o.(runtime.Object); ok {
			_ = cs.Tracker().Add(o)
		}
	}
	return &fakeFactory{ns: "default", cs: cs, exec: &fakeExec{}}
}

func (f *fakeFactory) Namespace() (string, bool, error) { return f.ns, false, nil }
func (f *fakeFactory) RawConfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{}, nil
}
func (f *fakeFactory) CoreV1() (corev1client.CoreV1Interface, error) {
	if f.core != nil {
		return f.core, nil
	}
	return fakeCore{f.cs.CoreV1()}, nil
}
func (f *fakeFactory) BatchV1() (batchv1client.BatchV1Interface, error) { return f.cs.BatchV1(), nil }
func (f *fakeFactory) AppsV1() (appsv1client.AppsV1Interface, error)    { return f.cs.AppsV1(), nil }
func (f *fakeFactory) ServerVersion() (*apiversion.Info, error) {
	return f.cs.Discovery().ServerVersion()
}
func (f *fakeFactory) Engine() (*launch.Engine, error) {
	return &launch.Engine{Client: fakeCore{f.cs.CoreV1()}, Batch: f.cs.BatchV1(), Exec: f.exec}, nil
}

// fakeExec answers the XCom sidecar's read and stop commands.
type fakeExec struct {
	mu      sync.Mutex
	result  string
	stopped bool
}

func (f *fakeExec) Exec(_ context.Context, _, _, container string, cmd []string, stdout, _ io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if container != launch.XComSidecarName {
		return errors.New("exec in " + container)
	}
	switch strings.Join(cmd, " ") {
	case strings.Join(launch.XComReadCommand, " "):
		_, err := io.WriteString(stdout, f.result)
		return err
	case strings.Join(launch.XComStopCommand, " "):
		f.stopped = true
		return nil
	}
	return errors.New("unexpected command")
}

// execute runs the plugin's command line on f; it returns stdout, stderr
// and the exit code main would give.
func execute(t *testing.T, f Factory, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newCmdPodtaskWith(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut},
		newKubeFlags(), f)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if msg := ErrorLine(err); msg != "" {
		errOut.WriteString(msg + "\n")
	}
	return out.String(), errOut.String(), ExitCode(err)
}

// kubelet plays the node for the one task pod of f's clientset: it waits
// for it, then applies each step to its status.
func kubelet(t *testing.T, f *fakeFactory, steps ...func(*corev1.Pod)) {
	t.Helper()
	ctx := context.Background()
	pods := f.cs.CoreV1().Pods(f.ns)
	var name string
	for deadline := time.Now().Add(20 * time.Second); name == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l, err := pods.List(ctx, metav1.ListOptions{}); err == nil && len(l.Items) == 1 {
			name = l.Items[0].Name
		}
	}
	for _, step := range steps {
		time.Sleep(20 * time.Millisecond)
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("kubelet: %v", err)
			return
		}
		step(p)
		if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Errorf("kubelet: %v", err)
			return
		}
	}
}

func podRunning(p *corev1.Pod) {
	p.Spec.NodeName = "node-1"
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = nil
	for _, c := range p.Spec.Containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
	}
}

func baseExits(code int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: "Completed", FinishedAt: metav1.Now()}}
	}
}

// taskPodFor is a task pod as render makes it, in a state.
func taskPodFor(name, action, xcom string, created time.Time, state corev1.ContainerState) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(created),
			Labels:            map[string]string{launch.LabelManagedBy: launch.ManagedByValue, launch.LabelTask: "t", launch.LabelRunID: "r-" + name},
			Annotations:       map[string]string{launch.AnnotationTask: "t", launch.AnnotationOnFinish: action, launch.AnnotationBaseContainer: "base"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "base", Image: "busybox"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "base", State: state}}},
	}
	if xcom != "" {
		p.Annotations[launch.AnnotationXComMode] = xcom
	}
	if t := state.Terminated; t != nil {
		p.Status.Phase = corev1.PodSucceeded
		if t.ExitCode != 0 {
			p.Status.Phase = corev1.PodFailed
		}
	}
	return p
}

func exited(code int32, at time.Time, message string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Completed",
		FinishedAt: metav1.NewTime(at), Message: message}}
}

func testStreams(out, errOut io.Writer) genericiooptions.IOStreams {
	return genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: out, ErrOut: errOut}
}

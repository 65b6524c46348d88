package plugin

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"
)

// clientCounting is a fakeFactory that counts the API clients asked for:
// Complete and Validate ask for none.
type clientCounting struct {
	*fakeFactory
	clients int
}

func (f *clientCounting) CoreV1() (corev1client.CoreV1Interface, error) {
	f.clients++
	return f.fakeFactory.CoreV1()
}

// parsed is cmd with args parsed, as cobra hands them to RunE.
func parsed(t *testing.T, cmd *cobra.Command, args ...string) (*cobra.Command, []string) {
	t.Helper()
	cmd.SetArgs(args)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return cmd, cmd.Flags().Args()
}

func wantUsage(t *testing.T, what string, err error, says string) {
	t.Helper()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != ExitUsage || !strings.Contains(err.Error(), says) || strings.Contains(err.Error(), "\n") {
		t.Errorf("%s: %v, want one usage line saying %q", what, err, says)
	}
}

// render: Complete neither calls the API nor prints; Validate refuses bad
// -o, --dry-run and stray arguments.
func TestRenderOptionsCompleteValidate(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"-o", "table", "--image", "x"}, `--output "table": want yaml, json, airflow or task`},
		{[]string{"-o", "airflow", "--dry-run=server", "--image", "x"}, "drop --dry-run=server"},
		{[]string{"--dry-run=maybe", "--image", "x"}, `--dry-run "maybe": want none, client or server`},
		{[]string{"--image", "x", "stray", "--", "echo"}, `unexpected argument "stray": put the container command after --`},
		{[]string{"--image", "x", "stray"}, `unexpected argument "stray"`},
	} {
		f := &clientCounting{fakeFactory: newFakeFactory()}
		var out, errOut bytes.Buffer
		o := NewRenderOptions(f, testStreams(&out, &errOut))
		cmd, args := parsed(t, newRenderCommand(o), c.args...)
		if err := o.Complete(cmd, args); err != nil {
			t.Fatalf("%v: Complete: %v", c.args, err)
		}
		wantUsage(t, strings.Join(c.args, " "), o.Validate(), c.says)
		if f.clients != 0 || len(f.cs.Actions()) != 0 || out.Len()+errOut.Len() != 0 {
			t.Errorf("%v: Complete and Validate asked for %d clients, sent %v, printed %q %q", c.args, f.clients, f.cs.Actions(), out.String(), errOut.String())
		}
	}
	o := NewRenderOptions(newFakeFactory(), testStreams(&bytes.Buffer{}, &bytes.Buffer{}))
	cmd, args := parsed(t, newRenderCommand(o), "--image", "x", "--", "echo", "hi")
	if err := o.Complete(cmd, args); err != nil || o.Validate() != nil {
		t.Errorf("a good command line is refused: %v %v", err, o.Validate())
	}
}

// render's Run on a fake: the --from job is read through the factory, the
// server dry run is a create with dryRun=All, and the server's answer is
// what is printed.
func TestRenderOptionsRunOnAFake(t *testing.T) {
	f := newFakeFactory()
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "busybox:1.35", Command: []string{"nightly"}}}}}}}
	if err := f.cs.Tracker().Add(job); err != nil {
		t.Fatal(err)
	}
	f.cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		p.UID = "server-uid"
		return true, p, nil
	})
	var out, errOut bytes.Buffer
	o := NewRenderOptions(f, testStreams(&out, &errOut))
	cmd, args := parsed(t, newRenderCommand(o), "--from", "job/nightly", "--dry-run=server", "--", "sh", "-c", "env")
	if err := o.Complete(cmd, args); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(out.Bytes(), &pod); err != nil {
		t.Fatalf("not a Pod: %v\n%s", err, out.String())
	}
	if pod.UID != "server-uid" || pod.Kind != "Pod" || len(pod.Spec.Containers) == 0 ||
		pod.Spec.Containers[0].Image != "busybox:1.35" || strings.Join(pod.Spec.Containers[0].Command, " ") != "sh -c env" {
		t.Errorf("printed pod:\n%s", out.String())
	}
	var verbs []string
	for _, a := range f.cs.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
		if c, ok := a.(k8stesting.CreateAction); ok {
			if opts := c.(k8stesting.CreateActionImpl).GetCreateOptions(); len(opts.DryRun) != 1 || opts.DryRun[0] != metav1.DryRunAll {
				t.Errorf("the pod was created with %+v, want a server dry run", opts)
			}
		}
	}
	if strings.Join(verbs, ",") != "get jobs,create pods" {
		t.Errorf("calls %v, want the job read and one dry-run create", verbs)
	}
}

// create-pull-secret: Complete neither asks for a client nor prints;
// Validate refuses what does not fit, before the API is touched.
func TestCreatePullSecretOptionsCompleteValidate(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--docker-username=u", "--password-stdin"}, "exactly one NAME is required"},
		{[]string{"a", "b", "--docker-username=u", "--password-stdin"}, "exactly one NAME is required"},
		{[]string{"Bad_Name", "--docker-username=u", "--password-stdin"}, `invalid secret name "Bad_Name"`},
		{[]string{"s", "--dry-run=maybe", "--docker-username=u", "--password-stdin"}, `invalid --dry-run "maybe"`},
		{[]string{"s", "--service-account=Bad_SA", "--docker-username=u", "--password-stdin"}, `invalid --service-account "Bad_SA"`},
		{[]string{"s", "-o", "xml", "--docker-username=u", "--password-stdin"}, `--output "xml": use yaml, json or name`},
		{[]string{"s", "--docker-username=u", "--from-file=x"}, "give only one of"},
		{[]string{"s", "--docker-server=r", "--from-file=x"}, "--docker-server does not go with --from-file"},
		{[]string{"s", "--from-docker-config="}, "--from-docker-config= is empty"},
		{[]string{"s", "--from-docker-config", "--docker-server= "}, "--docker-server is empty: name the registry"},
		{[]string{"s", "--docker-server= ", "--docker-username=u"}, "--docker-server is empty: give the registry"},
		{[]string{"s", "--docker-server=r"}, "--docker-username is required"},
		{[]string{"s", "--docker-username=u", "--password-stdin", "--docker-password=x"}, "either with --password-stdin or with --docker-password"},
		{[]string{"s", "--docker-username=u", "--docker-password="}, "--docker-password is empty"},
	} {
		f := &clientCounting{fakeFactory: newFakeFactory()}
		var out, errOut bytes.Buffer
		o := NewCreatePullSecretOptions(testStreams(&out, &errOut))
		cmd, args := parsed(t, newCmdCreatePullSecretWith(f, o), c.args...)
		if err := o.Complete(cmd, args); err != nil {
			t.Fatalf("%v: Complete: %v", c.args, err)
		}
		wantUsage(t, strings.Join(c.args, " "), o.Validate(), c.says)
		if f.clients != 0 || len(f.cs.Actions()) != 0 || out.Len()+errOut.Len() != 0 {
			t.Errorf("%v: Complete and Validate asked for %d clients, sent %v, printed %q %q", c.args, f.clients, f.cs.Actions(), out.String(), errOut.String())
		}
	}
}

// create-pull-secret's Run on a fake: the client comes from the factory,
// the secret is created and the service account gets it; a client dry run
// asks for no client at all.
func TestCreatePullSecretOptionsRunOnAFake(t *testing.T) {
	f := &clientCounting{fakeFactory: newFakeFactory()}
	if err := f.cs.Tracker().Add(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	streams := testStreams(&out, &errOut)
	streams.In = strings.NewReader(testPassword + "\n")
	o := NewCreatePullSecretOptions(streams)
	cmd, args := parsed(t, newCmdCreatePullSecretWith(f, o), "regcred", "--docker-server=r", "--docker-username=u", "--password-stdin", "--service-account=default")
	if err := o.Complete(cmd, args); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "secret/regcred created\nserviceaccount/default patched\n" || f.clients != 1 {
		t.Errorf("stdout %q, %d clients", out.String(), f.clients)
	}
	s, err := f.cs.CoreV1().Secrets("default").Get(context.Background(), "regcred", metav1.GetOptions{})
	if err != nil || s.Type != corev1.SecretTypeDockerConfigJson || !strings.Contains(string(s.Data[corev1.DockerConfigJsonKey]), `"username":"u"`) {
		t.Fatalf("secret %+v (%v)", s, err)
	}
	sa, _ := f.cs.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metav1.GetOptions{})
	if len(sa.ImagePullSecrets) != 1 || sa.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("service account pull secrets %v", sa.ImagePullSecrets)
	}

	f = &clientCounting{fakeFactory: newFakeFactory()}
	out.Reset()
	streams.In = strings.NewReader(testPassword)
	o = NewCreatePullSecretOptions(streams)
	cmd, args = parsed(t, newCmdCreatePullSecretWith(f, o), "regcred", "--docker-username=u", "--password-stdin", "--dry-run=client")
	if err := o.Complete(cmd, args); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := o.Run(context.Background()); err != nil || out.String() != "secret/regcred created (dry run)\n" || f.clients != 0 || len(f.cs.Actions()) != 0 {
		t.Errorf("client dry run: %v, stdout %q, %d clients, calls %v", err, out.String(), f.clients, f.cs.Actions())
	}
}

package plugin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// completeRun runs run's Complete only (nothing is sent: the kubeconfig's
// server does not answer) and returns its options.
func completeRun(t *testing.T, stdin string, args ...string) (*RunOptions, error) {
	t.Helper()
	streams := DefaultStreams()
	var out, errOut bytes.Buffer
	streams.In, streams.Out, streams.ErrOut = strings.NewReader(stdin), &out, &errOut
	o := NewRunOptions(newFactory(configFlags(testKubeconfig(t, "http://127.0.0.1:1"), "")), streams)
	cmd := &cobra.Command{Use: "run"}
	o.task.addFlags(cmd.Flags())
	o.follow.addFlags(cmd.Flags())
	o.retry.addFlags(cmd.Flags())
	o.each.addFlags(cmd.Flags())
	o.interactive.addFlags(cmd.Flags())
	o.kubectl.addFlags(cmd.Flags())
	o.transfers.addFlags(cmd.Flags())
	if err := cmd.Flags().Parse(args); err != nil {
		return nil, err
	}
	if err := o.Complete(cmd, cmd.Flags().Args()); err != nil {
		return o, err
	}
	return o, o.completeEach(context.Background(), cmd, cmd.Flags().Args())
}

func TestEachRendersOnePodPerItem(t *testing.T) {
	o, err := completeRun(t, "{\"day\":\"d1\"}\n{\"day\":\"d2\"}\n", "--image", "x", "--name", "job", "--each", "-",
		"--param", "day=flag", "--param", "keep=k", "--", "echo", "{{ .params.day }}", "{{ .params.keep }}")
	if err != nil {
		t.Fatal(err)
	}
	pods := o.each.pods
	if len(pods) != 2 {
		t.Fatalf("%d pods", len(pods))
	}
	for i, want := range []string{"echo d1 k", "echo d2 k"} {
		p := pods[i]
		if got := strings.Join(p.Spec.Containers[0].Command, " "); got != want {
			t.Errorf("item %d: command %q, want %q", i, got, want)
		}
		if p.Labels[render.LabelMapIndex] != []string{"0", "1"}[i] {
			t.Errorf("item %d: map index %q", i, p.Labels[render.LabelMapIndex])
		}
	}
	if pods[0].Labels[render.LabelRunID] != pods[1].Labels[render.LabelRunID] || pods[0].Name == pods[1].Name {
		t.Errorf("items not of one run with their own names: %s %s", pods[0].Name, pods[1].Name)
	}
}

func TestEachBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"parallelism without --each": {"", []string{"--image", "x", "--parallelism", "3"}, "--parallelism applies to a mapped run"},
		"zero parallelism":           {"a\n1\n", []string{"--image", "x", "--each", "-", "--parallelism", "0"}, "--parallelism 0"},
		"no items":                   {"", []string{"--image", "x", "--each", "-"}, "no items"},
		"an item that does not render": {"{\"n\":\"1\"}\n{\"m\":\"x\"}\n",
			[]string{"--image", "x", "--each", "-", "--", "echo", "{{ .params.n }}"}, "item 1"},
		"same names": {"{\"n\":1}\n{\"n\":2}\n", []string{"--image", "x", "--name", "j", "--random-name-suffix=false", "--each", "-"}, ""},
	} {
		_, err := completeRun(t, c.stdin, c.args...)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || ExitCode(err) != ExitUsage {
			t.Errorf("%s: err %v (exit %d), want exit 64 naming %q", name, err, ExitCode(err), c.want)
		}
	}
}

func TestEachPrinterPrefixesAndLogDir(t *testing.T) {
	var logs, progress bytes.Buffer
	p := newEachPrinter(&logs, &progress, false, false, "", 12)
	p.handle(3, &launch.LogLine{Line: "hello"})
	p.handle(11, &launch.LogLine{Line: "bye"})
	p.flush()
	if logs.String() != "[3] hello\n[11] bye\n" {
		t.Errorf("logs %q", logs.String())
	}
	dir := t.TempDir()
	logs.Reset()
	p = newEachPrinter(&logs, &progress, false, false, dir, 2)
	p.handle(1, &launch.LogLine{Line: "one"})
	p.handle(1, &launch.LogLine{Line: "two"})
	code := int32(0)
	p.handle(1, &launch.Finished{Result: &launch.Result{Outcome: launch.OutcomeSucceeded, ExitCode: &code}})
	p.close()
	b, err := os.ReadFile(filepath.Join(dir, "1.log"))
	if err != nil || string(b) != "one\ntwo\n" || logs.Len() != 0 {
		t.Errorf("1.log %q (%v), stdout %q", b, err, logs.String())
	}
	if !strings.Contains(progress.String(), "[1] Succeeded: exit code 0") {
		t.Errorf("progress %q", progress.String())
	}
}

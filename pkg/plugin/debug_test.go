package plugin

import (
	"bytes"
	"strings"
	"testing"
)

// TestDebugBadInput: every mistake is one line, exit 64, before any request
// (the kubeconfig points at a closed port).
func TestDebugBadInput(t *testing.T) {
	kc := testKubeconfig(t, "http://127.0.0.1:1")
	task := writeFile(t, t.TempDir(), "t.yaml", "apiVersion: podtask.dev/v1alpha1\nkind: Task\nimage: x\nname: t\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"debug"}, "name what to debug"},
		{[]string{"debug", "a", "b"}, "debug takes one TARGET, got a b"},
		{[]string{"debug", "statefulset/db"}, `debug statefulset/db: kind "statefulset" is not one of cronjob, job, deployment, pod`},
		{[]string{"debug", "etl-abc", "--env", "A=B"}, "--env: task flags apply to -f task.yaml and workloads"},
		{[]string{"debug", "-f", task, "cronjob/x"}, "give one TARGET"},
		{[]string{"debug", "etl-abc", "--shell", " "}, "--shell: give a shell"},
	} {
		var out, errOut bytes.Buffer
		streams := DefaultStreams()
		streams.In, streams.Out, streams.ErrOut = strings.NewReader(""), &out, &errOut
		root := NewCmdPodtask(streams)
		root.SetArgs(append(c.args, "--kubeconfig", kc))
		err := root.Execute()
		if ExitCode(err) != ExitUsage || !strings.Contains(ErrorLine(err), c.want) || strings.Contains(ErrorLine(err), "\n") {
			t.Errorf("%q: exit %d, %q; want exit 64 and %q", c.args, ExitCode(err), ErrorLine(err), c.want)
		}
	}
}

package dag

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// requirePython skips a test that reads DAG files where python3 is missing.
func requirePython(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not on PATH; --dag needs it")
	}
}

// load reads a test DAG, once per test binary (Task does not change a File).
func load(t *testing.T, name string) *File {
	t.Helper()
	requirePython(t)
	loadMu.Lock()
	defer loadMu.Unlock()
	if f := loaded[name]; f != nil {
		return f
	}
	f, err := Load(context.Background(), filepath.Join("testdata", name), Options{NoCache: true})
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	loaded[name] = f
	return f
}

var (
	loadMu sync.Mutex
	loaded = map[string]*File{}
)

func renderJSON(t *testing.T, task *render.Task) string {
	t.Helper()
	pod, err := render.Render(task, render.Options{RunID: "r1", Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), NameSuffix: "abcdefgh"})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	b, _ := json.MarshalIndent(pod, "", "  ")
	return string(b)
}

// handWritten are the runnable (and the how-to's) tasks with the task file
// written by hand for each: both give the same pod, field by field.
var handWritten = []struct{ dag, task string }{
	{"howto.py", "task"},
	{"howto.py", "write-xcom"},
	{"xcom.py", "write-xcom"},
	{"taskflow.py", "extract"},
	{"taskflow.py", "publish.upload"},
	{"default_args.py", "clean"},
	{"default_args.py", "archive"},
	{"fstrings.py", "load_users"},
	{"loops.py", "load_orders_us"},
}

func TestTasksGiveTheHandWrittenPod(t *testing.T) {
	for _, c := range handWritten {
		t.Run(c.dag+"/"+c.task, func(t *testing.T) {
			got, err := load(t, c.dag).Task(c.task, TaskOptions{})
			if err != nil {
				t.Fatal(err)
			}
			hand := filepath.Join("testdata", "tasks", strings.TrimSuffix(c.dag, ".py")+"."+c.task+".yaml")
			data, err := os.ReadFile(hand)
			if err != nil {
				t.Fatal(err)
			}
			want, err := render.ParseTaskFile(hand, data)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := renderJSON(t, got.Task), renderJSON(t, want); g != w {
				t.Errorf("the DAG's pod differs from %s's\nDAG's task file:\n%s\nDAG's pod:\n%s\nhand-written pod:\n%s", hand, got.TaskFile, g, w)
			}
			// The printed task file reads back as the same task.
			again, err := render.ParseTaskFile("printed.yaml", got.TaskFile)
			if err != nil {
				t.Fatalf("the printed task file does not parse: %v\n%s", err, got.TaskFile)
			}
			if g, w := renderJSON(t, again), renderJSON(t, got.Task); g != w {
				t.Errorf("the printed task file gives another pod")
			}
		})
	}
}

func TestLoopsMakeOneTaskPerItem(t *testing.T) {
	f := load(t, "loops.py")
	want := []string{"load_orders_eu", "load_orders_us", "load_users_eu", "load_users_us"}
	if got := f.IDs(); !reflect.DeepEqual(got, want) {
		t.Errorf("IDs = %v, want %v", got, want)
	}
	src := []byte("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator as K\n" +
		"from airflow import DAG\nwith DAG('d'):\n    for x in ['a', 'b']:\n        K(task_id='same', image=x)\n")
	dup, err := Read(context.Background(), "dup.py", src, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dup.Task("same", TaskOptions{}); err == nil || !strings.Contains(err.Error(), "DuplicateTaskIdFound") {
		t.Errorf("a task id made twice: %v", err)
	}
}

func TestXComTaskReturnsItsResult(t *testing.T) {
	got, err := load(t, "xcom.py").Task("write-xcom", TaskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Task.DoXComPush == nil || !*got.Task.DoXComPush {
		t.Fatalf("do_xcom_push not set:\n%s", got.TaskFile)
	}
	if !strings.Contains(strings.Join(got.Task.Cmds, " "), "echo '[1,2,3,4]' > /airflow/xcom/return.json") {
		t.Fatalf("cmds = %q", got.Task.Cmds)
	}
}

func TestListsTasks(t *testing.T) {
	f := load(t, "taskflow.py")
	if got, want := f.IDs(), []string{"extract", "load", "publish.upload"}; !reflect.DeepEqual(got, want) {
		t.Errorf("IDs = %v, want %v", got, want)
	}
	for _, r := range f.Tasks {
		if r.DAGID != "nightly_report" {
			t.Errorf("%s: DAG id %q, want nightly_report", r.ID, r.DAGID)
		}
	}
	_, err := f.Task("nope", TaskOptions{})
	if err == nil || err.Error() != `testdata/taskflow.py: no KubernetesPodOperator task "nope"; its tasks: extract, load, publish.upload` {
		t.Errorf("unknown task: %v", err)
	}
	if d := load(t, "default_args.py"); d.Tasks[0].DAGID != "with_default_args" {
		t.Errorf("dag= argument: DAG id %q", d.Tasks[0].DAGID)
	}
}

// Every refused construct: one line, at its line and column.
func TestRefusals(t *testing.T) {
	f := load(t, "refused.py")
	cases := []struct{ task, want string }{
		{"call", `refused.py:27:49: get_image(): a function call is not run; move the value into the file, or write "{{ params.NAME }}" and give --param NAME=VALUE (or give it with --image, which replaces it)`},
		{"imported", `refused.py:28:53: REGISTRY_IMAGE: a variable from another module (imported from company.settings at line 11) is not read;`},
		{"variable", `refused.py:29:53: Variable.get("etl_image"): an Airflow Variable is read only when Airflow runs the file;`},
		{"connection", `refused.py:30:85: BaseHook.get_connection("db"): an Airflow Connection is read only when Airflow runs the file;`},
		{"environ", `refused.py:31:52: os.environ.get("IMAGE", BUSYBOX): an environment variable of the machine that runs Airflow is not read;`},
		{"conditional", `refused.py:32:56: STAGE_IMAGE: is assigned under if/for/while/try (line 19), so its value is known only when the file runs;`},
		{"undefined", `refused.py:33:54: UNDEFINED_IMAGE: is not defined in this file (Airflow would fail with NameError);`},
		{"ternary", `refused.py:34:52: BUSYBOX if TABLES else None: this expression is not evaluated`},
		{"mapped", `refused.py:35:85: [["a"], ["b"]]: an .expand() value makes one pod per item, known only in a DAG run; write one item in .partial(...), or give it with --arguments`},
		{"mapped_kwargs", `refused.py:36:89: .expand_kwargs(...): a mapped task makes one pod per item`},
		{"jinja_var", `refused.py:37:87: {{ var.value.stage }}: Jinja {{ var.value.stage }} reads an Airflow Variable`},
		{"jinja_macro", `refused.py:38:77: {{ macros.ds_add(ds, 1) }}: Jinja {{ macros.ds_add(ds, 1) }} has no podtask equivalent`},
		{"jinja_statement", `refused.py:39:81: {% if params.x %}: the Jinja statement {% if params.x %} has no podtask equivalent`},
		{"jinja_namespace", `refused.py:40:80: {{ params.ns }}: namespace is used as written by podtask; write the value, or give it with -n`},
		{"format_spec", `refused.py:41:76: f"{len(TABLES):>4}": a format spec (:...) in an f-string is not evaluated`},
		{"full_pod_spec", `refused.py:42:66: k8s.V1Pod(metadata=k8s.V1ObjectMeta(name="x")): full_pod_spec (a pod object) is not read;`},
		{"bad_model_arg", `refused.py:43:94: port=80: V1ContainerPort has no argument port (it takes container_port, host_ip, host_port, name, protocol)`},
		{"bad_field", `refused.py:44:75: [{"key": "a", "efect": "NoSchedule"}]: tolerations[0].efect: unknown field`},
		{"loop", `refused.py:46:73: table: a loop variable (line 45) has no one value without running the file;`},
	}
	if len(cases) != len(f.IDs()) {
		t.Errorf("refused.py has %d tasks, %d are checked", len(f.IDs()), len(cases))
	}
	for _, c := range cases {
		_, err := f.Task(c.task, TaskOptions{})
		if err == nil {
			t.Errorf("%s: not refused", c.task)
			continue
		}
		got := err.Error()
		if !strings.HasPrefix(got, "testdata/"+c.want) || strings.ContainsAny(got, "\n\r") {
			t.Errorf("%s:\n got %s\nwant testdata/%s...", c.task, got, c.want)
		}
	}
}

func TestFlagsReplaceRefusedValues(t *testing.T) {
	f := load(t, "refused.py")
	for _, c := range []struct {
		task  string
		field string
	}{{"call", "image"}, {"mapped", "arguments"}, {"loop", "arguments"}, {"jinja_namespace", "namespace"}} {
		got, err := f.Task(c.task, TaskOptions{Skip: map[string]bool{c.field: true}})
		if err != nil {
			t.Errorf("%s with %s from a flag: %v", c.task, c.field, err)
			continue
		}
		if strings.Contains(string(got.TaskFile), c.field+":") {
			t.Errorf("%s: %s is in the task file:\n%s", c.task, c.field, got.TaskFile)
		}
	}
}

func TestJinja(t *testing.T) {
	for in, want := range map[string]string{
		"{{ ds }}/{{ds_nodash}}":            "{{ .ds }}/{{ .ds_nodash }}",
		"at {{ ts }}":                       `at {{ replace "Z" "+00:00" .ts }}`,
		"{{ params.table }}":                "{{ .params.table }}",
		`{{ params["my-key"] }}`:            `{{ index .params "my-key" }}`,
		"{{ dag_run.run_id }}":              "{{ .run_id }}",
		"{{ dag.dag_id }}.{{ ti.task_id }}": "d.t",
		"a {# note #}b":                     "a b",
		"x  {{- ds -}}  y":                  "x{{ .ds }}y",
		"plain } { text":                    "plain } { text",
	} {
		got, err := fromJinja(in, "d", "t")
		if err != nil || got != want {
			t.Errorf("fromJinja(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"{{ ds", "{{ ds | upper }}", "{% raw %}", "{{ conn.db.host }}"} {
		if _, err := fromJinja(in, "d", "t"); err == nil {
			t.Errorf("fromJinja(%q): no error", in)
		}
	}
	if got := escape("a {{ b }}"); got != `a {{"{{"}} b }}` {
		t.Errorf("escape = %q", got)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"hostIP": "host_ip", "podIPs": "pod_i_ps", "mountPath": "mount_path",
		"preferredDuringSchedulingIgnoredDuringExecution": "preferred_during_scheduling_ignored_during_execution",
		"scaleIO": "scale_io", "exec": "exec", "fsType": "fs_type"} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInvalidPythonIsOneLine(t *testing.T) {
	requirePython(t)
	_, err := Read(context.Background(), "bad.py", []byte("x = 1\ndef f(:\n"), Options{NoCache: true})
	if err == nil || !strings.HasPrefix(err.Error(), "bad.py:2:") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}

func TestCache(t *testing.T) {
	requirePython(t)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	src, _ := os.ReadFile("testdata/xcom.py")
	first, err := Read(context.Background(), "xcom.py", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The second read of the same bytes needs no interpreter at all.
	second, err := Read(context.Background(), "xcom.py", src, Options{Python: "python3"})
	if err != nil || !reflect.DeepEqual(first.IDs(), second.IDs()) {
		t.Fatalf("cached read: %v, %v", second, err)
	}
	p, _ := exec.LookPath("python3")
	if _, err := os.Stat(cachePath(p, src)); err != nil {
		t.Fatalf("no cache entry: %v", err)
	}
	// Other bytes are read anew.
	changed, err := Read(context.Background(), "xcom.py", append(src, []byte("\nKubernetesPodOperator(task_id=\"more\")\n")...), Options{})
	if err != nil || len(changed.IDs()) != 2 {
		t.Fatalf("changed file: %v, %v", changed, err)
	}
}

func TestWithoutPython(t *testing.T) {
	_, err := Read(context.Background(), "d.py", []byte("x = 1\n"), Options{Python: "/nonexistent/python3"})
	if err == nil || !strings.Contains(err.Error(), "--dag needs /nonexistent/python3 (Python 3.8 or newer)") {
		t.Fatalf("err = %v", err)
	}
}

// The file is read, never run: its module-level code has no effect.
func TestNeverRunsTheFile(t *testing.T) {
	requirePython(t)
	marker := filepath.Join(t.TempDir(), "ran")
	src := "import os\nopen(" + `"` + marker + `"` + ", 'w').write('x')\nos.system('touch " + marker + "')\n" +
		"raise SystemExit(3)\n"
	if _, err := Read(context.Background(), "side_effects.py", []byte(src), Options{NoCache: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the DAG file was run")
	}
}

// Each Python from 3.8 to 3.13 that is installed reads the test DAGs alike.
// PODTASK_TEST_PYTHONS lists interpreters (colon-separated) besides python3.8 ... python3.13 on PATH.
func TestPythonVersions(t *testing.T) {
	var pythons []string
	for _, p := range filepath.SplitList(os.Getenv("PODTASK_TEST_PYTHONS")) {
		if p != "" {
			pythons = append(pythons, p)
		}
	}
	for _, v := range []string{"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"} {
		if p, err := exec.LookPath("python" + v); err == nil {
			pythons = append(pythons, p)
		}
	}
	if len(pythons) == 0 {
		t.Skip("no python3.X on PATH and no PODTASK_TEST_PYTHONS")
	}
	versions := map[string]string{} // interpreter -> its version, for those that run
	for _, py := range pythons {
		if out, err := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output(); err == nil {
			versions[py] = strings.TrimSpace(string(out)) // else a pyenv shim of a version not selected
		}
	}
	files, _ := filepath.Glob("testdata/*.py")
	for _, file := range files {
		src, _ := os.ReadFile(file)
		ref, refVersion := "", ""
		for _, py := range pythons {
			version, ok := versions[py]
			if !ok || versionLess(version, requiredPython(src)) {
				continue
			}
			f, err := Read(context.Background(), file, src, Options{Python: py, NoCache: true})
			if err != nil {
				t.Errorf("Python %s, %s: %v", version, file, err)
				continue
			}
			var b strings.Builder
			for _, id := range f.IDs() {
				task, err := f.Task(id, TaskOptions{})
				if err != nil {
					fmt.Fprintf(&b, "%s: %v\n", id, err)
				} else {
					fmt.Fprintf(&b, "%s:\n%s", id, task.TaskFile)
				}
			}
			if ref == "" {
				ref, refVersion = b.String(), version
			} else if b.String() != ref {
				t.Errorf("%s: Python %s reads it otherwise than Python %s:\n%s\n---\n%s", file, version, refVersion, b.String(), ref)
			}
			t.Logf("%s: Python %s", file, version)
		}
	}
}

// requiredPython is the "# python: 3.X" of a test DAG's first line.
func requiredPython(src []byte) string {
	line, _, _ := strings.Cut(string(src), "\n")
	if v, ok := strings.CutPrefix(line, "# python: "); ok {
		return strings.TrimSpace(v)
	}
	return "3.8"
}

func versionLess(a, b string) bool {
	var a1, a2, b1, b2 int
	_, _ = fmtSscanf(a, &a1, &a2)
	_, _ = fmtSscanf(b, &b1, &b2)
	return a1 < b1 || a1 == b1 && a2 < b2
}

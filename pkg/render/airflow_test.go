package render

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestAirflowRoundTrip prints every example and every golden task as a
// KubernetesPodOperator call, runs it with python3 against stub modules
// that record the constructor's arguments (testdata/airflow), reads those
// arguments back as a task file and compares them with the task rendered.
func TestAirflowRoundTrip(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to run the KubernetesPodOperator call -o airflow prints (Debian: apt-get install python3)")
	}
	type item struct {
		name string
		task *Task
		opts Options
	}
	var items []item
	files, _ := filepath.Glob("../../examples/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		task, err := ParseTaskFile(f, data)
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{RunID: "run-1", Now: fixedNow, NameSuffix: "abcd1234"}
		if task.PodTemplateFile != "" {
			p := filepath.Join(filepath.Dir(f), task.PodTemplateFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			opts.TemplateFile = &File{Path: p, Data: b}
		}
		items = append(items, item{"examples/" + filepath.Base(f), task, opts})
	}
	for _, c := range loadKPOCases(t) {
		items = append(items, item{c.file, c.task, c.opts})
	}
	if len(items) < 35 {
		t.Fatalf("only %d tasks", len(items))
	}
	dir := t.TempDir()
	type printed struct {
		res  *Result
		src  []byte
		file string
	}
	var all []printed
	for _, it := range items {
		res, err := Build(it.task, it.opts)
		if err != nil {
			t.Fatalf("%s: %v", it.name, err)
		}
		src, err := Airflow(res.Task, res.Name)
		if err != nil {
			t.Fatalf("%s: %v", it.name, err)
		}
		file := filepath.Join(dir, strings.NewReplacer("/", "_", ".", "_").Replace(it.name)+".py")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		all = append(all, printed{res, src, file})
	}
	// One python3 for them all: it prints a line per file.
	argv := []string{"testdata/airflow/dump.py"}
	for _, p := range all {
		argv = append(argv, p.file)
	}
	out, err := exec.Command(py, argv...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python3: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(all) {
		t.Fatalf("python3 printed %d calls for %d tasks", len(lines), len(all))
	}
	for i, p := range all {
		res, src := p.res, p.src
		t.Run(filepath.Base(items[i].name), func(t *testing.T) {
			var args map[string]any
			if err := json.Unmarshal([]byte(lines[i]), &args); err != nil {
				t.Fatalf("%v: %s", err, lines[i])
			}
			if args["task_id"] != res.Name {
				t.Errorf("task_id %v, want %q", args["task_id"], res.Name)
			}
			delete(args, "task_id")
			if v, ok := args["dnspolicy"]; ok {
				args["dns_policy"] = v
				delete(args, "dnspolicy")
			}
			if err := stripTypes(args); err != nil {
				t.Fatalf("%v\n--- the call:\n%s", err, src)
			}
			args["apiVersion"], args["kind"] = APIVersion, Kind
			js, _ := json.Marshal(args)
			back, err := ParseTaskFile("call.json", js)
			if err != nil {
				t.Fatalf("the call's arguments are not the task: %v\n%s", err, src)
			}
			if err := back.Complete(); err != nil {
				t.Fatal(err)
			}
			want := comparable(res.Task, res.Name)
			got := comparable(back, res.Name)
			if want != got {
				t.Errorf("the call differs from the task:\n got  %s\n want %s\n--- the call:\n%s", got, want, src)
			}
		})
	}
}

// stripTypes checks that every object the call builds is a k8s.V1...
// class and drops the "__type__" the stubs record.
func stripTypes(v any) error {
	switch x := v.(type) {
	case map[string]any:
		if ty, ok := x["__type__"]; ok {
			if s, _ := ty.(string); !strings.HasPrefix(s, "V1") {
				return &FieldError{Msg: "not a k8s.V1 class: " + s}
			}
			delete(x, "__type__")
		}
		for _, e := range x {
			if err := stripTypes(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := stripTypes(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// comparable is a task as JSON, with what a KubernetesPodOperator call
// cannot carry set aside: the XCom mode and sidecar image, the image pull
// grace, delete_active_pod (KPO's keep_pod), and the two forms of
// pod_runtime_info_envs made one.
func comparable(t *Task, name string) string {
	c := *t
	c.Name = name
	c.DoXComPush, c.XComSidecarImage, c.ImagePullGrace = nil, "", 0
	if c.XCom != XComNone {
		c.XCom = XComSidecar
	}
	if c.OnFinishAction == OnFinishDeleteActivePod {
		c.OnFinishAction = OnFinishKeepPod
	}
	c.PodRuntimeInfoEnvs = nil
	for _, p := range t.PodRuntimeInfoEnvs {
		if p.ValueFrom == nil {
			p.ValueFrom = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p.FieldPath}}
			p.FieldPath = ""
		}
		c.PodRuntimeInfoEnvs = append(c.PodRuntimeInfoEnvs, p)
	}
	b, _ := json.Marshal(struct {
		*Task
		Startup, Schedule float64
	}{&c, c.StartupTimeout.Seconds(), c.ScheduleTimeout.Seconds()})
	return string(b)
}

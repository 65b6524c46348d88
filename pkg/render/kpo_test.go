package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden pods under testdata/kpo")

// kpoCase is one parameter set of testdata/kpo: a task (KPO parameters),
// the templates under it, and what KubernetesPodOperator's rule (named by
// rule, a row of docs/kpo-conformance.md) says the pod holds.
type kpoCase struct {
	Rule             string      `yaml:"rule"`
	Task             yamlv3.Node `yaml:"task"`
	Template         yamlv3.Node `yaml:"template"`
	FullPodSpec      yamlv3.Node `yaml:"full_pod_spec"`
	DefaultNamespace string      `yaml:"default_namespace"`
	Expect           []struct {
		Path   string `yaml:"path"`
		Value  any    `yaml:"value"`
		Absent bool   `yaml:"absent"`
	} `yaml:"expect"`
	Warnings []string `yaml:"warnings"` // substrings, one per warning, in order
}

type loadedCase struct {
	file string
	kpoCase
	task *Task
	opts Options
}

func loadKPOCases(t *testing.T) []loadedCase {
	t.Helper()
	files, err := filepath.Glob("testdata/kpo/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []loadedCase
	for _, f := range files {
		if strings.HasSuffix(f, ".pod.yaml") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c kpoCase
		if err := yamlv3.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Rule == "" || len(c.Expect) == 0 {
			t.Fatalf("%s: a case needs its rule and what it expects", f)
		}
		c.Task.Style = 0 // block style, to follow the apiVersion and kind lines
		body, err := yamlv3.Marshal(&c.Task)
		if err != nil {
			t.Fatal(err)
		}
		task, err := ParseTaskFile(f, append([]byte("apiVersion: podtask.dev/v1alpha1\nkind: Task\n"), body...))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		opts := Options{RunID: "run-1", Now: fixedNow, NameSuffix: "abcd1234", DefaultNamespace: c.DefaultNamespace}
		for _, m := range []struct {
			node *yamlv3.Node
			path *string
			dst  **File
		}{{&c.Template, &task.PodTemplateFile, &opts.TemplateFile}, {&c.FullPodSpec, &task.FullPodSpec, &opts.FullPodSpec}} {
			if m.node.Kind == 0 {
				continue
			}
			b, err := yamlv3.Marshal(m.node)
			if err != nil {
				t.Fatal(err)
			}
			if *m.path == "" {
				*m.path = strings.TrimSuffix(filepath.Base(f), ".yaml") + ".pod-template.yaml"
			}
			*m.dst = &File{Path: *m.path, Data: b}
		}
		out = append(out, loadedCase{file: f, kpoCase: c, task: task, opts: opts})
	}
	if len(out) < 30 {
		t.Fatalf("%d parameter sets under testdata/kpo; want at least 30", len(out))
	}
	return out
}

// TestKPOConformance renders every parameter set of testdata/kpo, checks
// each field its rule predicts and the warnings it says, and compares the
// whole pod with the golden one (go test -run TestKPOConformance -update).
func TestKPOConformance(t *testing.T) {
	for _, c := range loadKPOCases(t) {
		t.Run(strings.TrimSuffix(filepath.Base(c.file), ".yaml"), func(t *testing.T) {
			res, err := Build(c.task, c.opts)
			if err != nil {
				t.Fatalf("%s: %v", c.Rule, err)
			}
			js, err := json.Marshal(res.Pod)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(js, &doc); err != nil {
				t.Fatal(err)
			}
			for _, e := range c.Expect {
				got, ok := jsonPath(doc, e.Path)
				switch {
				case e.Absent && ok:
					t.Errorf("%s: %s: want absent, got %s", c.Rule, e.Path, compact(got))
				case e.Absent:
				case !ok:
					t.Errorf("%s: %s: absent, want %s", c.Rule, e.Path, compact(normalize(e.Value)))
				case !reflect.DeepEqual(got, normalize(e.Value)):
					t.Errorf("%s: %s:\n got  %s\n want %s", c.Rule, e.Path, compact(got), compact(normalize(e.Value)))
				}
			}
			if len(res.Warnings) != len(c.Warnings) {
				t.Errorf("%s: warnings %q, want %d matching %q", c.Rule, res.Warnings, len(c.Warnings), c.Warnings)
			} else {
				for i, w := range c.Warnings {
					if !strings.Contains(res.Warnings[i].String(), w) {
						t.Errorf("%s: warning %d %q does not say %q", c.Rule, i, res.Warnings[i], w)
					}
				}
			}
			golden := strings.TrimSuffix(c.file, ".yaml") + ".pod.yaml"
			y, err := sigsyaml.Marshal(res.Pod)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(golden, y, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestKPOConformance -update)", err)
			}
			if !bytes.Equal(want, y) {
				t.Errorf("%s: pod differs from %s:\n%s", c.Rule, golden, lineDiff(string(want), string(y)))
			}
		})
	}
}

// jsonPath follows "a.b[1].c" in a decoded JSON document; keys may hold
// '/' and '.' when written as ["key"] (labels["app.kubernetes.io/x"]).
func jsonPath(doc any, path string) (any, bool) {
	cur := doc
	for path != "" {
		path = strings.TrimPrefix(path, ".")
		var key string
		idx := -1
		switch {
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			key, path = path[2:end], path[end+2:]
		case strings.HasPrefix(path, "["):
			end := strings.Index(path, "]")
			idx, _ = strconv.Atoi(path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			key, path = path[:end], path[end:]
		}
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return nil, false
			}
			cur = l[idx]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, x, y))
		}
		if len(out) > 8 {
			break
		}
	}
	return strings.Join(out, "\n")
}

package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// notTemplated are task fields whose strings are used as written: they are
// needed before templating (name is templated on its own, first).
var notTemplated = map[string]bool{
	"name": true, "namespace": true, "params": true, "pod_template_file": true,
	"full_pod_spec": true, "from": true,
}

// templateData is what a template sees. Built-ins are lower case, as in
// Airflow: {{ .task_name }}, {{ .namespace }}, {{ .run_id }}, {{ .ds }},
// {{ .ds_nodash }}, {{ .ts }}, {{ .ts_nodash }}, {{ .params.KEY }}.
func templateData(t *Task, runID string, now time.Time, taskName string) map[string]any {
	params := map[string]string{}
	for k, v := range t.Params {
		params[k] = v
	}
	now = now.UTC()
	d := map[string]any{
		"params":    params,
		"namespace": t.Namespace,
		"run_id":    runID,
		"ds":        now.Format("2006-01-02"),
		"ds_nodash": now.Format("20060102"),
		"ts":        now.Format(time.RFC3339),
		"ts_nodash": now.Format("20060102T150405"),
	}
	if taskName != "" {
		d["task_name"] = taskName
	}
	return d
}

var templateFuncs = template.FuncMap{
	"upper":   strings.ToUpper,
	"lower":   strings.ToLower,
	"trim":    strings.TrimSpace,
	"replace": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"default": func(def string, v any) string {
		if s := fmt.Sprint(v); v != nil && s != "" {
			return s
		}
		return def
	},
	"quote": strconv.Quote,
}

// execTemplate renders s when it holds a template action.
func execTemplate(field, s string, data map[string]any) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	tpl, err := template.New(field).Option("missingkey=error").Funcs(templateFuncs).Parse(s)
	if err != nil {
		return "", fieldErr(field, "bad template: %s", templateMsg(err))
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return "", fieldErr(field, "template failed: %s (built-ins: task_name, namespace, run_id, ds, ds_nodash, ts, ts_nodash, params.KEY)", templateMsg(err))
	}
	return b.String(), nil
}

func templateMsg(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "template: ")
	// "field:1:5: executing \"field\" at <.x>: map has no entry for key \"x\""
	if i := strings.Index(msg, "executing "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			return strings.TrimSpace(msg[i+j+2:])
		}
	}
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// applyTemplates returns a deep copy of t with every templated string
// rendered.
func applyTemplates(t *Task, data map[string]any) (*Task, error) {
	js, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tree))
	for k := range tree {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if notTemplated[k] {
			continue
		}
		v, c, err := walkTemplates(k, tree[k], data)
		if err != nil {
			return nil, err
		}
		if c {
			tree[k] = v
		}
	}
	// Always a fresh copy: what Render builds never shares memory with t.
	out, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	var nt Task
	if err := json.Unmarshal(out, &nt); err != nil {
		return nil, fieldErr("", "a templated value does not fit its field: %v", cleanJSONError(err))
	}
	nt.ScheduleTimeout, nt.StartupTimeout, nt.ImagePullGrace = t.ScheduleTimeout, t.StartupTimeout, t.ImagePullGrace
	return &nt, nil
}

func walkTemplates(path string, v any, data map[string]any) (any, bool, error) {
	switch x := v.(type) {
	case string:
		s, err := execTemplate(path, x, data)
		return s, s != x, err
	case []any:
		changed := false
		for i := range x {
			nv, c, err := walkTemplates(fmt.Sprintf("%s[%d]", path, i), x[i], data)
			if err != nil {
				return nil, false, err
			}
			if c {
				x[i], changed = nv, true
			}
		}
		return x, changed, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		changed := false
		for _, k := range keys {
			nv, c, err := walkTemplates(path+"."+k, x[k], data)
			if err != nil {
				return nil, false, err
			}
			if c {
				x[k], changed = nv, true
			}
		}
		return x, changed, nil
	}
	return v, false, nil
}

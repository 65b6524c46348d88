package dag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// A task's parameters become a task file: KubernetesPodOperator's own
// names, the DAG's default_args applied as Airflow applies them, params
// merged, Jinja translated; render's parser then reads it.

// kpoParam is how a KubernetesPodOperator parameter goes into a task file.
type kpoParam struct {
	field     string // the task file's field
	templated bool   // one of KPO's template_fields: Jinja is rendered
	asWritten bool   // podtask does not template the field (namespace, pod_template_file)
}

var kpoParams = func() map[string]kpoParam {
	m := map[string]kpoParam{"dnspolicy": {field: "dns_policy"}}
	for _, f := range []string{"image", "cmds", "arguments", "env_vars", "labels", "annotations",
		"container_resources", "volumes", "volume_mounts", "env_from", "node_selector"} {
		m[f] = kpoParam{field: f, templated: true}
	}
	for _, f := range []string{"namespace", "pod_template_file"} {
		m[f] = kpoParam{field: f, templated: true, asWritten: true}
	}
	for _, f := range []string{"name", "ports", "secrets", "configmaps", "image_pull_policy",
		"container_security_context", "termination_message_policy", "pod_runtime_info_envs",
		"base_container_name", "random_name_suffix", "affinity", "tolerations", "service_account_name",
		"automount_service_account_token", "hostnetwork", "host_aliases", "hostname", "subdomain",
		"dns_config", "security_context", "priority_class_name", "schedulername", "active_deadline_seconds",
		"termination_grace_period", "image_pull_secrets", "init_containers", "do_xcom_push",
		"on_finish_action", "startup_timeout_seconds", "schedule_timeout_seconds"} {
		m[f] = kpoParam{field: f}
	}
	return m
}()

// flagFor names the flag that replaces a field, for refusals.
var flagFor = map[string]string{
	"image": "--image", "cmds": "--cmds (or the words after --)", "arguments": "--arguments",
	"name": "--name", "service_account_name": "--service-account", "image_pull_policy": "--image-pull-policy",
	"base_container_name": "--container-name", "active_deadline_seconds": "--active-deadline-seconds",
	"namespace": "-n", "pod_template_file": "--pod-template-file", "on_finish_action": "--on-finish-action",
}

// TaskOptions say how a task becomes a task file.
type TaskOptions struct {
	// Skip are task file fields that flags replace: they are not read from the DAG.
	Skip map[string]bool
}

// Task is one KubernetesPodOperator task as a task file.
type Task struct {
	DAGID, TaskID string
	TaskFile      []byte       // podtask's task file (YAML)
	Task          *render.Task // TaskFile as render reads it
}

// entry is one key of a dict read lazily: its value is evaluated only when
// used, so default_args may hold what is not evaluated (a timedelta).
type entry struct {
	key string
	n   *node
	ev  *evaluator
	v   any
	has bool // v is the value
}

func (en *entry) value() (any, error) {
	if en.has {
		return en.v, nil
	}
	return en.ev.eval(en.n)
}

// entries reads a dict without evaluating its values.
func (e *evaluator) entries(n *node) ([]entry, error) {
	if e.depth > maxDepth {
		return nil, e.f.errAt(n, "names refer to names too deeply; write the dict out")
	}
	switch n.T {
	case "d":
		var out []entry
		for _, kv := range n.KV {
			if kv[0] == nil {
				more, err := e.entries(kv[1])
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
				continue
			}
			k, err := e.key(kv[0])
			if err != nil {
				return nil, err
			}
			out = append(out, entry{key: k, n: kv[1], ev: e})
		}
		return out, nil
	case "n":
		b := e.lookup(n.ID)
		if b == nil {
			return nil, e.f.errAt(n, "is not defined in this file (Airflow would fail with NameError); define it at module level")
		}
		if b.Value() == nil {
			return nil, e.f.errAt(n, unboundMsg(b))
		}
		return e.at(b.Scope, b.Line).entries(b.Value())
	case "call":
		if name, _ := e.callee(n); name == "dict" && len(n.Args) <= 1 {
			var out []entry
			for _, a := range n.Args {
				more, err := e.entries(a)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
			for _, k := range n.KW {
				if k.Name == nil {
					more, err := e.entries(k.Value)
					if err != nil {
						return nil, err
					}
					out = append(out, more...)
					continue
				}
				out = append(out, entry{key: *k.Name, n: k.Value, ev: e})
			}
			return out, nil
		}
	}
	v, err := e.eval(n)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*omap)
	if !ok {
		return nil, e.f.errAt(n, "must be a dict")
	}
	out := make([]entry, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, entry{key: k, v: m.m[k], has: true, n: n})
	}
	return out, nil
}

func (e *evaluator) kwEntries(kws []kwarg) ([]entry, error) {
	var out []entry
	for _, k := range kws {
		if k.Name == nil {
			more, err := e.entries(k.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
			continue
		}
		out = append(out, entry{key: *k.Name, n: k.Value, ev: e})
	}
	return out, nil
}

func lastEntry(es []entry, key string) *entry {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].key == key {
			return &es[i]
		}
	}
	return nil
}

// dagID is the id of the i-th DAG: dag_id=, the first argument, or the
// decorated function's name.
func (f *File) dagID(i int) (string, error) {
	if i < 0 || i >= len(f.tree.DAGs) {
		return "", nil
	}
	d := f.tree.DAGs[i]
	ev := f.evaluator(0, d.Line, nil)
	n := findKW(d.KW, "dag_id")
	if n == nil && len(d.Args) > 0 {
		n = d.Args[0]
	}
	if n == nil {
		if d.Name != nil {
			return *d.Name, nil
		}
		return "", nil
	}
	v, err := ev.eval(n)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", f.errAt(n, "a DAG id must be a string")
	}
	return s, nil
}

// taskID is the task's id with its task groups' prefix, as Airflow makes it.
func (f *File) taskID(ev *evaluator, tk *taskEntry) (string, error) {
	es, err := ev.kwEntries(tk.Call.KW)
	if err != nil {
		return "", err
	}
	en := lastEntry(es, "task_id")
	if en == nil {
		return "", f.errAt(&tk.Call, "has no task_id")
	}
	v, err := en.value()
	if err != nil {
		return "", err
	}
	id, ok := v.(string)
	if !ok || id == "" {
		return "", f.errAt(en.n, "a task_id must be a string")
	}
	prefix := ""
	for _, gi := range tk.Groups {
		if gi < 0 || gi >= len(f.tree.Groups) {
			continue
		}
		g := f.tree.Groups[gi]
		n := findKW(g.KW, "group_id")
		if n == nil && len(g.Args) > 0 {
			n = g.Args[0]
		}
		label := ""
		if n != nil {
			v, err := ev.eval(n)
			if err != nil {
				return "", err
			}
			label, _ = v.(string)
		} else if g.Name != nil {
			label = *g.Name
		}
		gid := prefix + label
		prefix = ""
		usePrefix := true
		if p := findKW(g.KW, "prefix_group_id"); p != nil {
			v, err := ev.eval(p)
			if err != nil {
				return "", err
			}
			b, _ := v.(bool)
			usePrefix = b
		}
		if usePrefix && gid != "" {
			prefix = gid + "."
		}
	}
	return prefix + id, nil
}

// taskDAG is the task's DAG: the enclosing with-block or @dag function,
// else its dag= argument; -1 for none.
func (f *File) taskDAG(ev *evaluator, tk *taskEntry) (int, error) {
	if tk.DAG != nil {
		return *tk.DAG, nil
	}
	es, err := ev.kwEntries(tk.Call.KW)
	if err != nil {
		return -1, err
	}
	if en := lastEntry(es, "dag"); en != nil {
		v, err := en.value()
		if err != nil {
			return -1, err
		}
		if d, ok := v.(dagValue); ok {
			return d.index, nil
		}
	}
	return -1, nil
}

// Task turns the task with this id into a task file. id may be
// DAG_ID:TASK_ID when several DAGs of the file have the task id.
func (f *File) Task(id string, opts TaskOptions) (task *Task, err error) {
	defer func() {
		var e *Error
		if errors.As(err, &e) && e.File == "" {
			e.File = f.Path
		}
	}()
	ref, err := f.find(id)
	if err != nil {
		return nil, err
	}
	tk := &f.tree.Tasks[ref.index]
	if err := tk.full(); err != nil {
		return nil, &Error{File: f.Path, Msg: "the Python reader's answer is not JSON: " + err.Error()}
	}
	b := &budget{}
	ev := f.evaluator(tk.Scope, tk.P.line(), b)
	ev.loopVars = ref.loop
	if len(tk.Call.Args) > 0 {
		return nil, f.errAt(tk.Call.Args[0], "KubernetesPodOperator takes keyword arguments only; name it")
	}
	taskID, err := f.taskID(ev, tk)
	if err != nil {
		return nil, err
	}
	explicit, err := ev.kwEntries(tk.Call.KW)
	if err != nil {
		return nil, err
	}
	dagIdx, err := f.taskDAG(ev, tk)
	if err != nil {
		return nil, err
	}
	dagID, err := f.dagID(dagIdx)
	if err != nil {
		return nil, err
	}

	// default_args: the DAG's, then each task group's, then the operator's
	// own; a later one wins a key. "params" among them merge into params.
	var defaults, params []entry
	addDefaults := func(e *evaluator, n *node) error {
		if n == nil {
			return nil
		}
		es, err := e.entries(n)
		if err != nil {
			return err
		}
		for _, en := range es {
			if en.key == "params" {
				p, err := paramEntries(en)
				if err != nil {
					return err
				}
				params = append(params, p...)
				continue
			}
			defaults = append(defaults, en)
		}
		return nil
	}
	if dagIdx >= 0 && dagIdx < len(f.tree.DAGs) {
		d := f.tree.DAGs[dagIdx]
		dev := ev.at(tk.Scope, d.Line)
		if n := findKW(d.KW, "params"); n != nil {
			es, err := dev.entries(n)
			if err != nil {
				return nil, err
			}
			params = append(params, es...)
		}
		if err := addDefaults(dev, findKW(d.KW, "default_args")); err != nil {
			return nil, err
		}
	}
	for _, gi := range tk.Groups {
		if gi >= 0 && gi < len(f.tree.Groups) {
			if err := addDefaults(ev, findKW(f.tree.Groups[gi].KW, "default_args")); err != nil {
				return nil, err
			}
		}
	}
	if en := lastEntry(explicit, "default_args"); en != nil {
		if err := addDefaults(en.ev, en.n); err != nil {
			return nil, err
		}
	}
	if en := lastEntry(explicit, "params"); en != nil {
		p, err := paramEntries(*en)
		if err != nil {
			return nil, err
		}
		params = append(params, p...)
	}

	out := newMap()
	where := map[string]*entry{}
	given := map[string]bool{}
	use := func(en *entry) error {
		switch en.key {
		case "task_id", "dag", "default_args", "params", "task_group":
			return nil
		case "full_pod_spec", "pod_template_dict":
			if opts.Skip["full_pod_spec"] || opts.Skip["pod_template_file"] {
				return nil
			}
			return f.errAt(en.n, en.key+" (a pod object) is not read; write the pod to a YAML file and give it with --full-pod-spec FILE (or pod_template_file=)")
		case "is_delete_operator_pod":
			if given["on_finish_action"] || opts.Skip["on_finish_action"] {
				return nil
			}
			v, err := en.value()
			if err != nil {
				return err
			}
			if del, ok := v.(bool); ok {
				action := render.OnFinishKeepPod
				if del {
					action = render.OnFinishDeletePod
				}
				out.set("on_finish_action", action)
				where["on_finish_action"] = en
			}
			return nil
		}
		p, ok := kpoParams[en.key]
		if !ok || opts.Skip[p.field] {
			return nil // a parameter of Airflow, not of the pod
		}
		v, err := en.value()
		if err != nil {
			var de *Error
			if flag := flagFor[p.field]; flag != "" && errors.As(err, &de) {
				de.Msg += " (or give it with " + flag + ", which replaces it)"
			}
			return err
		}
		if v == nil {
			return nil
		}
		if m, ok := v.(*omap); ok && p.field == "env_vars" {
			v = envList(m) // in the dict's order, as KPO makes them
		}
		v, err = f.templates(v, p, dagID, taskID, en)
		if err != nil {
			return err
		}
		out.set(p.field, v)
		where[p.field] = en
		return nil
	}
	for i := range explicit {
		given[explicit[i].key] = true
	}
	for i := range explicit {
		if err := use(&explicit[i]); err != nil {
			return nil, err
		}
	}
	for i := range defaults {
		if given[defaults[i].key] || lastEntry(defaults, defaults[i].key) != &defaults[i] {
			continue
		}
		if err := use(&defaults[i]); err != nil {
			return nil, err
		}
	}
	if x := tk.Expand; x != nil {
		if x.How != "expand" {
			return nil, &Error{File: f.Path, Line: x.P.line(), Col: f.column(x.P.line(), x.P.col()), Expr: ".expand_kwargs(...)",
				Msg: "a mapped task makes one pod per item, known only in a DAG run; write one item's values in .partial(...)"}
		}
		for _, k := range x.KW {
			if k.Name == nil {
				return nil, f.errAt(k.Value, "a mapped task makes one pod per item; write one item's values in .partial(...)")
			}
			p, ok := kpoParams[*k.Name]
			if !ok || opts.Skip[p.field] {
				continue
			}
			msg := "an .expand() value makes one pod per item, known only in a DAG run; write one item in .partial(...)"
			if flag := flagFor[p.field]; flag != "" {
				msg += ", or give it with " + flag
			}
			return nil, f.errAt(k.Value, msg)
		}
	}
	if _, ok := out.get("name"); !ok && !opts.Skip["name"] {
		if _, tpl := out.get("pod_template_file"); !tpl {
			out.set("name", escape(taskID)) // KPO names the pod after the task id
		}
	}
	pm := newMap()
	for i := range params {
		v, err := params[i].value()
		if err != nil {
			return nil, err
		}
		if v != nil {
			pm.set(params[i].key, pyStr(v))
		}
	}
	if len(pm.keys) > 0 {
		out.set("params", pm)
	}

	data, err := taskYAML(f.Path, dagID, taskID, out)
	if err != nil {
		return nil, &Error{File: f.Path, Msg: err.Error()}
	}
	t, err := render.ParseTaskFile(f.Path, data)
	if err != nil {
		return nil, f.fieldError(err, where)
	}
	return &Task{DAGID: dagID, TaskID: taskID, TaskFile: data, Task: t}, nil
}

// envList is KPO's env_vars dict as the V1EnvVar list it becomes: in the
// dict's order (a task file's map form would sort them by name).
func envList(m *omap) []any {
	out := make([]any, 0, len(m.keys))
	for _, k := range m.keys {
		e := newMap()
		e.set("name", k)
		switch v := m.m[k].(type) {
		case string:
			e.set("value", v)
		case json.Number:
			e.set("value", v.String())
		case bool:
			e.set("value", fmt.Sprint(v))
		default:
			e.set("value", v) // a type error the task file's parser reports
		}
		out = append(out, e)
	}
	return out
}

// paramEntries reads params, whose Param(...) values stand for their default.
func paramEntries(en entry) ([]entry, error) {
	if en.has {
		m, ok := en.v.(*omap)
		if !ok {
			return nil, &Error{Msg: "params must be a dict"}
		}
		var out []entry
		for _, k := range m.keys {
			out = append(out, entry{key: k, v: m.m[k], has: true})
		}
		return out, nil
	}
	return en.ev.entries(en.n)
}

// fieldError places render's complaint about a field at the DAG's argument.
func (f *File) fieldError(err error, where map[string]*entry) error {
	var fe *render.FieldError
	if !errors.As(err, &fe) {
		return &Error{File: f.Path, Msg: err.Error()}
	}
	top := fe.Field
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	msg := fe.Msg
	if fe.Field != "" {
		msg = fe.Field + ": " + msg
	}
	msg = strings.Replace(msg, "(see docs/task-file.md for the schema)", "(the task file's schema is in docs/task-file.md)", 1)
	if en := where[top]; en != nil && en.n != nil {
		return f.errAt(en.n, msg)
	}
	return &Error{File: f.Path, Msg: msg}
}

// templates translates Jinja in a templated field's strings and makes every
// other string literal.
func (f *File) templates(v any, p kpoParam, dagID, taskID string, en *entry) (any, error) {
	switch x := v.(type) {
	case string:
		if !p.templated {
			if p.asWritten {
				return x, nil
			}
			return escape(x), nil
		}
		if p.asWritten {
			if strings.Contains(x, "{{") || strings.Contains(x, "{%") {
				return nil, f.jinjaAt(en, &jinjaError{expr: x, msg: p.field + " is used as written by podtask; write the value, or give it with " + flagFor[p.field]})
			}
			return x, nil
		}
		s, err := fromJinja(x, dagID, taskID)
		if err != nil {
			var je *jinjaError
			if errors.As(err, &je) {
				return nil, f.jinjaAt(en, je)
			}
			return nil, err
		}
		return s, nil
	case []any:
		out := make([]any, len(x))
		for i := range x {
			y, err := f.templates(x[i], p, dagID, taskID, en)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case *omap:
		out := newMap()
		for _, k := range x.keys {
			y, err := f.templates(x.m[k], p, dagID, taskID, en)
			if err != nil {
				return nil, err
			}
			out.set(k, y)
		}
		return out, nil
	case dagValue:
		return nil, f.errAt(en.n, "a DAG object is not a value for "+p.field)
	}
	return v, nil
}

// jinjaAt places a Jinja refusal at the string in the file that holds it,
// when it is written in the argument itself, else at the argument.
func (f *File) jinjaAt(en *entry, je *jinjaError) error {
	if en == nil || en.n == nil {
		return &Error{File: f.Path, Expr: oneLine(je.expr), Msg: je.msg}
	}
	p := en.n.P
	start, end := f.offset(p.line(), p.col()), -1
	if len(p) >= 4 {
		end = f.offset(p[2], p[3])
	}
	if start >= 0 && end > start && end <= len(f.src) {
		if i := bytes.Index(f.src[start:end], []byte(je.expr)); i >= 0 {
			off := start + i
			line := 1 + bytes.Count(f.src[:off], []byte("\n"))
			ls := bytes.LastIndexByte(f.src[:off], '\n') + 1
			return &Error{File: f.Path, Line: line, Col: f.column(line, off-ls), Expr: oneLine(je.expr), Msg: je.msg}
		}
	}
	e := f.errAt(en.n, je.msg)
	return e
}

// taskYAML writes the task file, fields in the order the DAG gives them.
func taskYAML(path, dagID, taskID string, m *omap) ([]byte, error) {
	root := &yamlv3.Node{Kind: yamlv3.MappingNode}
	str := func(s string) *yamlv3.Node { return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: s} }
	root.Content = append(root.Content, str("apiVersion"), str(render.APIVersion), str("kind"), str(render.Kind))
	where := "task " + taskID
	if dagID != "" {
		where += " of DAG " + dagID
	}
	root.Content[0].HeadComment = fmt.Sprintf("The %s in %s, read by kubectl podtask.", where, path)
	for _, k := range m.keys {
		v, err := yamlNode(m.m[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		root.Content = append(root.Content, str(k), v)
	}
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yamlv3.Node{Kind: yamlv3.DocumentNode, Content: []*yamlv3.Node{root}}); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

func yamlNode(v any) (*yamlv3.Node, error) {
	switch x := v.(type) {
	case string:
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: x}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(x.String(), ".eE") {
			tag = "!!float"
		}
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: tag, Value: x.String()}, nil
	case bool:
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(x)}, nil
	case nil:
		return &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case []any:
		n := &yamlv3.Node{Kind: yamlv3.SequenceNode}
		for _, el := range x {
			c, err := yamlNode(el)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case *omap:
		n := &yamlv3.Node{Kind: yamlv3.MappingNode}
		for _, k := range x.keys {
			c, err := yamlNode(x.m[k])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: k}, c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("a %s is not a task file value", pyType(v))
}

// WithParams sets params in a task file written by Task (--param wins).
func WithParams(data []byte, kvs [][2]string) ([]byte, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yamlv3.MappingNode {
		return nil, fmt.Errorf("the task file does not parse: %v", err)
	}
	root := doc.Content[0]
	var params *yamlv3.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "params" {
			params = root.Content[i+1]
		}
	}
	if params == nil {
		params = &yamlv3.Node{Kind: yamlv3.MappingNode}
		root.Content = append(root.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: "params"}, params)
	}
	for _, kv := range kvs {
		val := &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: kv[1]}
		found := false
		for i := 0; i+1 < len(params.Content); i += 2 {
			if params.Content[i].Value == kv[0] {
				params.Content[i+1], found = val, true
			}
		}
		if !found {
			params.Content = append(params.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: kv[0]}, val)
		}
	}
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

package dag

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// tree is what read.py prints. It is decoded by hand from generic JSON
// values: one pass, which matters for large DAG files.
type tree struct {
	Version string
	Error   *syntaxError
	Binds   []bind
	Scopes  []int // parent of each scope; -1 for the module
	DAGs    []dagEntry
	Groups  []groupEntry
	Tasks   []taskEntry
	Imports map[string]string
}

type syntaxError struct {
	Line, Col int
	Msg       string
}

// pos is [line, col, end line, end col]; columns are UTF-8 byte offsets.
type pos []int

func (p pos) line() int {
	if len(p) > 0 {
		return p[0]
	}
	return 0
}

func (p pos) col() int {
	if len(p) > 1 {
		return p[1]
	}
	return 0
}

// node is an expression: T is its kind (c constant, n name, a attribute,
// call, d dict, l list or tuple, star, add, f f-string, fv formatted value,
// sub subscript, dag a DAG object, x anything else).
type node struct {
	T    string
	V    any    // the constant, for c
	ID   string // the name, for n
	A    string // the attribute, for a
	Fn   *string
	Args []*node
	KW   []kwarg
	KV   [][2]*node
	E    []*node
	L, R *node
	Idx  *node
	Conv int
	Spec bool
	P    pos

	sub *node // the value of a, star, fv and sub
	dag int   // the DAG, for dag
}

// kwarg is name=value; a nil Name is **value.
type kwarg struct {
	Name  *string
	Value *node
	P     pos // of name=value (of the value before Python 3.9)
}

// bind is a name bound in a scope at a line, to Value, or to nothing known
// (Why says how).
type bind struct {
	Scope int
	Name  string
	Line  int
	Why   string

	raw   []byte // the value's JSON, decoded on first use
	value *node
	done  bool
}

// Value is the expression the name is bound to; nil when none is known.
func (b *bind) Value() *node {
	if !b.done {
		b.done = true
		if v, err := decodeJSON(b.raw); err == nil {
			b.value = toNode(v)
		}
	}
	return b.value
}

type dagEntry struct {
	Args []*node
	KW   []kwarg
	Name *string // the decorated function
	Kind string
	Line int
}

type groupEntry struct {
	Args []*node
	KW   []kwarg
	Name *string
}

type expandEntry struct {
	How  string
	Args []*node
	KW   []kwarg
	P    pos
}

type taskEntry struct {
	Scope   int
	Call    node // only task_id=, dag= and **kwargs until full() is called
	Partial bool
	DAG     *int
	Groups  []int
	Expand  *expandEntry
	P       pos

	Loops []loop // the for loops around the call, outermost first

	raw  []byte // the whole task's JSON
	done bool
}

// loop is `for Var in Iter:`.
type loop struct {
	Var  string
	Iter *node
}

// full decodes the whole call.
func (t *taskEntry) full() error {
	if t.done {
		return nil
	}
	v, err := decodeJSON(t.raw)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("a task is not an object")
	}
	if c := toNode(m["call"]); c != nil {
		t.Call = *c
	}
	t.Partial = m["partial"] == true
	if e, ok := m["expand"].(map[string]any); ok {
		t.Expand = &expandEntry{How: str(e["how"]), Args: nodes(e["args"]), KW: kwargs(e["kw"]), P: toPos(e["p"])}
	}
	t.done = true
	return nil
}

func (t *taskEntry) kwarg(name string) *node {
	return findKW(t.Call.KW, name)
}

func findKW(kws []kwarg, name string) *node {
	for _, k := range kws {
		if k.Name != nil && *k.Name == name {
			return k.Value
		}
	}
	return nil
}

// decodeJSON decodes one JSON value, numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// decodeTree reads read.py's answer: a header line, then one line per
// binding and per task, whose values are decoded only when used.
func decodeTree(out []byte) (t *tree, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("unexpected shape: %v", r)
		}
	}()
	t = &tree{Imports: map[string]string{}}
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		kind, rest, _ := bytes.Cut(line, []byte("\t"))
		switch string(kind) {
		case "H":
			v, err := decodeJSON(rest)
			if err != nil {
				return nil, err
			}
			m := v.(map[string]any)
			t.Version = str(m["version"])
			if e, ok := m["error"].(map[string]any); ok {
				t.Error = &syntaxError{Line: num(e["line"]), Col: num(e["col"]), Msg: str(e["msg"])}
				return t, nil
			}
			for _, s := range list(m["scopes"]) {
				t.Scopes = append(t.Scopes, num(s))
			}
			for _, d := range list(m["dags"]) {
				dm := d.(map[string]any)
				t.DAGs = append(t.DAGs, dagEntry{Args: nodes(dm["args"]), KW: kwargs(dm["kw"]), Name: strPtr(dm["name"]), Kind: str(dm["kind"]), Line: num(dm["line"])})
			}
			for _, g := range list(m["groups"]) {
				gm := g.(map[string]any)
				t.Groups = append(t.Groups, groupEntry{Args: nodes(gm["args"]), KW: kwargs(gm["kw"]), Name: strPtr(gm["name"])})
			}
			if im, ok := m["imports"].(map[string]any); ok {
				for k, v := range im {
					t.Imports[k] = str(v)
				}
			}
		case "B":
			f := bytes.SplitN(rest, []byte("\t"), 5)
			if len(f) != 5 {
				return nil, fmt.Errorf("unexpected binding line")
			}
			b := bind{Scope: atoi(f[0]), Name: string(f[1]), Line: atoi(f[2]), Why: string(f[3]), raw: f[4]}
			if string(f[4]) == "null" {
				b.done = true
			}
			t.Binds = append(t.Binds, b)
		case "T":
			metaRaw, full, ok := bytes.Cut(rest, []byte("\t"))
			if !ok {
				return nil, fmt.Errorf("unexpected task line")
			}
			v, err := decodeJSON(metaRaw)
			if err != nil {
				return nil, err
			}
			tm := v.(map[string]any)
			te := taskEntry{Scope: num(tm["scope"]), P: toPos(tm["p"]), raw: full}
			te.Call = node{T: "call", P: te.P, KW: kwargs(tm["kw"])}
			if d, ok := tm["dag"].(json.Number); ok {
				i := num(d)
				te.DAG = &i
			}
			for _, g := range list(tm["groups"]) {
				te.Groups = append(te.Groups, num(g))
			}
			for _, l := range list(tm["loops"]) {
				lv := list(l)
				te.Loops = append(te.Loops, loop{Var: str(lv[0]), Iter: toNode(lv[1])})
			}
			t.Tasks = append(t.Tasks, te)
		}
	}
	return t, nil
}

func atoi(b []byte) int {
	n := 0
	neg := len(b) > 0 && b[0] == '-'
	for _, c := range b {
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

func toNode(v any) *node {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	n := &node{T: str(m["t"]), P: toPos(m["p"])}
	switch n.T {
	case "c":
		n.V = m["v"]
	case "n":
		n.ID = str(m["id"])
	case "a", "star", "fv":
		n.sub = toNode(m["v"])
		n.A = str(m["a"])
		n.Conv = num(m["conv"])
		n.Spec = m["spec"] == true
	case "sub":
		n.sub, n.Idx = toNode(m["v"]), toNode(m["i"])
	case "dag":
		n.dag = num(m["i"])
	case "call":
		n.Fn = strPtr(m["fn"])
		n.Args = nodes(m["args"])
		n.KW = kwargs(m["kw"])
	case "d":
		for _, kv := range list(m["kv"]) {
			l := list(kv)
			n.KV = append(n.KV, [2]*node{toNode(l[0]), toNode(l[1])})
		}
	case "l", "f":
		n.E = nodes(m["e"])
	case "add":
		n.L, n.R = toNode(m["l"]), toNode(m["r"])
	}
	return n
}

func nodes(v any) []*node {
	l := list(v)
	out := make([]*node, 0, len(l))
	for _, x := range l {
		if n := toNode(x); n != nil {
			out = append(out, n)
		}
	}
	return out
}

func kwargs(v any) []kwarg {
	var out []kwarg
	for _, k := range list(v) {
		l := list(k)
		kw := kwarg{Name: strPtr(l[0]), Value: toNode(l[1])}
		if len(l) > 2 {
			kw.P = toPos(l[2])
		}
		if kw.Value != nil {
			out = append(out, kw)
		}
	}
	return out
}

func toPos(v any) pos {
	l := list(v)
	p := make(pos, len(l))
	for i, x := range l {
		p[i] = num(x)
	}
	return p
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strPtr(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

func num(v any) int {
	n, _ := v.(json.Number)
	i, _ := n.Int64()
	return int(i)
}

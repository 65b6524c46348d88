package dag

import "encoding/json"

// tree is what read.py prints.
type tree struct {
	Version string            `json:"version"`
	Error   *syntaxError      `json:"error"`
	Binds   []bind            `json:"binds"`
	Scopes  []int             `json:"scopes"` // parent of each scope; -1 for the module
	DAGs    []dagEntry        `json:"dags"`
	Groups  []groupEntry      `json:"groups"`
	Tasks   []taskEntry       `json:"tasks"`
	Imports map[string]string `json:"imports"`
}

type syntaxError struct {
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Msg  string `json:"msg"`
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

// node is an expression: t is its kind (c constant, n name, a attribute,
// call, d dict, l list or tuple, star, add, f f-string, fv formatted value,
// sub subscript, dag a DAG object, x anything else).
type node struct {
	T    string      `json:"t"`
	V    any         `json:"v"` // constant value, or *node for a, star, fv, sub
	ID   string      `json:"id"`
	A    string      `json:"a"`
	F    *node       `json:"f"`
	Fn   *string     `json:"fn"`
	Args []*node     `json:"args"`
	KW   []kwarg     `json:"kw"`
	KV   [][2]*node  `json:"kv"`
	E    []*node     `json:"e"`
	L    *node       `json:"l"`
	R    *node       `json:"r"`
	I    json.Number `json:"-"`
	Idx  *node       `json:"-"`
	Conv int         `json:"conv"`
	Spec bool        `json:"spec"`
	P    pos         `json:"p"`

	sub *node // V as a node, for a, star, fv, sub
	dag int   // the DAG, for t == "dag"
}

// UnmarshalJSON decodes the node; V and i hold either values or nodes.
func (n *node) UnmarshalJSON(b []byte) error {
	type plain node
	var raw struct {
		plain
		V json.RawMessage `json:"v"`
		I json.RawMessage `json:"i"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*n = node(raw.plain)
	switch n.T {
	case "c":
		var v any
		if len(raw.V) > 0 {
			d := json.NewDecoder(bytesReader(raw.V))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return err
			}
		}
		n.V = v
	case "a", "star", "fv", "sub":
		var s node
		if err := json.Unmarshal(raw.V, &s); err != nil {
			return err
		}
		n.sub = &s
		if n.T == "sub" {
			var i node
			if err := json.Unmarshal(raw.I, &i); err != nil {
				return err
			}
			n.Idx = &i
		}
	case "dag":
		if err := json.Unmarshal(raw.I, &n.dag); err != nil {
			return err
		}
	}
	return nil
}

// kwarg is [name or null, value, position of the value].
type kwarg struct {
	Name  *string
	Value *node
	P     pos // of name=value (of the value before Python 3.9)
}

func (k *kwarg) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) < 2 {
		return nil
	}
	if err := json.Unmarshal(raw[0], &k.Name); err != nil {
		return err
	}
	k.Value = &node{}
	if err := json.Unmarshal(raw[1], k.Value); err != nil {
		return err
	}
	if len(raw) > 2 {
		return json.Unmarshal(raw[2], &k.P)
	}
	return nil
}

// bind is [scope, name, line, value or null, why it has no value].
type bind struct {
	Scope int
	Name  string
	Line  int
	Value *node
	Why   string
}

func (bd *bind) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) < 5 {
		return nil
	}
	for i, dst := range []any{&bd.Scope, &bd.Name, &bd.Line, &bd.Value, &bd.Why} {
		if err := json.Unmarshal(raw[i], dst); err != nil {
			return err
		}
	}
	return nil
}

type dagEntry struct {
	Args []*node `json:"args"`
	KW   []kwarg `json:"kw"`
	Name *string `json:"name"` // the decorated function
	Kind string  `json:"kind"`
	Line int     `json:"line"`
}

type groupEntry struct {
	Args []*node `json:"args"`
	KW   []kwarg `json:"kw"`
	Name *string `json:"name"`
}

type taskEntry struct {
	Scope   int   `json:"scope"`
	Call    node  `json:"call"`
	Partial bool  `json:"partial"`
	DAG     *int  `json:"dag"`
	Groups  []int `json:"groups"`
	Expand  *struct {
		How  string  `json:"how"`
		Args []*node `json:"args"`
		KW   []kwarg `json:"kw"`
		P    pos     `json:"p"`
	} `json:"expand"`
	P pos `json:"p"`
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

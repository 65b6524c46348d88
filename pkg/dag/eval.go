package dag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The evaluator computes the value of an expression from what the file
// itself says: literals, names bound in the file to such values, k8s.V1...
// models, Secret(...), dicts, lists, tuples, + on strings and lists, and
// f-strings. Values are string, json.Number, bool, nil, []any and *omap.

// hint is what to do with a value that is known only when Airflow runs the file.
const hint = `move the value into the file, or write "{{ params.NAME }}" and give --param NAME=VALUE`

// Bounds against a file made to blow up: work steps, string bytes, depth.
const (
	maxSteps  = 1_000_000
	maxBytes  = 4 << 20
	maxDepth  = 64
	maxRepeat = 10000
)

type budget struct{ steps, bytes int }

type evaluator struct {
	f           *File
	scope, line int
	depth       int
	b           *budget
	loopVars    map[string]any // the loop variables of a task made in a for loop
}

func (f *File) evaluator(scope, line int, b *budget) *evaluator {
	if b == nil {
		b = &budget{}
	}
	return &evaluator{f: f, scope: scope, line: line, b: b}
}

func (e *evaluator) at(scope, line int) *evaluator {
	return &evaluator{f: e.f, scope: scope, line: line, depth: e.depth + 1, b: e.b}
}

// omap is a dict that keeps its keys in insertion order, as Python's does.
type omap struct {
	keys []string
	m    map[string]any
}

func newMap() *omap { return &omap{m: map[string]any{}} }

func (o *omap) set(k string, v any) {
	if _, ok := o.m[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = v
}

func (o *omap) get(k string) (any, bool) {
	v, ok := o.m[k]
	return v, ok
}

// dagValue is a DAG object bound to a name (with DAG(...) as dag).
type dagValue struct{ index int }

func (e *evaluator) eval(n *node) (any, error) {
	if n == nil {
		return nil, nil
	}
	if e.b.steps++; e.b.steps > maxSteps {
		return nil, e.f.errAt(n, "the value takes too long to compute; write it out")
	}
	if e.depth > maxDepth {
		return nil, e.f.errAt(n, "names refer to names too deeply; write the value out")
	}
	switch n.T {
	case "c":
		if s, ok := n.V.(string); ok {
			return e.grow(n, s)
		}
		return n.V, nil
	case "n":
		return e.name(n)
	case "dag":
		return dagValue{n.dag}, nil
	case "l":
		out := make([]any, 0, len(n.E))
		for _, el := range n.E {
			if el.T == "star" {
				v, err := e.eval(el.sub)
				if err != nil {
					return nil, err
				}
				l, ok := v.([]any)
				if !ok {
					return nil, e.f.errAt(el, "only a list or tuple can be unpacked here")
				}
				out = append(out, l...)
				continue
			}
			v, err := e.eval(el)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case "d":
		out := newMap()
		for _, kv := range n.KV {
			if kv[0] == nil {
				v, err := e.eval(kv[1])
				if err != nil {
					return nil, err
				}
				m, ok := v.(*omap)
				if !ok {
					return nil, e.f.errAt(kv[1], "only a dict can be unpacked with ** here")
				}
				for _, k := range m.keys {
					out.set(k, m.m[k])
				}
				continue
			}
			k, err := e.key(kv[0])
			if err != nil {
				return nil, err
			}
			v, err := e.eval(kv[1])
			if err != nil {
				return nil, err
			}
			out.set(k, v)
		}
		return out, nil
	case "add":
		l, err := e.eval(n.L)
		if err != nil {
			return nil, err
		}
		r, err := e.eval(n.R)
		if err != nil {
			return nil, err
		}
		switch lv := l.(type) {
		case string:
			if rv, ok := r.(string); ok {
				return e.grow(n, lv+rv)
			}
		case []any:
			if rv, ok := r.([]any); ok {
				return append(append([]any{}, lv...), rv...), nil
			}
		case json.Number:
			if rv, ok := r.(json.Number); ok {
				a, err1 := lv.Int64()
				b, err2 := rv.Int64()
				if err1 == nil && err2 == nil {
					return json.Number(strconv.FormatInt(a+b, 10)), nil
				}
			}
		}
		return nil, e.f.errAt(n, fmt.Sprintf("+ of a %s and a %s is not evaluated; only strings, lists or integers are added", pyType(l), pyType(r)))
	case "f":
		var b strings.Builder
		for _, part := range n.E {
			if part.T == "c" {
				s, _ := part.V.(string)
				b.WriteString(s)
				continue
			}
			if part.T != "fv" {
				return nil, e.f.errAt(n, "this part of the f-string is not evaluated")
			}
			if part.Spec {
				return nil, e.f.errAt(n, "a format spec (:...) in an f-string is not evaluated; write the value out")
			}
			v, err := e.eval(part.sub)
			if err != nil {
				return nil, err
			}
			switch part.Conv {
			case 'r', 'a':
				b.WriteString(pyRepr(v))
			default:
				b.WriteString(pyStr(v))
			}
			if b.Len() > maxBytes {
				return nil, e.f.errAt(n, "the string grows beyond 4 MB")
			}
		}
		return e.grow(n, b.String())
	case "sub":
		v, err := e.eval(n.sub)
		if err != nil {
			return nil, err
		}
		i, err := e.eval(n.Idx)
		if err != nil {
			return nil, err
		}
		switch c := v.(type) {
		case *omap:
			k, ok := i.(string)
			if !ok {
				return nil, e.f.errAt(n.Idx, "a dict is indexed here by a string only")
			}
			if x, ok := c.get(k); ok {
				return x, nil
			}
			return nil, e.f.errAt(n, fmt.Sprintf("the dict has no key %q (Airflow would fail with KeyError)", k))
		case []any:
			num, ok := i.(json.Number)
			x, err := num.Int64()
			if !ok || err != nil {
				return nil, e.f.errAt(n.Idx, "a list is indexed here by an integer only")
			}
			if x < 0 {
				x += int64(len(c))
			}
			if x < 0 || x >= int64(len(c)) {
				return nil, e.f.errAt(n, "the index is out of range (Airflow would fail with IndexError)")
			}
			return c[x], nil
		}
		return nil, e.f.errAt(n, "only a dict or a list of this file can be indexed")
	case "call":
		return e.call(n)
	case "a":
		if n.sub != nil && n.sub.T == "call" {
			if _, err := e.eval(n.sub); err != nil {
				return nil, err
			}
		}
		if d := dottedNode(n); d == "os.environ" || strings.HasPrefix(d, "os.environ.") {
			return nil, e.f.errAt(n, "an environment variable of the machine that runs Airflow is not read; "+hint)
		}
		return nil, e.f.errAt(n, "an attribute is not evaluated; "+hint)
	}
	return nil, e.f.errAt(n, "this expression is not evaluated (only literals, names bound in this file, k8s.V1... models, Secret(...), dicts, lists, + and f-strings are); "+hint)
}

func (e *evaluator) grow(n *node, s string) (any, error) {
	if e.b.bytes += len(s); e.b.bytes > maxBytes {
		return nil, e.f.errAt(n, "the values grow beyond 4 MB")
	}
	return s, nil
}

func (e *evaluator) key(n *node) (string, error) {
	v, err := e.eval(n)
	if err != nil {
		return "", err
	}
	switch v.(type) {
	case string, json.Number, bool, nil:
		return pyStr(v), nil
	}
	return "", e.f.errAt(n, "a dict key here must be a string")
}

// lookup finds the binding a name has at this point: the last one before
// the line in this scope, then in the enclosing scopes (where a function's
// body sees the module's last binding, as it runs after the module).
func (e *evaluator) lookup(name string) *bind {
	binds := e.f.tree.Binds
	for s := e.scope; s >= 0; {
		var best *bind
		for i := range binds {
			b := &binds[i]
			if b.Scope == s && b.Name == name && (b.Line < e.line || s != e.scope) {
				best = b
			}
		}
		if best != nil {
			return best
		}
		if s >= len(e.f.tree.Scopes) {
			break
		}
		s = e.f.tree.Scopes[s]
	}
	return nil
}

func (e *evaluator) name(n *node) (any, error) {
	if v, ok := e.loopVars[n.ID]; ok {
		return v, nil
	}
	b := e.lookup(n.ID)
	if b == nil {
		return nil, e.f.errAt(n, "is not defined in this file (Airflow would fail with NameError); define it at module level")
	}
	if b.Value() == nil {
		return nil, e.f.errAt(n, unboundMsg(b))
	}
	return e.at(b.Scope, b.Line).eval(b.Value())
}

func unboundMsg(b *bind) string {
	switch {
	case strings.HasPrefix(b.Why, "import:"):
		return fmt.Sprintf("a variable from another module (imported from %s at line %d) is not read; %s", strings.TrimPrefix(b.Why, "import:"), b.Line, hint)
	case b.Why == "loop":
		return fmt.Sprintf("a loop variable (line %d) has no one value without running the file; %s", b.Line, hint)
	case b.Why == "conditional":
		return fmt.Sprintf("is assigned under if/for/while/try (line %d), so its value is known only when the file runs; assign it once at module level, or %s", b.Line, hint)
	case b.Why == "argument":
		return fmt.Sprintf("a function argument (line %d) is known only when the function runs; %s", b.Line, hint)
	case b.Why == "function" || b.Why == "class":
		return fmt.Sprintf("a %s (line %d) is not run; %s", b.Why, b.Line, hint)
	}
	return fmt.Sprintf("is computed when the file runs (line %d); %s", b.Line, hint)
}

var v1Model = regexp.MustCompile(`^V1[A-Z][A-Za-z0-9]*$`)

// callee is the dotted name of a call, with its first part resolved through
// the file's imports.
func (e *evaluator) callee(n *node) (name, full string) {
	if n.Fn == nil {
		return "", ""
	}
	name = *n.Fn
	first, rest, _ := strings.Cut(name, ".")
	full = name
	if imp, ok := e.f.tree.Imports[first]; ok {
		full = imp
		if rest != "" {
			full += "." + rest
		}
	}
	return name, full
}

func (e *evaluator) call(n *node) (any, error) {
	name, full := e.callee(n)
	last := full[strings.LastIndex(full, ".")+1:]
	switch {
	case v1Model.MatchString(last):
		return e.model(n, last)
	case last == "Secret":
		return e.secret(n)
	case last == "Param" && strings.Contains(full, "param"):
		if len(n.Args) > 0 {
			return e.eval(n.Args[0])
		}
		if d := findKW(n.KW, "default"); d != nil {
			return e.eval(d)
		}
		return nil, nil
	case name == "dict" && e.lookup("dict") == nil:
		out := newMap()
		if len(n.Args) > 1 {
			return nil, e.f.errAt(n, "dict() takes one positional argument")
		}
		if len(n.Args) == 1 {
			v, err := e.eval(n.Args[0])
			if err != nil {
				return nil, err
			}
			m, ok := v.(*omap)
			if !ok {
				return nil, e.f.errAt(n.Args[0], "dict() of something other than a dict is not evaluated")
			}
			for _, k := range m.keys {
				out.set(k, m.m[k])
			}
		}
		if err := e.kwargsInto(out, n.KW, func(k string) string { return k }); err != nil {
			return nil, err
		}
		return out, nil
	case (name == "list" || name == "tuple") && len(n.Args) == 1 && len(n.KW) == 0 && e.lookup(name) == nil:
		v, err := e.eval(n.Args[0])
		if err != nil {
			return nil, err
		}
		if l, ok := v.([]any); ok {
			return l, nil
		}
		return nil, e.f.errAt(n, name+"() of something other than a list or tuple is not evaluated")
	case strings.Contains(full, "Variable."):
		return nil, e.f.errAt(n, "an Airflow Variable is read only when Airflow runs the file; write the value into the file, or write \"{{ params.NAME }}\" and give --param NAME=VALUE")
	case strings.Contains(full, "Connection") || strings.Contains(full, "get_connection"):
		return nil, e.f.errAt(n, "an Airflow Connection is read only when Airflow runs the file; write the value into the file, or write \"{{ params.NAME }}\" and give --param NAME=VALUE")
	case strings.HasPrefix(full, "os.environ") || full == "os.getenv":
		return nil, e.f.errAt(n, "an environment variable of the machine that runs Airflow is not read; "+hint)
	}
	return nil, e.f.errAt(n, "a function call is not run; "+hint)
}

// kwargsInto evaluates keyword arguments (and **dict) into out, with keys
// mapped by rename; None values are left out.
func (e *evaluator) kwargsInto(out *omap, kws []kwarg, rename func(string) string) error {
	for _, k := range kws {
		v, err := e.eval(k.Value)
		if err != nil {
			return err
		}
		if k.Name == nil {
			m, ok := v.(*omap)
			if !ok {
				return e.f.errAt(k.Value, "only a dict can be unpacked with ** here")
			}
			for _, key := range m.keys {
				if m.m[key] != nil {
					out.set(rename(key), m.m[key])
				}
			}
			continue
		}
		if v != nil {
			out.set(rename(*k.Name), v)
		}
	}
	return nil
}

// secret is the provider's Secret(deploy_type, deploy_target, secret, key, items).
func (e *evaluator) secret(n *node) (any, error) {
	fields := []string{"deploy_type", "deploy_target", "secret", "key", "items"}
	out := newMap()
	if len(n.Args) > len(fields) {
		return nil, e.f.errAt(n, "Secret takes at most 5 arguments: deploy_type, deploy_target, secret, key, items")
	}
	for i, a := range n.Args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out.set(fields[i], v)
		}
	}
	for _, k := range n.KW {
		if k.Name == nil || !contains(fields, *k.Name) {
			return nil, e.f.errAt(k.Value, "Secret takes deploy_type, deploy_target, secret, key and items")
		}
	}
	if err := e.kwargsInto(out, n.KW, func(k string) string { return k }); err != nil {
		return nil, err
	}
	// As the provider's Secret does: an env target is upper-cased; a volume
	// secret mounts the whole secret (or its items), its key is not used.
	if t, _ := out.get("deploy_type"); t == "env" {
		if target, ok := out.m["deploy_target"].(string); ok {
			out.m["deploy_target"] = strings.ToUpper(target)
		}
	} else if t == "volume" {
		if _, ok := out.m["key"]; ok {
			delete(out.m, "key")
			keys := out.keys[:0]
			for _, k := range out.keys {
				if k != "key" {
					keys = append(keys, k)
				}
			}
			out.keys = keys
		}
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// pyStr is str(v) in Python.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	}
	return pyRepr(v)
}

// pyRepr is repr(v) in Python.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		q := "'"
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			q = `"`
		}
		r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`, q, `\`+q)
		return q + r.Replace(x) + q
	case []any:
		parts := make([]string, len(x))
		for i, el := range x {
			parts[i] = pyRepr(el)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *omap:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x.m[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case dagValue:
		return "<DAG>"
	}
	return pyStr(v)
}

func pyType(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "None"
	case []any:
		return "list"
	case *omap:
		return "dict"
	}
	return "object"
}

// dottedNode is a.b.c for a chain of attributes on a name, else "".
func dottedNode(n *node) string {
	switch n.T {
	case "n":
		return n.ID
	case "a":
		if n.sub != nil {
			if d := dottedNode(n.sub); d != "" {
				return d + "." + n.A
			}
		}
	}
	return ""
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

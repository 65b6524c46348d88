package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	sigsjson "sigs.k8s.io/json"
)

// FieldError is bad input: which field, where, and what is wrong with it.
type FieldError struct {
	File  string // the file it was read from, if any
	Line  int    // 1-based line in File, 0 if unknown
	Field string // path of the field, e.g. "tolerations[0].effect"
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// taskFile is the on-disk shape of a task.
type taskFile struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Task
	// KubernetesPodOperator's name for dns_policy.
	DNSPolicyKPO           corev1.DNSPolicy `json:"dnspolicy,omitempty"`
	StartupTimeoutSeconds  *float64         `json:"startup_timeout_seconds,omitempty"`
	ScheduleTimeoutSeconds *float64         `json:"schedule_timeout_seconds,omitempty"`
	ImagePullGraceSeconds  *float64         `json:"image_pull_grace_seconds,omitempty"`
}

// ParseTaskFile reads a task file (YAML or JSON). Unknown fields, duplicate
// fields, wrong types, and a wrong apiVersion or kind are errors that name
// the file, the line and the field.
func ParseTaskFile(path string, data []byte) (*Task, error) {
	var tf taskFile
	if err := decodeStrict(path, data, &tf); err != nil {
		return nil, err
	}
	if tf.APIVersion != APIVersion {
		return nil, located(path, data, "apiVersion", fmt.Sprintf("must be %q, got %q", APIVersion, tf.APIVersion))
	}
	if tf.Kind != Kind {
		return nil, located(path, data, "kind", fmt.Sprintf("must be %q, got %q", Kind, tf.Kind))
	}
	t := tf.Task
	if tf.DNSPolicyKPO != "" {
		if t.DNSPolicy != "" {
			return nil, located(path, data, "dnspolicy", "and dns_policy are the same field; keep one")
		}
		t.DNSPolicy = tf.DNSPolicyKPO
	}
	for _, d := range []struct {
		name string
		v    *float64
		dst  *time.Duration
	}{
		{"startup_timeout_seconds", tf.StartupTimeoutSeconds, &t.StartupTimeout},
		{"schedule_timeout_seconds", tf.ScheduleTimeoutSeconds, &t.ScheduleTimeout},
		{"image_pull_grace_seconds", tf.ImagePullGraceSeconds, &t.ImagePullGrace},
	} {
		if d.v == nil {
			continue
		}
		if *d.v <= 0 || *d.v > 1e9 {
			return nil, located(path, data, d.name, fmt.Sprintf("must be a positive number of seconds, got %v", *d.v))
		}
		*d.dst = time.Duration(*d.v * float64(time.Second))
	}
	return &t, nil
}

// ParsePod reads a Pod manifest (YAML or JSON), as given to pod_template_file
// or full_pod_spec. It must be kind Pod, apiVersion v1; unknown fields are
// errors.
func ParsePod(path string, data []byte) (*corev1.Pod, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	js, err := toJSON(path, data)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(js, &head); err != nil {
		return nil, &FieldError{File: path, Msg: "is not a Kubernetes object: " + cleanJSONError(err).Error()}
	}
	if head.Kind != "Pod" {
		return nil, located(path, data, "kind", fmt.Sprintf("must be Pod, got %q (a pod template file holds one Pod manifest)", head.Kind))
	}
	if head.APIVersion != "v1" {
		return nil, located(path, data, "apiVersion", fmt.Sprintf("must be v1, got %q", head.APIVersion))
	}
	var pod corev1.Pod
	if err := decodeStrict(path, data, &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

// toJSON converts YAML (or JSON) to JSON, rejecting syntax errors, several
// documents and duplicate keys.
func toJSON(path string, data []byte) ([]byte, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FieldError{File: path, Msg: "is empty"}
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var node yamlv3.Node
	if err := dec.Decode(&node); err != nil {
		return nil, yamlSyntaxError(path, err)
	}
	var extra yamlv3.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FieldError{File: path, Line: extra.Line, Msg: "holds more than one YAML document; put one object per file"}
	}
	root := &node
	if root.Kind == yamlv3.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yamlv3.MappingNode {
		return nil, &FieldError{File: path, Line: root.Line, Msg: "must be a YAML mapping (key: value lines)"}
	}
	conv := &yamlConverter{}
	v, err := conv.value(root, "")
	if err != nil {
		if fe, ok := err.(*FieldError); ok {
			fe.File = path
		}
		return nil, err
	}
	js, err := appendJSON(make([]byte, 0, len(data)+len(data)/4), v)
	if err != nil {
		return nil, &FieldError{File: path, Msg: "cannot be converted to JSON: " + cleanJSONError(err).Error()}
	}
	return js, nil
}

// value converts a YAML node to plain JSON-able values with YAML 1.2
// scalars (y, no, on stay strings), reporting duplicate keys with their line.
type yamlConverter struct {
	nodes   int                   // nodes produced, aliases expanded included
	inAlias map[*yamlv3.Node]bool // aliases being expanded, against cycles
}

// maxYAMLNodes bounds alias expansion ("billion laughs").
const maxYAMLNodes = 100000

func (c *yamlConverter) value(n *yamlv3.Node, path string) (any, error) {
	if c.nodes++; c.nodes > maxYAMLNodes {
		return nil, &FieldError{Line: n.Line, Field: path, Msg: "too many values (aliases expand to more than 100000)"}
	}
	switch n.Kind {
	case yamlv3.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path)
	case yamlv3.AliasNode:
		if n.Alias == nil {
			return nil, nil
		}
		if c.inAlias[n.Alias] {
			return nil, &FieldError{Line: n.Line, Field: path, Msg: "alias *" + n.Value + " refers to itself"}
		}
		if c.inAlias == nil {
			c.inAlias = map[*yamlv3.Node]bool{}
		}
		c.inAlias[n.Alias] = true
		defer delete(c.inAlias, n.Alias)
		return c.value(n.Alias, path)
	case yamlv3.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yamlv3.MappingNode:
		out := &orderedMap{vals: make(map[string]any, len(n.Content)/2)}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind == yamlv3.ScalarNode && k.Tag == "!!merge" {
				return nil, &FieldError{Line: k.Line, Field: path, Msg: "YAML merge keys (<<) are not supported"}
			}
			if k.Kind != yamlv3.ScalarNode {
				return nil, &FieldError{Line: k.Line, Field: path, Msg: "a key must be a plain value"}
			}
			kp := k.Value
			if path != "" {
				kp = path + "." + k.Value
			}
			if _, dup := out.vals[k.Value]; dup {
				return nil, &FieldError{Line: k.Line, Field: kp, Msg: "duplicate field"}
			}
			v, err := c.value(vn, kp)
			if err != nil {
				return nil, err
			}
			out.keys = append(out.keys, k.Value)
			out.vals[k.Value] = v
		}
		return out, nil
	case yamlv3.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, &FieldError{Line: n.Line, Field: path, Msg: "invalid value: " + err.Error()}
			}
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return nil, &FieldError{Line: n.Line, Field: path, Msg: "infinite or NaN numbers are not allowed"}
			}
			return v, nil
		}
		return n.Value, nil
	}
	return nil, &FieldError{Line: n.Line, Field: path, Msg: "unsupported YAML node"}
}

func yamlSyntaxError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		if i := strings.Index(msg, ":"); i >= 0 {
			msg = strings.TrimSpace(msg[i+1:])
		}
	}
	return &FieldError{File: path, Line: line, Msg: "invalid YAML: " + msg}
}

// decodeStrict decodes YAML or JSON into v, reporting the first unknown,
// duplicate or mistyped field with its path and line.
func decodeStrict(path string, data []byte, v any) error {
	js, err := toJSON(path, data)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(js, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err == nil && len(strict) == 0 {
		return nil
	}
	if err == nil {
		var fe interface{ FieldPath() string }
		if errors.As(strict[0], &fe) {
			if strings.HasPrefix(strict[0].Error(), "duplicate") {
				return located(path, data, fe.FieldPath(), "duplicate field")
			}
			if _, isPod := v.(*corev1.Pod); isPod {
				return located(path, data, fe.FieldPath(), "unknown field: not a Pod field (KubernetesPodOperator would drop it without a word)")
			}
			return located(path, data, fe.FieldPath(), unknownFieldMsg(fe.FieldPath()))
		}
		return &FieldError{File: path, Msg: strict[0].Error()}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return located(path, data, strings.TrimPrefix(te.Field, "Task."), fmt.Sprintf("cannot use a %s here (want %s)", te.Value, goTypeName(te.Type)))
	}
	// An error without a path (from a field's own decoder): find the
	// top-level field that fails on its own.
	field := failingTopLevelField(js, v)
	var ne *nestedError
	if errors.As(err, &ne) {
		p := field
		if !strings.HasPrefix(ne.path, "[") && p != "" {
			p += "."
		}
		return located(path, data, p+ne.path, ne.msg)
	}
	msg := cleanJSONError(err).Error()
	if errors.Is(err, resource.ErrFormatWrong) {
		msg = "holds a value that is not a quantity (e.g. 500m, 1, 256Mi, 2Gi)"
	}
	return located(path, data, field, msg)
}

func goTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(goTypeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map:
		return "a map of " + goTypeName(t.Elem())
	case reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return goTypeName(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64, reflect.Int8, reflect.Int16, reflect.Uint8, reflect.Uint16:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

func failingTopLevelField(js []byte, v any) string {
	var top map[string]json.RawMessage
	if json.Unmarshal(js, &top) != nil {
		return ""
	}
	typ := reflect.TypeOf(v).Elem()
	for k, raw := range top {
		one, _ := json.Marshal(map[string]json.RawMessage{k: raw})
		fresh := reflect.New(typ).Interface()
		if _, err := sigsjson.UnmarshalStrict(one, fresh); err != nil {
			return k
		}
	}
	return ""
}

// located builds a FieldError with the line of field in the YAML data.
func located(path string, data []byte, field, msg string) *FieldError {
	return &FieldError{File: path, Line: lineOf(data, field), Field: field, Msg: msg}
}

// lineOf returns the line of the field at path ("a.b[0].c") in YAML data,
// or of its deepest ancestor that exists; 0 if the data does not parse.
func lineOf(data []byte, path string) int {
	var doc yamlv3.Node
	if yamlv3.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return 0
	}
	n := doc.Content[0]
	line := n.Line
	rest := path
	for rest != "" {
		rest = strings.TrimPrefix(rest, ".")
		switch n.Kind {
		case yamlv3.MappingNode:
			best := -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if rest == k || strings.HasPrefix(rest, k+".") || strings.HasPrefix(rest, k+"[") {
					if best < 0 || len(k) > len(n.Content[best].Value) {
						best = i
					}
				}
			}
			if best < 0 {
				return line
			}
			line = n.Content[best].Line
			rest = rest[len(n.Content[best].Value):]
			n = n.Content[best+1]
		case yamlv3.SequenceNode:
			if strings.HasPrefix(rest, "[") {
				end := strings.Index(rest, "]")
				var idx int
				if end < 0 || func() bool { _, err := fmt.Sscanf(rest[1:end], "%d", &idx); return err != nil }() || idx < 0 || idx >= len(n.Content) {
					return line
				}
				n = n.Content[idx]
				line = n.Line
				rest = rest[end+1:]
				continue
			}
			// A path without indices (type errors): the first item that has the key.
			found := false
			for _, item := range n.Content {
				if item.Kind != yamlv3.MappingNode {
					continue
				}
				for i := 0; i+1 < len(item.Content); i += 2 {
					k := item.Content[i].Value
					if rest == k || strings.HasPrefix(rest, k+".") || strings.HasPrefix(rest, k+"[") {
						n, found = item, true
						break
					}
				}
				if found {
					break
				}
			}
			if !found {
				return line
			}
		default:
			return line
		}
	}
	return line
}

// orderedMap is a YAML mapping that keeps its keys in the order written
// when it becomes JSON: env_vars given as a map keep their order, as a
// Python dict does in KubernetesPodOperator.
type orderedMap struct {
	keys []string
	vals map[string]any
}

// appendJSON appends the JSON of a value made by yamlConverter: nil, bool,
// int, float64, string, []any and *orderedMap.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case *orderedMap:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			kj, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			b = append(append(b, kj...), ':')
			if b, err = appendJSON(b, x.vals[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	default:
		js, err := json.Marshal(x)
		return append(b, js...), err
	}
}

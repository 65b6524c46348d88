package dag

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// The Kubernetes Python client's models (k8s.V1EnvVar, ...) take the API's
// fields in snake_case; their JSON names come from the Go API types, found
// by walking everything a Pod can hold.

type model struct {
	snake map[string]string // python attribute -> JSON field name
	order []string          // python attributes in the constructor's order (alphabetical)
}

var (
	modelsOnce sync.Once
	models     map[string]*model
)

func kubeModels() map[string]*model {
	modelsOnce.Do(func() {
		models = map[string]*model{}
		walkModel(reflect.TypeOf(corev1.Pod{}))
	})
	return models
}

func walkModel(t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return
	}
	if _, seen := models[t.Name()]; seen {
		return
	}
	m := &model{snake: map[string]string{}}
	models[t.Name()] = m
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			fl := t.Field(i)
			tag := fl.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !fl.IsExported() {
				continue
			}
			if name == "" && strings.Contains(opts, "inline") || fl.Anonymous && name == "" {
				ft := fl.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					add(ft)
				}
				continue
			}
			if name == "" {
				name = fl.Name
			}
			s := snakeCase(name)
			m.snake[s] = name
			m.order = append(m.order, s)
			walkModel(fl.Type)
		}
	}
	add(t)
	sort.Strings(m.order)
}

// snakeCase is the Python client's attribute name for a JSON field name
// (its generator's two rules: ([A-Z]+)([A-Z][a-z]) and ([a-z0-9])([A-Z])
// get a "_" between): hostIP -> host_ip, podIPs -> pod_i_ps.
func snakeCase(s string) string {
	upper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	lowerOrDigit := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i > 0 && upper(c) && (lowerOrDigit(s[i-1]) || upper(s[i-1]) && i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z') {
			b.WriteByte('_')
		}
		if upper(c) {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// model builds k8s.V1Xxx(...) as its JSON object.
func (e *evaluator) model(n *node, class string) (any, error) {
	m := kubeModels()[strings.TrimPrefix(class, "V1")]
	if m == nil {
		return nil, e.f.errAt(n, fmt.Sprintf("%s is not a model a Pod holds; write the value as a dict with the API's field names", class))
	}
	out := newMap()
	if len(n.Args) > len(m.order) {
		return nil, e.f.errAt(n, fmt.Sprintf("%s takes at most %d arguments", class, len(m.order)))
	}
	for i, a := range n.Args {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out.set(m.snake[m.order[i]], v)
		}
	}
	for _, k := range n.KW {
		if k.Name == nil {
			return nil, e.f.errAt(k.Value, fmt.Sprintf("**kwargs of %s are not evaluated; write the arguments out", class))
		}
		attr := strings.TrimPrefix(*k.Name, "_") // _exec, _from
		json, ok := m.snake[attr]
		if !ok {
			return nil, e.f.errAt(&node{P: k.P}, fmt.Sprintf("%s has no argument %s (it takes %s)", class, *k.Name, strings.Join(m.order, ", ")))
		}
		v, err := e.eval(k.Value)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out.set(json, v)
		}
	}
	return out, nil
}

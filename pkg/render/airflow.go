// The way back to a DAG: a rendered task printed as a KubernetesPodOperator
// call (imports, Secret(...) and k8s.V1... objects) ready to paste into a
// DAG file. Parameter names are the task file's, which are KPO's.
package render

import (
	"bytes"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Airflow prints t, a task as Build rendered it (Result.Task), as a
// KubernetesPodOperator call; name is the task name (Result.Name), also its
// task_id. Templates are already executed: the call holds the values the
// pod was built with. What has no KPO parameter is said in a comment
// (xcom_mode termination-message, xcom_sidecar_image, image_pull_grace);
// a --from workload is an error, as KPO cannot read one.
func Airflow(t *Task, name string) ([]byte, error) {
	if t.From != "" {
		return nil, fieldErr("from", "a workload (%s) has no KubernetesPodOperator parameter: save its pod template as a file and give it as pod_template_file", t.From)
	}
	e := &pyEmitter{}
	var args [][2]string // parameter, Python value
	var notes []string
	add := func(k, v string) { args = append(args, [2]string{k, v}) }

	add("task_id", pyStr(name))
	add("name", pyStr(name))
	tv := reflect.ValueOf(*t)
	tt := tv.Type()
	for i := 0; i < tt.NumField(); i++ {
		key := jsonName(tt.Field(i))
		f := tv.Field(i)
		if key == "" || key == "name" || unset(f) {
			continue
		}
		switch key {
		case "random_name_suffix", "do_xcom_push", "from":
			continue
		case "env_vars":
			add(key, e.envVars(t.EnvVars))
		case "secrets":
			var items []string
			for _, s := range t.Secrets {
				items = append(items, e.secret(s))
			}
			add(key, e.list(items))
		case "container_resources":
			r := t.ContainerResources
			var kw [][2]string
			for _, q := range []struct {
				k string
				m map[string]Quantity
			}{{"limits", r.Limits}, {"requests", r.Requests}} {
				if len(q.m) > 0 {
					m := map[string]string{}
					for k, v := range q.m {
						m[k] = string(v)
					}
					kw = append(kw, [2]string{q.k, pyDict(m)})
				}
			}
			add(key, e.call("k8s.V1ResourceRequirements", kw))
		case "pod_runtime_info_envs":
			var items []string
			for _, p := range t.PodRuntimeInfoEnvs {
				from := p.ValueFrom
				if from == nil {
					from = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p.FieldPath}}
				}
				items = append(items, e.value(reflect.ValueOf(corev1.EnvVar{Name: p.Name, ValueFrom: from})))
			}
			add(key, e.list(items))
		case "image_pull_secrets":
			var items []string
			for _, s := range t.ImagePullSecrets {
				items = append(items, e.call("k8s.V1LocalObjectReference", [][2]string{{"name", pyStr(s)}}))
			}
			add(key, e.list(items))
		case "dns_policy":
			add("dnspolicy", pyStr(string(t.DNSPolicy)))
		case "full_pod_spec":
			e.podGenerator = true
			add(key, "PodGenerator.deserialize_model_file("+pyStr(t.FullPodSpec)+")")
		case "base_container_name":
			if t.BaseContainerName != DefaultBaseContainerName {
				add(key, pyStr(t.BaseContainerName))
			}
		case "skip_on_exit_code":
			if len(t.SkipOnExitCode) == 1 {
				add(key, strconv.Itoa(t.SkipOnExitCode[0]))
			} else {
				add(key, e.value(f))
			}
		case "xcom_mode":
			add("do_xcom_push", "True")
			if t.XCom == XComTerminationMessage {
				notes = append(notes, "xcom_mode termination-message: KubernetesPodOperator always reads the result with its sidecar")
			}
		case "xcom_sidecar_image":
			if t.XCom != XComNone && t.XComSidecarImage != DefaultXComSidecarImage {
				notes = append(notes, "xcom_sidecar_image "+t.XComSidecarImage+": in Airflow, the Kubernetes connection's xcom_sidecar_container_image")
			}
		case "on_finish_action":
			switch t.OnFinishAction {
			case DefaultOnFinishAction:
			case OnFinishDeleteActivePod:
				notes = append(notes, "on_finish_action delete_active_pod: KubernetesPodOperator's keep_pod keeps a finished pod and deletes a running one when the task is killed")
				add(key, pyStr(OnFinishKeepPod))
			default:
				add(key, pyStr(t.OnFinishAction))
			}
		default:
			add(key, e.value(f))
		}
	}
	if t.RandomNameSuffix != nil && !*t.RandomNameSuffix {
		add("random_name_suffix", "False")
	}
	for _, d := range []struct {
		key string
		v   float64
		def float64
	}{
		{"startup_timeout_seconds", t.StartupTimeout.Seconds(), DefaultStartupTimeout.Seconds()},
		{"schedule_timeout_seconds", t.ScheduleTimeout.Seconds(), DefaultScheduleTimeout.Seconds()},
	} {
		if d.v != 0 && d.v != d.def {
			add(d.key, strconv.FormatFloat(d.v, 'f', -1, 64))
		}
	}
	if g := t.ImagePullGrace; g != 0 && g != DefaultImagePullGrace {
		notes = append(notes, fmt.Sprintf("image_pull_grace_seconds %g: KubernetesPodOperator waits for the image until startup_timeout_seconds", g.Seconds()))
	}

	var b bytes.Buffer
	b.WriteString("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator\n")
	if e.podGenerator {
		b.WriteString("from airflow.providers.cncf.kubernetes.pod_generator import PodGenerator\n")
	}
	if len(t.Secrets) > 0 {
		b.WriteString("from airflow.providers.cncf.kubernetes.secret import Secret\n")
	}
	b.WriteString("from kubernetes.client import models as k8s\n\n")
	for _, n := range notes {
		b.WriteString("# " + n + "\n")
	}
	fmt.Fprintf(&b, "%s = KubernetesPodOperator(\n", pyIdent(name))
	for _, a := range args {
		fmt.Fprintf(&b, "    %s=%s,\n", a[0], indent(a[1], "    "))
	}
	b.WriteString(")\n")
	return b.Bytes(), nil
}

type pyEmitter struct {
	podGenerator bool
}

// envVars is the dict form when every value is plain, else a list.
func (e *pyEmitter) envVars(env EnvVars) string {
	plain := true
	for _, v := range env {
		plain = plain && v.ValueFrom == nil
	}
	if plain {
		var items []string
		for _, v := range env {
			items = append(items, pyStr(v.Name)+": "+pyStr(v.Value))
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	var items []string
	for _, v := range env {
		items = append(items, e.value(reflect.ValueOf(v)))
	}
	return e.list(items)
}

func (e *pyEmitter) secret(s Secret) string {
	args := []string{pyStr(s.DeployType), pyNone(s.DeployTarget), pyStr(s.Secret)}
	if s.Key != "" {
		args = append(args, pyStr(s.Key))
	}
	out := "Secret(" + strings.Join(args, ", ")
	if len(s.Items) > 0 {
		out += ", items=" + e.value(reflect.ValueOf(s.Items))
	}
	return out + ")"
}

func (e *pyEmitter) call(fn string, kw [][2]string) string {
	if len(kw) == 0 {
		return fn + "()"
	}
	one := fn + "("
	for i, a := range kw {
		if i > 0 {
			one += ", "
		}
		one += a[0] + "=" + a[1]
	}
	one += ")"
	if len(one) <= 80 && !strings.Contains(one, "\n") {
		return one
	}
	var b strings.Builder
	b.WriteString(fn + "(\n")
	for _, a := range kw {
		b.WriteString("    " + a[0] + "=" + indent(a[1], "    ") + ",\n")
	}
	b.WriteString(")")
	return b.String()
}

func (e *pyEmitter) list(items []string) string {
	one := "[" + strings.Join(items, ", ") + "]"
	if len(one) <= 80 && !strings.Contains(one, "\n") {
		return one
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, it := range items {
		b.WriteString("    " + indent(it, "    ") + ",\n")
	}
	b.WriteString("]")
	return b.String()
}

var (
	quantityType    = reflect.TypeOf(resource.Quantity{})
	intOrStringType = reflect.TypeOf(intstr.IntOrString{})
)

// value prints a Go value as Python: Kubernetes objects as k8s.V1<Type>
// with the Python client's snake_case keyword names.
func (e *pyEmitter) value(v reflect.Value) string {
	switch v.Type() {
	case quantityType:
		q := v.Interface().(resource.Quantity)
		return pyStr(q.String())
	case intOrStringType:
		is := v.Interface().(intstr.IntOrString)
		if is.Type == intstr.Int {
			return strconv.Itoa(int(is.IntVal))
		}
		return pyStr(is.StrVal)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "None"
		}
		return e.value(v.Elem())
	case reflect.String:
		return pyStr(v.String())
	case reflect.Bool:
		if v.Bool() {
			return "True"
		}
		return "False"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.Slice, reflect.Array:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = e.value(v.Index(i))
		}
		return e.list(items)
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = pyStr(k.String()) + ": " + e.value(v.MapIndex(k))
		}
		return "{" + strings.Join(items, ", ") + "}"
	case reflect.Struct:
		return e.call("k8s.V1"+v.Type().Name(), e.fields(v))
	}
	return "None"
}

// fields are a struct's set fields as Python keyword arguments; inline
// (embedded) structs give their own fields.
func (e *pyEmitter) fields(v reflect.Value) [][2]string {
	var kw [][2]string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if !sf.IsExported() || tag == "-" {
			continue
		}
		f := v.Field(i)
		if strings.Contains(tag, ",inline") || (sf.Anonymous && jsonName(sf) == "") {
			kw = append(kw, e.fields(f)...)
			continue
		}
		name := jsonName(sf)
		if name == "" || unset(f) {
			continue
		}
		kw = append(kw, [2]string{pySnake(name), e.value(f)})
	}
	return kw
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	return name
}

var (
	snakeWord  = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	snakeLower = regexp.MustCompile(`([a-z0-9])([A-Z])`)
)

// pySnake is the Python Kubernetes client's name for a JSON field (the
// OpenAPI generator's rule): hostIP -> host_ip, runAsUser -> run_as_user.
func pySnake(s string) string {
	s = snakeWord.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(snakeLower.ReplaceAllString(s, "${1}_${2}"))
}

// pyStr is a Python string literal (Go's escapes are Python's too).
func pyStr(s string) string { return strconv.Quote(s) }

func pyNone(s string) string {
	if s == "" {
		return "None"
	}
	return pyStr(s)
}

func pyDict(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := make([]string, len(keys))
	for i, k := range keys {
		items[i] = pyStr(k) + ": " + pyStr(m[k])
	}
	return "{" + strings.Join(items, ", ") + "}"
}

// pyIdent is a Python variable name for the task.
func pyIdent(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "task_" + s
	}
	return s
}

func indent(s, pre string) string {
	return strings.ReplaceAll(s, "\n", "\n"+pre)
}

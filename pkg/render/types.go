// Package render turns a task (flags and/or a task file) into the Pod that
// runs it, following Apache Airflow KubernetesPodOperator's parameters and
// merge rules. It is pure: it never talks to a cluster.
package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"
)

// APIVersion and Kind of a task file.
const (
	APIVersion = "podtask.dev/v1alpha1"
	Kind       = "Task"
)

// Identity labels and annotations set on every pod.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-podtask"
	LabelTask      = "podtask.dev/task"
	LabelRunID     = "podtask.dev/run-id"

	AnnotationBaseContainer  = "podtask.dev/base-container"
	AnnotationXComMode       = "podtask.dev/xcom-mode"         // absent when the task returns no XCom
	AnnotationSkipOnExitCode = "podtask.dev/skip-on-exit-code" // comma-separated; absent when not set
	AnnotationOnFinish       = "podtask.dev/on-finish-action"
	AnnotationTask           = "podtask.dev/task-name" // the task name, never hashed
	AnnotationRunID          = "podtask.dev/run-id"    // the run id, never hashed
)

// XCom constants, shared with the engine.
const (
	XComSidecarName         = "airflow-xcom-sidecar"
	XComVolumeName          = "xcom"
	XComMountPath           = "/airflow/xcom"
	XComResultPath          = "/airflow/xcom/return.json"
	DefaultXComSidecarImage = "docker.io/library/busybox:1.35"
	XComStopFIFO            = "/tmp/podtask-xcom-stop"
)

// XCom modes (Task.XCom).
const (
	XComNone               = ""
	XComSidecar            = "sidecar"
	XComTerminationMessage = "termination-message"
)

// On-finish actions (Task.OnFinishAction), as in KubernetesPodOperator.
const (
	OnFinishDeletePod          = "delete_pod"
	OnFinishKeepPod            = "keep_pod"
	OnFinishDeleteSucceededPod = "delete_succeeded_pod"
	OnFinishDeleteActivePod    = "delete_active_pod"
)

// Defaults.
const (
	DefaultBaseContainerName = "base"
	DefaultScheduleTimeout   = 120 * time.Second
	DefaultStartupTimeout    = 120 * time.Second
	DefaultImagePullGrace    = 30 * time.Second
	DefaultOnFinishAction    = OnFinishDeletePod
)

// XComSidecarCommand is the sidecar's command: it waits until the engine
// writes to XComStopFIFO (XComSidecarStopCommand) or it is terminated.
var XComSidecarCommand = []string{"sh", "-c",
	"trap 'exit 0' TERM INT; rm -f " + XComStopFIFO + "; mkfifo " + XComStopFIFO +
		" && { read _ < " + XComStopFIFO + " & wait $!; }; exit 0"}

// XComSidecarStopCommand, exec'd in the sidecar, lets it exit 0.
var XComSidecarStopCommand = []string{"sh", "-c", "echo > " + XComStopFIFO}

// XComReadCommand, exec'd in the sidecar, prints "present" and the result,
// or "absent".
var XComReadCommand = []string{"sh", "-c",
	"if [ -s " + XComResultPath + " ]; then echo present; cat " + XComResultPath + "; else echo absent; fi"}

// Task is everything a task can say: the base container, the pod, and how
// the run is followed. Field names in the task file are KubernetesPodOperator's
// parameter names; Kubernetes-shaped values use Kubernetes' own JSON names.
type Task struct {
	// Base container.
	Image                    string                          `json:"image,omitempty"`
	Cmds                     []string                        `json:"cmds,omitempty"`
	Arguments                []string                        `json:"arguments,omitempty"`
	EnvVars                  EnvVars                         `json:"env_vars,omitempty"`
	EnvFrom                  []corev1.EnvFromSource          `json:"env_from,omitempty"`
	ConfigMaps               []string                        `json:"configmaps,omitempty"`
	Secrets                  []Secret                        `json:"secrets,omitempty"`
	Ports                    []corev1.ContainerPort          `json:"ports,omitempty"`
	ContainerResources       *Resources                      `json:"container_resources,omitempty"`
	ImagePullPolicy          corev1.PullPolicy               `json:"image_pull_policy,omitempty"`
	ContainerSecurityContext *corev1.SecurityContext         `json:"container_security_context,omitempty"`
	VolumeMounts             []corev1.VolumeMount            `json:"volume_mounts,omitempty"`
	TerminationMessagePolicy corev1.TerminationMessagePolicy `json:"termination_message_policy,omitempty"`
	PodRuntimeInfoEnvs       []PodRuntimeInfoEnv             `json:"pod_runtime_info_envs,omitempty"`
	BaseContainerName        string                          `json:"base_container_name,omitempty"`

	// Pod.
	Name                         string                     `json:"name,omitempty"`
	RandomNameSuffix             *bool                      `json:"random_name_suffix,omitempty"`
	Namespace                    string                     `json:"namespace,omitempty"`
	Labels                       map[string]string          `json:"labels,omitempty"`
	Annotations                  map[string]string          `json:"annotations,omitempty"`
	NodeSelector                 map[string]string          `json:"node_selector,omitempty"`
	Affinity                     *corev1.Affinity           `json:"affinity,omitempty"`
	Tolerations                  []corev1.Toleration        `json:"tolerations,omitempty"`
	ServiceAccountName           string                     `json:"service_account_name,omitempty"`
	AutomountServiceAccountToken *bool                      `json:"automount_service_account_token,omitempty"`
	HostNetwork                  *bool                      `json:"hostnetwork,omitempty"`
	HostAliases                  []corev1.HostAlias         `json:"host_aliases,omitempty"`
	Hostname                     string                     `json:"hostname,omitempty"`
	Subdomain                    string                     `json:"subdomain,omitempty"`
	DNSPolicy                    corev1.DNSPolicy           `json:"dns_policy,omitempty"`
	DNSConfig                    *corev1.PodDNSConfig       `json:"dns_config,omitempty"`
	SecurityContext              *corev1.PodSecurityContext `json:"security_context,omitempty"`
	PriorityClassName            string                     `json:"priority_class_name,omitempty"`
	SchedulerName                string                     `json:"schedulername,omitempty"`
	ActiveDeadlineSeconds        *int64                     `json:"active_deadline_seconds,omitempty"`
	TerminationGracePeriod       *int64                     `json:"termination_grace_period,omitempty"`
	ImagePullSecrets             PullSecrets                `json:"image_pull_secrets,omitempty"`
	InitContainers               []corev1.Container         `json:"init_containers,omitempty"`
	Volumes                      []corev1.Volume            `json:"volumes,omitempty"`
	PodTemplateFile              string                     `json:"pod_template_file,omitempty"`
	FullPodSpec                  string                     `json:"full_pod_spec,omitempty"`
	From                         string                     `json:"from,omitempty"`
	Params                       map[string]string          `json:"params,omitempty"`
	SkipOnExitCode               ExitCodes                  `json:"skip_on_exit_code,omitempty"`
	Files                        []FileSpec                 `json:"files,omitempty"`     // see files.go
	Artifacts                    []ArtifactSpec             `json:"artifacts,omitempty"` // see files.go

	// Run settings: read by the engine, recorded on the pod as annotations.
	DoXComPush       *bool  `json:"do_xcom_push,omitempty"`
	XCom             string `json:"xcom_mode,omitempty"` // "", "sidecar" or "termination-message"
	XComSidecarImage string `json:"xcom_sidecar_image,omitempty"`
	OnFinishAction   string `json:"on_finish_action,omitempty"`

	// Tries, as Airflow's task arguments (tries.go).
	Retries                 int    `json:"retries,omitempty"`
	RetryDelay              *Delay `json:"retry_delay,omitempty"`
	RetryExponentialBackoff bool   `json:"retry_exponential_backoff,omitempty"`
	MaxRetryDelay           *Delay `json:"max_retry_delay,omitempty"`

	// KubernetesJobOperator's parameters, for run --as-job (job.go).
	JobFields

	// Durations; in a task file they are *_seconds fields.
	ScheduleTimeout time.Duration `json:"-"`
	StartupTimeout  time.Duration `json:"-"`
	ImagePullGrace  time.Duration `json:"-"`
}

// Secret is KubernetesPodOperator's Secret: deploy_type "env" with a key puts
// one key in the env var deploy_target; "env" without a key and target puts
// every key in the environment (envFrom); "volume" mounts the secret
// read-only at the path deploy_target, optionally only the given items.
type Secret struct {
	DeployType   string             `json:"deploy_type"`
	DeployTarget string             `json:"deploy_target,omitempty"`
	Secret       string             `json:"secret"`
	Key          string             `json:"key,omitempty"`
	Items        []corev1.KeyToPath `json:"items,omitempty"`
}

// PodRuntimeInfoEnv is an env var whose value comes from the pod (the
// downward API): KPO's old form {name: POD_IP, field_path: status.podIP},
// or its current one, a Kubernetes EnvVar with valueFrom.
type PodRuntimeInfoEnv struct {
	Name      string               `json:"name"`
	FieldPath string               `json:"field_path,omitempty"`
	ValueFrom *corev1.EnvVarSource `json:"valueFrom,omitempty"`
}

// Resources are the base container's requests and limits; quantities are
// checked when the task is rendered, so errors can name the field.
type Resources struct {
	Requests map[string]Quantity `json:"requests,omitempty"`
	Limits   map[string]Quantity `json:"limits,omitempty"`
}

// Quantity is a resource quantity as written (string or number).
type Quantity string

// UnmarshalJSON accepts a string or a number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*q = Quantity(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("a quantity must be a string or a number, got %s", truncate(string(b), 40))
	}
	*q = Quantity(n.String())
	return nil
}

// EnvVars are the base container's env: a map {NAME: value} or a list of
// Kubernetes EnvVar objects. Map entries keep the order they are written in,
// as KubernetesPodOperator keeps a dict's.
type EnvVars []corev1.EnvVar

// UnmarshalJSON accepts the map and the list form.
func (e *EnvVars) UnmarshalJSON(b []byte) error {
	t := strings.TrimSpace(string(b))
	switch {
	case t == "null":
		*e = nil
		return nil
	case strings.HasPrefix(t, "{"):
		dec := json.NewDecoder(strings.NewReader(t))
		if _, err := dec.Token(); err != nil {
			return err
		}
		var out []corev1.EnvVar
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := tok.(string)
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if seen[k] {
				return &nestedError{path: k, msg: "duplicate field"}
			}
			seen[k] = true
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				out = append(out, corev1.EnvVar{Name: k, Value: s})
				continue
			}
			var scalar any
			if err := json.Unmarshal(v, &scalar); err != nil {
				return err
			}
			switch scalar.(type) {
			case float64, bool:
				out = append(out, corev1.EnvVar{Name: k, Value: string(v)}) // 80 -> "80", true -> "true"
			default:
				return &nestedError{path: k, msg: "the map form takes plain values; use the list form for valueFrom"}
			}
		}
		*e = out
		return nil
	default:
		var l []corev1.EnvVar
		if err := strictUnmarshal(b, &l); err != nil {
			return err
		}
		*e = l
		return nil
	}
}

// PullSecrets are image pull secret names: a list of names, a list of
// {name: ...} objects, or one comma-separated string.
type PullSecrets []string

// UnmarshalJSON accepts the three forms.
func (p *PullSecrets) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = SplitList(s)
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("want a list of names or a comma-separated string")
	}
	out := make(PullSecrets, 0, len(raw))
	for i, r := range raw {
		var name string
		if err := json.Unmarshal(r, &name); err == nil {
			out = append(out, name)
			continue
		}
		var ref corev1.LocalObjectReference
		if err := strictUnmarshal(r, &ref); err != nil {
			return &nestedError{path: fmt.Sprintf("[%d]", i), msg: "want a name or {name: ...}"}
		}
		out = append(out, ref.Name)
	}
	*p = out
	return nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// strictUnmarshal decodes JSON rejecting unknown and duplicate fields.
func strictUnmarshal(b []byte, v any) error {
	strict, err := sigsjson.UnmarshalStrict(b, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return cleanJSONError(err)
	}
	if len(strict) > 0 {
		var fe interface{ FieldPath() string }
		if errors.As(strict[0], &fe) {
			kind := "unknown field"
			if strings.HasPrefix(strict[0].Error(), "duplicate") {
				kind = "duplicate field"
			}
			return &nestedError{path: fe.FieldPath(), msg: kind}
		}
		return strict[0]
	}
	return nil
}

// nestedError is a field error inside a value with its own decoder; its
// path is relative to that value.
type nestedError struct {
	path string
	msg  string
}

func (e *nestedError) Error() string { return e.path + ": " + e.msg }

func cleanJSONError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return fmt.Errorf("%s", msg)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ExitCodes are KubernetesPodOperator's skip_on_exit_code: one exit code
// or a list of them.
type ExitCodes []int

// UnmarshalJSON accepts an integer or a list of integers.
func (e *ExitCodes) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*e = ExitCodes{one}
		return nil
	}
	var l []int
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("want an exit code or a list of exit codes, got %s", truncate(string(b), 40))
	}
	*e = l
	return nil
}

// Warning is input that render accepts, but where the pod differs from
// what a user may expect (or from what KubernetesPodOperator would build):
// the field, and one line saying what happens.
type Warning struct {
	Field string
	Msg   string
}

func (w Warning) String() string {
	if w.Field == "" {
		return w.Msg
	}
	return w.Field + ": " + w.Msg
}

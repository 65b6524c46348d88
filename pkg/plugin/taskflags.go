package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// taskFlags are the flags that describe a task. They are shared by render
// and run: a task file (-f) is loaded first, then every flag the user set
// replaces (or, for lists and maps, extends) what the file says.
type taskFlags struct {
	filename string
	dag      dagFlags // --dag, --task-id (dagflags.go)

	image, name, containerName         string
	cmds, arguments                    []string
	env                                []string
	envFromSecret, envFromConfigMap    []string
	secretEnv, secretVolume            []string
	labels, annotations, nodeSelector  []string
	serviceAccount, imagePullPolicy    string
	imagePullSecrets                   []string
	requests, limits                   string
	podTemplateFile, fullPodSpec, from string
	params                             []string
	xcom                               bool
	// xcomWanted: --xcom-out asks for the result, which turns XCom on
	// (sidecar mode) unless the flags or the task file say how.
	xcomWanted                           bool
	xcomMode, xcomSidecarImage, onFinish string
	startupTimeout, scheduleTimeout      time.Duration
	imagePullGrace                       time.Duration
	randomNameSuffix                     bool
	activeDeadlineSeconds                int64

	files fileFlags // --file, --artifact

	stdin io.Reader // for -f -; os.Stdin when nil

	fromTemplate *corev1.PodTemplateSpec // the --from workload's pod template, once buildPod fetched it
	warnOut      io.Writer               // where render's warnings go; os.Stderr when nil
	rendered     *render.Result          // what the last buildPod rendered
	// refuseJobFields: run without --as-job refuses a task file's
	// KubernetesJobOperator fields, which only a Job can honour.
	refuseJobFields bool
}

func (o *taskFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.filename, "filename", "f", "", "Task file (YAML or JSON, kind: Task; see docs/task-file.md); '-' reads stdin. Flags override it")
	fs.StringVar(&o.image, "image", "", "Container image of the base container")
	fs.StringVar(&o.name, "name", "", "Task name; the pod is named after it (sanitised, plus a random suffix)")
	fs.StringVar(&o.containerName, "container-name", "", "Name of the base container (default \"base\")")
	fs.StringArrayVar(&o.cmds, "cmds", nil, "Container command (entrypoint), one word per flag; the words after -- do the same")
	fs.StringArrayVar(&o.arguments, "arguments", nil, "Container arguments, one per flag")
	fs.StringArrayVar(&o.env, "env", nil, "Environment variable KEY=VALUE (repeatable)")
	fs.StringSliceVar(&o.envFromSecret, "env-from-secret", nil, "Every key of this secret becomes an env var (repeatable, comma-separated ok)")
	fs.StringSliceVar(&o.envFromConfigMap, "env-from-configmap", nil, "Every key of this config map becomes an env var (repeatable, comma-separated ok)")
	fs.StringArrayVar(&o.secretEnv, "secret-env", nil, "Env var from one secret key: VAR=SECRET:KEY (repeatable)")
	fs.StringArrayVar(&o.secretVolume, "secret-volume", nil, "Mount a secret read-only: SECRET:/path (repeatable)")
	fs.StringArrayVar(&o.labels, "label", nil, "Pod label KEY=VALUE (repeatable)")
	fs.StringArrayVar(&o.annotations, "annotation", nil, "Pod annotation KEY=VALUE (repeatable)")
	fs.StringArrayVar(&o.nodeSelector, "node-selector", nil, "Node selector KEY=VALUE (repeatable)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "Service account of the pod")
	fs.StringVar(&o.imagePullPolicy, "image-pull-policy", "", "Image pull policy: Always, IfNotPresent or Never")
	fs.StringSliceVar(&o.imagePullSecrets, "image-pull-secret", nil, "Image pull secret name (repeatable, comma-separated ok)")
	fs.StringVar(&o.requests, "requests", "", "Resource requests, e.g. cpu=100m,memory=64Mi")
	fs.StringVar(&o.limits, "limits", "", "Resource limits, e.g. cpu=1,memory=256Mi")
	fs.StringVar(&o.podTemplateFile, "pod-template-file", "", "Pod manifest to start from (KPO's pod_template_file)")
	fs.StringVar(&o.fullPodSpec, "full-pod-spec", "", "Pod manifest merged on top of the template (KPO's full_pod_spec)")
	fs.StringVar(&o.from, "from", "", "Start from the pod template of a workload in the cluster: cronjob/NAME, job/NAME, deployment/NAME or pod/NAME")
	fs.StringArrayVar(&o.params, "param", nil, "Template parameter KEY=VALUE, seen as {{ .params.KEY }} (repeatable)")
	fs.BoolVar(&o.xcom, "xcom", false, "Return the task's XCom result (/airflow/xcom/return.json); KPO's do_xcom_push")
	fs.StringVar(&o.xcomMode, "xcom-mode", "", "How the XCom result is read: sidecar (KPO's way) or termination-message; implies --xcom")
	fs.StringVar(&o.xcomSidecarImage, "xcom-sidecar-image", "", "Image of the XCom sidecar (default "+render.DefaultXComSidecarImage+")")
	fs.StringVar(&o.onFinish, "on-finish-action", "", "What to do with the pod at the end: delete_pod (default), keep_pod, delete_succeeded_pod, delete_active_pod")
	fs.DurationVar(&o.startupTimeout, "startup-timeout", render.DefaultStartupTimeout, "How long the pod may take to start once scheduled")
	fs.DurationVar(&o.scheduleTimeout, "schedule-timeout", render.DefaultScheduleTimeout, "How long the pod may wait to be scheduled")
	fs.DurationVar(&o.imagePullGrace, "image-pull-grace", render.DefaultImagePullGrace, "How long image pull errors are retried before the task fails")
	fs.BoolVar(&o.randomNameSuffix, "random-name-suffix", true, "Add a random 8-character suffix to the pod name")
	fs.Int64Var(&o.activeDeadlineSeconds, "active-deadline-seconds", 0, "Seconds the pod may run before Kubernetes stops it")
	o.files.addFlags(fs)
}

// toTask loads the task file, if any, and applies the flags the user set.
// args are the words after --: the container command.
func (o *taskFlags) toTask(fs *pflag.FlagSet, args []string) (*render.Task, error) {
	t := &render.Task{}
	if o.filename != "" {
		var err error
		if t, err = o.loadFile(); err != nil {
			return nil, err
		}
	}
	if o.dag.file != "" {
		var err error
		if t, err = o.loadDAG(fs, len(args) > 0); err != nil {
			return nil, err
		}
	}
	set := fs.Changed
	if set("image") {
		t.Image = o.image
	}
	if set("name") {
		t.Name = o.name
	}
	if set("container-name") {
		t.BaseContainerName = o.containerName
	}
	if len(args) > 0 && set("cmds") {
		return nil, fmt.Errorf("--cmds: give the command either with --cmds or after --, not both")
	}
	if set("cmds") {
		t.Cmds = o.cmds
	}
	if len(args) > 0 {
		t.Cmds = args
	}
	if set("arguments") {
		t.Arguments = o.arguments
	}
	env, err := keyValues("--env", o.env)
	if err != nil {
		return nil, err
	}
	for _, kv := range env {
		t.EnvVars = setEnv(t.EnvVars, kv[0], kv[1])
	}
	t.ConfigMaps = append(t.ConfigMaps, o.envFromConfigMap...)
	for _, s := range o.envFromSecret {
		t.Secrets = append(t.Secrets, render.Secret{DeployType: "env", Secret: s})
	}
	for _, s := range o.secretEnv {
		v, ref, ok := strings.Cut(s, "=")
		secret, key, ok2 := strings.Cut(ref, ":")
		if !ok || !ok2 || v == "" || secret == "" || key == "" {
			return nil, fmt.Errorf("--secret-env %q: want VAR=SECRET:KEY", s)
		}
		t.Secrets = append(t.Secrets, render.Secret{DeployType: "env", DeployTarget: v, Secret: secret, Key: key})
	}
	for _, s := range o.secretVolume {
		secret, path, ok := strings.Cut(s, ":")
		if !ok || secret == "" || path == "" {
			return nil, fmt.Errorf("--secret-volume %q: want SECRET:/path", s)
		}
		t.Secrets = append(t.Secrets, render.Secret{DeployType: "volume", DeployTarget: path, Secret: secret})
	}
	for _, m := range []struct {
		flag string
		vals []string
		dst  *map[string]string
	}{
		{"--label", o.labels, &t.Labels},
		{"--annotation", o.annotations, &t.Annotations},
		{"--node-selector", o.nodeSelector, &t.NodeSelector},
		{"--param", o.params, &t.Params},
	} {
		kvs, err := keyValues(m.flag, m.vals)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			if *m.dst == nil {
				*m.dst = map[string]string{}
			}
			(*m.dst)[kv[0]] = kv[1]
		}
	}
	if set("service-account") {
		t.ServiceAccountName = o.serviceAccount
	}
	if set("image-pull-policy") {
		t.ImagePullPolicy = corev1.PullPolicy(o.imagePullPolicy)
	}
	if set("image-pull-secret") {
		t.ImagePullSecrets = append(t.ImagePullSecrets, o.imagePullSecrets...)
	}
	for _, r := range []struct {
		flag, val string
		dst       func(*render.Resources) *map[string]render.Quantity
	}{
		{"requests", o.requests, func(r *render.Resources) *map[string]render.Quantity { return &r.Requests }},
		{"limits", o.limits, func(r *render.Resources) *map[string]render.Quantity { return &r.Limits }},
	} {
		if !set(r.flag) {
			continue
		}
		kvs, err := keyValues("--"+r.flag, render.SplitList(r.val))
		if err != nil {
			return nil, err
		}
		if t.ContainerResources == nil {
			t.ContainerResources = &render.Resources{}
		}
		m := r.dst(t.ContainerResources)
		for _, kv := range kvs {
			if *m == nil {
				*m = map[string]render.Quantity{}
			}
			(*m)[kv[0]] = render.Quantity(kv[1])
		}
	}
	if set("pod-template-file") {
		t.PodTemplateFile = o.podTemplateFile
	}
	if set("full-pod-spec") {
		t.FullPodSpec = o.fullPodSpec
	}
	if set("from") {
		t.From = o.from
	}
	switch {
	case set("xcom") && set("xcom-mode"):
		if !o.xcom && o.xcomMode != "" {
			return nil, fmt.Errorf("--xcom-mode=%s needs the XCom result, but --xcom=false turns it off; drop one", o.xcomMode)
		}
		t.DoXComPush, t.XCom = &o.xcom, o.xcomMode
	case set("xcom"):
		t.DoXComPush = &o.xcom
		if !o.xcom {
			t.XCom = render.XComNone
		}
	case set("xcom-mode"):
		t.DoXComPush, t.XCom = nil, o.xcomMode
	}
	if set("xcom-sidecar-image") {
		t.XComSidecarImage = o.xcomSidecarImage
	}
	if set("on-finish-action") {
		t.OnFinishAction = o.onFinish
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		dst  *time.Duration
	}{
		{"startup-timeout", o.startupTimeout, &t.StartupTimeout},
		{"schedule-timeout", o.scheduleTimeout, &t.ScheduleTimeout},
		{"image-pull-grace", o.imagePullGrace, &t.ImagePullGrace},
	} {
		if set(d.flag) {
			if d.v <= 0 {
				return nil, fmt.Errorf("--%s must be positive, got %s", d.flag, d.v)
			}
			*d.dst = d.v
		}
	}
	if set("random-name-suffix") {
		t.RandomNameSuffix = &o.randomNameSuffix
	}
	if set("active-deadline-seconds") {
		t.ActiveDeadlineSeconds = &o.activeDeadlineSeconds
	}
	if err := o.files.apply(fs, t, o.filename); err != nil {
		return nil, err
	}
	if err := t.Complete(); err != nil {
		return nil, err
	}
	return t, nil
}

func (o *taskFlags) loadFile() (*render.Task, error) {
	var data []byte
	var err error
	name := o.filename
	if name == "-" {
		in := o.stdin
		if in == nil {
			in = os.Stdin
		}
		data, err = io.ReadAll(in)
		name = "stdin"
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("-f: %w", err)
	}
	t, err := render.ParseTaskFile(name, data)
	if err != nil {
		return nil, err
	}
	// Files named in a task file are relative to the task file.
	if o.filename != "-" {
		dir := filepath.Dir(o.filename)
		for _, p := range []*string{&t.PodTemplateFile, &t.FullPodSpec} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
	}
	return t, nil
}

func keyValues(flag string, in []string) ([][2]string, error) {
	out := make([][2]string, 0, len(in))
	for _, s := range in {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, s)
		}
		out = append(out, [2]string{strings.TrimSpace(k), v})
	}
	return out, nil
}

func setEnv(env render.EnvVars, k, v string) render.EnvVars {
	for i := range env {
		if env[i].Name == k {
			env[i] = corev1.EnvVar{Name: k, Value: v}
			return env
		}
	}
	return append(env, corev1.EnvVar{Name: k, Value: v})
}

// buildPod turns flags, task file, template files and --from into the Pod:
// it resolves the namespace (-n, else the task file's, else the
// kubeconfig's), fetches the --from workload (the only cluster access), reads
// pod_template_file and full_pod_spec, and renders. Bad input is ExitUsage,
// cluster errors are ExitAPI.
func buildPod(ctx context.Context, f Factory, tf *taskFlags, fs *pflag.FlagSet, args []string) (*corev1.Pod, *render.Task, error) {
	task, opts, err := prepareTask(ctx, f, tf, fs, args)
	if err != nil {
		return nil, nil, err
	}
	res, err := render.Build(task, opts)
	if err != nil {
		return nil, nil, &ExitError{Code: ExitUsage, Err: withFlagHint(err, fs)}
	}
	printWarnings(tf.warnOut, res.Warnings)
	tf.rendered = res
	return res.Pod, task, nil
}

// prepareTask is the task and the render options buildPod renders: the
// flags over the task file, the namespace, the files read, the --from
// workload's template fetched.
func prepareTask(ctx context.Context, f Factory, tf *taskFlags, fs *pflag.FlagSet, args []string) (*render.Task, render.Options, error) {
	task, err := tf.toTask(fs, args)
	if err != nil {
		return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: err}
	}
	if name := task.JobFields.Given(); name != "" && tf.refuseJobFields {
		return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s is a KubernetesJobOperator parameter, which only a Job honours: run with --as-job, or drop it", name)}
	}
	if tf.xcomWanted && task.XCom == render.XComNone {
		if task.DoXComPush != nil && !*task.DoXComPush {
			return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: errors.New("--xcom-out wants the XCom result, but --xcom=false (or do_xcom_push: false) turns it off; drop one")}
		}
		on := true
		task.DoXComPush = &on
	}
	// -n, else the task file's, else the template's (render), else the kubeconfig's.
	ns, explicit, err := f.Namespace()
	switch {
	case err == nil && explicit:
		task.Namespace = ns
	case task.Namespace != "":
	case err != nil:
		return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: fmt.Errorf("kubeconfig: %w", err)}
	}
	opts := render.Options{DefaultNamespace: ns}
	for _, file := range []struct {
		flag, path string
		dst        **render.File
	}{
		{"pod_template_file", task.PodTemplateFile, &opts.TemplateFile},
		{"full_pod_spec", task.FullPodSpec, &opts.FullPodSpec},
	} {
		if file.path == "" {
			continue
		}
		data, err := os.ReadFile(file.path)
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w (KubernetesPodOperator would log a warning and start from an empty pod)", err)
		}
		if err != nil {
			return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s: %w", file.flag, err)}
		}
		*file.dst = &render.File{Path: file.path, Data: data}
	}
	if task.From != "" {
		kind, name, err := parseFrom(task.From)
		if err != nil {
			return nil, render.Options{}, &ExitError{Code: ExitUsage, Err: err}
		}
		from := task.Namespace
		if from == "" {
			from = ns
		}
		tpl, err := fetchTemplate(ctx, f, from, kind, name)
		if err != nil {
			return nil, render.Options{}, &ExitError{Code: ExitAPI, Err: fmt.Errorf("--from %s/%s: %w", kind, name, err)}
		}
		opts.Base, opts.BaseName = tpl, name
		tf.fromTemplate = tpl
	}
	return task, opts, nil
}

// fieldFlags are the flags that set a task field, for error messages.
var fieldFlags = map[string][]string{
	"image": {"image"}, "name": {"name"}, "cmds": {"cmds"}, "arguments": {"arguments"},
	"env_vars": {"env"}, "configmaps": {"env-from-configmap"}, "secrets": {"secret-env", "env-from-secret", "secret-volume"},
	"labels": {"label"}, "annotations": {"annotation"}, "node_selector": {"node-selector"},
	"service_account_name": {"service-account"}, "image_pull_policy": {"image-pull-policy"},
	"image_pull_secrets": {"image-pull-secret"}, "container_resources": {"requests", "limits"},
	"params": {"param"}, "xcom_sidecar_image": {"xcom-sidecar-image"}, "base_container_name": {"container-name"},
	"active_deadline_seconds": {"active-deadline-seconds"},
}

// withFlagHint adds the flag the user set to an error about a task field:
// "container_resources.limits.memory: ... (set by --limits)".
func withFlagHint(err error, fs *pflag.FlagSet) error {
	var fe *render.FieldError
	if !errors.As(err, &fe) || fe.File != "" || fe.Field == "" {
		return err
	}
	top := fe.Field
	if i := strings.IndexAny(top, ".["); i >= 0 {
		top = top[:i]
	}
	var set []string
	for _, f := range fieldFlags[top] {
		if fs.Changed(f) {
			set = append(set, "--"+f)
		}
	}
	if len(set) == 0 {
		return err
	}
	return fmt.Errorf("%w (set by %s)", err, strings.Join(set, ", "))
}

// fromKinds are the workloads --from takes, with the other names kubectl
// knows them by: the one table for parsing and completion.
var fromKinds = []struct {
	kind    string
	aliases []string
}{
	{"cronjob", []string{"cronjobs", "cj", "cronjob.batch"}},
	{"job", []string{"jobs", "job.batch"}},
	{"deployment", []string{"deployments", "deploy", "deployment.apps"}},
	{"pod", []string{"pods", "po"}},
}

func fromKindList() string {
	names := make([]string, len(fromKinds))
	for i, k := range fromKinds {
		names[i] = k.kind
	}
	return strings.Join(names, ", ")
}

// parseFrom splits "KIND/NAME" and normalises the kind.
func parseFrom(s string) (kind, name string, err error) {
	k, n, ok := strings.Cut(s, "/")
	if !ok || n == "" || strings.Contains(n, "/") {
		return "", "", fmt.Errorf("--from %q: want KIND/NAME, KIND one of %s", s, fromKindList())
	}
	k = strings.ToLower(k)
	for _, fk := range fromKinds {
		if k == fk.kind || slices.Contains(fk.aliases, k) {
			return fk.kind, n, nil
		}
	}
	return "", "", fmt.Errorf("--from %q: kind %q is not one of %s", s, k, fromKindList())
}

// fetchTemplate reads the pod template of a workload.
func fetchTemplate(ctx context.Context, f Factory, ns, kind, name string) (*corev1.PodTemplateSpec, error) {
	get := metav1.GetOptions{}
	switch kind {
	case "cronjob", "job":
		c, err := f.BatchV1()
		if err != nil {
			return nil, err
		}
		if kind == "cronjob" {
			cj, err := c.CronJobs(ns).Get(ctx, name, get)
			if err != nil {
				return nil, err
			}
			return cj.Spec.JobTemplate.Spec.Template.DeepCopy(), nil
		}
		j, err := c.Jobs(ns).Get(ctx, name, get)
		if err != nil {
			return nil, err
		}
		return j.Spec.Template.DeepCopy(), nil
	case "deployment":
		c, err := f.AppsV1()
		if err != nil {
			return nil, err
		}
		d, err := c.Deployments(ns).Get(ctx, name, get)
		if err != nil {
			return nil, err
		}
		return d.Spec.Template.DeepCopy(), nil
	default:
		c, err := f.CoreV1()
		if err != nil {
			return nil, err
		}
		p, err := c.Pods(ns).Get(ctx, name, get)
		if err != nil {
			return nil, err
		}
		return &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}, nil
	}
}

package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
)

// completionTimeout bounds every cluster call made while completing: a
// slow or unreachable cluster gives no choices rather than a hung shell.
const completionTimeout = 5 * time.Second

// rootExample is the root command's help example.
const rootExample = `  # Run a command as a pod; its logs stream here and its exit code is ours
  kubectl podtask run --image busybox:1.35 -- sh -c 'echo hello'

  # Run a task file and print its XCom result
  kubectl podtask run -f examples/xcom.yaml --xcom-out -

  # See the Pod a task would create, without creating it
  kubectl podtask render -f examples/xcom.yaml

  # Task pods in this namespace, and one picked up again
  kubectl podtask list
  kubectl podtask attach --task xcom-example --latest`

// registerCompletions gives every command and flag of the tree under root a
// shell completion: kubectl's global flags (namespaces, contexts, clusters,
// users, files), the task flags (on-finish actions, XCom modes, pull
// policies, secrets, config maps, service accounts, --from workloads), the
// output formats of each command, and task pods for attach and xcom. It also
// replaces cobra's default completion command with one that explains how
// 'kubectl podtask <TAB>' works through kubectl's plugin completion.
func registerCompletions(root *cobra.Command, f Factory) {
	if root.Example == "" {
		root.Example = rootExample
	}
	root.AddCommand(newCmdCompletion(root))

	global := map[string]cobra.CompletionFunc{
		"namespace":             completeNamespaces(f),
		"context":               completeKubeconfigNames(f, "context"),
		"cluster":               completeKubeconfigNames(f, "cluster"),
		"user":                  completeKubeconfigNames(f, "user"),
		"kubeconfig":            completeFiles(),
		"certificate-authority": completeFiles(),
		"client-certificate":    completeFiles(),
		"client-key":            completeFiles(),
		"cache-dir":             completeDirs,
	}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
		fn, ok := global[f.Name]
		if !ok {
			fn = cobra.NoFileCompletions
		}
		register(root, f.Name, fn)
	})

	outputs := map[string][]string{
		"run":                {"json", "yaml"},
		"attach":             {"json", "yaml"},
		"render":             {"yaml", "json"},
		"list":               listFormats,
		"version":            {"json", "yaml"},
		"create-pull-secret": {"yaml", "json", "name"},
	}
	local := map[string]cobra.CompletionFunc{
		"on-finish-action": cobra.FixedCompletions(onFinishCompletions(), cobra.ShellCompDirectiveNoFileComp),
		"xcom-mode":        cobra.FixedCompletions(xcomModeCompletions(), cobra.ShellCompDirectiveNoFileComp),
		"image-pull-policy": cobra.FixedCompletions([]cobra.Completion{"Always", "IfNotPresent", "Never"},
			cobra.ShellCompDirectiveNoFileComp),
		"dry-run": cobra.FixedCompletions([]cobra.Completion{"none", "client", "server"},
			cobra.ShellCompDirectiveNoFileComp),
		"filename":           completeFiles("yaml", "yml", "json"),
		"pod-template-file":  completeFiles("yaml", "yml", "json"),
		"full-pod-spec":      completeFiles("yaml", "yml", "json"),
		"from-file":          completeFiles(),
		"from-docker-config": completeFiles("json"),
		"log-file":           completeFiles(),
		"xcom-out":           completeFiles(),
		"from":               completeFrom(f),
		"image-pull-secret":  completeSecrets(f, string(corev1.SecretTypeDockerConfigJson), "", ""),
		"env-from-secret":    completeSecrets(f, "", "", ""),
		"secret-env":         completeSecretEnv(f),
		"secret-volume":      completeSecrets(f, "", "", ":"),
		"env-from-configmap": completeConfigMaps(f),
		"service-account":    completeServiceAccounts(f),
		"task":               completeTaskLabel(f, launch.LabelTask),
		"run-id":             completeTaskLabel(f, launch.LabelRunID),
		"override-type": cobra.FixedCompletions([]cobra.Completion{
			cobra.CompletionWithDesc("strategic", "strategic merge patch: lists such as containers merge by name (default)"),
			cobra.CompletionWithDesc("merge", "JSON merge patch: a list replaces the list"),
			cobra.CompletionWithDesc("json", "JSON patch: a list of operations"),
		}, cobra.ShellCompDirectiveNoFileComp),
		"detach-keys": cobra.FixedCompletions([]cobra.Completion{"ctrl-p,ctrl-q"}, cobra.ShellCompDirectiveNoFileComp),
		"container-logs": cobra.FixedCompletions([]cobra.Completion{
			cobra.CompletionWithDesc("all", "every container of the pod"),
		}, cobra.ShellCompDirectiveNoFileComp),
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.ValidArgsFunction == nil && c.ValidArgs == nil {
			c.ValidArgsFunction = cobra.NoFileCompletions
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			fn, ok := local[f.Name]
			if f.Name == "output" {
				fn, ok = cobra.FixedCompletions(outputs[c.Name()], cobra.ShellCompDirectiveNoFileComp), true
			}
			if !ok {
				fn = cobra.NoFileCompletions
			}
			register(c, f.Name, fn)
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
}

func onFinishCompletions() []cobra.Completion {
	out := make([]cobra.Completion, 0, len(launch.OnFinishActions))
	for _, a := range launch.OnFinishActions {
		out = append(out, cobra.CompletionWithDesc(string(a), launch.OnFinishActionHelp[a]))
	}
	return out
}

func xcomModeCompletions() []cobra.Completion {
	out := make([]cobra.Completion, 0, len(launch.XComModes))
	for _, m := range launch.XComModes {
		out = append(out, cobra.CompletionWithDesc(string(m), launch.XComModeHelp[m]))
	}
	return out
}

// register sets fn as the completion of a flag that has none yet.
func register(c *cobra.Command, name string, fn cobra.CompletionFunc) {
	if _, ok := c.GetFlagCompletionFunc(name); ok {
		return
	}
	_ = c.RegisterFlagCompletionFunc(name, fn)
}

func newCmdCompletion(root *cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion SHELL",
		Short: "Print a shell completion script for kubectl-podtask (kubectl podtask completes through kubectl)",
		Long: `With kubectl 1.26 or newer, 'kubectl podtask <TAB>' completes through kubectl's own
completion: put the kubectl_complete-podtask script (in the release archive and the
repository; 'make install' installs it) on your PATH, next to kubectl-podtask, and load
kubectl's completion as usual (source <(kubectl completion bash)). Nothing else is needed.

This command prints a completion script for the kubectl-podtask binary when it is called
directly, for bash, zsh, fish or powershell.`,
		Example: `  # kubectl podtask <TAB> (kubectl 1.26+): kubectl_complete-podtask on PATH, then
  source <(kubectl completion bash)

  # Completion for kubectl-podtask called directly
  source <(kubectl podtask completion bash)
  kubectl podtask completion zsh > "${fpath[1]}/_kubectl-podtask"`,
		ValidArgs: []cobra.Completion{"bash", "zsh", "fish", "powershell"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			// The scripts complete the program by the name they are
			// generated for: the binary's, not the root command's.
			use := root.Use
			root.Use = "kubectl-podtask"
			defer func() { root.Use = use }()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
	return cmd
}

func completeFiles(ext ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(ext) == 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return ext, cobra.ShellCompDirectiveFilterFileExt
	}
}

func completeDirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// completeKubeconfigNames completes the names of the kubeconfig's
// contexts, clusters or users.
func completeKubeconfigNames(f Factory, what string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cfg, err := f.RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		switch what {
		case "context":
			for name, c := range cfg.Contexts {
				desc := c.Cluster
				if name == cfg.CurrentContext {
					desc = "current, " + desc
				}
				out = append(out, cobra.CompletionWithDesc(name, desc))
			}
		case "cluster":
			for name, c := range cfg.Clusters {
				out = append(out, cobra.CompletionWithDesc(name, c.Server))
			}
		case "user":
			for name := range cfg.AuthInfos {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// clusterCompletion runs list against the cluster the flags point at, in
// their namespace, within completionTimeout. Any error gives no choices.
func clusterCompletion(f Factory, directive cobra.ShellCompDirective,
	list func(ctx context.Context, c corev1client.CoreV1Interface, ns, toComplete string) ([]cobra.Completion, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ns, _, err := f.Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.CoreV1()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
		defer cancel()
		out, err := list(ctx, c, ns, toComplete)
		if err != nil {
			cobra.CompDebugln("podtask: "+err.Error(), true)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return out, directive
	}
}

func completeNamespaces(f Factory) cobra.CompletionFunc {
	return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
		func(ctx context.Context, c corev1client.CoreV1Interface, _, _ string) ([]cobra.Completion, error) {
			list, err := c.Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			out := make([]cobra.Completion, 0, len(list.Items))
			for _, n := range list.Items {
				out = append(out, n.Name)
			}
			return out, nil
		})
}

// completeSecrets completes secret names (of secretType when set), each
// with prefix before it and suffix after it.
func completeSecrets(f Factory, secretType, prefix, suffix string) cobra.CompletionFunc {
	directive := cobra.ShellCompDirectiveNoFileComp
	if suffix != "" {
		directive |= cobra.ShellCompDirectiveNoSpace
	}
	return clusterCompletion(f, directive,
		func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
			opts := metav1.ListOptions{}
			if secretType != "" {
				opts.FieldSelector = "type=" + secretType
			}
			names, err := secretNames(ctx, c, ns, opts)
			if err != nil {
				return nil, err
			}
			out := make([]cobra.Completion, 0, len(names))
			for _, n := range names {
				out = append(out, prefix+n+suffix)
			}
			return out, nil
		})
}

// metadataOnly asks the API server for the objects' metadata alone, as
// kubectl get does for names: a secret's data never leaves the server.
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

// secretNames lists the names of the secrets in ns, metadata only.
func secretNames(ctx context.Context, c corev1client.CoreV1Interface, ns string, opts metav1.ListOptions) ([]string, error) {
	b, err := c.RESTClient().Get().Namespace(ns).Resource("secrets").
		VersionedParams(&opts, scheme.ParameterCodec).
		SetHeader("Accept", metadataOnly).DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	var list metav1.PartialObjectMetadataList
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, err
	}
	if list.Kind != "PartialObjectMetadataList" {
		return nil, fmt.Errorf("the server answered a list of secrets with %q, not their metadata alone", list.Kind)
	}
	names := make([]string, 0, len(list.Items))
	for _, m := range list.Items {
		names = append(names, m.Name)
	}
	return names, nil
}

// completeSecretEnv completes --secret-env VAR=SECRET:KEY: after "VAR=" the
// secrets, after "VAR=SECRET:" that secret's keys. Key values are never
// read into the choices.
func completeSecretEnv(f Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		v, ref, ok := strings.Cut(toComplete, "=")
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		secret, _, hasKey := strings.Cut(ref, ":")
		if !hasKey {
			return completeSecrets(f, "", v+"=", ":")(cmd, args, toComplete)
		}
		return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
			func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
				s, err := c.Secrets(ns).Get(ctx, secret, metav1.GetOptions{})
				if err != nil {
					return nil, err
				}
				out := make([]cobra.Completion, 0, len(s.Data))
				for k := range s.Data {
					out = append(out, v+"="+secret+":"+k)
				}
				sort.Strings(out)
				return out, nil
			})(cmd, args, toComplete)
	}
}

func completeConfigMaps(f Factory) cobra.CompletionFunc {
	return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
		func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
			list, err := c.ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			out := make([]cobra.Completion, 0, len(list.Items))
			for _, m := range list.Items {
				out = append(out, m.Name)
			}
			return out, nil
		})
}

func completeServiceAccounts(f Factory) cobra.CompletionFunc {
	return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
		func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
			list, err := c.ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			out := make([]cobra.Completion, 0, len(list.Items))
			for _, sa := range list.Items {
				out = append(out, sa.Name)
			}
			return out, nil
		})
}

// completeTaskLabel completes the distinct values of a task pod label
// (task names or run ids); with --task set, run ids of that task only.
func completeTaskLabel(f Factory, label string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		selector := launch.LabelManagedBy + "=" + launch.ManagedByValue
		if label == launch.LabelRunID {
			if f := cmd.Flags().Lookup("task"); f != nil && f.Value.String() != "" {
				selector += "," + launch.LabelTask + "=" + f.Value.String()
			}
		}
		return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
			func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
				list, err := c.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
				if err != nil {
					return nil, err
				}
				seen := map[string]bool{}
				var out []cobra.Completion
				for _, p := range list.Items {
					if v := p.Labels[label]; v != "" && !seen[v] {
						seen[v] = true
						out = append(out, v)
					}
				}
				sort.Strings(out)
				return out, nil
			})(cmd, args, toComplete)
	}
}

// completeFrom completes --from KIND/NAME: first the kinds, then the
// workloads of that kind.
func completeFrom(f Factory) cobra.CompletionFunc {
	var kinds []cobra.Completion
	for _, k := range fromKinds {
		kinds = append(kinds, k.kind+"/")
	}
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		kind, _, ok := strings.Cut(toComplete, "/")
		if !ok {
			return kinds, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		k, _, err := parseFrom(kind + "/x")
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return clusterCompletion(f, cobra.ShellCompDirectiveNoFileComp,
			func(ctx context.Context, c corev1client.CoreV1Interface, ns, _ string) ([]cobra.Completion, error) {
				names, err := workloadNames(ctx, f, c, ns, k)
				if err != nil {
					return nil, err
				}
				out := make([]cobra.Completion, 0, len(names))
				for _, n := range names {
					out = append(out, kind+"/"+n)
				}
				return out, nil
			})(cmd, args, toComplete)
	}
}

func workloadNames(ctx context.Context, f Factory, c corev1client.CoreV1Interface, ns, kind string) ([]string, error) {
	var names []string
	switch kind {
	case "pod":
		list, err := c.Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		return names, nil
	}
	switch kind {
	case "cronjob", "job":
		b, err := f.BatchV1()
		if err != nil {
			return nil, err
		}
		if kind == "cronjob" {
			list, err := b.CronJobs(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, err
			}
			for _, j := range list.Items {
				names = append(names, j.Name)
			}
			return names, nil
		}
		list, err := b.Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, j := range list.Items {
			names = append(names, j.Name)
		}
		return names, nil
	case "deployment":
		a, err := f.AppsV1()
		if err != nil {
			return nil, err
		}
		list, err := a.Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, d := range list.Items {
			names = append(names, d.Name)
		}
		return names, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// completeTaskPods completes the names of task pods in the current namespace.
func completeTaskPods(f Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, _, err := f.Namespace()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		c, err := f.CoreV1()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmdContext(cmd), completionTimeout)
		defer cancel()
		list, err := c.Pods(ns).List(ctx, metav1.ListOptions{
			LabelSelector: launch.LabelManagedBy + "=" + launch.ManagedByValue,
		})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, p := range list.Items {
			out = append(out, cobra.CompletionWithDesc(p.Name, dash(launch.TaskName(&p))+" "+string(p.Status.Phase)))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeDebugTargets completes debug's TARGET: task pods, and workloads
// once a kind is typed.
func completeDebugTargets(f Factory) cobra.CompletionFunc {
	pods, workloads := completeTaskPods(f), completeFrom(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if strings.Contains(toComplete, "/") {
			return workloads(cmd, args, toComplete)
		}
		kinds, _ := workloads(cmd, args, "")
		out, _ := pods(cmd, args, toComplete)
		return append(out, kinds...), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

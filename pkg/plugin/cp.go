package plugin

// `kubectl podtask cp`: files out of a task pod (its artifacts, also after
// the base container ended, as long as the pod is kept) and into a running
// one, through the same checked transfers as --file and --artifact.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/podtask-dev/kubectl-podtask/pkg/archive"
	"github.com/podtask-dev/kubectl-podtask/pkg/launch"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// CpOptions are the inputs of `kubectl podtask cp`.
type CpOptions struct {
	factory Factory
	streams genericiooptions.IOStreams

	container string
	overwrite bool
	quiet     bool

	namespace string
	pod       string
	remote    string // the path in the pod
	local     string
	download  bool

	engine *launch.Engine
}

// NewCpOptions returns the options with their defaults.
func NewCpOptions(f Factory, streams genericiooptions.IOStreams) *CpOptions {
	return &CpOptions{factory: f, streams: streams}
}

func newCmdCp(f Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := NewCpOptions(f, streams)
	cmd := &cobra.Command{
		Use:   "cp POD:PATH LOCAL | LOCAL POD:PATH",
		Short: "Copy files out of a task pod (also after its task ended) or into a running one",
		Long: `Cp copies a file or folder out of a task pod, or into a running one.

Out of a pod: a folder run with --artifact PATH is read from the pod's artifacts sidecar, so it
can be copied as long as the pod exists, also after the base container ended (keep the pod with
--on-finish-action keep_pod). Any other path is read from the base container (or -c) while it
runs. What comes back is checked: entries with '..', absolute paths, links pointing outside
LOCAL, device files and more bytes than the pod announced are refused, naming the entry, and
nothing is written outside LOCAL. A folder's content goes into LOCAL; a file goes to LOCAL, or
into it when LOCAL is a folder. Existing files are not replaced unless --overwrite.

Into a pod: LOCAL goes to PATH in the base container (or -c), which must be running; with a
PATH ending in '/', into that folder. Every file's SHA-256 is checked in the pod.

Exit codes: 0 copied; 64 bad input; 69 API error; 74 the copy failed or was refused.`,
		Example: `  # Fetch the artifacts of a kept task pod whose task has ended
  kubectl podtask cp report-20np0ywp:/out ./out

  # Put a fixed script into a running task
  kubectl podtask cp ./fix.py report-20np0ywp:/podtask/files/fix.py`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmdContext(cmd))
		},
	}
	cmd.Flags().StringVarP(&o.container, "container", "c", "", "Container to copy from or to (default: the artifacts sidecar for an artifact folder, else the base container)")
	cmd.Flags().BoolVar(&o.overwrite, "overwrite", false, "Replace existing local files")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "Print only warnings and errors; no progress")
	return cmd
}

// splitRemote reads [NAMESPACE/]POD:PATH; ok is false for a local path.
func splitRemote(s string) (ns, pod, p string, ok bool) {
	i := strings.Index(s, ":")
	if i <= 0 || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") {
		return "", "", "", false
	}
	ref, p := s[:i], s[i+1:]
	if strings.Count(ref, "/") > 1 {
		return "", "", "", false
	}
	if n, name, found := strings.Cut(ref, "/"); found {
		ns, ref = n, name
	}
	return ns, ref, p, true
}

// Complete reads the arguments and builds the engine.
func (o *CpOptions) Complete(cmd *cobra.Command, args []string) error {
	ns0, pod0, p0, remote0 := splitRemote(args[0])
	ns1, pod1, p1, remote1 := splitRemote(args[1])
	switch {
	case remote0 && !remote1:
		o.download, o.namespace, o.pod, o.remote, o.local = true, ns0, pod0, p0, args[1]
	case remote1 && !remote0:
		o.namespace, o.pod, o.remote, o.local = ns1, pod1, p1, args[0]
	default:
		return &ExitError{Code: ExitUsage, Err: errors.New("cp: give one POD:PATH and one local path (a local path with ':' can be written ./name)")}
	}
	ns, _, err := o.factory.Namespace()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("kubeconfig: %w", err)}
	}
	e, err := o.factory.Engine()
	if err != nil {
		return err
	}
	if o.namespace == "" {
		o.namespace = ns
	}
	o.engine = e
	return nil
}

// Validate checks the paths.
func (o *CpOptions) Validate() error {
	if o.pod == "" || o.remote == "" || o.local == "" {
		return &ExitError{Code: ExitUsage, Err: errors.New("cp: POD, PATH and the local path must not be empty")}
	}
	if !path.IsAbs(o.remote) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cp: %s must be an absolute path in the pod", o.remote)}
	}
	return nil
}

// Run copies.
func (o *CpOptions) Run(ctx context.Context) error {
	pod, err := o.engine.Client.Pods(o.namespace).Get(ctx, o.pod, metav1.GetOptions{})
	if err != nil {
		return &ExitError{Code: ExitAPI, Err: fmt.Errorf("get pod %s: %w", o.pod, err)}
	}
	p := newPrinter(io.Discard, o.streams.ErrOut, o.quiet, false, nil)
	defer p.flush()
	if o.download {
		return o.fetch(ctx, pod, p)
	}
	return o.put(ctx, pod, p)
}

func (o *CpOptions) baseContainer(pod *corev1.Pod) string {
	if o.container != "" {
		return o.container
	}
	if b := pod.Annotations[render.AnnotationBaseContainer]; b != "" {
		return b
	}
	return render.DefaultBaseContainerName
}

// source picks the container and path to read: an artifact folder from
// the sidecar, anything else from the base container (or -c).
func (o *CpOptions) source(pod *corev1.Pod) (container, p string, err error) {
	clean := path.Clean(o.remote)
	if o.container == "" || o.container == render.ArtifactsSidecarName {
		base := o.baseContainer(pod)
		for _, c := range pod.Spec.Containers {
			if c.Name != base {
				continue
			}
			for _, m := range c.VolumeMounts {
				if m.Name != render.ArtifactsVolumeName {
					continue
				}
				if clean == m.MountPath || strings.HasPrefix(clean, m.MountPath+"/") {
					p := path.Join(render.ArtifactsRoot, m.SubPath, strings.TrimPrefix(clean, m.MountPath))
					if !running(pod, render.ArtifactsSidecarName) {
						return "", "", fmt.Errorf("the %s sidecar of pod %s is not running, so %s cannot be read any more", render.ArtifactsSidecarName, pod.Name, o.remote)
					}
					return render.ArtifactsSidecarName, p, nil
				}
			}
		}
	}
	c := o.baseContainer(pod)
	if !running(pod, c) {
		return "", "", fmt.Errorf("container %q of pod %s is not running, and %s is not an artifact folder (run the task with --artifact %s to read it after the task ended)", c, pod.Name, o.remote, o.remote)
	}
	return c, clean, nil
}

func running(pod *corev1.Pod, name string) bool {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name {
			return cs.State.Running != nil
		}
	}
	return false
}

func (o *CpOptions) fetch(ctx context.Context, pod *corev1.Pod, p *printer) error {
	container, src, err := o.source(pod)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cp: %w", err)}
	}
	local := o.local
	plan := func(kind byte, _ int64) (string, archive.Options, error) {
		opts := archive.Options{Overwrite: o.overwrite}
		if kind == 'd' {
			if err := checkLocalFolder(local); err != nil {
				return "", opts, err
			}
			return local, opts, nil
		}
		if fi, err := os.Stat(local); err == nil && fi.IsDir() || strings.HasSuffix(local, "/") {
			return local, opts, nil
		}
		opts.Rename = map[string]string{path.Base(src): filepath.Base(local)}
		return filepath.Dir(local), opts, nil
	}
	res, _, err := o.engine.Download(ctx, pod, container, src, o.remote, plan, func(ev *launch.Transfer) { p.handle(ev) })
	if err != nil {
		code := ExitTransfer
		if errors.Is(err, launch.ErrNotFound) {
			code = ExitUsage
			err = fmt.Errorf("%s does not exist in pod %s", o.remote, pod.Name)
		}
		return &ExitError{Code: code, Err: fmt.Errorf("cp: %w", err)}
	}
	p.say("copied %s:%s to %s: %d file(s), %s", pod.Name, o.remote, local, res.Files, formatBytes(res.Bytes))
	return nil
}

func (o *CpOptions) put(ctx context.Context, pod *corev1.Pod, p *printer) error {
	c := o.baseContainer(pod)
	if !running(pod, c) {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cp: container %q of pod %s is not running; files can only be put into a running container", c, pod.Name)}
	}
	dir, name := path.Dir(path.Clean(o.remote)), path.Base(o.remote)
	if strings.HasSuffix(o.remote, "/") {
		dir, name = path.Clean(o.remote), filepath.Base(filepath.Clean(o.local))
	}
	plan, err := launch.PlanUpload([]launch.UploadTarget{{Local: o.local, Entry: name}})
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("cp: %w", err)}
	}
	res, err := o.engine.Upload(ctx, pod, c, launch.UploadCommand(dir, plan), plan, func(ev *launch.Transfer) { p.handle(ev) })
	if err != nil {
		return &ExitError{Code: ExitTransfer, Err: fmt.Errorf("cp: %w", err)}
	}
	p.say("copied %s to %s:%s: %d file(s), %s", o.local, pod.Name, path.Join(dir, name), plan.Files, formatBytes(res.Bytes))
	return nil
}

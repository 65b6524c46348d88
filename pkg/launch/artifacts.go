package launch

// Artifacts and the tracker's transfer steps: a folder read from a container
// as a tar over exec into a local folder through the untrusted-archive
// reader; the upload started when the files init container runs; the
// artifacts fetched after the base container ended, before the on-finish
// action.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	utilexec "k8s.io/utils/exec"

	"github.com/podtask-dev/kubectl-podtask/pkg/archive"
	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// ArtifactsDir is where artifacts go by default: ArtifactsDir/<pod>/<basename>.
const ArtifactsDir = "artifacts"

// ReadCommand, exec'd in a container, prints a line "d BYTES" (a folder;
// the tar holds its content) or "f BYTES" (a file; the tar holds it under
// its base name), BYTES being the content the tar carries, then the tar.
func ReadCommand(p string) []string {
	q := "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
	return []string{"sh", "-c", "if [ -d " + q + " ]; then cd " + q + " || exit 1; " +
		"printf 'd %s\\n' \"$(find . -type f -exec stat -c %s {} + | awk '{s+=$1} END {print s+0}')\" && exec tar -cf - .; " +
		"elif [ -e " + q + " ]; then cd \"$(dirname " + q + ")\" && b=\"$(basename " + q + ")\" && " +
		"printf 'f %s\\n' \"$(stat -c %s \"$b\")\" && exec tar -cf - \"$b\"; " +
		"else echo \"no such file or folder\" >&2; exit " + strconv.Itoa(readMissingExit) + "; fi"}
}

// readMissingExit is ReadCommand's exit code when the path does not exist.
const readMissingExit = 44

// ErrNotFound says the path to copy does not exist in the container.
var ErrNotFound = errors.New("no such file or folder in the container")

// DownloadPlan decides where a download goes once its kind ('d' or 'f')
// and announced size are known.
type DownloadPlan func(kind byte, announced int64) (dest string, opts archive.Options, err error)

// downloadTries is how often a download whose stream ended early is tried:
// an exec stream may lose the end of its output without an error
// (kubernetes/kubernetes#124571); the archive's own sizes tell.
const downloadTries = 3

// Download reads p from container of pod into the place plan gives. A
// stream that ends early is read again, up to downloadTries times in all,
// replacing what the earlier tries wrote.
func (e *Engine) Download(ctx context.Context, pod *corev1.Pod, container, p, name string, plan DownloadPlan, report func(*Transfer)) (TransferResult, archive.Stats, error) {
	written := map[string]bool{}
	for try := 1; ; try++ {
		res, st, err := e.download(ctx, pod, container, p, name, func(kind byte, announced int64) (string, archive.Options, error) {
			dest, opts, err := plan(kind, announced)
			opts.Written = written
			return dest, opts, err
		}, report)
		if err == nil || try >= downloadTries || ctx.Err() != nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			return res, st, err
		}
	}
}

func (e *Engine) download(ctx context.Context, pod *corev1.Pod, container, p, name string, plan DownloadPlan, report func(*Transfer)) (TransferResult, archive.Stats, error) {
	var st archive.Stats
	s, ok := e.streamer()
	if !ok {
		return TransferResult{}, st, errors.New("the executor cannot stream")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	var stderr tailBuffer
	serr := make(chan error, 1)
	go func() {
		err := s.Stream(ctx, pod.Namespace, pod.Name, container, ReadCommand(p), nil, pw, &stderr)
		pw.CloseWithError(err)
		serr <- err
	}()
	fail := func(err error) (TransferResult, archive.Stats, error) {
		pr.CloseWithError(err)
		cancel()
		<-serr
		return TransferResult{Error: err.Error()}, st, err
	}
	br := bufio.NewReaderSize(pr, 64<<10)
	head, err := br.ReadString('\n')
	if err != nil {
		pr.CloseWithError(err)
		streamErr := <-serr
		msg := strings.TrimSpace(stderr.String())
		var exit utilexec.ExitError
		if errors.As(streamErr, &exit) && exit.ExitStatus() == readMissingExit {
			return TransferResult{Error: ErrNotFound.Error()}, st, ErrNotFound
		}
		if streamErr == nil {
			streamErr = errors.New("the container sent nothing")
		}
		if msg != "" {
			streamErr = fmt.Errorf("%w: %s", streamErr, oneLineOf(msg))
		}
		return TransferResult{Error: streamErr.Error()}, st, streamErr
	}
	head = strings.TrimSpace(head)
	announced, perr := strconv.ParseInt(strings.TrimSpace(head[min(1, len(head)):]), 10, 64)
	if len(head) < 3 || (head[0] != 'd' && head[0] != 'f') || perr != nil || announced < 0 {
		return fail(fmt.Errorf("unexpected answer from the container: %q", oneLineOf(head)))
	}
	dest, opts, err := plan(head[0], announced)
	if err != nil {
		return fail(err)
	}
	m := newMeter(Download, name, announced, report)
	opts.Announced = announced
	opts.Progress = m.set
	st, err = archive.Extract(br, dest, opts)
	if err != nil {
		m.done(err)
		_, _, err = fail(err)
		return TransferResult{Error: err.Error(), Bytes: st.Bytes, Files: st.Files}, st, err
	}
	if err := <-serr; err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, oneLineOf(msg))
		}
		m.done(err)
		return TransferResult{Error: err.Error()}, st, err
	}
	m.done(nil)
	res := m.result()
	res.Files = st.Files
	return res, st, nil
}

// DefaultArtifactLocal is where an artifact of pod goes when the user named no folder.
func DefaultArtifactLocal(pod, p string) string {
	return filepath.Join(ArtifactsDir, pod, path.Base(p))
}

// uploadState is the tracker's view of the --file upload.
type uploadState struct {
	started bool
	done    chan uploadOutcome // receives once; nil until started
	ok      bool
	seen    *podMailbox // the pod as the follow loop sees it, for filesArrived
}

type uploadOutcome struct {
	res TransferResult
	err error
}

// startUpload starts the upload once the files init container runs; it
// tells whether it started it now.
func (t *tracker) startUpload(ctx context.Context, pod *corev1.Pod) bool {
	tr := t.opts.Transfers
	if tr == nil || tr.Upload == nil || t.upload.started {
		return false
	}
	running := false
	for _, cs := range pod.Status.InitContainerStatuses {
		if cs.Name == render.FilesInitName && cs.State.Running != nil {
			running = true
		}
	}
	if !running {
		return false
	}
	t.upload.started = true
	t.upload.done = make(chan uploadOutcome, 1)
	t.upload.seen = newPodMailbox()
	t.upload.seen.put(pod, false)
	go func() {
		res, err := t.e.sendUpload(ctx, pod, render.FilesInitName, FilesUploadCommand(tr.Upload), tr.Upload,
			func(ev *Transfer) { t.emit(ev) }, filesArrived(t.e.timers(), t.upload.seen))
		res.Files = tr.Upload.Files
		t.upload.done <- uploadOutcome{res, err}
	}()
	return true
}

// filesCheckWait bounds how long a failed files upload waits for the
// kubelet to say how the init container is.
const filesCheckWait = 10 * time.Second

// sawPod hands a pod update of the follow loop to a files upload that may
// have to judge its end by it.
func (t *tracker) sawPod(pod *corev1.Pod, deleted bool) {
	if t.upload.seen != nil {
		t.upload.seen.put(pod, deleted)
	}
}

// filesArrived judges a files upload whose stream failed by the init
// container: it exits 0 only once the sums were checked, and that exit can
// cut the stream before the stream reports success. It reads the pod as the
// follow loop's watch delivers it (seen) until the init container has left
// its wait (arrived when it exited 0 or the next containers started; not
// when it failed or the pod went) or filesCheckWait passed (it still waits:
// send again).
func filesArrived(clk clock.WithTicker, seen *podMailbox) uploadCheck {
	return func(ctx context.Context) (arrived, again bool) {
		deadline := clk.NewTimer(filesCheckWait)
		defer deadline.Stop()
		for {
			if pod, deleted := seen.take(); deleted {
				return false, false
			} else if pod != nil {
				if cs := FindContainerStatus(pod, render.FilesInitName, true); cs != nil && cs.State.Terminated != nil {
					return cs.State.Terminated.ExitCode == 0, false
				}
				if pod.Status.Phase != corev1.PodPending && pod.Status.Phase != "" {
					return pod.Status.Phase != corev1.PodFailed, false
				}
			}
			select {
			case <-ctx.Done():
				return false, false
			case <-deadline.C():
				return false, true
			case <-seen.wake:
			}
		}
	}
}

// uploadDone is the channel the upload's end arrives on; nil when none runs.
func (t *tracker) uploadDone() <-chan uploadOutcome { return t.upload.done }

// uploadFinished records the upload's end; a failed one ends the task, and
// its pod is deleted whatever the on-finish action: it never ran.
func (t *tracker) uploadFinished(ctx context.Context, out uploadOutcome) (*Result, error) {
	t.upload.done = nil
	t.result.Files = &out.res
	err := out.err
	if err == nil {
		t.upload.ok = true
		return nil, nil
	}
	t.stopLogs()
	t.result.Outcome = OutcomeStartFailed
	t.result.Reason = "UploadFailed"
	t.result.Message = err.Error()
	t.result.Phase = string(t.pod.Status.Phase)
	t.cleanup(ctx, DeletePod, true)
	t.finish()
	return t.result, err
}

// uploadUnfinished tells whether files were to be uploaded and are not
// all there: such a pod is deleted on interrupt, whatever the on-finish
// action, since its task never ran.
func (t *tracker) uploadUnfinished() bool {
	tr := t.opts.Transfers
	return tr != nil && tr.Upload != nil && !t.upload.ok && !t.baseStarted()
}

func (t *tracker) baseStarted() bool {
	if t.pod == nil {
		return false
	}
	cs := FindContainerStatus(t.pod, t.opts.BaseContainer, false)
	return cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil)
}

// fetchArtifacts copies every artifact folder out of the sidecar. The
// first error is returned; every artifact is tried.
func (t *tracker) fetchArtifacts(ctx context.Context, pod *corev1.Pod) error {
	tr := t.opts.Transfers
	if tr == nil || len(tr.Artifacts) == 0 {
		return nil
	}
	cs := FindContainerStatus(pod, render.ArtifactsSidecarName, false)
	var first error
	for _, a := range tr.Artifacts {
		local := a.Local
		if local == "" {
			local = DefaultArtifactLocal(pod.Name, a.Path)
		}
		res := TransferResult{Path: a.Path, Local: local}
		var err error
		if cs == nil || cs.State.Running == nil {
			err = fmt.Errorf("the %s sidecar is not running, so %s cannot be read", render.ArtifactsSidecarName, a.Path)
		} else {
			var got TransferResult
			got, _, err = t.e.Download(ctx, pod, render.ArtifactsSidecarName, a.Sidecar, a.Path,
				func(kind byte, _ int64) (string, archive.Options, error) {
					return local, archive.Options{Overwrite: tr.Overwrite}, nil
				}, func(ev *Transfer) { t.emit(ev) })
			res.Files, res.Bytes, res.Seconds = got.Files, got.Bytes, got.Seconds
		}
		if err != nil {
			res.Error = err.Error()
			if first == nil {
				first = &TransferError{Op: "artifact " + a.Path, Err: err}
			}
			t.emit(&Notice{At: t.at(), Level: "warning", Message: "artifact " + a.Path + ": " + err.Error()})
		} else {
			t.emit(&Notice{At: t.at(), Level: "info", Message: fmt.Sprintf("artifact %s: %s, %s, in %s", a.Path, plural(res.Files, "file"), humanBytes(res.Bytes), local)})
		}
		t.result.Artifacts = append(t.result.Artifacts, res)
	}
	return first
}

// keepsArtifactsSidecar tells whether a kept pod's artifacts sidecar stays
// up (so that cp can read the artifacts later): the pod then stays Running.
func (t *tracker) keepsArtifactsSidecar(pod *corev1.Pod) bool {
	cs := FindContainerStatus(pod, render.ArtifactsSidecarName, false)
	return cs != nil && cs.State.Running != nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

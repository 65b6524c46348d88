package launch

// Upload: local files and folders (--file, cp LOCAL POD:PATH) checked before
// anything is created, then streamed as one tar over exec into a container,
// with a SHA-256 per file that the container checks once it has them.

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podtask-dev/kubectl-podtask/pkg/render"
)

// MaxUploadBytes is the most --file sends into one task (the files land in
// an emptyDir on the node's disk).
const MaxUploadBytes int64 = 8 << 30

// UploadPlan is the list of what an upload sends, checked on the local disk.
type UploadPlan struct {
	entries []uploadEntry
	Files   int
	Bytes   int64
}

type uploadEntry struct {
	local string // on disk
	name  string // in the archive
	mode  fs.FileMode
	mtime time.Time
	link  string // for a symbolic link
	dir   bool
}

// UploadTarget is one local file or folder and its name in the archive.
type UploadTarget struct {
	Local string
	Entry string
}

// TargetsOf turns the rendered file targets into upload targets.
func TargetsOf(ts []render.FileTarget) []UploadTarget {
	out := make([]UploadTarget, len(ts))
	for i, t := range ts {
		out[i] = UploadTarget{Local: t.Local, Entry: t.Entry}
	}
	return out
}

// PlanUpload checks the local files: each must exist and be readable, and a
// folder must hold only files, folders and links that stay inside it. A
// link given by name is followed, as cp does. The error names the path and
// what to do.
func PlanUpload(targets []UploadTarget) (*UploadPlan, error) {
	p := &UploadPlan{}
	dirs := map[string]bool{}
	addParents := func(name string) {
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			p.entries = append(p.entries, uploadEntry{name: d, mode: 0o755, mtime: time.Now(), dir: true})
		}
	}
	for _, t := range targets {
		fi, err := os.Stat(t.Local)
		if err != nil {
			return nil, localErr(t.Local, err)
		}
		addParents(t.Entry)
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s is not a regular file or folder", t.Local)
			}
			if err := readable(t.Local); err != nil {
				return nil, err
			}
			p.entries = append(p.entries, uploadEntry{local: t.Local, name: t.Entry, mode: fi.Mode().Perm(), mtime: fi.ModTime()})
			p.Files++
			p.Bytes += fi.Size()
			continue
		}
		root, err := filepath.EvalSymlinks(t.Local)
		if err != nil {
			return nil, localErr(t.Local, err)
		}
		err = filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
			shown := filepath.Join(t.Local, strings.TrimPrefix(name, root))
			if err != nil {
				return localErr(shown, err)
			}
			rel, _ := filepath.Rel(root, name)
			entry := t.Entry
			if rel != "." {
				entry = t.Entry + "/" + filepath.ToSlash(rel)
			}
			if strings.ContainsAny(rel, "\n\x00\\") {
				return fmt.Errorf("%s: its name holds a newline or backslash, which cannot be checked in the pod; rename it", shown)
			}
			info, err := d.Info()
			if err != nil {
				return localErr(shown, err)
			}
			switch m := info.Mode(); {
			case m.IsDir():
				dirs[entry] = true
				p.entries = append(p.entries, uploadEntry{name: entry, mode: m.Perm(), mtime: info.ModTime(), dir: true})
			case m.IsRegular():
				if err := readable(name); err != nil {
					return localErr(shown, err)
				}
				p.entries = append(p.entries, uploadEntry{local: name, name: entry, mode: m.Perm(), mtime: info.ModTime()})
				p.Files++
				p.Bytes += info.Size()
			case m&fs.ModeSymlink != 0:
				target, err := os.Readlink(name)
				if err != nil {
					return localErr(shown, err)
				}
				if filepath.IsAbs(target) || !within(rel, target) {
					return fmt.Errorf("%s is a symbolic link to %s, outside %s: copy what it points to into the folder, or give it as its own --file", shown, target, t.Local)
				}
				p.entries = append(p.entries, uploadEntry{name: entry, link: filepath.ToSlash(target), mtime: info.ModTime()})
			default:
				return fmt.Errorf("%s is a %s, which cannot be uploaded; only files, folders and links are", shown, m.Type())
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if p.Bytes > MaxUploadBytes {
		return nil, fmt.Errorf("the files hold %s, more than the %s one task can take", humanBytes(p.Bytes), humanBytes(MaxUploadBytes))
	}
	return p, nil
}

// within tells whether a link at rel (relative to the folder) to target
// stays inside the folder, lexically and without a ".." after a name.
func within(rel, target string) bool {
	leading := true
	for _, part := range strings.Split(filepath.ToSlash(target), "/") {
		switch {
		case part == ".." && !leading:
			return false
		case part != ".." && part != "." && part != "":
			leading = false
		}
	}
	j := path.Join(path.Dir(filepath.ToSlash(rel)), filepath.ToSlash(target))
	return j != ".." && !strings.HasPrefix(j, "../")
}

func readable(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return localErr(name, err)
	}
	return f.Close()
}

func localErr(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist", name)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s is not readable (permission denied)", name)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", name, pe.Err)
	}
	return err
}

var errStreamEnded = errors.New("the upload stream ended")

// UploadCommand is the command that unpacks and checks an upload into dir
// of a running container (cp LOCAL POD:PATH), creating dir.
func UploadCommand(dir string, plan *UploadPlan) []string {
	return uploadScript(dir, "", plan, plan.namesSize() <= maxPipelinedArgs)
}

// FilesUploadCommand is the command exec'd in the files init container:
// it unpacks, checks, and lets the init container exit.
func FilesUploadCommand(plan *UploadPlan) []string {
	return uploadScript(render.FilesUploadRoot, render.FilesReadyFIFO, plan, plan.namesSize() <= maxPipelinedArgs)
}

func (p *UploadPlan) namesSize() int {
	n := 0
	for _, e := range p.entries {
		n += len(e.name) + 3
	}
	return n
}

// maxPipelinedArgs bounds the names handed to the checker on the command
// line; an upload with more is checked once it has all arrived.
const maxPipelinedArgs = 32 << 10

// uploadScript unpacks the tar on stdin in dir and checks every file's
// SHA-256 against the sums file, the archive's last entry. The files are
// named on the command line in archive order, so that each is hashed while
// the next one arrives (the archive is unpacked in order: once a file
// exists, the one before it is complete). With ready, it writes "ok" there.
func uploadScript(dir, ready string, plan *UploadPlan, pipelined bool) []string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	sums, got, end := render.FilesSumsName, ".podtask-sha256sums-got", ".podtask-end"
	var names []string
	for _, e := range plan.entries {
		if pipelined && !e.dir && e.link == "" {
			names = append(names, "./"+e.name)
		}
	}
	script := "mkdir -p " + q(dir) + " && cd " + q(dir) + " || exit 1; rm -f " + end + " " + got + "; "
	if pipelined {
		script += "( prev=; for f in \"$@\"; do while [ ! -e \"$f\" ] && [ ! -e " + end + " ]; do sleep 0.05; done; " +
			"[ -n \"$prev\" ] && sha256sum \"$prev\"; prev=$f; done; " +
			"while [ ! -e " + end + " ]; do sleep 0.05; done; [ -n \"$prev\" ] && sha256sum \"$prev\" ) > " + got + " 2>&1 & "
	}
	script += "tar -xof -; rc=$?; touch " + end + "; wait; [ $rc = 0 ] || { rm -f " + end + " " + got + " " + sums + "; exit $rc; }; "
	if !pipelined {
		script += "sed 's/^[0-9a-f]*  //' " + sums + " | while IFS= read -r f; do sha256sum \"$f\"; done > " + got + " 2>&1; "
	}
	script += "if ! cmp -s " + sums + " " + got + "; then echo 'the SHA-256 of these files differs from what was sent:' >&2; " +
		"grep -v -x -F -f " + got + " " + sums + " | sed 's/^[0-9a-f]*  //' >&2; rm -f " + end + " " + got + " " + sums + "; exit 1; fi; " +
		"rm -f " + end + " " + got + " " + sums
	if ready != "" {
		script += " && echo ok > " + ready
	}
	return append([]string{"sh", "-c", script, "sh"}, names...)
}

// Upload streams plan into container of pod with cmd (which reads the tar
// on stdin), reporting progress to report. The SHA-256 of every file is
// computed as it is sent and goes last, for cmd to check.
func (e *Engine) Upload(ctx context.Context, pod *corev1.Pod, container string, cmd []string, plan *UploadPlan, report func(*Transfer)) (TransferResult, error) {
	// A failed try is sent again once: the archive replaces what the first
	// wrote, and the sums say whether it all arrived.
	return e.sendUpload(ctx, pod, container, cmd, plan, report, nil)
}

// uploadCheck, asked after a stream failed, says from the pod whether the
// upload arrived all the same (the command's last step can end the
// container, cutting the stream before it reports), or whether it may be
// sent again.
type uploadCheck func(ctx context.Context) (arrived, again bool)

// sendUpload sends plan at most twice; check (nil: always again) judges a
// failed stream.
func (e *Engine) sendUpload(ctx context.Context, pod *corev1.Pod, container string, cmd []string, plan *UploadPlan, report func(*Transfer), check uploadCheck) (TransferResult, error) {
	var res TransferResult
	var err error
	for try := 1; try <= 2; try++ {
		var again bool
		res, again, err = e.upload(ctx, pod, container, cmd, plan, report, check)
		if err == nil || !again {
			break
		}
	}
	return res, err
}

// localError is a failure on the local side of an upload (not worth a retry).
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// upload sends plan once; it tells whether a failure may be sent again.
func (e *Engine) upload(ctx context.Context, pod *corev1.Pod, container string, cmd []string, plan *UploadPlan, report func(*Transfer), check uploadCheck) (TransferResult, bool, error) {
	s, ok := e.streamer()
	if !ok {
		return TransferResult{}, false, &TransferError{Op: "upload", Err: errors.New("the executor cannot send stdin")}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := newMeter(Upload, "files", plan.Bytes, report)
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeUpload(pw, plan, m)
		pw.CloseWithError(err)
		werr <- err
		if err != nil {
			cancel()
		}
	}()
	var stderr tailBuffer
	err := s.Stream(ctx, pod.Namespace, pod.Name, container, cmd, pr, io.Discard, &stderr)
	pr.CloseWithError(errStreamEnded)
	// A local failure (a file that vanished) is the cause of the stream's.
	local := false
	if wErr := <-werr; wErr != nil && !errors.Is(wErr, errStreamEnded) && !errors.Is(wErr, context.Canceled) {
		err, local = &localError{wErr}, true
	}
	again := err != nil && !local && ctx.Err() == nil
	if again && check != nil {
		var arrived bool
		if arrived, again = check(ctx); arrived {
			err = nil
		}
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, oneLineOf(msg))
		}
		m.done(err)
		res := m.result()
		res.Error = err.Error()
		return res, again, &TransferError{Op: "upload", Err: err}
	}
	m.done(nil)
	res := m.result()
	res.Files = plan.Files
	return res, false, nil
}

// writeUpload writes the archive: folders, files and links in plan order,
// then the sums file.
func writeUpload(w io.Writer, plan *UploadPlan, m *meter) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	tw := tar.NewWriter(bw)
	var sums strings.Builder
	buf := make([]byte, 256<<10)
	for _, e := range plan.entries {
		hdr := &tar.Header{Name: e.name, ModTime: e.mtime, Mode: int64(e.mode), Uid: 0, Gid: 0}
		switch {
		case e.dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.name+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		default:
			sum, err := writeFile(tw, hdr, e.local, buf, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(&sums, "%s  ./%s\n", sum, e.name)
		}
	}
	s := sums.String()
	if err := tw.WriteHeader(&tar.Header{Name: render.FilesSumsName, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(s)), ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, s); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func writeFile(tw *tar.Writer, hdr *tar.Header, local string, buf []byte, m *meter) (string, error) {
	f, err := os.Open(local)
	if err != nil {
		return "", localErr(local, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", localErr(local, err)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h, meterWriter{m}), io.LimitReader(f, fi.Size()), buf)
	if err != nil {
		return "", err
	}
	if n != fi.Size() {
		return "", fmt.Errorf("%s changed while it was being uploaded (%d bytes read of %d)", local, n, fi.Size())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type meterWriter struct{ m *meter }

func (w meterWriter) Write(p []byte) (int, error) { w.m.add(int64(len(p))); return len(p), nil }

func oneLineOf(s string) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Package dag reads an Airflow DAG file without running it and turns one of
// its KubernetesPodOperator tasks into a podtask task file. The file is
// parsed by the user's own python3 with the standard ast module (read.py:
// syntax only, nothing of the file is executed or imported); this package
// evaluates the few constructs a task's parameters may use and refuses
// everything else with one error line: file:line:col: expression: what to do.
package dag

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed read.py
var readerScript string

// Options say how a DAG file is read.
type Options struct {
	// Python is the interpreter; default $PODTASK_PYTHON, else python3 on PATH.
	Python string
	// Timeout bounds the interpreter; default 20s.
	Timeout time.Duration
	// NoCache reads the file with the interpreter even when its answer for
	// the same bytes is in the cache (also: PODTASK_DAG_CACHE=off).
	NoCache bool
}

// Error is a refusal or a problem in the DAG file: where, what, and what to do.
type Error struct {
	File      string
	Line, Col int    // 1-based; 0 when unknown
	Expr      string // the expression, as written (shortened)
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Expr != "" {
		b.WriteString(e.Expr)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return oneLine(b.String())
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// File is a DAG file as read: its KubernetesPodOperator tasks. It is not
// safe for concurrent use (values are decoded when first used).
type File struct {
	Path string
	src  []byte
	tree *tree

	Tasks []TaskRef
}

// TaskRef names one KubernetesPodOperator task of the file.
type TaskRef struct {
	ID    string // the task id (with its task group's prefix), "" when not known statically
	DAGID string
	Line  int
	Expr  string // the task_id expression, when ID is ""
	index int
	loop  map[string]any // the loop variables, for a task made in a for loop
}

// Load reads the DAG file at path.
func Load(ctx context.Context, path string, opts Options) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--dag: %w", err)
	}
	return Read(ctx, path, src, opts)
}

// Read reads a DAG file's contents; path is used in messages only.
func Read(ctx context.Context, path string, src []byte, opts Options) (*File, error) {
	out, err := runReader(ctx, path, src, opts)
	if err != nil {
		return nil, err
	}
	t, err := decodeTree(out)
	if err != nil {
		return nil, &Error{File: path, Msg: "the Python reader's answer has an " + err.Error()}
	}
	f := &File{Path: path, src: src, tree: t}
	if t.Error != nil {
		msg := "invalid Python (" + t.Version + "): " + t.Error.Msg
		if t.Error.Line == 0 {
			msg = "Python " + t.Version + ": " + t.Error.Msg
		}
		return nil, &Error{File: path, Line: t.Error.Line, Col: t.Error.Col, Msg: msg}
	}
	f.Tasks = f.taskRefs()
	return f, nil
}

func runReader(ctx context.Context, path string, src []byte, opts Options) ([]byte, error) {
	py := opts.Python
	if py == "" {
		py = os.Getenv("PODTASK_PYTHON")
	}
	if py == "" {
		py = "python3"
	}
	bin, err := exec.LookPath(py)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("--dag needs %s (Python 3.8 or newer) to read the file, without running it; install it or set PODTASK_PYTHON", py)}
	}
	cache := ""
	args := []string{"-I", "-S", "-B", "-c", readerScript}
	if !opts.NoCache && os.Getenv("PODTASK_DAG_CACHE") != "off" {
		if script := readerFile(); script != "" {
			// Imported from a file, so that Python keeps its bytecode: the
			// reader is not compiled again on each run.
			mod := strings.TrimSuffix(filepath.Base(script), ".py")
			args = []string{"-I", "-S", "-c", "import sys; sys.path.insert(0, " + strconv.Quote(filepath.Dir(script)) + "); import " + mod}
		}
		cache = cachePath(bin, src)
		if out, err := os.ReadFile(cache); err == nil && bytes.HasPrefix(out, []byte("H\t")) {
			return out, nil
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// -I: isolated (no user site, no PYTHON* variables, neither the cwd nor
	// the script's directory on the path); -S: no site module; -B: no
	// bytecode written. The answer is ASCII.
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(src)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, &Error{File: path, Msg: fmt.Sprintf("%s did not read the file within %s", py, timeout)}
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("%s could not read the file (Python 3.8 or newer is needed): %s", py, msg)}
	}
	if cache != "" {
		writeCache(cache, stdout.Bytes())
	}
	return stdout.Bytes(), nil
}

// The reader's answer depends only on the file's bytes, the interpreter
// and the reader: it is kept in the user's cache directory under their
// hash, so that running a task of an unchanged file again costs no Python.
const cacheEntries = 64

func cachePath(bin string, src []byte) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(readerScript), []byte(bin), src} {
		h.Write(part)
		h.Write([]byte{0})
	}
	return filepath.Join(dir, "kubectl-podtask", "dag", hex.EncodeToString(h.Sum(nil))[:40])
}

// readerFile is read.py in the user cache directory (written when missing
// or changed), or "" when it cannot be written.
func readerFile() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(readerScript))
	path := filepath.Join(dir, "kubectl-podtask", "dag-reader", "read_"+hex.EncodeToString(sum[:6])+".py")
	if got, err := os.ReadFile(path); err == nil && string(got) == readerScript {
		return path
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return ""
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return ""
	}
	_, werr := tmp.WriteString(readerScript)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
		return ""
	}
	return path
}

// writeCache stores an answer (atomically) and keeps the newest entries only.
func writeCache(path string, out []byte) {
	dir := filepath.Dir(path)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(out)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) <= cacheEntries {
		return
	}
	type aged struct {
		name string
		mod  time.Time
	}
	var all []aged
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			all = append(all, aged{e.Name(), info.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, a := range all[min(cacheEntries, len(all)):] {
		_ = os.Remove(filepath.Join(dir, a.name))
	}
}

// taskRefs lists the tasks with their ids where they are known. A task
// made in `for x in ITEMS:` is one task per item when ITEMS are known.
func (f *File) taskRefs() []TaskRef {
	refs := make([]TaskRef, 0, len(f.tree.Tasks))
	for i := range f.tree.Tasks {
		tk := &f.tree.Tasks[i]
		for _, vars := range f.loopVars(tk) {
			ref := TaskRef{Line: tk.P.line(), index: i, loop: vars}
			ev := f.evaluator(tk.Scope, tk.P.line(), nil)
			ev.loopVars = vars
			if id, err := f.taskID(ev, tk); err == nil {
				ref.ID = id
			} else if n := tk.kwarg("task_id"); n != nil {
				ref.Expr = f.text(n)
			}
			if i, err := f.taskDAG(ev, tk); err == nil {
				ref.DAGID, _ = f.dagID(i)
			}
			refs = append(refs, ref)
		}
	}
	return refs
}

// maxLoopTasks bounds the tasks one call makes in loops.
const maxLoopTasks = 1000

// loopVars are the loop variables of each task a call makes: one empty set
// for a call in no loop (or in a loop whose items are not known, where the
// loop variable is then refused when used).
func (f *File) loopVars(tk *taskEntry) []map[string]any {
	sets := []map[string]any{nil}
	for _, l := range tk.Loops {
		ev := f.evaluator(tk.Scope, tk.P.line(), nil)
		v, err := ev.eval(l.Iter)
		items, ok := v.([]any)
		if err != nil || !ok || len(items) == 0 || len(sets)*len(items) > maxLoopTasks {
			return []map[string]any{nil}
		}
		var next []map[string]any
		for _, set := range sets {
			for _, item := range items {
				m := map[string]any{l.Var: item}
				for k, v := range set {
					m[k] = v
				}
				next = append(next, m)
			}
		}
		sets = next
	}
	return sets
}

// IDs are the known task ids, sorted.
func (f *File) IDs() []string {
	var ids []string
	for _, r := range f.Tasks {
		if r.ID != "" {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// find returns the task with this id; "DAG_ID:TASK_ID" picks among DAGs.
func (f *File) find(id string) (*TaskRef, error) {
	dagID, taskID, scoped := strings.Cut(id, ":")
	if !scoped {
		taskID, dagID = id, ""
	}
	var hits []*TaskRef
	for i := range f.Tasks {
		r := &f.Tasks[i]
		if r.ID == taskID && (!scoped || r.DAGID == dagID) {
			hits = append(hits, r)
		}
	}
	sameDAG := len(hits) > 1
	for _, h := range hits {
		sameDAG = sameDAG && h.DAGID == hits[0].DAGID
	}
	switch {
	case len(hits) == 1:
		return hits[0], nil
	case sameDAG:
		return nil, &Error{File: f.Path, Line: hits[1].Line, Msg: fmt.Sprintf("task %q is made more than once in DAG %q (Airflow fails with DuplicateTaskIdFound)", id, hits[0].DAGID)}
	case len(hits) > 1:
		var where []string
		for _, h := range hits {
			where = append(where, fmt.Sprintf("%s:%s (line %d)", h.DAGID, h.ID, h.Line))
		}
		return nil, &Error{File: f.Path, Msg: fmt.Sprintf("task %q is in more than one DAG: %s; give --task-id DAG_ID:TASK_ID", id, strings.Join(where, ", "))}
	}
	ids := f.IDs()
	if len(ids) == 0 {
		return nil, &Error{File: f.Path, Msg: fmt.Sprintf("no KubernetesPodOperator task %q: the file has no KubernetesPodOperator task whose task_id is known without running it", id)}
	}
	return nil, &Error{File: f.Path, Msg: fmt.Sprintf("no KubernetesPodOperator task %q; its tasks: %s", id, strings.Join(ids, ", "))}
}

// text is the source of a node, on one line, shortened.
func (f *File) text(n *node) string {
	if n == nil {
		return ""
	}
	s := f.slice(n.P)
	s = oneLine(s)
	if utf8.RuneCountInString(s) > 72 {
		r := []rune(s)
		s = string(r[:69]) + "..."
	}
	return s
}

func (f *File) slice(p pos) string {
	if len(p) < 4 {
		return ""
	}
	start, end := f.offset(p[0], p[1]), f.offset(p[2], p[3])
	if start < 0 || end < start || end > len(f.src) {
		return ""
	}
	return string(f.src[start:end])
}

// offset turns a line and a UTF-8 byte column into an offset in src.
func (f *File) offset(line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(f.src[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	if off+col > len(f.src) {
		return -1
	}
	return off + col
}

// column is the 1-based column, in characters, of a byte column.
func (f *File) column(line, col int) int {
	off := f.offset(line, 0)
	if off < 0 || off+col > len(f.src) {
		return col + 1
	}
	return utf8.RuneCount(f.src[off:off+col]) + 1
}

// errAt is a refusal at a node.
func (f *File) errAt(n *node, msg string) *Error {
	if n == nil {
		return &Error{File: f.Path, Msg: msg}
	}
	return &Error{File: f.Path, Line: n.P.line(), Col: f.column(n.P.line(), n.P.col()), Expr: f.text(n), Msg: msg}
}

// IsRefusal says whether err is an *Error of this package.
func IsRefusal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

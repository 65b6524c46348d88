// Package archive unpacks tar streams that come from a pod, which are
// untrusted: an entry that would reach outside the destination folder (a
// "..", an absolute name, a link pointing out, a path through a link), a
// device file, or more content than the sender announced is refused with an
// error naming the entry, and nothing is ever written outside the
// destination. It is pure: it touches only the destination folder.
package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// Options say how to unpack.
type Options struct {
	// Overwrite allows replacing existing files (never following a link in
	// their place); without it an existing file is an error.
	Overwrite bool
	// Announced is the number of content bytes the sender said it would
	// send; more is refused. Negative means not announced.
	Announced int64
	// Limit bounds the content bytes whatever was announced; 0 means none.
	Limit int64
	// Written, when not nil, holds the names an earlier attempt of the
	// same copy wrote: they may be replaced, and the names written now are
	// added. A retried download passes the same map.
	Written map[string]bool
	// Rename maps the top-level name of the archive (a single file) to
	// another name, as cp does when the destination names the file itself.
	Rename map[string]string
	// Progress is called with the content bytes written so far.
	Progress func(written int64)
}

// Stats say what was unpacked.
type Stats struct {
	Files int   `json:"files"`
	Dirs  int   `json:"dirs"`
	Links int   `json:"links"`
	Bytes int64 `json:"bytes"`
}

// EntryError is a refused or failed entry.
type EntryError struct {
	Entry  string // the entry's name as it is in the archive
	Reason string
	Err    error // the underlying error, if any (io.ErrUnexpectedEOF: the stream ended early)
	fatal  bool  // the stream itself cannot be trusted further
}

// Unwrap gives the underlying error.
func (e *EntryError) Unwrap() error { return e.Err }

func (e *EntryError) Error() string {
	return fmt.Sprintf("archive entry %q refused: %s", e.Entry, e.Reason)
}

// RefusedError lists every entry that was refused: a bad name, link or
// type is skipped and the others are unpacked; a stream that brings more
// than it announced stops there.
type RefusedError struct {
	Entries []*EntryError
}

func (e *RefusedError) Error() string {
	if len(e.Entries) == 1 {
		return e.Entries[0].Error()
	}
	parts := make([]string, len(e.Entries))
	for i, en := range e.Entries {
		parts[i] = fmt.Sprintf("%q (%s)", en.Entry, en.Reason)
	}
	return fmt.Sprintf("%d archive entries refused: %s", len(e.Entries), strings.Join(parts, "; "))
}

// Unwrap gives the entries, for errors.As.
func (e *RefusedError) Unwrap() []error {
	out := make([]error, len(e.Entries))
	for i, en := range e.Entries {
		out[i] = en
	}
	return out
}

// ExistsError says an entry would replace an existing file.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exists; remove it or pass --overwrite", e.Path)
}

// Extract unpacks the tar stream r into the folder dest, which it creates
// when missing. The entries are checked one by one: a bad one is skipped
// and named in the *RefusedError returned at the end; content beyond what
// was announced, a short entry, or data after the end of the archive stop
// the extraction there. Whatever was written is inside dest.
func Extract(r io.Reader, dest string, opts Options) (Stats, error) {
	var st Stats
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return st, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return st, err
	}
	defer root.Close()

	seen := opts.Written
	if seen == nil {
		seen = map[string]bool{}
	}
	x := &extractor{root: root, dest: dest, opts: opts, seen: seen}
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.st, fmt.Errorf("reading the archive after %d bytes: %w", cr.n, err)
		}
		if err := x.entry(hdr, tr); err != nil {
			var ee *EntryError
			if !errors.As(err, &ee) {
				return x.st, err
			}
			x.refused = append(x.refused, ee)
			if ee.fatal {
				return x.st, x.refusedErr()
			}
		}
	}
	// Anything after the end-of-archive blocks but zero padding is not
	// part of what was announced.
	if n, err := nonZero(cr); err != nil {
		return x.st, err
	} else if n {
		x.refused = append(x.refused, &EntryError{Entry: "(after the end of the archive)", Reason: "more bytes than the archive holds", fatal: true})
		return x.st, x.refusedErr()
	}
	if err := x.finishDirs(); err != nil {
		return x.st, err
	}
	if len(x.refused) > 0 {
		return x.st, x.refusedErr()
	}
	return x.st, nil
}

func (x *extractor) refusedErr() error {
	_ = x.finishDirs()
	return &RefusedError{Entries: x.refused}
}

type extractor struct {
	root *os.Root
	dest string
	opts Options
	st   Stats
	seen map[string]bool // names written by this archive
	dirs []dirMeta

	refused []*EntryError
}

type dirMeta struct {
	name  string
	mode  fs.FileMode
	mtime time.Time
}

// Clean checks an entry name and returns it relative and slash-separated,
// or an error saying why it is refused.
func Clean(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.ContainsRune(name, 0) {
		return "", errors.New("a NUL byte in its name")
	}
	if strings.Contains(name, `\`) {
		return "", errors.New(`a backslash in its name`)
	}
	if path.IsAbs(name) {
		return "", errors.New("an absolute path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New("a '..' in its path")
		}
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errors.New("a path outside the destination")
	}
	return c, nil
}

// linkInside tells whether a symbolic link at name with target stays
// inside the destination, read lexically (the parents of name are known to
// be real folders).
func linkInside(name, target string) bool {
	if target == "" || path.IsAbs(target) || strings.ContainsRune(target, 0) {
		return false
	}
	// A ".." after a name would climb out of whatever that name is, and it
	// may be a link: only leading ones, resolved against real folders, count.
	leading := true
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == ".." && !leading:
			return false
		case part != ".." && part != "." && part != "":
			leading = false
		}
	}
	joined := path.Join(path.Dir(name), target)
	return joined != ".." && !strings.HasPrefix(joined, "../")
}

func (x *extractor) entry(hdr *tar.Header, content io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name, err := Clean(hdr.Name)
	if err != nil {
		return &EntryError{Entry: hdr.Name, Reason: err.Error()}
	}
	if to, ok := x.opts.Rename[name]; ok && hdr.Typeflag != tar.TypeDir {
		name = to
	}
	bad := func(format string, a ...any) error {
		return &EntryError{Entry: hdr.Name, Reason: fmt.Sprintf(format, a...)}
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return bad("not a folder, yet it names the destination itself")
		}
		return nil
	}
	if err := x.checkParents(name); err != nil {
		return bad("%v", err)
	}
	mode := fs.FileMode(hdr.Mode).Perm()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if fi, err := x.root.Lstat(name); err == nil {
			if !fi.IsDir() {
				return bad("a folder in the place of an existing %s", kind(fi))
			}
		} else if err := x.root.Mkdir(name, 0o700); err != nil {
			return bad("%v", err)
		}
		x.seen[name] = true
		x.dirs = append(x.dirs, dirMeta{name, mode, hdr.ModTime})
		x.st.Dirs++
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		if hdr.Size < 0 {
			return bad("a negative size")
		}
		if err := x.budget(hdr.Size); err != nil {
			return &EntryError{Entry: hdr.Name, Reason: err.Error(), fatal: true}
		}
		if err := x.replace(name); err != nil {
			return err
		}
		f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return bad("%v", err)
		}
		// Ours from now on: a later attempt replaces it even when this one
		// is cut short in the middle of the file.
		x.seen[name] = true
		n, err := io.Copy(f, &progressReader{r: io.LimitReader(content, hdr.Size+1), x: x})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return &EntryError{Entry: hdr.Name, Reason: err.Error(), Err: err, fatal: true}
		}
		if n != hdr.Size {
			return &EntryError{Entry: hdr.Name, Reason: fmt.Sprintf("its content is %d bytes, not the %d its header announces", n, hdr.Size), fatal: true}
		}
		if err := x.root.Chmod(name, mode); err != nil {
			return bad("%v", err)
		}
		_ = x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
		x.seen[name] = true
		x.st.Files++
	case tar.TypeSymlink:
		if !linkInside(name, hdr.Linkname) {
			return bad("a symbolic link to %q, outside the destination", hdr.Linkname)
		}
		if err := x.replace(name); err != nil {
			return err
		}
		if err := x.root.Symlink(hdr.Linkname, name); err != nil {
			return bad("%v", err)
		}
		x.seen[name] = true
		x.st.Links++
	case tar.TypeLink:
		target, err := Clean(hdr.Linkname)
		if err != nil || target == "." {
			return bad("a hard link to %q, outside the destination", hdr.Linkname)
		}
		// Only to a regular file this archive wrote: never to one that was there.
		fi, lerr := x.root.Lstat(target)
		if !x.seen[target] || lerr != nil || !fi.Mode().IsRegular() {
			return bad("a hard link to %q, which is not a file of this archive", hdr.Linkname)
		}
		if err := x.replace(name); err != nil {
			return err
		}
		if err := x.root.Link(target, name); err != nil {
			return bad("%v", err)
		}
		x.seen[name] = true
		x.st.Links++
	case tar.TypeChar, tar.TypeBlock:
		return bad("a device file")
	case tar.TypeFifo:
		return bad("a named pipe")
	default:
		return bad("an entry of type %q, which is not a file, folder or link", string(hdr.Typeflag))
	}
	return nil
}

// checkParents refuses a name whose folders are links or files: writing
// through a link is how archives escape.
func (x *extractor) checkParents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		fi, err := x.root.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			// Folders an archive does not list are made for it.
			if err := x.root.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("its folder %q is a symbolic link", p)
		}
		if !fi.IsDir() {
			return fmt.Errorf("its folder %q is a %s", p, kind(fi))
		}
	}
	return nil
}

// replace makes room for name: nothing there, or (with Overwrite, or when
// this archive wrote it) removes what is there, never following a link.
func (x *extractor) replace(name string) error {
	fi, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &EntryError{Entry: name, Reason: err.Error()}
	}
	if fi.IsDir() {
		return &EntryError{Entry: name, Reason: "a file in the place of an existing folder"}
	}
	if !x.opts.Overwrite && !x.seen[name] {
		return &ExistsError{Path: path.Join(x.dest, name)}
	}
	if err := x.root.Remove(name); err != nil {
		return &EntryError{Entry: name, Reason: err.Error()}
	}
	return nil
}

func (x *extractor) budget(size int64) error {
	total := x.st.Bytes + size
	if x.opts.Announced >= 0 && total > x.opts.Announced {
		return fmt.Errorf("more bytes than announced (%d announced, this entry brings the total to %d)", x.opts.Announced, total)
	}
	if x.opts.Limit > 0 && total > x.opts.Limit {
		return fmt.Errorf("more than the limit of %d bytes", x.opts.Limit)
	}
	return nil
}

// finishDirs sets the folders' modes and times last, deepest first, so that
// a read-only folder does not stop its own content from being written.
func (x *extractor) finishDirs() error {
	sort.SliceStable(x.dirs, func(i, j int) bool { return len(x.dirs[i].name) > len(x.dirs[j].name) })
	for _, d := range x.dirs {
		if err := x.root.Chmod(d.name, d.mode); err != nil {
			return &EntryError{Entry: d.name, Reason: err.Error()}
		}
		_ = x.root.Chtimes(d.name, d.mtime, d.mtime)
	}
	return nil
}

func kind(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "folder"
	case m.IsRegular():
		return "file"
	default:
		return "special file"
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type progressReader struct {
	r io.Reader
	x *extractor
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.x.st.Bytes += int64(n)
	if n > 0 && p.x.opts.Progress != nil {
		p.x.opts.Progress(p.x.st.Bytes)
	}
	return n, err
}

// nonZero reads what is left and tells whether any of it is not zero.
func nonZero(r io.Reader) (bool, error) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return true, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type ent struct {
	name, link, body string
	typ              byte
	mode             int64
	size             int64 // when not len(body)
}

func mkTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func extract(t *testing.T, data []byte, opts Options) (string, string, Stats, error) {
	t.Helper()
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	if opts.Announced == 0 {
		opts.Announced = -1
	}
	st, err := Extract(bytes.NewReader(data), dest, opts)
	return base, dest, st, err
}

// outside lists what is in base besides dest: it must stay empty.
func outside(t *testing.T, base string) []string {
	var out []string
	filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(base, p)
		if rel != "." && rel != "dest" && !strings.HasPrefix(rel, "dest/") {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestExtractGood(t *testing.T) {
	data := mkTar(t,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "./sub/", typ: tar.TypeDir, mode: 0o550},
		ent{name: "./sub/run.sh", typ: tar.TypeReg, body: "echo hi\n", mode: 0o755},
		ent{name: "./deep/er/file", typ: tar.TypeReg, body: "x"},
		ent{name: "./sub/link", typ: tar.TypeSymlink, link: "../deep/er/file"},
		ent{name: "./hard", typ: tar.TypeLink, link: "./deep/er/file"},
	)
	_, dest, st, err := extract(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Dirs != 1 || st.Links != 2 || st.Bytes != 9 {
		t.Fatalf("stats %+v", st)
	}
	fi, err := os.Stat(filepath.Join(dest, "sub/run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("run.sh: %v %v", fi, err)
	}
	if fi, _ := os.Stat(filepath.Join(dest, "sub")); fi.Mode().Perm() != 0o550 {
		t.Fatalf("sub mode %v", fi.Mode())
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "sub/link")); string(b) != "x" {
		t.Fatalf("link reads %q", b)
	}
	os.Chmod(filepath.Join(dest, "sub"), 0o755)
}

func TestExtractRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ents  []ent
		entry string
		why   string
	}{
		{"dotdot", []ent{{name: "../evil", typ: tar.TypeReg, body: "x"}}, "../evil", "'..'"},
		{"dotdot inside", []ent{{name: "a/../../evil", typ: tar.TypeReg, body: "x"}}, "a/../../evil", "'..'"},
		{"absolute", []ent{{name: "/tmp/evil", typ: tar.TypeReg, body: "x"}}, "/tmp/evil", "absolute"},
		{"symlink absolute", []ent{{name: "l", typ: tar.TypeSymlink, link: "/etc"}}, "l", "outside"},
		{"symlink up", []ent{{name: "a/l", typ: tar.TypeSymlink, link: "../../x"}}, "a/l", "outside"},
		{"symlink through link", []ent{
			{name: "s", typ: tar.TypeSymlink, link: "."},
			{name: "l", typ: tar.TypeSymlink, link: "s/.."}}, "l", "outside"},
		{"write through link", []ent{
			{name: "s", typ: tar.TypeSymlink, link: "."},
			{name: "s/x", typ: tar.TypeReg, body: "x"}}, "s/x", "symbolic link"},
		{"device", []ent{{name: "dev", typ: tar.TypeChar}}, "dev", "device"},
		{"block", []ent{{name: "blk", typ: tar.TypeBlock}}, "blk", "device"},
		{"fifo", []ent{{name: "p", typ: tar.TypeFifo}}, "p", "pipe"},
		{"hard link out", []ent{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}}, "h", "hard link"},
		{"hard link to unknown", []ent{{name: "h", typ: tar.TypeLink, link: "nothere"}}, "h", "hard link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _, _, err := extract(t, mkTar(t, tc.ents...), Options{})
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("want an EntryError, got %v", err)
			}
			if ee.Entry != tc.entry || !strings.Contains(ee.Reason, tc.why) {
				t.Fatalf("got %v", err)
			}
			if o := outside(t, base); len(o) > 0 {
				t.Fatalf("written outside: %v", o)
			}
		})
	}
}

func TestExtractAnnounced(t *testing.T) {
	data := mkTar(t, ent{name: "a", typ: tar.TypeReg, body: "12345"}, ent{name: "b", typ: tar.TypeReg, body: "678"})
	_, _, _, err := extract(t, data, Options{Announced: 6})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Entry != "b" || !strings.Contains(ee.Reason, "more bytes than announced") {
		t.Fatalf("got %v", err)
	}
	if _, _, _, err := extract(t, data, Options{Announced: 8}); err != nil {
		t.Fatal(err)
	}
	// Data after the end of the archive.
	trailing := append(append([]byte{}, data...), []byte("more")...)
	if _, _, _, err := extract(t, trailing, Options{}); err == nil || !strings.Contains(err.Error(), "more bytes") {
		t.Fatalf("trailing data: %v", err)
	}
	// Short content.
	short := data[:512+2]
	if _, _, _, err := extract(t, short, Options{}); err == nil {
		t.Fatal("short content accepted")
	}
}

func TestExtractOverwrite(t *testing.T) {
	base := t.TempDir()
	dest := filepath.Join(base, "dest")
	os.MkdirAll(dest, 0o755)
	os.WriteFile(filepath.Join(dest, "a"), []byte("old"), 0o644)
	secret := filepath.Join(base, "secret")
	os.WriteFile(secret, []byte("keep"), 0o644)
	os.Symlink(secret, filepath.Join(dest, "b"))
	data := mkTar(t, ent{name: "a", typ: tar.TypeReg, body: "new"}, ent{name: "b", typ: tar.TypeReg, body: "new"})
	_, err := Extract(bytes.NewReader(data), dest, Options{Announced: -1})
	var ex *ExistsError
	if !errors.As(err, &ex) || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("got %v", err)
	}
	if _, err := Extract(bytes.NewReader(data), dest, Options{Announced: -1, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(secret); string(b) != "keep" {
		t.Fatalf("overwrite followed a link: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "b")); string(b) != "new" {
		t.Fatalf("b = %q", b)
	}
}

func TestExtractRename(t *testing.T) {
	data := mkTar(t, ent{name: "report.csv", typ: tar.TypeReg, body: "a,b"})
	_, dest, _, err := extract(t, data, Options{Rename: map[string]string{"report.csv": "out.csv"}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "out.csv")); string(b) != "a,b" {
		t.Fatalf("got %q", b)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(mkTar(f, ent{name: "a/b", typ: tar.TypeReg, body: "x"}, ent{name: "l", typ: tar.TypeSymlink, link: "a/b"}))
	f.Add(mkTar(f, ent{name: "s", typ: tar.TypeSymlink, link: "."}, ent{name: "s/x", typ: tar.TypeReg, body: "x"}))
	f.Add(mkTar(f, ent{name: "../x", typ: tar.TypeReg, body: "x"}))
	f.Add(mkTar(f, ent{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dest := filepath.Join(base, "dest")
		Extract(bytes.NewReader(data), dest, Options{Announced: 1 << 20, Limit: 1 << 20})
		// Nothing outside dest, and every link inside dest points inside.
		filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(base, p)
			if rel != "." && rel != "dest" && !strings.HasPrefix(rel, "dest/") {
				t.Fatalf("written outside the destination: %s", rel)
			}
			if fi.Mode()&os.ModeSymlink != 0 {
				target, _ := filepath.EvalSymlinks(p)
				if target != "" && !strings.HasPrefix(target+"/", dest+"/") && target != dest {
					t.Fatalf("link %s resolves outside: %s", rel, target)
				}
			}
			if fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}

// Every bad entry is named; the good ones are unpacked; the stream stops
// where it brings more than announced.
func TestExtractNamesEveryBadEntry(t *testing.T) {
	data := mkTar(t,
		ent{name: "ok.txt", typ: tar.TypeReg, body: "ok"},
		ent{name: "../evil.txt", typ: tar.TypeReg, body: "evil"},
		ent{name: "/abs.txt", typ: tar.TypeReg, body: "abs"},
		ent{name: "out", typ: tar.TypeSymlink, link: "../../etc"},
		ent{name: "null", typ: tar.TypeChar},
		ent{name: "big", typ: tar.TypeReg, body: "0123456789"},
		ent{name: "after", typ: tar.TypeReg, body: "x"},
	)
	base, dest, _, err := extract(t, data, Options{Announced: 5})
	var re *RefusedError
	if !errors.As(err, &re) || len(re.Entries) != 5 {
		t.Fatalf("got %v", err)
	}
	for _, name := range []string{"../evil.txt", "/abs.txt", "out", "null", "big"} {
		if !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("%s not named in %v", name, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "ok.txt")); string(b) != "ok" {
		t.Fatalf("ok.txt = %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dest, "after")); err == nil {
		t.Fatal("an entry after the one beyond the announced size was written")
	}
	if o := outside(t, base); len(o) > 0 {
		t.Fatalf("written outside: %v", o)
	}
}

// A stream cut in the middle of a file, read again with the same Written
// map (as a retried download is), replaces the partial file it left.
func TestExtractRetryReplacesAPartialFile(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "dest")
	big := strings.Repeat("x", 64<<10)
	data := mkTar(t, ent{name: "small", typ: tar.TypeReg, body: "ok"}, ent{name: "big", typ: tar.TypeReg, body: big})
	written := map[string]bool{}
	cut := data[:len(data)/2]
	if _, err := Extract(bytes.NewReader(cut), dest, Options{Announced: -1, Written: written}); err == nil {
		t.Fatal("a cut archive extracted without an error")
	}
	if _, err := os.Stat(filepath.Join(dest, "big")); err != nil {
		t.Fatalf("the cut left no partial file to replace (the test needs one): %v", err)
	}
	if _, err := Extract(bytes.NewReader(data), dest, Options{Announced: -1, Written: written}); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "big")); string(b) != big {
		t.Fatalf("big has %d bytes, want %d", len(b), len(big))
	}
}

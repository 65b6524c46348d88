package dag

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fmtSscanf(s string, a, b *int) (int, error) { return fmt.Sscanf(s, "%d.%d", a, b) }

// FuzzRead: on any file, the reader answers in bounded time with tasks or
// one error line; every task gives a task file or one error line; nothing
// panics.
func FuzzRead(f *testing.F) {
	requirePython(f)
	files, _ := filepath.Glob("testdata/*.py")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		file, err := Read(ctx, "f.py", src, Options{Timeout: 20 * time.Second, NoCache: true})
		if time.Since(start) > 25*time.Second {
			t.Fatalf("reading took %s", time.Since(start))
		}
		if err != nil {
			checkOneLine(t, err)
			return
		}
		for _, id := range file.IDs() {
			task, err := file.Task(id, TaskOptions{})
			if err != nil {
				checkOneLine(t, err)
				continue
			}
			if len(task.TaskFile) == 0 || task.Task == nil {
				t.Fatalf("task %s: no task file and no error", id)
			}
		}
	})
}

func checkOneLine(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not a *dag.Error: %v", err, err)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") || !strings.HasPrefix(msg, "f.py") {
		t.Fatalf("not one line about f.py: %q", msg)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// line is one line a process wrote, with the local time it was read.
type line struct {
	At   time.Time
	Text string
}

// proc says how to run one measured process.
type proc struct {
	Name    string
	Args    []string
	Env     []string  // added to the harness's environment
	Stdin   io.Reader // nil: /dev/null
	Timeout time.Duration
	// OnStdout, when set, sees every stdout line as it is read (no copy kept).
	OnStdout func(at time.Time, b []byte)
}

// procResult is what one run came to.
type procResult struct {
	Start, End time.Time
	Wall       time.Duration
	Stdout     string // when OnStdout is nil
	Stderr     []line // every stderr line, timestamped as read
	ExitCode   int
	MaxRSSKB   int64         // peak RSS of the process (its VmHWM; the kernel's maxrss when that could not be read)
	CPU        time.Duration // user + system time
}

func (r *procResult) stderrText() string {
	var b strings.Builder
	for _, l := range r.Stderr {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

// firstStderr returns the first stderr line containing s.
func (r *procResult) firstStderr(s string) (line, bool) {
	for _, l := range r.Stderr {
		if strings.Contains(l.Text, s) {
			return l, true
		}
	}
	return line{}, false
}

// run starts p, reads its output line by line with timestamps, and waits.
// A non-zero exit is not an error; failing to start or a timeout is.
func run(ctx context.Context, p proc) (*procResult, error) {
	if p.Timeout == 0 {
		p.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Name, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdin = p.Stdin
	cmd.WaitDelay = 2 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	res := &procResult{}
	var wg sync.WaitGroup
	var outBuf bytes.Buffer
	wg.Add(2)
	go func() {
		defer wg.Done()
		br := bufio.NewReaderSize(stdout, 1<<20)
		for {
			b, err := br.ReadSlice('\n')
			if len(b) > 0 {
				if p.OnStdout != nil {
					p.OnStdout(time.Now(), bytes.TrimSuffix(b, []byte{'\n'}))
				} else {
					outBuf.Write(b)
				}
			}
			if err == bufio.ErrBufferFull {
				continue
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			res.Stderr = append(res.Stderr, line{At: time.Now(), Text: sc.Text()})
		}
	}()
	res.Start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	hwm := watchHWM(cmd.Process.Pid)
	wg.Wait()
	err = cmd.Wait()
	res.End = time.Now()
	res.Wall = res.End.Sub(res.Start)
	res.Stdout = outBuf.String()
	// The kernel's maxrss of a child started by vfork counts the parent's
	// pages too (the benchmark's, when it holds large buffers), so the
	// process's own high-water mark, read while it runs, comes first.
	if kb := hwm(); kb > 0 {
		res.MaxRSSKB = kb
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSSKB = ru.Maxrss
	}
	res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res.ExitCode = cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s %s: timed out after %s", p.Name, strings.Join(p.Args, " "), p.Timeout)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		return res, err
	}
	return res, nil
}

// mustRun runs p and fails unless it exits 0.
func mustRun(ctx context.Context, p proc) (*procResult, error) {
	r, err := run(ctx, p)
	if err != nil {
		return r, err
	}
	if r.ExitCode != 0 {
		return r, fmt.Errorf("%s %s: exit %d: %s%s", p.Name, strings.Join(p.Args, " "), r.ExitCode,
			tail(r.Stdout, 600), tail(r.stderrText(), 600))
	}
	return r, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// watchHWM reads the process's VmHWM (its peak resident set since exec)
// from /proc every 20 ms until it exits; the returned function stops the
// watch and gives the highest value seen, in KiB (0 when none was read).
func watchHWM(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
					mu.Lock()
					peak = max(peak, kb)
					mu.Unlock()
				}
			}
		}
	}
	go func() {
		defer close(stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

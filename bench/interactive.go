package main

// interactive.go: P7, the interactive task against kubectl run -it / -i:
// time to a usable prompt, keystroke round trip, and stdin throughput.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ptySession is a command in a private tmux server's terminal whose output
// is read, timestamped, through pipe-pane.
type ptySession struct {
	sock, dir string

	mu      sync.Mutex
	out     []byte
	at      []time.Time // at[i]: when out[i] was read
	changed chan struct{}
}

// startPty starts argv in a 100×30 tmux terminal, held until go is called.
func startPty(ctx context.Context, sock string, env []string, argv []string) (*ptySession, func() time.Time, error) {
	dir, err := os.MkdirTemp("", "podtask-bench-pty")
	if err != nil {
		return nil, nil, err
	}
	s := &ptySession{sock: sock, dir: dir, changed: make(chan struct{})}
	gate, outFifo := filepath.Join(dir, "gate"), filepath.Join(dir, "out")
	for _, f := range []string{gate, outFifo} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			return nil, nil, err
		}
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	words := []string{"env"}
	for _, e := range env {
		words = append(words, q(e))
	}
	for _, a := range argv {
		words = append(words, q(a))
	}
	script := "read x < " + q(gate) + "; " + strings.Join(words, " ") + "; echo; echo BENCH-EXIT=$?; sleep 60"
	if out, err := s.tmux(ctx, "new-session", "-d", "-x", "100", "-y", "30", script); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("tmux: %v: %s", err, out)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := os.Open(outFifo)
		opened <- err
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 64*1024)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				now := time.Now()
				s.mu.Lock()
				s.out = append(s.out, buf[:n]...)
				for i := 0; i < n; i++ {
					s.at = append(s.at, now)
				}
				close(s.changed)
				s.changed = make(chan struct{})
				s.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	if out, err := s.tmux(ctx, "pipe-pane", "-o", "cat > "+q(outFifo)); err != nil {
		s.close()
		return nil, nil, fmt.Errorf("tmux pipe-pane: %v: %s", err, out)
	}
	if err := <-opened; err != nil {
		s.close()
		return nil, nil, err
	}
	start := func() time.Time {
		f, err := os.OpenFile(gate, os.O_WRONLY, 0)
		if err != nil {
			return time.Time{}
		}
		t := time.Now()
		_, _ = f.Write([]byte("\n"))
		f.Close()
		return t
	}
	return s, start, nil
}

func (s *ptySession) tmux(ctx context.Context, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, "tmux", append([]string{"-L", s.sock}, args...)...).CombinedOutput()
}

func (s *ptySession) keys(ctx context.Context, keys ...string) error {
	_, err := s.tmux(ctx, append([]string{"send-keys"}, keys...)...)
	return err
}

// waitFor waits until one of wants appears at or after offset from; it
// returns which, the offset just past it, and when its last byte was read.
func (s *ptySession) waitFor(ctx context.Context, from int, d time.Duration, wants ...string) (string, int, time.Time, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		if from <= len(s.out) {
			best, bi := "", -1
			for _, w := range wants {
				if i := bytes.Index(s.out[from:], []byte(w)); i >= 0 && (bi < 0 || i < bi) {
					best, bi = w, i
				}
			}
			if bi >= 0 {
				end := from + bi + len(best)
				at := s.at[end-1]
				s.mu.Unlock()
				return best, end, at, nil
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return "", 0, time.Time{}, ctx.Err()
		case <-deadline.C:
			s.mu.Lock()
			seen := string(s.out)
			s.mu.Unlock()
			return "", 0, time.Time{}, fmt.Errorf("%q never appeared; the terminal showed %q", wants, tail(seen, 300))
		case <-ch:
		}
	}
}

func (s *ptySession) length() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out)
}

func (s *ptySession) close() {
	_, _ = s.tmux(context.Background(), "kill-server")
	os.RemoveAll(s.dir)
}

const benchPrompt = "/ # "

// shell is one tool's shell session in a terminal.
type shell struct {
	s        *ptySession
	start    func() time.Time
	t0       time.Time
	toPrompt time.Duration
	prompt   time.Time // when the prompt was read
	off      int
	rtt      sample
}

// waitPrompt waits for the shell's prompt. kubectl's own hint is answered
// with Enter at once, as it asks.
func (sh *shell) waitPrompt(ctx context.Context) error {
	which, off, at, err := sh.s.waitFor(ctx, 0, 2*time.Minute, benchPrompt, "If you don't see a command prompt")
	if err != nil {
		return err
	}
	if which != benchPrompt {
		if err := sh.s.keys(ctx, "Enter"); err != nil {
			return err
		}
		if _, off, at, err = sh.s.waitFor(ctx, off, 30*time.Second, benchPrompt); err != nil {
			return err
		}
	}
	sh.off, sh.prompt, sh.toPrompt = off, at, at.Sub(sh.t0)
	return nil
}

// key types one key and records the time until its echo is read back.
func (sh *shell) key(ctx context.Context) error {
	from := sh.s.length()
	sent := time.Now()
	if err := sh.s.keys(ctx, "-l", "a"); err != nil {
		return err
	}
	_, _, echoed, err := sh.s.waitFor(ctx, from, 10*time.Second, "a")
	if err != nil {
		return err
	}
	sh.rtt = append(sh.rtt, ms(echoed.Sub(sent)))
	return nil
}

func (sh *shell) exit(ctx context.Context) error {
	_ = sh.s.keys(ctx, "C-u")
	_ = sh.s.keys(ctx, "-l", "exit 0")
	_ = sh.s.keys(ctx, "Enter")
	if _, _, _, err := sh.s.waitFor(ctx, sh.off, time.Minute, "BENCH-EXIT=0"); err != nil {
		return fmt.Errorf("after exit: %w", err)
	}
	return nil
}

// shellRound runs podtask's and kubectl's shells side by side, released at
// the same moment, then types keys into them by turns, so that both share
// the machine's load alike.
func (b *bench) shellRound(ctx context.Context, i, keys int, argvs ...[]string) ([]*shell, error) {
	var shells []*shell
	defer func() {
		for _, sh := range shells {
			sh.s.close()
		}
	}()
	for j, argv := range argvs {
		s, start, err := startPty(ctx, fmt.Sprintf("%s-%d-%d", b.id, i, j), b.env, argv)
		if err != nil {
			return nil, err
		}
		shells = append(shells, &shell{s: s, start: start})
	}
	var wg sync.WaitGroup
	for _, sh := range shells {
		wg.Add(1)
		go func() { defer wg.Done(); sh.t0 = sh.start() }()
	}
	wg.Wait()
	for _, sh := range shells {
		if err := sh.waitPrompt(ctx); err != nil {
			return nil, err
		}
	}
	time.Sleep(300 * time.Millisecond)
	for k := 0; k < keys; k++ {
		// Who types first changes every turn: the first key after a pause
		// meets a machine that has gone idle.
		for j := range shells {
			sh := shells[(j+k)%len(shells)]
			if err := sh.key(ctx); err != nil {
				return nil, err
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, sh := range shells {
		if err := sh.exit(ctx); err != nil {
			return nil, err
		}
	}
	return shells, nil
}

// stdinRound sends size random bytes through sha256sum in a pod: the rate
// is from the moment the first MiB was taken (the pipe holds 64 KiB, so the
// tool is reading by then) to the moment the sum was read on stdout.
func (b *bench) stdinRound(ctx context.Context, data []byte, sum string, p proc) (float64, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	firstCh := make(chan time.Time, 1)
	go func() {
		defer w.Close()
		for off := 0; off < len(data); off += 1 << 20 {
			end := min(off+1<<20, len(data))
			if _, err := w.Write(data[off:end]); err != nil {
				return
			}
			if off == 0 {
				firstCh <- time.Now()
			}
		}
	}()
	var got time.Time
	var out string
	p.Stdin, p.Timeout = r, 5*time.Minute
	p.OnStdout = func(at time.Time, line []byte) {
		if bytes.Contains(line, []byte(sum)) {
			got = at
		}
		out += string(line) + "\n"
	}
	res, err := run(ctx, p)
	r.Close()
	if err != nil {
		return 0, err
	}
	var first time.Time
	select {
	case first = <-firstCh:
	default:
		return 0, fmt.Errorf("%s took no input", p.Name)
	}
	if got.IsZero() || res.ExitCode != 0 {
		return 0, fmt.Errorf("%s: exit %d, stdout %q lacks the sum %s; stderr %s", p.Name, res.ExitCode, tail(out, 200), sum, tail(res.stderrText(), 300))
	}
	return float64(len(data)-1<<20) / 1e6 / got.Sub(first).Seconds(), nil
}

func (b *bench) p7Interactive(ctx context.Context) error {
	const rounds, keys = 5, 30
	var ptPrompt, kPrompt, ptFloor, ptRTT, kRTT sample
	for i := 0; i < rounds; i++ {
		name, kname := fmt.Sprintf("%s-it%d", b.id, i), fmt.Sprintf("%s-kit%d", b.id, i)
		shells, err := b.shellRound(ctx, i, keys,
			[]string{b.plugin, "run", "-it", "--name", name, "--random-name-suffix=false", "--image", image, "--", "sh"},
			[]string{b.kubectl, "run", kname, "-it", "--rm", "--restart=Never", "--image", image, "--", "sh"})
		if err != nil {
			return fmt.Errorf("run -it: %w", err)
		}
		pt, k := shells[0], shells[1]
		ptPrompt, ptRTT = append(ptPrompt, secs(pt.toPrompt)), append(ptRTT, pt.rtt...)
		kPrompt, kRTT = append(kPrompt, secs(k.toPrompt)), append(kRTT, k.rtt...)
		if seen := b.w.get(name); seen != nil && !seen.Running["base"].IsZero() {
			ptFloor = append(ptFloor, ms(pt.prompt.Sub(seen.Running["base"])))
		}
	}
	r := ptPrompt.median() / kPrompt.median()
	b.rows = append(b.rows, row{Metric: "P7 time to a usable prompt: `run -it -- sh` against `kubectl run -it --rm --restart=Never -- sh`",
		Podtask: ptPrompt.summary("%.2f", "s"), Kubectl: kPrompt.summary("%.2f", "s"), Ratio: fmt.Sprintf("%.2f×", r),
		Goal: "≤ 0.9×", Holds: yesNo(r <= 0.9), N: fmt.Sprintf("%d / %d", len(ptPrompt), len(kPrompt))})
	b.rows = append(b.rows, row{Metric: "P7 prompt after the API server records the base container running (negative: before)",
		Podtask: ptFloor.summary("%.0f", "ms"), Goal: "≤ 150 ms", Holds: yesNo(len(ptFloor) > 0 && ptFloor.max() <= 150), N: itoa(len(ptFloor))})
	for _, p := range []struct {
		label string
		pct   float64
	}{{"p50", 50}, {"p95", 95}} {
		rr := ptRTT.pct(p.pct) / kRTT.pct(p.pct)
		b.rows = append(b.rows, row{Metric: "P7 keystroke round trip " + p.label,
			Podtask: fmt.Sprintf("%.1f ms", ptRTT.pct(p.pct)), Kubectl: fmt.Sprintf("%.1f ms", kRTT.pct(p.pct)),
			Ratio: fmt.Sprintf("%.2f×", rr), Goal: "≤ 1.0×", Holds: yesNo(rr <= 1.0), N: fmt.Sprintf("%d / %d", len(ptRTT), len(kRTT))})
	}

	data := make([]byte, 50<<20)
	if _, err := io.ReadFull(rand.Reader, data); err != nil {
		return err
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	var ptRate, kRate, ratios sample
	for i := 0; i < 6; i++ {
		// Both at once, so that they share the API server, the kubelet
		// and the machine alike.
		var pr, kr float64
		var perr, kerr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			pr, perr = b.stdinRound(ctx, data, sum, b.podtask("run", "-i", "--image", image, "--", "sha256sum"))
		}()
		go func() {
			defer wg.Done()
			kr, kerr = b.stdinRound(ctx, data, sum, b.kubectlProc("run", fmt.Sprintf("%s-ki%d", b.id, i), "-i", "--rm", "--restart=Never", "--image", image, "--", "sha256sum"))
		}()
		wg.Wait()
		if perr != nil {
			return fmt.Errorf("podtask run -i: %w", perr)
		}
		if kerr != nil {
			return fmt.Errorf("kubectl run -i: %w", kerr)
		}
		ptRate, kRate, ratios = append(ptRate, pr), append(kRate, kr), append(ratios, pr/kr)
	}
	rr := ratios.median()
	b.rows = append(b.rows, row{Metric: "P7 stdin throughput, 50 MB through `run -i -- sha256sum` against `kubectl run -i --rm`",
		Podtask: ptRate.summary("%.1f", "MB/s"), Kubectl: kRate.summary("%.1f", "MB/s"),
		Ratio: fmt.Sprintf("%.2f× (%.2f–%.2f)", rr, ratios.min(), ratios.max()), Goal: "≥ 1.0×", Holds: yesNo(rr >= 1.0), N: fmt.Sprintf("%d / %d", len(ptRate), len(kRate))})
	b.details = append(b.details,
		"P7: each round starts podtask's and kubectl's shells side by side, each in a private tmux server's 100×30 terminal, "+
			"both released through a FIFO at the same moment t0; their output is read, "+
			"timestamped, through `tmux pipe-pane`. Time to a usable prompt: t0 to the first `/ # ` read; kubectl's "+
			"\"If you don't see a command prompt, try pressing enter\" is answered with Enter at once (no prompt comes otherwise "+
			"when busybox sh printed it before the attach), podtask gets no key. The API floor row is the same prompt moment "+
			"against the moment the benchmark's watch saw the base container running; podtask attaches on the kubelet's "+
			"Started event, which comes before the status says running, so it can be negative. Keystroke round trip: "+
			"`tmux send-keys -l a` to the echoed `a` read back, 30 keys per session, typed into the two shells by turns, who goes first changing every turn. Stdin: 50 MB of random bytes "+
			"written into a pipe in 1 MiB writes; rate = (50 MB − 1 MiB) / (sum line read on stdout − first MiB taken); "+
			"the ratio is the median of the rounds' ratios.")
	return nil
}

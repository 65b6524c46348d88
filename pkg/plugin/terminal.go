package plugin

// terminal.go: the local terminal of an interactive task. It goes raw while
// a session is on and is restored on every way out (the session's end, a
// signal, a panic, the command's return); it reports its size and every
// change; and what the plugin prints meanwhile is held back until the
// terminal is the user's again, so that it neither lands in the middle of
// the pod's screen nor is lost.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/term"
	"k8s.io/client-go/tools/remotecommand"
)

// errNotTerminal says stdin is not a terminal.
var errNotTerminal = errors.New("stdin is not a terminal")

// isTerminal tells whether r is a terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminal is a local terminal that sessions make raw.
type terminal struct {
	in    *os.File
	sizeF *os.File // the file whose size is the terminal's: stdout when it is one, else stdin

	mu     sync.Mutex
	saved  *term.State // set while raw
	screen *screenWriter
	closed bool // no more raw: the command is on its way out
	held   []*heldWriter

	pumpOnce sync.Once
	chunks   chan chunk
	pending  []byte
	readErr  error
}

type chunk struct {
	b   []byte
	err error
}

// newTerminal returns the terminal on in; out is used for its size when it
// is a terminal too.
func newTerminal(in io.Reader, out io.Writer) (*terminal, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errNotTerminal
	}
	t := &terminal{in: f, sizeF: f, chunks: make(chan chunk)}
	if o, ok := out.(*os.File); ok && term.IsTerminal(int(o.Fd())) {
		t.sizeF = o
	}
	return t, nil
}

// setRaw puts the terminal in raw mode (on) or restores it; it is the
// engine's Terminal.Session. Keys such as Ctrl-C and Ctrl-Z then reach the
// process in the pod instead of signalling the plugin.
func (t *terminal) setRaw(on bool) {
	if !on {
		t.restore()
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.saved != nil {
		return
	}
	// Output is held before the terminal goes raw: a line written in
	// between would be printed without its carriage return.
	for _, h := range t.held {
		h.setHold(true)
	}
	st, err := term.MakeRaw(int(t.in.Fd()))
	if err != nil {
		for _, h := range t.held {
			h.setHold(false)
		}
		return
	}
	t.saved = st
}

// restore puts the terminal back as it was and prints what was held back.
func (t *terminal) restore() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.saved != nil && t.screen != nil {
		t.screen.endLine()
	}
	if t.saved != nil {
		_ = term.Restore(int(t.in.Fd()), t.saved)
		t.saved = nil
	}
	for _, h := range t.held {
		h.setHold(false)
	}
}

// close restores the terminal for good: it is not made raw again.
func (t *terminal) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.restore()
}

// output returns the writer the pod's terminal is written to: a session
// that ends mid-line (a detach, a signal) is followed by a new line, so that
// what the plugin prints next starts on its own.
func (t *terminal) output(w io.Writer) io.Writer {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.screen = &screenWriter{w: w}
	return t.screen
}

// screenWriter remembers whether the last byte written ended a line.
type screenWriter struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
}

func (s *screenWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	if n > 0 {
		s.midLine = p[n-1] != '\n'
	}
	return n, err
}

func (s *screenWriter) endLine() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.midLine {
		_, _ = s.w.Write([]byte("\r\n"))
		s.midLine = false
	}
}

// reopen lets a closed terminal be made raw again, for the next session
// of the same command.
func (t *terminal) reopen() {
	t.mu.Lock()
	t.closed = false
	t.mu.Unlock()
}

// hold returns a writer to w that holds its output back while the
// terminal is raw.
func (t *terminal) hold(w io.Writer) io.Writer {
	h := &heldWriter{w: w}
	t.mu.Lock()
	t.held = append(t.held, h)
	h.hold = t.saved != nil
	t.mu.Unlock()
	return h
}

// guard restores the terminal when the plugin is told to stop (SIGINT,
// SIGTERM, SIGHUP: the second of these leaves at once, and must find the
// terminal restored). SIGHUP, which would otherwise end the plugin without
// its cleanup, cancels like the others do.
func (t *terminal) guard(cancel context.CancelFunc) (stop func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case sig := <-sigs:
				t.close()
				if sig == syscall.SIGHUP {
					cancel()
				}
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

// ReadContext reads the terminal's input for a session: a session that
// ends leaves the keys typed afterwards to the next one. It implements
// launch.ContextReader.
func (t *terminal) ReadContext(ctx context.Context, p []byte) (int, error) {
	t.pumpOnce.Do(func() { go t.pump() })
	t.mu.Lock()
	if len(t.pending) > 0 {
		n := copy(p, t.pending)
		t.pending = t.pending[n:]
		t.mu.Unlock()
		return n, nil
	}
	if t.readErr != nil {
		err := t.readErr
		t.mu.Unlock()
		return 0, err
	}
	t.mu.Unlock()
	select {
	case <-ctx.Done():
		return 0, io.EOF
	case c := <-t.chunks:
		n := copy(p, c.b)
		t.mu.Lock()
		t.pending = append(t.pending, c.b[n:]...)
		t.readErr = c.err
		t.mu.Unlock()
		if n == 0 && c.err != nil {
			return 0, c.err
		}
		return n, nil
	}
}

// Read implements io.Reader without a session's context.
func (t *terminal) Read(p []byte) (int, error) { return t.ReadContext(context.Background(), p) }

// pump reads the terminal's input, one chunk at a time, for ReadContext.
func (t *terminal) pump() {
	for {
		buf := make([]byte, 32*1024)
		n, err := t.in.Read(buf)
		t.chunks <- chunk{b: buf[:n], err: err}
		if err != nil {
			return
		}
	}
}

// size is the terminal's size now.
func (t *terminal) size() *remotecommand.TerminalSize {
	w, h, err := term.GetSize(int(t.sizeF.Fd()))
	if err != nil || w <= 0 || h <= 0 {
		return nil
	}
	return &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
}

// sizes is the engine's Terminal.Sizes: for one session, the size now and
// on every change, until ctx is done.
func (t *terminal) sizes(ctx context.Context) remotecommand.TerminalSizeQueue {
	return &sizeMonitor{t: t, ctx: ctx, changed: watchResize(ctx)}
}

type sizeMonitor struct {
	t       *terminal
	ctx     context.Context
	changed <-chan struct{}
	last    *remotecommand.TerminalSize
}

// Next implements remotecommand.TerminalSizeQueue.
func (m *sizeMonitor) Next() *remotecommand.TerminalSize {
	for {
		if sz := m.t.size(); sz != nil && (m.last == nil || *sz != *m.last) {
			m.last = sz
			return sz
		}
		select {
		case <-m.ctx.Done():
			return nil
		case <-m.changed:
		}
	}
}

// heldWriter holds its output back while hold is set.
type heldWriter struct {
	mu   sync.Mutex
	w    io.Writer
	hold bool
	buf  bytes.Buffer
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold {
		return h.buf.Write(p)
	}
	return h.w.Write(p)
}

func (h *heldWriter) setHold(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = on
	if !on && h.buf.Len() > 0 {
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
}

// hangupCancels cancels when the terminal hangs up (SIGHUP), so that the
// task's on-finish action still applies.
func hangupCancels(cancel context.CancelFunc) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-sigs:
			cancel()
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
}

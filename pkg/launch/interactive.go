package launch

// interactive.go: a task whose base container has a stdin (and maybe a
// terminal), connected to the local one. RunInteractive and
// AttachInteractive follow the task exactly as Run and Attach do (start,
// completion, XCom, on-finish action, exit code) and, while the base
// container runs, attach the local input (and, with a terminal, the
// output) to it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/clock"
)

// Terminal is the local end of an interactive task.
type Terminal struct {
	// In is copied to the base container's stdin. Without TTY its end
	// (EOF) closes the container's stdin: the pod's stdinOnce. An In that
	// also implements ContextReader is read with the session's context, so
	// that a session that ended leaves the next keys to the next one.
	In io.Reader
	// Out receives the container's terminal (TTY only: without one the
	// output is the task's log stream, as for any task, so that no line
	// written before the attach connected is lost).
	Out io.Writer
	// TTY says the base container has a terminal (tty: true).
	TTY bool
	// Sizes returns, for one session, a queue that yields the local
	// terminal's size at once and then on every change, and nil once ctx
	// is done; nil for none.
	Sizes func(ctx context.Context) remotecommand.TerminalSizeQueue
	// DetachKeys, when not empty, is the key sequence that ends the
	// session and leaves the pod running (the result is ErrDetached).
	DetachKeys []byte
	// Session, when set, is called with true right before the session
	// connects and with false as soon as it has ended (the local terminal
	// goes raw and back). It is called from the engine's goroutines.
	Session func(active bool)
}

// ContextReader is an input whose reads a session can abandon.
type ContextReader interface {
	ReadContext(ctx context.Context, p []byte) (int, error)
}

// OutcomeDetached says the session was left with the detach keys; the pod
// keeps running.
const OutcomeDetached Outcome = "Detached"

// ErrDetached is returned when the session was left with the detach keys.
var ErrDetached = errors.New("detached")

// NotInteractiveError says a pod's base container has no stdin (or no
// terminal) to attach to.
type NotInteractiveError struct{ Pod, Container, Missing string }

func (e *NotInteractiveError) Error() string {
	return fmt.Sprintf("pod %s: container %q has no %s (it was not started with -i/-t)", e.Pod, e.Container, e.Missing)
}

// sizeNudges are when, after the first size, the session looks whether
// output has come, and if not changes the terminal's size back and forth: a
// shell redraws its prompt on SIGWINCH, and the prompt it printed before the
// attach reached the container runtime was seen by no one. How long that
// takes after the client's connection is up depends on the API server and
// the kubelet, hence more than one look.
var sizeNudges = []time.Duration{150 * time.Millisecond, 400 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second}

const firstSizeDelay = 15 * time.Millisecond

// The session attaches on the kubelet's Started event, up to
// maxEarlyAttaches times earlyAttachPause apart, before the pod's status
// says the container runs.
const (
	maxEarlyAttaches = 5
	earlyAttachPause = 100 * time.Millisecond
)

// RunInteractive creates pod, whose base container has a stdin (see
// render.SetInteractive), and follows it as Run does; while the base
// container runs, term is attached to it.
func (e *Engine) RunInteractive(ctx context.Context, pod *corev1.Pod, opts Options, term Terminal) (*Result, error) {
	opts = OptionsFromPod(pod, opts)
	return e.interactive(ctx, opts, term, false, func(ctx context.Context, opts Options) (*Result, error) {
		return e.Run(ctx, pod, opts)
	})
}

// AttachInteractive finds the pod namespace/name and follows it as Attach
// does; while its base container runs, term is attached to it. A base
// container without a stdin (or, with term.TTY, a terminal) is a
// *NotInteractiveError.
func (e *Engine) AttachInteractive(ctx context.Context, namespace, name string, opts Options, term Terminal) (*Result, error) {
	pod, res, err := e.getPod(ctx, namespace, name)
	if err != nil {
		return res, err
	}
	opts = OptionsFromPod(pod, opts)
	for _, c := range pod.Spec.Containers {
		if c.Name != opts.BaseContainer {
			continue
		}
		switch {
		case !c.Stdin:
			return &Result{Pod: name, Namespace: namespace, Outcome: OutcomeError},
				&NotInteractiveError{Pod: name, Container: c.Name, Missing: "stdin"}
		case term.TTY && !c.TTY:
			return &Result{Pod: name, Namespace: namespace, Outcome: OutcomeError},
				&NotInteractiveError{Pod: name, Container: c.Name, Missing: "terminal"}
		}
	}
	return e.interactive(ctx, opts, term, true, func(ctx context.Context, opts Options) (*Result, error) {
		return e.Attach(ctx, namespace, name, opts)
	})
}

// interactive follows a task with term attached. A refused attach stops
// the task: a pod run for it is cleaned up by its on-finish action, one
// attached to again (found) is left as it was.
func (e *Engine) interactive(ctx context.Context, opts Options, term Terminal, found bool,
	follow func(context.Context, Options) (*Result, error)) (*Result, error) {
	att, ok := e.Exec.(Attacher)
	if !ok {
		return &Result{Outcome: OutcomeError}, errors.New("this engine cannot attach to containers")
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &session{
		attacher: att, term: term, base: opts.BaseContainer, user: opts.Sink, stop: stop, found: found, clock: e.timers(),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	opts.Sink = s.sink
	if term.TTY && len(opts.LogContainers) == 0 && !opts.InitLogs {
		// The terminal is the output: the log would show it twice.
		opts.NoLogs = true
	}
	sctx, endSession := context.WithCancel(ctx)
	go s.loop(sctx)
	res, err := follow(ctx, opts)
	endSession()
	<-s.done
	switch {
	case s.detached.Load():
		if res != nil {
			res.Outcome, res.Reason, res.Message = OutcomeDetached, "Detached", "detached; the pod keeps running"
		}
		return res, ErrDetached
	case s.err != nil && (err == nil || errors.Is(err, ErrInterrupted)):
		return res, s.err
	}
	return res, err
}

// session connects one task's base container to the local terminal.
type session struct {
	attacher Attacher
	term     Terminal
	base     string
	user     Sink
	stop     context.CancelCauseFunc
	found    bool             // the pod was attached to again, not run
	clock    clock.WithTicker // the engine's; the real clock when nil

	mu      sync.Mutex
	ns, pod string
	started bool // the kubelet said it started the base container
	running bool
	ended   bool // the base container ended, or the task is over
	wake    chan struct{}

	detached  atomic.Bool
	connected atomic.Bool
	output    atomic.Bool
	inputEOF  atomic.Bool
	err       error // set by loop before done
	done      chan struct{}
}

type sessionState struct {
	ns, pod                 string
	started, running, ended bool
}

func (s *session) state() sessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sessionState{s.ns, s.pod, s.started, s.running, s.ended}
}

func (s *session) update(fn func()) {
	s.mu.Lock()
	fn()
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sink watches the events for the moments the session needs and passes
// them on.
func (s *session) sink(ev Event) {
	switch ev := ev.(type) {
	case *PodCreated:
		s.update(func() { s.ns, s.pod = ev.Namespace, ev.Pod })
	case *PodStatus:
		for _, cs := range ev.Containers {
			if cs.Name == s.base {
				s.update(func() {
					s.running = cs.State == "running"
					s.ended = s.ended || cs.State == "terminated"
				})
			}
		}
	case *KubeEvent:
		if ev.Reason == "Started" && strings.HasSuffix(ev.Message, " "+s.base) {
			s.update(func() { s.started = true })
		}
	case *LogLine:
		if s.term.TTY && ev.Container == s.base {
			return
		}
	case *Cleanup:
		if !ev.Deleted && strings.HasPrefix(ev.Reason, "kept by ") {
			st := s.state()
			c := *ev
			cmd := "kubectl podtask attach -it " + st.pod + " -n " + st.ns
			switch {
			case s.detached.Load():
				c.Reason = "kept running (detached); attach again with: " + cmd
				ev = &c
			case s.term.TTY && !st.ended:
				c.Reason = strings.Replace(c.Reason, "kubectl podtask attach ", "kubectl podtask attach -it ", 1)
				ev = &c
			}
		}
		if s.user != nil {
			s.user(ev)
		}
		return
	case *Finished:
		s.update(func() { s.ended = true })
	}
	if s.user != nil {
		s.user(ev)
	}
}

func (s *session) notice(level, msg string) {
	if s.user != nil {
		s.user(&Notice{At: At{Time: s.timers().Now()}, Level: level, Message: msg})
	}
}

// loop attaches once the base container runs (or the kubelet said it
// started it) and handles the session's end.
func (s *session) loop(ctx context.Context) {
	defer close(s.done)
	early, failures := 0, 0
	for {
		st := s.state()
		if st.ended || ctx.Err() != nil {
			return
		}
		if !st.running && (!st.started || early >= maxEarlyAttaches) {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		if !st.running {
			// The kubelet said it started the container; its status says
			// so up to a second later. A container the runtime does not
			// run yet refuses the attach: try again shortly.
			if early++; early > 1 {
				select {
				case <-ctx.Done():
					return
				case <-s.timers().After(earlyAttachPause):
				}
			}
		}
		err := s.attach(ctx, st.ns, st.pod)
		switch {
		case ctx.Err() != nil:
			return
		case s.detached.Load():
			s.stop(&StopRequest{Action: KeepPod})
			return
		case err != nil && !s.connected.Load():
			// Refused before the session began: a container that is not
			// running yet, one that already ended, or no permission.
			if !s.state().running {
				continue
			}
			if s.waitEnded(ctx, 2*time.Second) || !s.state().running {
				continue
			}
			if failures++; failures < 3 {
				continue
			}
			s.err = &APIError{Op: "attach to container " + s.base, Err: err}
			if s.found {
				s.stop(&StopRequest{Action: KeepPod})
			} else {
				s.stop(nil)
			}
			return
		}
		// The session ran and is over.
		if !s.term.TTY {
			// A container that ended without reading all of it broke nothing.
			if err != nil && !s.inputEOF.Load() && !s.waitEnded(ctx, 2*time.Second) {
				s.notice("warning", "the stdin stream broke before the end of the input: "+describeAPIError(err))
				s.err = &APIError{Op: "send stdin", Err: err}
			}
			return
		}
		if err != nil {
			s.notice("warning", "the terminal connection broke: "+describeAPIError(err))
		}
		if s.waitEnded(ctx, 10*time.Second) {
			return
		}
		if err == nil {
			err = errors.New("the terminal session ended while the container kept running")
		}
		s.err = &APIError{Op: "terminal session", Err: err}
		s.stop(&StopRequest{Action: KeepPod})
		return
	}
}

// timers is the session's clock.
func (s *session) timers() clock.WithTicker {
	if s.clock == nil {
		return clock.RealClock{}
	}
	return s.clock
}

// waitEnded waits up to d for the base container to end.
func (s *session) waitEnded(ctx context.Context, d time.Duration) bool {
	t := s.timers().NewTimer(d)
	defer t.Stop()
	for {
		if s.state().ended {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C():
			return s.state().ended
		case <-s.wake:
		}
	}
}

// attach runs one attach session to the end.
func (s *session) attach(ctx context.Context, ns, pod string) error {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := remotecommand.StreamOptions{Tty: s.term.TTY}
	var in io.Reader = &inputReader{r: s.term.In, s: s, ctx: actx}
	if len(s.term.DetachKeys) > 0 {
		in = &detachReader{r: in, keys: s.term.DetachKeys, ctx: actx, onDetach: func() {
			s.detached.Store(true)
			cancel()
		}}
	}
	if s.term.In != nil {
		opts.Stdin = in
	}
	if s.term.TTY {
		opts.Stdout = &outputWriter{w: s.term.Out, s: s}
		if s.term.Sizes != nil {
			opts.TerminalSizeQueue = newSizeQueue(actx, s.term.Sizes(actx), s)
		}
	}
	if s.term.Session != nil {
		s.term.Session(true)
		defer s.term.Session(false)
	}
	return s.attacher.Attach(actx, ns, pod, s.base, opts)
}

// inputReader marks the session connected at its first read and notes the
// end of the input.
type inputReader struct {
	r   io.Reader
	s   *session
	ctx context.Context
}

func (r *inputReader) Read(p []byte) (int, error) {
	r.s.connected.Store(true)
	var n int
	var err error
	if cr, ok := r.r.(ContextReader); ok {
		n, err = cr.ReadContext(r.ctx, p)
	} else {
		n, err = r.r.Read(p)
	}
	if err == io.EOF {
		r.s.inputEOF.Store(true)
	}
	return n, err
}

// outputWriter marks the session connected and its output seen.
type outputWriter struct {
	w io.Writer
	s *session
}

func (w *outputWriter) Write(p []byte) (int, error) {
	w.s.connected.Store(true)
	w.s.output.Store(true)
	return w.w.Write(p)
}

// sizeQueue passes the local terminal's sizes on. The first waits a moment
// after the session connected (the attach reaches the container runtime
// just after the client's connection is up), and while no output has come,
// at each of sizeNudges the size is changed back and forth, so that a shell
// redraws the prompt it printed before anyone was attached.
type sizeQueue struct {
	ctx    context.Context
	s      *session
	sizes  chan *remotecommand.TerminalSize
	first  bool
	last   remotecommand.TerminalSize
	nudge  <-chan time.Time
	nudges int // how many of sizeNudges have fired
	start  time.Time
	queue  []remotecommand.TerminalSize
}

func newSizeQueue(ctx context.Context, src remotecommand.TerminalSizeQueue, s *session) *sizeQueue {
	q := &sizeQueue{ctx: ctx, s: s, sizes: make(chan *remotecommand.TerminalSize), first: true}
	go func() {
		if src == nil {
			return
		}
		for {
			sz := src.Next()
			select {
			case q.sizes <- sz:
			case <-ctx.Done():
				return
			}
			if sz == nil {
				return
			}
		}
	}()
	return q
}

// Next implements remotecommand.TerminalSizeQueue.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	if q.first {
		q.first = false
		q.s.connected.Store(true)
		clk := q.s.timers()
		select {
		case <-clk.After(firstSizeDelay):
		case <-q.ctx.Done():
			return nil
		}
		q.start = clk.Now()
		q.nudge = clk.After(sizeNudges[0])
	}
	for {
		if len(q.queue) > 0 {
			sz := q.queue[0]
			q.queue = q.queue[1:]
			return &sz
		}
		select {
		case <-q.ctx.Done():
			return nil
		case sz := <-q.sizes:
			if sz != nil {
				q.last = *sz
			}
			return sz
		case <-q.nudge:
			q.nudge = nil
			if q.s.output.Load() || q.last.Height < 2 {
				continue
			}
			if q.nudges++; q.nudges < len(sizeNudges) {
				clk := q.s.timers()
				q.nudge = clk.After(q.start.Add(sizeNudges[q.nudges]).Sub(clk.Now()))
			}
			small := q.last
			small.Height--
			q.queue = append(q.queue, small, q.last)
		}
	}
}

// detachReader passes input on but for the detach key sequence: keys that
// begin it are held until the next key shows whether it continues; the
// whole sequence ends the session.
type detachReader struct {
	r        io.Reader
	keys     []byte
	ctx      context.Context
	onDetach func()

	matched  int
	pending  []byte
	buf      []byte
	err      error
	detached bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	for {
		if len(d.pending) > 0 {
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			return n, nil
		}
		if d.detached {
			<-d.ctx.Done()
			return 0, io.EOF
		}
		if d.err != nil {
			return 0, d.err
		}
		if len(d.buf) < len(p) {
			d.buf = make([]byte, len(p))
		}
		n, err := d.r.Read(d.buf[:len(p)])
		d.err = err
		out := d.pending[:0]
		for _, b := range d.buf[:n] {
			if b == d.keys[d.matched] {
				d.matched++
				if d.matched == len(d.keys) {
					d.detached = true
					d.onDetach()
					break
				}
				continue
			}
			if d.matched > 0 {
				out = append(out, d.keys[:d.matched]...)
				d.matched = 0
				if b == d.keys[0] {
					d.matched = 1
					continue
				}
			}
			out = append(out, b)
		}
		d.pending = out
	}
}

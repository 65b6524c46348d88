package tui

import "sync"

// maxLineBytes bounds one stored log line; longer lines are cut so a single
// runaway line cannot defeat the ring's memory bound.
const maxLineBytes = 8 << 10

// logEntry is one stored line. The container is an index into ring.names so
// an entry stays small (a string header and a uint16).
type logEntry struct {
	line string
	c    uint16
}

// ring keeps the last cap log lines. It is written by the engine's
// goroutines (through Model.Sink) and read by the UI, so it has its own lock.
// Lines are addressed by sequence number: the first line ever added is 0, so
// a position stays valid while newer lines arrive and older ones drop out.
type ring struct {
	mu    sync.Mutex
	buf   []logEntry
	start int   // index in buf of the oldest line
	n     int   // lines held
	total int64 // lines ever added; the next line's sequence number
	limit int   // most lines held
	names []string
	index map[string]uint16
}

func newRing(capacity int) *ring {
	if capacity < 1 {
		capacity = 1
	}
	return &ring{buf: make([]logEntry, 0, min(capacity, 4096)), limit: capacity, index: map[string]uint16{}}
}

// add stores one line, dropping the oldest when full.
func (r *ring) add(container, line string) {
	if len(line) > maxLineBytes {
		line = line[:maxLineBytes] + " …"
	}
	// The line is kept as given: the engine allocates each line's string
	// on its own (string(bytes)), so it pins no larger read buffer.
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.index[container]
	if !ok {
		if len(r.names) < 1<<16-1 {
			c = uint16(len(r.names))
			r.names = append(r.names, container)
			r.index[container] = c
		}
	}
	e := logEntry{line: line, c: c}
	if len(r.buf) < r.limit {
		r.buf = append(r.buf, e) // still growing; start stays 0
		r.n++
	} else {
		r.buf[r.start] = e // overwrite the oldest
		r.start = (r.start + 1) % len(r.buf)
	}
	r.total++
}

// snapshot is what the UI needs to draw: the sequence range held and counts.
type snapshot struct {
	first, next int64 // sequence numbers: oldest held, one past newest
	dropped     int64
}

func (r *ring) snap() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snapLocked()
}

func (r *ring) snapLocked() snapshot {
	first := r.total - int64(r.n)
	return snapshot{first: first, next: r.total, dropped: first}
}

// at returns the line with sequence number seq; the caller holds the lock
// and checks seq is held.
func (r *ring) atLocked(seq int64) (line, container string) {
	first := r.total - int64(r.n)
	e := r.buf[(r.start+int(seq-first))%len(r.buf)]
	return e.line, r.names[e.c]
}

// containers lists the container names seen, in order of first line.
func (r *ring) containers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

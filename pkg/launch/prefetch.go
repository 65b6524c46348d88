package launch

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// prefetch reads a stream ahead into a buffer of at most max bytes, and is
// read from that buffer. A stream that is not read is held back by flow
// control after a few megabytes; read ahead, a second log stream keeps the
// kubelet busy while the first one is still being printed.
type prefetch struct {
	// since is the time the stream starts from; endedBefore says the
	// container had ended before it was opened (it is then read to the end).
	since       time.Time
	endedBefore bool

	body io.ReadCloser
	max  int

	mu     sync.Mutex
	cond   sync.Cond
	buf    bytes.Buffer
	err    error // the body's error, once it has one (io.EOF at its end)
	closed bool
}

func newPrefetch(body io.ReadCloser, since time.Time, endedBefore bool, max int) *prefetch {
	p := &prefetch{since: since, endedBefore: endedBefore, body: body, max: max}
	p.cond.L = &p.mu
	go p.fill()
	return p
}

func (p *prefetch) fill() {
	chunk := make([]byte, 32<<10)
	for {
		p.mu.Lock()
		for p.buf.Len() >= p.max && !p.closed {
			p.cond.Wait()
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		n, err := p.body.Read(chunk)
		p.mu.Lock()
		p.buf.Write(chunk[:n])
		if err != nil {
			p.err = err
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Read returns what was read ahead, waiting for it if there is none yet.
func (p *prefetch) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.buf.Len() == 0 && p.err == nil && !p.closed {
		p.cond.Wait()
	}
	if p.buf.Len() > 0 {
		n, _ := p.buf.Read(b)
		p.cond.Broadcast()
		return n, nil
	}
	if p.closed {
		return 0, io.ErrClosedPipe
	}
	return 0, p.err
}

// Close stops reading ahead and closes the stream.
func (p *prefetch) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	return p.body.Close()
}

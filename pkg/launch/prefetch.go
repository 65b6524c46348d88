// A stream read ahead into a bounded buffer.

package launch

import (
	"io"
	"sync"
)

// prefetch reads a stream ahead into a buffer of at most max bytes, and is
// read from that buffer. A stream that is not read is held back by flow
// control after a few megabytes; read ahead, a second log stream keeps the
// kubelet busy while the first one is still being printed.
type prefetch struct {
	body io.ReadCloser
	max  int

	mu     sync.Mutex
	cond   sync.Cond
	chunks [][]byte // what was read ahead, in chunks of at most prefetchChunk bytes
	size   int      // their length
	err    error    // the body's error, once it has one (io.EOF at its end)
	closed bool
}

// prefetchChunk is the size of one read of the stream read ahead.
const prefetchChunk = 32 << 10

func newPrefetch(body io.ReadCloser, max int) *prefetch {
	p := &prefetch{body: body, max: max}
	p.cond.L = &p.mu
	go p.fill()
	return p
}

func (p *prefetch) fill() {
	scratch := make([]byte, prefetchChunk)
	for {
		p.mu.Lock()
		for p.size >= p.max && !p.closed {
			p.cond.Wait()
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		n, err := p.body.Read(scratch)
		p.mu.Lock()
		// Appended to the last chunk while it has room: a stream read a
		// frame at a time does not leave a chunk per frame.
		for data := scratch[:n]; len(data) > 0; {
			last := len(p.chunks) - 1
			if last < 0 || len(p.chunks[last]) == cap(p.chunks[last]) {
				p.chunks = append(p.chunks, make([]byte, 0, prefetchChunk))
				last++
			}
			c := p.chunks[last]
			k := min(len(data), cap(c)-len(c))
			p.chunks[last], data = append(c, data[:k]...), data[k:]
		}
		p.size += n
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
	for p.size == 0 && p.err == nil && !p.closed {
		p.cond.Wait()
	}
	if p.size > 0 {
		n := copy(b, p.chunks[0])
		if p.chunks[0] = p.chunks[0][n:]; len(p.chunks[0]) == 0 {
			p.chunks[0] = nil
			p.chunks = p.chunks[1:]
		}
		p.size -= n
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

// Paced connections for log streams: short reads spaced by a millisecond.

package launch

import (
	"context"
	"net"
	"time"
)

// readPace is the least time between two short reads of a paced connection.
const readPace = time.Millisecond

// PacedDial wraps dial so that its connections let data gather while they
// are busy: a read that comes within readPace of a short one waits for the
// rest of readPace first. The API server sends a busy log stream a line or
// two per frame; read as it arrives, every frame costs a wake-up and a read
// system call. Paced, one read takes what a millisecond brought. A quiet
// connection is read at once, and a read that fills its buffer is not
// followed by a pause.
func PacedDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &pacedConn{Conn: c}, nil
	}
}

type pacedConn struct {
	net.Conn
	short time.Time // when the last short read returned
}

func (c *pacedConn) Read(b []byte) (int, error) {
	if !c.short.IsZero() {
		if wait := readPace - time.Since(c.short); wait > 0 {
			time.Sleep(wait)
		}
	}
	n, err := c.Conn.Read(b)
	c.short = time.Time{}
	if n < len(b)/2 {
		c.short = time.Now()
	}
	return n, err
}

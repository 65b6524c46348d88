package launch

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// trickle returns one short chunk per read.
type trickle struct {
	net.Conn
	n int
}

func (t *trickle) Read(p []byte) (int, error) {
	if t.n == 0 {
		return 0, io.EOF
	}
	t.n--
	return copy(p, "x\n"), nil
}

// full fills every read.
type full struct{ net.Conn }

func (full) Read(p []byte) (int, error) { return copy(p, strings.Repeat("x", len(p))), nil }

func pacedOver(c net.Conn) net.Conn {
	conn, _ := PacedDial(func(context.Context, string, string) (net.Conn, error) { return c, nil })(context.Background(), "tcp", "x")
	return conn
}

// Short reads that follow each other are spaced by readPace; reads that fill
// their buffer are not.
func TestPacedConnSpacesShortReads(t *testing.T) {
	c := pacedOver(&trickle{n: 11})
	buf := make([]byte, 1024)
	start := time.Now()
	for range 11 {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 10*readPace {
		t.Fatalf("11 short reads took %s, want at least %s", d, 10*readPace)
	}
	c = pacedOver(full{})
	for range 1000 {
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	if !c.(*pacedConn).short.IsZero() {
		t.Fatal("a full read was counted as short")
	}
}

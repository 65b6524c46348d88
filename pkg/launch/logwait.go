// Waiting for the log streams once the container has ended: a stream still
// delivering its backlog is waited for, an idle one is stopped.

package launch

import (
	"context"
	"time"
)

// maxLogOutage is how long a finished container's log stream may keep
// failing to reconnect (an API server restarting) before it is given up.
const maxLogOutage = 3 * time.Minute

func (t *tracker) stopLogs() {
	for _, f := range t.logs {
		f.stop()
	}
}

// waitLogs waits for the log streams to end after the container has. A
// stream still delivering its backlog (a fast writer outruns the kubelet) is
// waited for however long that takes; one idle for d is stopped, or after
// maxLogOutage while it is reconnecting. One timer, set for the moment the
// streams will have been idle long enough, on the engine's clock.
func (t *tracker) waitLogs(ctx context.Context, d time.Duration) {
	done := make(chan struct{})
	go func() { t.logsWG.Wait(); close(done) }()
	clk := t.e.timers()
	t.noteLogActivity(clk.Now())
	timer := clk.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			t.stopLogs()
			return
		case <-timer.C():
			idle := clk.Since(time.Unix(0, t.logActivity.Load()))
			switch {
			case idle < d:
				timer.Reset(d - idle)
				continue
			case idle < maxLogOutage && t.logsReconnecting():
				timer.Reset(min(d, maxLogOutage-idle))
				continue
			}
			t.stopLogs()
			t.emit(&Notice{At: t.at(), Level: "warning", Message: "the log stream did not end after the container finished; stopped following it"})
			return
		}
	}
}

// logsReconnecting tells whether a log stream is between a break and its
// next successful connection.
func (t *tracker) logsReconnecting() bool {
	for _, f := range t.logs {
		if f.reconnecting.Load() {
			return true
		}
	}
	return false
}

// noteLogActivity records that a log stream delivered lines at now.
func (t *tracker) noteLogActivity(now time.Time) { t.logActivity.Store(now.UnixNano()) }

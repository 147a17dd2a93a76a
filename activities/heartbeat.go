package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// HeartbeatTimeout is how long an activity may go without a heartbeat: a
// worker that dies in the middle of one is noticed this soon, and another
// worker retries it (resuming from its last progress).
const HeartbeatTimeout = 20 * time.Second

// heartbeat keeps an activity's heartbeat going while it works, carrying
// the last progress it was given, so that a long step (a slow page, a
// throttled provider, a big transaction) still shows the worker is alive.
// The SDK sends at most one heartbeat per throttle interval, however often
// it is recorded.
type heartbeat struct {
	ctx      context.Context
	mu       sync.Mutex
	progress []any
	stop     chan struct{}
	stopped  sync.WaitGroup
}

// beat starts an activity's heartbeat with its progress so far (what a
// retried attempt resumed from, so an attempt that dies early keeps it).
func beat(ctx context.Context, progress ...any) *heartbeat {
	h := &heartbeat{ctx: ctx, progress: progress, stop: make(chan struct{})}
	activity.RecordHeartbeat(ctx, progress...)
	h.stopped.Add(1)
	go func() {
		defer h.stopped.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				h.mu.Lock()
				progress := h.progress
				h.mu.Unlock()
				activity.RecordHeartbeat(ctx, progress...)
			}
		}
	}()
	return h
}

// Progress records how far the activity has come, now and in every later beat.
func (h *heartbeat) Progress(progress ...any) {
	h.mu.Lock()
	h.progress = progress
	h.mu.Unlock()
	activity.RecordHeartbeat(h.ctx, progress...)
}

// Stop ends the heartbeat.
func (h *heartbeat) Stop() {
	close(h.stop)
	h.stopped.Wait()
}

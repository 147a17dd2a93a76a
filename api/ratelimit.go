package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// limiter gives each caller (an API key, a client address) a token bucket
// of perMinute requests a minute, a tenth of which may come at once, so
// that one caller cannot starve the rest.
type limiter struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[string]*bucket
}

type bucket struct {
	tokens *rate.Limiter
	seen   time.Time
}

// maxCallers bounds the buckets kept; idle ones are dropped past it.
const maxCallers = 10000

func newLimiter(perMinute int) *limiter {
	return &limiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

// take spends one of caller's tokens, or says how long until one is free.
func (l *limiter) take(caller string, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[caller]
	if b == nil {
		if len(l.buckets) >= maxCallers {
			l.dropIdle(now)
		}
		b = &bucket{tokens: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), max(1, l.perMinute/10))}
		l.buckets[caller] = b
	}
	b.seen = now
	r := b.tokens.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// dropIdle forgets callers idle for a minute: their buckets are full again.
func (l *limiter) dropIdle(now time.Time) {
	for caller, b := range l.buckets {
		if now.Sub(b.seen) > time.Minute {
			delete(l.buckets, caller)
		}
	}
}

// limit answers 429 with Retry-After when caller has no token left.
func (l *limiter) limit(c echo.Context, caller, who string) error {
	wait, ok := l.take(caller, time.Now())
	if ok {
		return nil
	}
	seconds := int(math.Ceil(wait.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(seconds))
	return echo.NewHTTPError(http.StatusTooManyRequests, who+" sends more than "+strconv.Itoa(l.perMinute)+
		" requests a minute; retry in "+strconv.Itoa(seconds)+"s")
}

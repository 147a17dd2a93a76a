// Package faults is the queue of injected failures the directory sandboxes
// answer with, and its control endpoint.
package faults

import (
	"encoding/json"
	"net/http"
	"sync"
)

// Fault is one failure to answer with: an HTTP status and, for throttles,
// when to retry (seconds).
type Fault struct {
	Status     int
	RetryAfter int
}

// Queue holds faults for the next requests, first in first out.
type Queue struct {
	mu    sync.Mutex
	items []Fault
}

// Inject makes the next count requests fail with status.
func (q *Queue) Inject(status, count, retryAfter int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for range count {
		q.items = append(q.items, Fault{Status: status, RetryAfter: retryAfter})
	}
}

// Next takes the next fault, if any.
func (q *Queue) Next() (Fault, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Fault{}, false
	}
	f := q.items[0]
	q.items = q.items[1:]
	return f, true
}

// Handler serves POST /_sandbox/faults with {"status", "count", "retry_after"};
// a bad body is answered by bad, in the sandbox's own error format.
func (q *Queue) Handler(bad func(w http.ResponseWriter, message string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Status     int `json:"status"`
			Count      int `json:"count"`
			RetryAfter int `json:"retry_after"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Status < 400 || body.Count < 1 {
			bad(w, `want {"status": >=400, "count": >=1, "retry_after": seconds}`)
			return
		}
		q.Inject(body.Status, body.Count, body.RetryAfter)
		w.WriteHeader(http.StatusNoContent)
	}
}

package faults

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerQueuesFaults(t *testing.T) {
	var q Queue
	h := q.Handler(func(w http.ResponseWriter, msg string) { http.Error(w, msg, http.StatusBadRequest) })
	for name, body := range map[string]string{"ErrNotJSON": "x", "ErrStatus": `{"status":200,"count":1}`, "ErrCount": `{"status":429}`} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest("POST", "/_sandbox/faults", strings.NewReader(body)))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
		})
	}
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("POST", "/_sandbox/faults", strings.NewReader(`{"status":429,"count":2,"retry_after":3}`)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d", rec.Code)
	}
	for range 2 {
		if f, ok := q.Next(); !ok || f.Status != 429 || f.RetryAfter != 3 {
			t.Fatalf("fault = %+v, %v", f, ok)
		}
	}
	if _, ok := q.Next(); ok {
		t.Fatal("more faults than injected")
	}
}

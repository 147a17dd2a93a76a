package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/worker"
	sdkworker "go.temporal.io/sdk/worker"
)

// TestWorkerStoppedMidImportResumes stops the worker while it is fetching
// pages, starts another and checks that the import finishes from its last
// heartbeat: every user once, and far fewer requests than starting over.
func TestWorkerStoppedMidImportResumes(t *testing.T) {
	const users = 4000
	people := seed.Company(emailDomain, users, 8)
	s := newStack(t, people)
	s.okta.Latency = 40 * time.Millisecond
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))

	// This test's own workers stop at once, as a crashed process would, and
	// send heartbeats every 100ms (production: worker.HeartbeatEvery).
	acts := &activities.Activities{Store: s.store, HTTP: &http.Client{Timeout: 30 * time.Second}, Backoff: providerhttp.Default}
	newWorker := func() sdkworker.Worker {
		w := sdkworker.New(s.temporal, "resume-queue", sdkworker.Options{WorkerStopTimeout: time.Millisecond,
			DefaultHeartbeatThrottleInterval: 100 * time.Millisecond, MaxHeartbeatThrottleInterval: 100 * time.Millisecond})
		worker.Register(w, acts)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	first := newWorker()
	in := syncInputFor(dir)
	run, err := startSync(s, "resume-queue", in)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		runs, _, err := s.store.ListSyncRuns(context.Background(), s.ws.ID, dir.ID, store.Page{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Fetched >= users/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fetch made no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.Stop()
	requestsBeforeRestart := s.okta.Requests()
	second := newWorker()
	defer second.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, nil); err != nil {
		t.Fatalf("import after restart: %v", err)
	}
	if got := s.users(dir.ID, ""); len(got) != users {
		t.Fatalf("%d users after resume, want %d", len(got), users)
	}
	deprov := countStatus(people, domain.UserDeprovisioned)
	pages := (users-deprov+okta.PageSize-1)/okta.PageSize + (deprov+okta.PageSize-1)/okta.PageSize
	after := s.okta.Requests() - requestsBeforeRestart
	// Resuming refetches only the pages after the last heartbeat the server
	// received (about 100ms of 40ms pages, plus the one in flight); starting
	// over would refetch every page.
	if requestsBeforeRestart+after > pages+4 {
		t.Fatalf("%d requests before the restart and %d after for %d pages: the import started over instead of resuming",
			requestsBeforeRestart, after, pages)
	}
	runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, dir.ID, store.Page{Limit: 1})
	if runs[0].Status != domain.SyncSucceeded || runs[0].Added != users {
		t.Fatalf("run = %+v", runs[0])
	}
	t.Logf("%d requests before the restart, %d after, %d pages in all", requestsBeforeRestart, after, pages)
}

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
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

	newWorker := func() sdkworker.Worker { return s.crashableWorker(t, "resume-queue") }
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

// TestMetaWorkerStoppedMidCheckResumes stops the worker while a check for
// updates pages through members, starts another, and checks that the check
// completes with every member, asset and grant once, resuming the paging.
func TestMetaWorkerStoppedMidCheckResumes(t *testing.T) {
	people := seed.Company(emailDomain, 100, 9)
	s := newStack(t, people)
	b := metasandbox.NewBusiness(metaBusinessID, emailDomain, people, metasandbox.Shape{Members: 2000, Pages: 60, AdAccounts: 40,
		HoldersPerAsset: 5, Invitations: 3}, time.Now())
	s.meta.AddBusiness(b, metaToken)
	s.meta.Latency = 30 * time.Millisecond
	ig, _ := s.createIntegration(s.apiKey, metaToken)

	newWorker := func() sdkworker.Worker { return s.crashableWorker(t, "meta-resume") }
	first := newWorker()
	run, err := workflows.StartIntegrationSync(context.Background(), s.temporal, "meta-resume", workflows.IntegrationSyncInput{
		WorkspaceID: s.ws.ID, IntegrationID: ig.ID, Provider: "meta", BusinessID: metaBusinessID, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if len(runs) == 1 && runs[0].Fetched >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.Stop()
	memberPagesBefore, _ := s.meta.Requests()
	second := newWorker()
	defer second.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.IntegrationSyncResult
	if err := s.temporal.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res); err != nil {
		t.Fatalf("check after restart: %v", err)
	}
	grants := 0
	for _, a := range b.Assets {
		grants += len(a.Holders)
	}
	var view struct {
		Members map[string]int `json:"members"`
	}
	s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &view)
	total := 0
	for _, n := range view.Members {
		total += n
	}
	if total != len(b.Users)+len(b.Pending)+len(b.SystemUsers) || res.Added != total {
		t.Fatalf("%d members stored (%d added), business has %d", total, res.Added, len(b.Users)+len(b.Pending)+len(b.SystemUsers))
	}
	var assets struct {
		Items []store.AssetWithHolders `json:"items"`
	}
	s.call("GET", "/v1/integrations/"+ig.ID+"/assets?limit=500", s.apiKey, nil, &assets)
	held := 0
	for _, a := range assets.Items {
		held += len(a.Holders)
	}
	if len(assets.Items) != len(b.Assets) || held != grants {
		t.Fatalf("%d assets with %d grants, business has %d with %d", len(assets.Items), held, len(b.Assets), grants)
	}
	all, _ := s.meta.Requests()
	// A clean check is 34 requests: 20 pages of business users, one each of
	// invitations and system users, 4 asset pages, 2 batches of holders,
	// one page each of agencies and clients, 2 batches of asset partners,
	// the token's expiry and the two-factor rule. Resuming refetches what
	// came after each activity's last delivered heartbeat (several fetches
	// run at once, each up to ~100ms behind); starting over refetches at
	// least the 20 member pages.
	const clean = 20 + 1 + 1 + 4 + 2 + 2 + 2 + 2
	if all > clean+8 {
		t.Fatalf("%d Graph requests in all (%d before the restart): the paging started over", all, memberPagesBefore)
	}
	t.Logf("%d Graph requests before the restart, %d in all", memberPagesBefore, all)
}

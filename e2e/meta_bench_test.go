package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// BenchmarkMetaCheck10k checks a sandbox business of 10,000 members, 2,000
// assets and 40,000 grants with 25ms per request, through the API, the
// workflow and Postgres, and prints: wall time against the round-trip lower
// bound, Graph requests, history events at 100 and at 10,000 members, the
// reconcile's time, and the rows an unchanged second check writes.
func BenchmarkMetaCheck10k(b *testing.B) {
	const (
		members = 10000
		latency = 25 * time.Millisecond
	)
	shape := metasandbox.Shape{Members: members, Pages: 1200, AdAccounts: 800, HoldersPerAsset: 19, Invitations: 20}
	people := seed.Company(emailDomain, members, 30)
	s := newStack(b, people)
	s.importOkta()
	business := metasandbox.NewBusiness(metaBusinessID, emailDomain, people, shape, time.Now())
	grants := 0
	for _, a := range business.Assets {
		grants += len(a.Holders)
	}
	small := metasandbox.NewBusiness("100000000000100", emailDomain, people, metasandbox.Shape{Members: 100, Pages: 12, AdAccounts: 8,
		HoldersPerAsset: 4, Invitations: 2}, time.Now())
	s.meta.AddBusiness(business, metaToken)
	s.meta.AddBusiness(small, metaToken+"-small")

	// Lower bound: the fewest requests at the largest pages, with the fetch's
	// concurrency: member pages are one chain; asset pages then grant batches
	// (GrantConcurrency in flight) are another, beside it, and beside those
	// the partner pages and partner batches; the token's expiry and the
	// two-factor rule are two requests beside everything.
	pages := func(n int) int { return (n + meta.PageSize - 1) / meta.PageSize }
	count := map[string]int{}
	for _, a := range business.Assets {
		count[a.Ownership+"_"+a.Kind]++
	}
	memberChain := pages(len(business.Users)) + pages(len(business.Pending)) + pages(len(business.SystemUsers))
	assetPages := pages(count["owned_page"]) + pages(count["client_page"]) + pages(count["owned_ad_account"]) + pages(count["client_ad_account"])
	batches := (len(business.Assets) + meta.MaxBatch - 1) / meta.MaxBatch
	rounds := (batches + activities.GrantConcurrency - 1) / activities.GrantConcurrency
	partnerPages := pages(len(business.Agencies)) + pages(len(business.Clients))
	assetChain := assetPages + partnerPages + rounds
	fewest := memberChain + assetPages + batches + partnerPages + batches + 2
	bound := time.Duration(max(memberChain, assetChain)) * latency

	smallEvents := func() int {
		ws, _ := s.store.CreateWorkspace(context.Background(), "Small business")
		key, _, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: ws.ID, Name: "bench", Scope: store.ScopeAdmin, Actor: "test"})
		var ig store.Integration
		s.call("POST", "/v1/integrations", key, map[string]any{"provider": "meta", "label": "Small", "business_id": small.ID,
			"login_method": "sso", "access_token": metaToken + "-small", "graph_base_url": s.metaURL}, &ig)
		started, err := s.check(key, ig.ID)
		if err != nil {
			b.Fatal(err)
		}
		return len(history(b, s, started.WorkflowID, started.RunID).Events)
	}()

	// The statistics autovacuum leaves when it last saw the staging tables empty.
	conn, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	s.meta.Latency = latency
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ig, code := s.createIntegration(s.apiKey, metaToken)
		if code != 201 {
			b.Fatalf("create integration: %d", code)
		}
		before, _ := s.meta.Requests()
		start := time.Now()
		started, err := s.check(s.apiKey, ig.ID)
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		after, _ := s.meta.Requests()
		hist := history(b, s, started.WorkflowID, started.RunID).Events
		took, activityTimes := activityDurations(hist)
		reconcile := took["ReconcileIntegration"]

		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			b.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		r := runs[0]
		written := r.Added + r.Changed + r.Removed
		for _, rows := range []string{"asset_rows_written", "grant_rows_written", "partners_added", "partners_removed", "partner_access_rows_written"} {
			written += int(r.Details[rows].(float64))
		}

		b.ReportMetric(wall.Seconds(), "s/check")
		b.ReportMetric(wall.Seconds()/bound.Seconds(), "x-lower-bound")
		b.ReportMetric(float64(after-before), "requests/check")
		b.ReportMetric(float64(len(hist)), "history-events")
		b.ReportMetric(reconcile.Seconds(), "s/reconcile")
		b.ReportMetric(float64(written), "rows-written/unchanged-check")
		fmt.Printf("meta check of %d members, %d assets, %d grants at %v/request:\n"+
			"  wall %v; round-trip lower bound %v (%d requests on the longest chain, %d requests in all at %d a page, %d per batch, %d batches in flight) = %.2fx\n"+
			"  Graph requests %d; history events %d at %d members, %d at 100 members; reconcile %v; unchanged re-check wrote %d rows\n"+
			"  activities: %s\n",
			len(business.Users), len(business.Assets), grants, latency, wall.Round(time.Millisecond), bound, max(memberChain, assetChain), fewest,
			meta.PageSize, meta.MaxBatch, activities.GrantConcurrency, wall.Seconds()/bound.Seconds(),
			after-before, len(hist), len(business.Users), smallEvents, reconcile, written, activityTimes)
		if written != 0 {
			b.Fatalf("the unchanged re-check wrote %d rows", written)
		}
	}
}

// activityDurations is each activity's time in a history, from its started
// and completed events, and all of them in order as a line.
func activityDurations(hist []*historypb.HistoryEvent) (map[string]time.Duration, string) {
	scheduled, startedAt, took := map[int64]string{}, map[int64]time.Time{}, map[string]time.Duration{}
	var order []string
	for _, e := range hist {
		switch e.EventType {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[e.EventId] = e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			order = append(order, scheduled[e.EventId])
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			startedAt[e.GetActivityTaskStartedEventAttributes().GetScheduledEventId()] = e.EventTime.AsTime()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			id := e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
			took[scheduled[id]] = e.EventTime.AsTime().Sub(startedAt[id]).Round(time.Millisecond)
		}
	}
	var line []string
	for _, name := range order {
		line = append(line, fmt.Sprintf("%s %v", name, took[name]))
	}
	return took, strings.Join(line, ", ")
}

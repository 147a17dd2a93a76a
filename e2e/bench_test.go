package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

// BenchmarkOktaImport20k imports a 20,000-user sandbox Okta directory
// through the API, the workflow and Postgres, then imports it again with no
// changes. It prints wall time, requests, rows written per second, and the
// user rows the second import wrote (must be 0).
func BenchmarkOktaImport20k(b *testing.B) {
	const users = 20000
	s := newStack(b, seed.Company(emailDomain, users, 20))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
		oktaBefore := s.okta.Requests()
		start := time.Now()
		if _, err := s.sync(dir.ID); err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		requests := s.okta.Requests() - oktaBefore

		secondStart := time.Now()
		if _, err := s.sync(dir.ID); err != nil {
			b.Fatal(err)
		}
		second := time.Since(secondStart)
		var rewritten int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM directory_users WHERE directory_id = $1 AND updated_at >= $2`,
			dir.ID, secondStart).Scan(&rewritten); err != nil {
			b.Fatal(err)
		}
		runs, _, err := s.store.ListSyncRuns(ctx, s.ws.ID, dir.ID, store.Page{Limit: 2})
		if err != nil || len(runs) != 2 {
			b.Fatalf("runs: %v", err)
		}
		if runs[1].Added != users || runs[0].Unchanged != users || rewritten != 0 {
			b.Fatalf("first run %+v, second run %+v, %d rows rewritten", runs[1].SyncCounts, runs[0].SyncCounts, rewritten)
		}
		b.ReportMetric(first.Seconds(), "s/import")
		b.ReportMetric(float64(requests), "requests/import")
		b.ReportMetric(float64(users)/first.Seconds(), "rows/s")
		b.ReportMetric(second.Seconds(), "s/unchanged-import")
		b.ReportMetric(float64(rewritten), "rows-rewritten/unchanged-import")
		fmt.Printf("okta import of %d users: %v wall, %d requests (pages of up to %d), %.0f rows written/s; "+
			"unchanged re-import: %v wall, %d user rows written\n",
			users, first.Round(time.Millisecond), requests, okta.PageSize, float64(users)/first.Seconds(),
			second.Round(time.Millisecond), rewritten)
	}
}

// BenchmarkOktaImportScaling imports directories of 3,000, 12,000 and
// 50,000 users, each into a workspace of its own, in a database that
// already holds other workspaces' directories (60,000 users) and the
// statistics autovacuum left when it last saw the staging tables empty;
// each is then imported again unchanged. It prints the curve (wall time,
// rows written per second, the unchanged re-import and the user rows it
// wrote), so that growth faster than linear shows at once.
func BenchmarkOktaImportScaling(b *testing.B) {
	s := newStack(b, seed.Company(emailDomain, 20000, 20))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	tenant := func(name string) string {
		ws, err := s.store.CreateWorkspace(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		key, _, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: ws.ID, Name: "bench", Scope: store.ScopeAdmin, Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		return key
	}
	importAs := func(key, baseURL string) (store.Directory, time.Duration) {
		var d store.Directory
		if code := s.call("POST", "/v1/directories", key, map[string]any{"type": "okta", "name": "Okta",
			"okta": map[string]any{"base_url": baseURL, "api_token": oktaToken}}, &d); code != http.StatusCreated {
			b.Fatalf("create directory: %d", code)
		}
		start := time.Now()
		if _, err := s.syncAs(key, d.ID); err != nil {
			b.Fatal(err)
		}
		return d, time.Since(start)
	}
	for i := range 3 {
		importAs(tenant(fmt.Sprintf("Other %d", i)), s.oktaURL)
	}
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil { // autovacuum's view: staging empty
		b.Fatal(err)
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, users := range []int{3000, 12000, 50000} {
			sandbox := oktasandbox.New(oktaToken, seed.Company(fmt.Sprintf("t%d.test", users), users, uint64(users)))
			srv := httptest.NewServer(sandbox.Handler())
			key := tenant(fmt.Sprintf("Tenant %d/%d", i, users))
			dir, first := importAs(key, srv.URL)
			secondStart := time.Now()
			if _, err := s.syncAs(key, dir.ID); err != nil {
				b.Fatal(err)
			}
			second := time.Since(secondStart)
			srv.Close()
			var rewritten int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM directory_users WHERE directory_id = $1 AND updated_at >= $2`,
				dir.ID, secondStart).Scan(&rewritten); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(first.Seconds(), fmt.Sprintf("s/import-%d", users))
			b.ReportMetric(second.Seconds(), fmt.Sprintf("s/unchanged-%d", users))
			fmt.Printf("okta import of %6d users beside 60,000 others: %8v wall, %6.0f rows/s; unchanged re-import %8v, %d user rows written\n",
				users, first.Round(time.Millisecond), float64(users)/first.Seconds(), second.Round(time.Millisecond), rewritten)
		}
	}
}

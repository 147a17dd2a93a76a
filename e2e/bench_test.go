package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/okta"
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

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

// BenchmarkConsoleMembers10k serves the console's Members tab of a checked
// business of 10,000 members (2,000 assets, 40,000 grants), signed in, and
// prints the server time's p50 and p95 (target p95 < 200 ms) for the first
// page, a later page, a search, and the member page and the Apps page.
func BenchmarkConsoleMembers10k(b *testing.B) {
	const members, requests = 10000, 200
	people := seed.Company(emailDomain, members, 30)
	s := newStack(b, people)
	s.importOkta()
	business := metasandbox.NewBusiness(metaBusinessID, emailDomain, people,
		metasandbox.Shape{Members: members, Pages: 1200, AdAccounts: 800, HoldersPerAsset: 19, Invitations: 20}, time.Now())
	s.meta.AddBusiness(business, metaToken)
	ig, code := s.createIntegration(s.apiKey, metaToken)
	if code != http.StatusCreated {
		b.Fatalf("create integration: %d", code)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		b.Fatal(err)
	}
	s.setAdmins("it-admin@" + emailDomain)
	link, err := s.store.CreateConsoleLink(context.Background(), s.ws.ID, "it-admin@"+emailDomain, time.Hour, "test")
	if err != nil {
		b.Fatal(err)
	}
	session, _, err := s.store.UseConsoleLink(context.Background(), link)
	if err != nil {
		b.Fatal(err)
	}
	// The statistics autovacuum would have by now.
	conn, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	get := func(path string) time.Duration {
		req, _ := http.NewRequest("GET", s.api.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "hk_session", Value: session})
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return took
	}
	first := s.members(s.apiKey, ig.ID, "onboarded")
	later := first[len(first)/2]
	_, byName, err := s.store.ListMembers(context.Background(), s.ws.ID, ig.ID, store.MemberFilter{State: domain.StateOnboarded, Sort: "name"},
		store.Page{Limit: store.MaxLimit})
	if err != nil {
		b.Fatal(err)
	}
	pages := []struct{ name, path string }{
		{"members by name, a later page", "/ui/apps/" + ig.ID + "/members?sort=name&cursor=" + url.QueryEscape(byName)},
		{"members, first page", "/ui/apps/" + ig.ID + "/members"},
		{"members, a later page", "/ui/apps/" + ig.ID + "/members?cursor=" + url.QueryEscape(cursorAfter(later.ExternalID))},
		{"members, a search", "/ui/apps/" + ig.ID + "/members?q=" + url.QueryEscape(later.Name)},
		{"a member", "/ui/apps/" + ig.ID + "/members/" + later.ExternalID},
		{"apps", "/ui/apps"},
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pages {
			get(p.path) // warm
			times := make([]time.Duration, requests)
			for j := range times {
				times[j] = get(p.path)
			}
			slices.Sort(times)
			p50, p95 := times[len(times)/2], times[len(times)*95/100]
			fmt.Printf("console %s at %d members: p50 %v, p95 %v (%d requests)\n", p.name, len(business.Users), p50.Round(100*time.Microsecond),
				p95.Round(100*time.Microsecond), requests)
			if p.name == "members, first page" {
				b.ReportMetric(float64(p95.Microseconds())/1000, "ms-p95-members")
			}
		}
	}
}

// cursorAfter is the list cursor that pages after a member id, as the API
// makes it.
func cursorAfter(id string) string {
	raw, _ := json.Marshal(id)
	return base64.RawURLEncoding.EncodeToString(raw)
}

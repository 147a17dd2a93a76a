package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// BenchmarkPinterestImport500 checks a Pinterest business of 500 members
// (25 to a page, 20 ad accounts, 20 ms a page) through the API, the
// workflow and real headless Chromium, and prints the wall time, the pages
// visited, the logins and Chromium's peak memory.
func BenchmarkPinterestImport500(b *testing.B) {
	people := seed.Company(emailDomain, 560, 31)
	s := newStack(b, people)
	s.importOkta()
	sb, webURL := s.pinterestSandbox(b, pinsandbox.FlowPeople, 499, 20, 25)
	sb.Latency = 20 * time.Millisecond
	created, code := s.createPinterest(pinBusinessID, pinPassword, webURL)
	if code != 201 {
		b.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var onboarded workflows.OnboardingResult
	if err := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(created.ID), "").Get(ctx, &onboarded); err != nil {
		b.Fatal(err)
	}
	if onboarded.Sync.Members != 500 {
		b.Fatalf("onboarding imported %d members, want 500", onboarded.Sync.Members)
	}

	b.ResetTimer()
	var wall time.Duration
	var pages, logins int
	for i := 0; i < b.N; i++ {
		pagesBefore, loginsBefore := sb.Stats()
		start := time.Now()
		if _, err := s.check(s.apiKey, created.ID); err != nil {
			b.Fatal(err)
		}
		wall = time.Since(start)
		p, l := sb.Stats()
		pages, logins = p-pagesBefore, l-loginsBefore
	}
	b.StopTimer()
	chromium, err := s.browser.Get(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	peak, err := chromium.PeakMemory()
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("Pinterest check of 500 members: %v wall, %d pages served (members list of %d pages, invitations, %d ad accounts), "+
		"%d logins (kept session), Chromium peak memory %.0f MiB (sum of its processes' VmHWM)\n",
		wall.Round(time.Millisecond), pages, (500+24)/25, 20, logins, float64(peak)/(1<<20))
	b.ReportMetric(float64(pages), "pages/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

// BenchmarkPinterestAPIAndBrowser500 checks one Pinterest business of 500
// members and 20 ad accounts (20 ms a request or page) through the API and
// through the browser, in one run, and prints each check's wall time,
// requests or pages, and logins.
func BenchmarkPinterestAPIAndBrowser500(b *testing.B) {
	const businessID = "549755813999"
	people := seed.Company(emailDomain, 560, 31)
	s := newStack(b, people)
	s.importOkta()
	s.pin.Flow, s.pin.PageSize = pinsandbox.FlowPeople, 25
	s.pin.AddBusiness(pinsandbox.NewDemoBusiness(businessID, "Acme Big", pinAutomation, people, 499, 20))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	browserIG, code := s.createPinterest(businessID, pinPassword, s.pinURL)
	if code != 201 {
		b.Fatalf("create the browser integration: %d", code)
	}
	if err := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(browserIG.ID), "").Get(ctx, nil); err != nil {
		b.Fatal(err)
	}
	// The API integration is in a workspace of its own: one business per workspace.
	ws, err := s.store.CreateWorkspace(ctx, "Acme API")
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: ws.ID, Name: "bench", Scope: store.ScopeAdmin, Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var apiIG store.Integration
	if code := s.call("POST", "/v1/integrations", key, map[string]any{"provider": "pinterest", "mode": "api", "label": "Acme Big",
		"business_id": businessID, "login_method": "sso"}, &apiIG); code != 201 {
		b.Fatalf("create the API integration: %d", code)
	}
	if code, page := s.consentToPinterest(b, key, apiIG.ID, "allow"); code != 200 {
		b.Fatalf("consent: %d %s", code, page)
	}
	s.waitCheck(b, apiIG.ID)
	s.pin.Latency = 20 * time.Millisecond

	b.ResetTimer()
	type figures struct {
		wall          time.Duration
		calls, logins int
		activities    string
	}
	var api, web figures
	for range b.N {
		requests := s.pin.APIRequests()
		start := time.Now()
		started, err := s.check(key, apiIG.ID)
		if err != nil {
			b.Fatal(err)
		}
		api.wall, api.calls = time.Since(start), s.pin.APIRequests()-requests
		_, api.activities = activityDurations(history(b, s, started.WorkflowID, started.RunID).Events)

		pages, logins := s.pin.Stats()
		start = time.Now()
		if _, err := s.check(s.apiKey, browserIG.ID); err != nil {
			b.Fatal(err)
		}
		p, l := s.pin.Stats()
		web.wall, web.calls, web.logins = time.Since(start), p-pages, l-logins
	}
	b.StopTimer()
	fmt.Printf("Pinterest check of 500 members and 20 ad accounts at 20 ms a request:\n"+
		"  through the API:     %v wall, %d API requests, 0 logins (activities: %s)\n"+
		"  through the browser: %v wall, %d pages, %d logins (kept session)\n"+
		"  the API is %.1fx faster\n",
		api.wall.Round(time.Millisecond), api.calls, api.activities, web.wall.Round(time.Millisecond), web.calls, web.logins,
		web.wall.Seconds()/api.wall.Seconds())
	b.ReportMetric(api.wall.Seconds(), "s/api-check")
	b.ReportMetric(web.wall.Seconds(), "s/browser-check")
	b.ReportMetric(web.wall.Seconds()/api.wall.Seconds(), "x-faster")
}

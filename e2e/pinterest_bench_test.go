package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
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

package e2e

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// chromium returns the system Chromium ($HUBKEEPER_CHROMIUM or on $PATH);
// the test fails, never skips, without it (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HUBKEEPER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: apt-get install chromium, or set HUBKEEPER_CHROMIUM")
	return ""
}

// browser starts headless Chromium with the flags this network needs.
func browser(t *testing.T) *rod.Browser {
	t.Helper()
	dataDir := t.TempDir()
	l := launcher.New().Bin(chromium(t)).Headless(true).NoSandbox(true).UserDataDir(dataDir).
		Set("disable-background-networking").Set("disable-component-update").Set("disable-sync").
		Set("no-first-run").Set("disable-gpu").Set("disable-quic")
	u, err := l.Launch()
	if err != nil {
		t.Fatalf("launch Chromium: %v", err)
	}
	b := rod.New().ControlURL(u)
	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(); l.Kill(); l.Cleanup() })
	return b
}

// TestReportConfirmedInBrowser: a user is deprovisioned in the directory,
// a check reports them, the e-mail's link opens in a real browser, one
// person is unticked and the rest confirmed; the business keeps exactly
// the unticked one.
func TestReportConfirmedInBrowser(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	s.call("PUT", "/v1/workspace/settings", s.apiKey, map[string]any{"admin_emails": []string{"it@acme.test"}}, nil)
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	// Someone still at Meta leaves the company: Okta deprovisions them, and
	// the next import and check add them to the open report.
	leaver := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	var leaverKey string
	for _, p := range people {
		if p.Email == *leaver.MatchedEmail {
			leaverKey = p.Key
		}
	}
	if err := s.okta.SetStatus(oktasandbox.OktaID(leaverKey), "DEPROVISIONED"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	link := linkRE.FindString(s.waitMail("it@acme.test", "people to remove"))
	var report store.Report
	var reports struct {
		Items []store.Report `json:"items"`
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	report = reports.Items[0]
	if len(reports.Items) != 1 || !slices.ContainsFunc(report.Members, func(m store.ReportMember) bool { return m.MemberID == leaver.ExternalID }) {
		t.Fatalf("the leaver did not join the open report: %d reports", len(reports.Items))
	}

	b := browser(t)
	p := b.MustPage(s.api.URL + link).Timeout(30 * time.Second)
	p.MustWaitLoad()
	keep := report.Members[0]
	p.MustElement(`input[value="` + keep.MemberID + `"]`).MustClick()
	p.MustElement(`button[value="confirm"]`).MustClick()
	p.MustWaitLoad()
	msg := p.MustElement("#message").MustText()
	if !strings.Contains(msg, "being removed") {
		t.Fatalf("page says %q", msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(report.ID), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	business := s.meta.Business(metaBusinessID)
	if business.Users[keep.MemberID] == nil {
		t.Fatal("the unticked person was removed")
	}
	for _, m := range report.Members[1:] {
		if business.Users[m.MemberID] != nil {
			t.Fatalf("%s was not removed", m.Email)
		}
	}
	// Reloading the link now says it was used.
	again := b.MustPage(s.api.URL + link).Timeout(30 * time.Second)
	again.MustWaitLoad()
	if text := again.MustElement("#message").MustText(); !strings.Contains(text, "Already decided") {
		t.Fatalf("reopened link says %q", text)
	}
}

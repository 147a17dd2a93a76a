package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// launchBrowser starts headless Chromium through the worker's own launcher;
// the test fails, never skips, without Chromium (.ci/run installs it).
func launchBrowser(t *testing.T) *browser.Browser {
	t.Helper()
	b, err := browser.Launch(browser.Options{PageTimeout: 30 * time.Second, CaptureDir: t.TempDir(), Hosts: sandboxHosts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// openPage opens url in a new session of b.
func openPage(t *testing.T, b *browser.Browser, url string) *rod.Page {
	t.Helper()
	sess, err := b.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	if err := sess.Open(url); err != nil {
		t.Fatal(err)
	}
	return sess.Timed()
}

// TestReportConfirmedInBrowser: a user is deprovisioned in the directory,
// a check reports them, the e-mail's link opens in a real browser, one
// person is unticked and the rest confirmed; the business keeps exactly
// the unticked one.
func TestReportConfirmedInBrowser(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	dir := s.importOkta()
	s.setAdmins("it@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	// Someone still at Meta leaves the company: Okta deprovisions them, and
	// the next import and check add them to the open report.
	leaver := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	s.leave(t, dir, leaver)
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

	b := launchBrowser(t)
	p := openPage(t, b, s.api.URL+link)
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
	again := openPage(t, b, s.api.URL+link)
	if text := again.MustElement("#message").MustText(); !strings.Contains(text, "Already decided") {
		t.Fatalf("reopened link says %q", text)
	}
}

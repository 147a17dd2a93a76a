package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// screenshot writes a page's screenshot as a test artifact in
// $HUBKEEPER_ARTIFACTS (default: the test's temporary directory), once
// the page passes what a screen reader needs: a language, a heading, and
// a name for every control.
func screenshot(t *testing.T, p *rod.Page, name string) {
	t.Helper()
	unnamed := p.MustEval(`() => {
		const bad = [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')].filter(e =>
			e.tagName === 'BUTTON' ? !(e.textContent.trim() || e.getAttribute('aria-label'))
				: !(e.labels && e.labels.length) && !e.getAttribute('aria-label'));
		if (!document.documentElement.lang) bad.unshift(document.documentElement);
		if (!document.querySelector('h1')) bad.unshift(document.body);
		return bad.map(e => e.outerHTML.slice(0, 160));
	}`).Arr()
	if len(unnamed) > 0 {
		t.Errorf("page %s: %d elements a screen reader cannot name, first %s", name, len(unnamed), unnamed[0].String())
	}
	dir := os.Getenv("HUBKEEPER_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := p.Screenshot(true, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsoleSignInAndApps: an admin signs in to the console through the
// workspace's IdP (the sandbox Okta's OIDC) in real Chromium, sees the
// Meta app's card, checks it for updates and follows the check, and
// searches its members; a viewer sees no button and is refused the post;
// a post without the form's CSRF token is refused and starts nothing.
func TestConsoleSignInAndApps(t *testing.T) {
	people := seed.Company(emailDomain, 120, 3)
	s := newStack(t, people)
	s.importOkta()
	admin, viewer := people[0], people[1]
	s.setAdmins(admin.Email)
	s.okta.SetPassword(oktasandbox.OktaID(admin.Key), "admin password")
	s.okta.SetPassword(oktasandbox.OktaID(viewer.Key), "viewer password")
	s.expectErrors(t, []badRequest{
		{"ConsoleIssuerElsewhere", "PUT", "/v1/workspace/console", s.apiKey,
			`{"issuer":"https://evil.test","client_id":"x","client_secret":"y"}`, 400},
		{"ConsoleNoSecret", "PUT", "/v1/workspace/console", s.apiKey, `{"issuer":"` + s.oktaURL + `","client_id":"x"}`, 400},
	})
	page := openConsole(t, s, viewer.Email)
	// The check comes after the refusals: its report's e-mails write rows of their own.
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	signIn := func(p seed.Person, password string) { consoleSignIn(t, s, page, p, password) }

	page.MustNavigate(s.api.URL + "/ui/signin?workspace=" + s.ws.ID).MustWaitLoad()
	screenshot(t, page, "idp-sign-in")
	signIn(admin, "admin password")
	card := page.MustElement("#app-" + ig.ID)
	if text := card.MustText(); !strings.Contains(text, ig.Label) || !strings.Contains(text, "connected") || !strings.Contains(text, "Onboarded") {
		t.Fatalf("card says %q", text)
	}
	screenshot(t, page, "apps")
	runs := func() int {
		list, _, err := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := runs()
	submitIn(page, card.MustElement("button"))
	if notice := page.MustElement(".notice").MustText(); !strings.Contains(notice, "Checking for updates") && !strings.Contains(notice, "has ended") {
		t.Fatalf("after Check for updates the page says %q", notice)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		text := page.MustElement("#app-" + ig.ID).MustText()
		if strings.Contains(text, "succeeded, done") && runs() == before+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the check did not finish on the page: %q", text)
		}
		time.Sleep(500 * time.Millisecond)
		page.MustReload().MustWaitLoad()
	}
	screenshot(t, page, "apps-checked")

	m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members").MustWaitLoad()
	page.MustElement("#q").MustInput(m.Name)
	submit(page, `form[role="search"] button`)
	if rows := page.MustElements("tbody tr"); len(rows) == 0 || !strings.Contains(page.MustElement("tbody").MustText(), m.Email) {
		t.Fatalf("search for %q found %d rows", m.Name, len(rows))
	}
	screenshot(t, page, "members")
	// On a phone the tab reads without scrolling sideways.
	page.MustSetViewport(390, 844, 2, true)
	page.MustReload().MustWaitLoad()
	if wide := page.MustEval(`() => document.documentElement.scrollWidth - window.innerWidth`).Int(); wide > 0 {
		t.Fatalf("on a phone the members tab is %dpx too wide", wide)
	}
	screenshot(t, page, "members-phone")
	page.MustSetViewport(1280, 800, 1, false)
	// Sorted by name, the tab's first page is the API's first page so sorted.
	page.MustElement("#q").MustSelectAllText().MustInput("")
	page.MustElement("#sort").MustSelect("name")
	submit(page, `form[role="search"] button`)
	var byName struct{ Items []store.Member }
	s.call("GET", "/v1/integrations/"+ig.ID+"/members?state=onboarded&sort=name&limit=50", s.apiKey, nil, &byName)
	rows := page.MustElements("tbody tr")
	if len(rows) != len(byName.Items) {
		t.Fatalf("sorted by name: %d rows, the API %d", len(rows), len(byName.Items))
	}
	for i, row := range rows {
		if name := row.MustElement("td a").MustText(); name != byName.Items[i].Name {
			t.Fatalf("row %d sorted by name is %q, the API's %q", i, name, byName.Items[i].Name)
		}
	}

	// The open report, decided here as on the e-mailed page: the first
	// person unticked stays, the others are removed.
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 || len(reports.Items[0].Members) < 2 {
		t.Fatalf("reports %+v", reports.Items)
	}
	report := reports.Items[0]
	inReport := map[string]bool{}
	for _, m := range report.Members {
		inReport[m.MemberID] = true
	}
	page.MustNavigate(s.api.URL + "/ui/reports").MustWaitLoad()
	screenshot(t, page, "reports")
	submit(page, `a[href="/ui/reports/`+report.ID+`"]`)
	screenshot(t, page, "report")
	page.MustElement(`input[value="` + report.Members[0].MemberID + `"]`).MustClick()
	submit(page, "#confirm")
	if !strings.Contains(page.MustElement("#message").MustText(), "being removed") {
		t.Fatal("no message after the decision")
	}
	waitFor(t, "the report's removals", func() bool {
		b := s.meta.Business(metaBusinessID)
		for _, m := range report.Members[1:] {
			if b.Users[m.MemberID] != nil {
				return false
			}
		}
		return b.Users[report.Members[0].MemberID] != nil
	})
	var decided store.Report
	if s.call("GET", "/v1/reports/"+report.ID, s.apiKey, nil, &decided); decided.DecidedBy != "console:"+admin.Email {
		t.Fatalf("decided by %q", decided.DecidedBy)
	}

	// An unmatched member: exempting without a reason shows the error in
	// the form and changes nothing; with one, the member is exempted.
	unmatched := s.firstOf(ig.ID, domain.StateUnmatched, "")
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members/" + unmatched.ExternalID).MustWaitLoad()
	submit(page, "#exempt")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "reason is required") ||
		s.member(ig.ID, unmatched.ExternalID).State != domain.StateUnmatched {
		t.Fatalf("an exempt without a reason: %q", text)
	}
	screenshot(t, page, "member-error")
	page.MustElement("#reason").MustInput("Agency account, reviewed quarterly")
	submit(page, "#exempt")
	if !strings.Contains(page.MustElement("#notice").MustText(), "exempt started") {
		t.Fatal("no notice after exempting")
	}
	waitFor(t, "the exemption", func() bool { return s.member(ig.ID, unmatched.ExternalID).State == domain.StateExempted })
	// A role changed from a member's page is changed at Meta.
	var employee store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		if !inReport[m.ExternalID] && m.Kind == domain.MemberUser && m.Role == "EMPLOYEE" {
			employee = m
			break
		}
	}
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members/" + employee.ExternalID).MustWaitLoad()
	page.MustElement("#role").MustSelect("Full control (ADMIN)")
	submit(page, "#set-role")
	waitFor(t, "the role change", func() bool { return s.meta.Business(metaBusinessID).Users[employee.ExternalID].Role == "ADMIN" })

	// An onboarded member removed from their page is gone at Meta.
	var gone store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		if !inReport[m.ExternalID] && m.Kind == domain.MemberUser && strings.HasSuffix(m.Email, "@"+emailDomain) &&
			m.ExternalID != employee.ExternalID {
			gone = m
			break
		}
	}
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members/" + gone.ExternalID).MustWaitLoad()
	submit(page, "#remove")
	waitFor(t, "the removal", func() bool { return s.meta.Business(metaBusinessID).Users[gone.ExternalID] == nil })
	page.MustReload().MustWaitLoad()
	if text := page.MustElement("#actions").MustText(); !strings.Contains(text, "remove") || !strings.Contains(text, "console:"+admin.Email) {
		t.Fatalf("recent actions: %q", text)
	}
	screenshot(t, page, "member")

	// The Okta directory, filtered to the people who left.
	dirs, _, err := s.store.ListDirectories(context.Background(), s.ws.ID, store.Page{})
	if err != nil || len(dirs) != 1 {
		t.Fatalf("directories %v", err)
	}
	page.MustNavigate(s.api.URL + "/ui/directories").MustWaitLoad()
	screenshot(t, page, "directories")
	submit(page, `a[href="/ui/directories/`+dirs[0].ID+`"]`)
	page.MustElement("#status").MustSelect("deprovisioned")
	submit(page, `form[role="search"] button`)
	if rows := page.MustElements("tbody tr"); len(rows) != countStatus(people, domain.UserDeprovisioned) {
		t.Fatalf("%d deprovisioned rows", len(rows))
	}
	screenshot(t, page, "directory")

	// A post without the form's token is refused, and starts nothing.
	client := cookieClient(t, page)
	resp, err := client.PostForm(s.api.URL+"/ui/apps/"+ig.ID+"/check", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || runs() != before+1 {
		t.Fatalf("a post without CSRF: %d, %d runs", resp.StatusCode, runs())
	}
	page.MustNavigate(s.api.URL + "/ui/apps/00000000-0000-0000-0000-000000000000/members").MustWaitLoad()
	if h := page.MustElement("h1").MustText(); h != "Not found" {
		t.Fatalf("an unknown app's page: %q", h)
	}
	screenshot(t, page, "not-found")
	submit(page, `form[action="/ui/signout"] button`)
	if h := page.MustElement("h1").MustText(); h != "Signed out" {
		t.Fatalf("after signing out: %q", h)
	}
	screenshot(t, page, "signed-out")

	// The viewer looks but has no button, and is refused the post itself.
	signIn(viewer, "viewer password")
	if has, _, _ := page.Has("#app-" + ig.ID + " button"); has {
		t.Fatal("a viewer sees Check for updates")
	}
	token := csrfRE.FindStringSubmatch(page.MustHTML())
	resp, err = cookieClient(t, page).PostForm(s.api.URL+"/ui/apps/"+ig.ID+"/check", url.Values{"csrf": {token[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || runs() != before+1 {
		t.Fatalf("a viewer's post: %d, %d runs", resp.StatusCode, runs())
	}

	// Someone the workspace names neither admin nor viewer is refused.
	stranger := people[2]
	s.okta.SetPassword(oktasandbox.OktaID(stranger.Key), "stranger password")
	submit(page, `form[action="/ui/signout"] button`)
	page.MustNavigate(s.api.URL + "/ui/signin?workspace=" + s.ws.ID).MustWaitLoad()
	page.MustElement("#username").MustInput(stranger.Email)
	page.MustElement("#password").MustInput("stranger password")
	submit(page, "#sign-in")
	if text := page.MustElement(`[role="alert"]`).MustText(); !strings.Contains(text, "may not use this workspace's console") {
		t.Fatalf("a stranger saw %q", text)
	}
	screenshot(t, page, "refused")
}

// openConsole lets the workspace's people sign in to the console through
// the sandbox Okta's OIDC (admins, and the viewers named), and opens a
// browser page for the test's steps.
func openConsole(t *testing.T, s *stack, viewers ...string) *rod.Page {
	t.Helper()
	s.okta.RegisterWebApp(oktasandbox.WebApp{ClientID: "0oaconsole", ClientSecret: "console-secret",
		RedirectURIs: []string{s.api.URL + "/ui/callback"}})
	if code := s.call("PUT", "/v1/workspace/console", s.apiKey, map[string]any{"issuer": s.oktaURL, "client_id": "0oaconsole",
		"client_secret": "console-secret", "viewers": viewers}, nil); code != 204 {
		t.Fatalf("console IdP: %d", code)
	}
	// The whole test's steps share one deadline.
	return openPage(t, launchBrowser(t), s.oktaURL+"/.well-known/openid-configuration").CancelTimeout().Timeout(3 * time.Minute)
}

// consoleAdmin brings up a stack of a company of n people, imports its
// Okta directory and signs its first person in to the console as admin.
func consoleAdmin(t *testing.T, n int) (*stack, seed.Person, *rod.Page) {
	t.Helper()
	people := seed.Company(emailDomain, n, 3)
	s := newStack(t, people)
	s.importOkta()
	admin := people[0]
	s.setAdmins(admin.Email)
	s.okta.SetPassword(oktasandbox.OktaID(admin.Key), "admin password")
	page := openConsole(t, s)
	consoleSignIn(t, s, page, admin, "admin password")
	return s, admin, page
}

// consoleSignIn signs p in on page through the IdP's sign-in form.
func consoleSignIn(t *testing.T, s *stack, page *rod.Page, p seed.Person, password string) {
	t.Helper()
	page.MustNavigate(s.api.URL + "/ui/signin?workspace=" + s.ws.ID).MustWaitLoad()
	page.MustElement("#username").MustInput(p.Email)
	page.MustElement("#password").MustInput(password)
	submit(page, "#sign-in")
	if !strings.HasSuffix(page.MustInfo().URL, "/ui/apps") {
		t.Fatalf("%s landed on %s: %s", p.Key, page.MustInfo().URL, page.MustElement("main").MustText())
	}
}

// waitFor waits up to a minute for what ok says.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen", what)
		}
	}
}

// submit clicks the button (or link) a selector names and waits for the page it leads to.
func submit(p *rod.Page, selector string) { submitIn(p, p.MustElement(selector)) }

func submitIn(p *rod.Page, button *rod.Element) {
	wait := p.MustWaitNavigation()
	button.MustClick()
	wait()
	p.MustWaitLoad()
}

// cookieClient is an HTTP client with a browser page's cookies.
func cookieClient(t *testing.T, p *rod.Page) *http.Client {
	t.Helper()
	jar := &cookieJar{}
	for _, c := range p.MustCookies() {
		jar.cookies = append(jar.cookies, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type cookieJar struct{ cookies []*http.Cookie }

func (j *cookieJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j *cookieJar) Cookies(*url.URL) []*http.Cookie     { return j.cookies }

package e2e

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// TestConsoleWorkspacePages: in real Chromium an admin sets who gets
// reports (bad addresses and taking away their own role refused, nothing
// changed), issues an API key shown once and revokes it, reads the audit
// trail filtered to their own doings and exports it as CSV, and finds the
// check on the Automation page linked to its run in the Temporal web UI.
func TestConsoleWorkspacePages(t *testing.T) {
	s, admin, page := consoleAdmin(t, 60)
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	started, err := s.check(s.apiKey, ig.ID)
	if err != nil {
		t.Fatal(err)
	}
	settings := func() store.WorkspaceSettings {
		var set store.WorkspaceSettings
		if code := s.call("GET", "/v1/workspace/settings", s.apiKey, nil, &set); code != 200 {
			t.Fatalf("settings: %d", code)
		}
		return set
	}

	// A form field that is not text is refused on every console form,
	// before anything reads it.
	token := csrfRE.FindStringSubmatch(page.MustHTML())[1]
	events := func() int {
		list, _, err := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{}, store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := events()
	for _, r := range api.New(api.Options{}).Routes() {
		if r.Method != "POST" || !strings.HasPrefix(r.Path, "/ui/") || strings.HasPrefix(r.Path, "/ui/link/") {
			continue
		}
		path := regexp.MustCompile(`:\w+`).ReplaceAllString(r.Path, ig.ID)
		for _, bad := range []string{"reason=a%00b", "name=%ff", "a%00b=x"} {
			resp, err := cookieClient(t, page).Post(s.api.URL+path, "application/x-www-form-urlencoded",
				strings.NewReader("csrf="+token+"&"+bad))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("POST %s with %s: %d", r.Path, bad, resp.StatusCode)
			}
		}
	}
	if events() != before {
		t.Fatal("a refused form changed something")
	}

	// A page never shows text from its address: a crafted notice says nothing.
	member := s.firstOf(ig.ID, domain.StateOnboarded, "")
	for _, path := range []string{"/ui/settings", "/ui/apps", "/ui/apps/" + ig.ID + "/members",
		"/ui/apps/" + ig.ID + "/members/" + member.ExternalID, "/ui/apps/" + ig.ID + "/onboarding"} {
		code, body := pageWith(t, cookieClient(t, page), s.api.URL+path+"?notice=Your+account+is+locked.+Call+555-0100")
		if strings.Contains(body, "555-0100") {
			t.Fatalf("%s shows its address's notice (%d)", path, code)
		}
	}

	// Who gets reports: refusals first, each changing nothing.
	page.MustNavigate(s.api.URL + "/ui/settings").MustWaitLoad()
	unchanged := settings()
	for typed, want := range map[string]string{
		admin.Email + "\nnot-an-address": "is not an e-mail address",
		"someone.else@" + emailDomain:    "Your own address must stay",
	} {
		page.MustElement("#admin-emails").MustSelectAllText().MustInput(typed)
		submit(page, "#save-settings")
		if has, _, _ := page.Has("#settings-error"); !has {
			t.Fatalf("saving %q: %s", typed, page.MustElement("main").MustText())
		}
		if text := page.MustElement("#settings-error").MustText(); !strings.Contains(text, want) {
			t.Fatalf("saving %q: %q", typed, text)
		}
		if got := settings(); strings.Join(got.AdminEmails, ",") != strings.Join(unchanged.AdminEmails, ",") || got.ReportSuspended {
			t.Fatalf("a refused save changed the settings: %+v", got)
		}
	}
	second := s.people[3].Email
	page.MustElement("#admin-emails").MustSelectAllText().MustInput(admin.Email + "\n" + strings.ToUpper(second))
	page.MustElement("#report-suspended").MustClick()
	submit(page, "#save-settings")
	if got := settings(); strings.Join(got.AdminEmails, ",") != admin.Email+","+second || !got.ReportSuspended {
		t.Fatalf("saved settings: %+v", got)
	}

	// An API key: shown once, works, and stops working once revoked.
	submit(page, "#create-key")
	if text := page.MustElement("#key-error").MustText(); !strings.Contains(text, "name is required") {
		t.Fatalf("a key without a name: %q", text)
	}
	page.MustElement("#key-name").MustInput("CI deploys")
	submit(page, "#create-key")
	key := page.MustElement("#new-key").MustProperty("value").String()
	if !strings.HasPrefix(key, "hk_") || s.call("GET", "/v1/integrations", key, nil, nil) != 200 {
		t.Fatalf("the new key %q does not work", key[:min(len(key), 6)])
	}
	screenshot(t, page, "settings")
	page.MustNavigate(s.api.URL + "/ui/settings").MustWaitLoad()
	if strings.Contains(page.MustHTML(), key) {
		t.Fatal("the key is shown again")
	}
	submit(page, `button[aria-label="Revoke CI deploys"]`)
	if code := s.call("GET", "/v1/integrations", key, nil, nil); code != 401 {
		t.Fatalf("a revoked key: %d", code)
	}

	// The audit trail, filtered to what the admin did here, and as CSV.
	actor := "console:" + admin.Email
	page.MustNavigate(s.api.URL + "/ui/audit").MustWaitLoad()
	page.MustElement("#actor").MustInput(actor)
	submit(page, `form[role="search"] button`)
	text := page.MustElement("#events").MustText()
	for _, action := range []string{"workspace.settings", "api_key.created", "api_key.revoked"} {
		if !strings.Contains(text, action) {
			t.Fatalf("the audit page lacks %s: %q", action, text)
		}
	}
	screenshot(t, page, "audit")
	href := page.MustElement("#csv").MustProperty("href").String()
	resp, err := cookieClient(t, page).Get(href)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	want, _, err := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Actor: actor}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want)+1 || rows[0][2] != "actor" || len(want) < 4 {
		t.Fatalf("CSV has %d rows for %d events", len(rows), len(want))
	}
	for _, row := range rows[1:] {
		if row[2] != actor {
			t.Fatalf("CSV row by %q", row[2])
		}
	}

	// The check, on the Automation page, linked to its run.
	// The web UI takes a workflow id with its slashes escaped.
	link := "http://localhost:8233/namespaces/default/workflows/" + url.PathEscape(workflows.IntegrationSyncID(ig.ID)) + "/" +
		started.RunID + "/history"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		page.MustNavigate(s.api.URL + "/ui/automation?type=IntegrationSync").MustWaitLoad()
		if has, _, _ := page.Has(`a[href="` + link + `"]`); has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link to the check's run: %s", page.MustElement("main").MustText())
		}
	}
	if row := page.MustElement("#runs tr").MustText(); !strings.Contains(row, "Check for updates") || !strings.Contains(row, ig.Label) ||
		!strings.Contains(row, "Completed") {
		t.Fatalf("the check's row: %q", row)
	}
	screenshot(t, page, "automation")

	// Signed out, an operator's one-time link signs the admin in from its button.
	submit(page, `form[action="/ui/signout"] button`)
	oneTime, err := s.store.CreateConsoleLink(context.Background(), s.ws.ID, admin.Email, time.Hour, "operator")
	if err != nil {
		t.Fatal(err)
	}
	page.MustNavigate(s.api.URL + "/ui/link/" + oneTime).MustWaitLoad()
	screenshot(t, page, "link")
	submit(page, "#use-link")
	if !strings.HasSuffix(page.MustInfo().URL, "/ui/apps") || !strings.Contains(page.MustElement("header").MustText(), admin.Email) {
		t.Fatalf("the link signed in to %s", page.MustInfo().URL)
	}
	for _, bad := range []string{"?cursor=AAAA", "?cursor=%25%25", "?type=Nope"} {
		resp, err := cookieClient(t, page).Get(s.api.URL + "/ui/automation" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("automation%s: %d", bad, resp.StatusCode)
		}
	}
}

// pageWith GETs a page with client and returns its status and text.
func pageWith(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

// scimEndpoint is a SCIM directory made through the API, with its token.
type scimEndpoint struct {
	ID      string
	BaseURL string
	Token   string
}

// scimDirectory creates a SCIM directory in the stack's workspace.
func (s *stack) scimDirectory(name string) scimEndpoint {
	s.t.Helper()
	var created struct {
		ID   string `json:"id"`
		SCIM struct {
			BaseURL string `json:"base_url"`
			Token   string `json:"token"`
		} `json:"scim"`
	}
	if code := s.call("POST", "/v1/directories", s.apiKey, map[string]any{"type": "scim", "name": name}, &created); code != http.StatusCreated {
		s.t.Fatalf("create SCIM directory: %d", code)
	}
	return scimEndpoint{ID: created.ID, BaseURL: created.SCIM.BaseURL, Token: created.SCIM.Token}
}

// scimCall sends a SCIM request with the directory's token and decodes the answer.
func (s *stack) scimCall(ep scimEndpoint, method, path, body string, out any) int {
	s.t.Helper()
	req, err := http.NewRequest(method, ep.BaseURL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

// oktaFixture is a request of Okta's SCIM provisioning, as the SCIM
// library recorded it, with the fixture's user swapped for another.
func oktaFixture(t *testing.T, name string, replace ...string) (method, path, body string) {
	t.Helper()
	raw, err := os.ReadFile("../internal/scimserver/testdata/okta/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(replace...).Replace(string(raw))
	var f struct {
		Request      json.RawMessage
		Method, Path string
	}
	if err := json.Unmarshal([]byte(text), &f); err != nil {
		t.Fatal(err)
	}
	return f.Method, f.Path, string(f.Request)
}

// TestSCIMPushDrivesReports: Okta pushes the company through SCIM with the
// requests it really sends; a check matches the Meta business against the
// pushed people; Okta updates one person and deactivates another, and the
// next check reports the deactivated one. The password Okta sends is kept
// nowhere.
func TestSCIMPushDrivesReports(t *testing.T) {
	people := seed.Company(emailDomain, 60, 5)
	s := newStack(t, people)
	ep := s.scimDirectory("Okta provisioning")
	ids := map[string]string{} // person key → SCIM id
	const fixtureID = "23a35c27-23d3-4c03-b4c5-6443c09e7173"
	lookUp := func(p seed.Person) int {
		method, path, body := oktaFixture(t, "user_exists", url.QueryEscape("test.user@okta.local"), url.QueryEscape(p.Email))
		var found struct{ TotalResults int }
		if code := s.scimCall(ep, method, path, body, &found); code != 200 {
			t.Fatalf("look up %s: %d", p.Key, code)
		}
		return found.TotalResults
	}
	for _, p := range people {
		swap := []string{"test.user@okta.local", p.Email, "00ujl29u0le5T6Aj10h7", "okta-" + p.Key,
			`"givenName": "Test"`, `"givenName": "` + p.GivenName + `"`, `"familyName": "User"`, `"familyName": "` + p.FamilyName + `"`,
			`"Test User"`, `"` + p.DisplayName() + `"`}
		if p.Status == domain.UserDeprovisioned {
			swap = append(swap, `"active": true`, `"active": false`)
		}
		if n := lookUp(p); n != 0 {
			t.Fatalf("%s found before the push: %d", p.Key, n)
		}
		method, path, body := oktaFixture(t, "create_user", swap...)
		var created struct{ ID string }
		if code := s.scimCall(ep, method, path, body, &created); code != 201 {
			t.Fatalf("push %s: %d", p.Key, code)
		}
		ids[p.Key] = created.ID
		if n := lookUp(p); n != 1 {
			t.Fatalf("%s found %d times after the push", p.Key, n)
		}
	}
	pushed := s.users(ep.ID, "")
	if len(pushed) != len(people) || len(s.users(ep.ID, "&status=deprovisioned")) != countStatus(people, domain.UserDeprovisioned) {
		t.Fatalf("%d pushed users", len(pushed))
	}

	s.setAdmins("it@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 {
		t.Fatalf("reports %+v", reports.Items)
	}
	reported := map[string]bool{}
	for _, m := range reports.Items[0].Members {
		reported[m.MemberID] = true
	}

	// Okta renames one onboarded person and deactivates another.
	var renamed, leaver store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		if m.Kind == domain.MemberUser && !reported[m.ExternalID] && m.MatchedEmail != nil {
			if renamed.ExternalID == "" {
				renamed = m
			} else if leaver.ExternalID == "" {
				leaver = m
			}
		}
	}
	if leaver.ExternalID == "" {
		t.Fatal("no two onboarded members")
	}
	person := func(m store.Member) seed.Person {
		for _, p := range people {
			if p.Email == *m.MatchedEmail {
				return p
			}
		}
		t.Fatalf("no person for %s", m.ExternalID)
		return seed.Person{}
	}
	r := person(renamed)
	method, path, body := oktaFixture(t, "update_user", fixtureID, ids[r.Key], "test.user@okta.local", r.Email)
	if code := s.scimCall(ep, method, path, body, nil); code != 200 {
		t.Fatalf("update: %d", code)
	}
	l := person(leaver)
	method, path, body = oktaFixture(t, "update_user_patch", fixtureID, ids[l.Key])
	if code := s.scimCall(ep, method, path, body, nil); code != 200 {
		t.Fatalf("deactivate: %d", code)
	}
	for _, u := range s.users(ep.ID, "&q="+url.QueryEscape(r.Email)) {
		if u.DisplayName != "Another User" || u.Status != domain.UserActive {
			t.Fatalf("renamed %+v", u)
		}
	}

	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	var now []string
	for _, m := range reports.Items[0].Members {
		now = append(now, m.MemberID)
	}
	if len(now) != len(reported)+1 || !slices.Contains(now, leaver.ExternalID) || slices.Contains(now, renamed.ExternalID) {
		t.Fatalf("reported %v; want the %d before and %s", now, len(reported), leaver.ExternalID)
	}
	if strings.Contains(s.logs.String(), "1mz050nq") {
		t.Fatal("the pushed password is in the logs")
	}
	db, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var kept int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM directory_users WHERE scim::text LIKE '%1mz050nq%'`).Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("the pushed password is stored: %d %v", kept, err)
	}
}

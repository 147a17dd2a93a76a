package pinsandbox_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	businessID = "549755813888"
	automation = "automation@acme.test"
	password   = "correct horse battery staple"
)

// browser is an HTTP client with cookies, like a browser's.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar}}
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Request.URL.Path
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Request.URL.Path
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in %s", page)
	}
	return m[1]
}

func (b *browser) login(email, pass string) (int, string, string) {
	b.t.Helper()
	_, page, _ := b.get("/login/?next=/business/business-access/" + businessID + "/")
	return b.post("/login/", url.Values{"csrf_token": {csrf(b.t, page)}, "id": {email}, "password": {pass},
		"next": {"/business/business-access/" + businessID + "/"}})
}

func setup(t *testing.T) (*pinsandbox.Server, string) {
	people := seed.Company("acme.test", 80, 3)
	s := pinsandbox.New()
	s.PageSize = 10
	s.AddBusiness(pinsandbox.NewDemoBusiness(businessID, "Acme", automation, people, 60, 4))
	s.AddAccount(automation, password)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func TestLoginVerificationAndSessions(t *testing.T) {
	s, base := setup(t)
	b := newBrowser(t, base)
	if code, page, _ := b.login(automation, "wrong"); code != http.StatusUnauthorized || !strings.Contains(page, "password you entered is incorrect") ||
		strings.Contains(page, "wrong") {
		t.Fatalf("wrong password: %d %s", code, page)
	}
	// A login form posted without its CSRF cookie is refused.
	if code, _, _ := newBrowser(t, base).post("/login/", url.Values{"csrf_token": {"x"}, "id": {automation}, "password": {password}}); code != http.StatusForbidden {
		t.Fatalf("login without the CSRF cookie: %d", code)
	}

	s.RequireVerification = true
	code, _, path := b.login(automation, password)
	if code != http.StatusOK || path != "/login/verify/" {
		t.Fatalf("a new browser was not asked for a code: %d %s", code, path)
	}
	if code, _, _ := b.post("/login/verify/", url.Values{"code": {"000000x"}}); code != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", code)
	}
	code, page, path := b.post("/login/verify/", url.Values{"code": {s.VerificationCode(automation)}})
	if code != http.StatusOK || path != "/business/business-access/"+businessID+"/employees/" || !strings.Contains(page, "employees-table") {
		t.Fatalf("after the code: %d %s", code, path)
	}
	// The browser is trusted now: the next login needs no code.
	s.ExpireSessions()
	if _, _, path := b.get("/business/business-access/" + businessID + "/employees/"); path != "/login/" {
		t.Fatalf("an expired session was not sent to log in: %s", path)
	}
	if _, _, path := b.login(automation, password); path != "/business/business-access/"+businessID+"/employees/" {
		t.Fatalf("a trusted browser was asked for a code again: %s", path)
	}
}

func TestMembersPagesAndActions(t *testing.T) {
	for _, flow := range []string{pinsandbox.FlowEmployees, pinsandbox.FlowPeople} {
		t.Run(flow, func(t *testing.T) {
			s, base := setup(t)
			s.Flow = flow
			b := newBrowser(t, base)
			b.login(automation, password)
			home := "/business/business-access/" + businessID + "/"
			rowRE := regexp.MustCompile(`data-member-id="(\d+)"`)
			seen, pages := map[string]bool{}, 0
			for next := home + flow + "/"; next != ""; pages++ {
				_, page, _ := b.get(next)
				for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
					seen[m[1]] = true
				}
				next = ""
				if m := regexp.MustCompile(`href="([^"]+\?page=\d+)"`).FindStringSubmatch(page); m != nil {
					next = m[1]
				}
			}
			if len(seen) != 61 || pages != 7 {
				t.Fatalf("%d members over %d pages, want 61 over 7", len(seen), pages)
			}

			add := map[string]string{pinsandbox.FlowEmployees: "employees/add/", pinsandbox.FlowPeople: "people/invite/"}[flow]
			_, form, _ := b.get(home + add)
			token := csrf(t, form)
			if code, _, _ := b.post(home+add, url.Values{"csrf_token": {"forged"}, "role": {"EMPLOYEE"}, "emails": {"new@acme.test"}}); code != http.StatusForbidden {
				t.Fatalf("a forged CSRF token: %d", code)
			}
			if code, _, _ := b.post(home+add, url.Values{"csrf_token": {token}, "role": {"OWNER"}, "emails": {"new@acme.test"}}); code != http.StatusBadRequest {
				t.Fatalf("a bad role: %d", code)
			}
			_, invites, path := b.post(home+add, url.Values{"csrf_token": {token}, "role": {"BIZ_ADMIN"}, "emails": {"new@acme.test, two@acme.test"}})
			if path != home+"invites/" || strings.Count(invites, "PENDING") != 2 {
				t.Fatalf("after adding: %s\n%s", path, invites)
			}
			var inviteID string
			for id, inv := range s.Business(businessID).Invites {
				if inv.Email == "new@acme.test" {
					inviteID = id
				}
			}
			memberID, err := s.AcceptInvite(businessID, inviteID, "New Person")
			if err != nil || s.Business(businessID).Members[memberID].Role != pinsandbox.RoleManager {
				t.Fatalf("accept: %v", err)
			}

			if _, _, _ = b.post(home+"members/"+memberID+"/role/", url.Values{"csrf_token": {token}, "role": {"EMPLOYEE"}}); s.Business(businessID).Members[memberID].Role != pinsandbox.RoleEmployee {
				t.Fatal("role not changed")
			}
			var held string
			for id, a := range s.Business(businessID).AdAccounts {
				for m := range a.Holders {
					if m != "549755813000" {
						held, memberID = id, m
					}
				}
			}
			b.post(home+"members/"+memberID+"/remove/", url.Values{"csrf_token": {token}})
			if s.Business(businessID).Members[memberID] != nil || s.Business(businessID).AdAccounts[held].Holders[memberID] != "" {
				t.Fatal("removed member still in the business or holding an ad account")
			}
		})
	}
}

func TestOnlyManagersSeeTheBusiness(t *testing.T) {
	s, base := setup(t)
	var employee string
	for _, m := range s.Business(businessID).Members {
		if m.Role == pinsandbox.RoleEmployee {
			employee = m.Email
			break
		}
	}
	s.AddAccount(employee, "pw")
	b := newBrowser(t, base)
	if code, page, _ := b.login(employee, "pw"); code != http.StatusForbidden || !strings.Contains(page, "Manager role") {
		t.Fatalf("an employee's login: %d", code)
	}
}

func TestSandboxControls(t *testing.T) {
	s, base := setup(t)
	b := newBrowser(t, base)
	if code, _, _ := b.post("/_sandbox/settings", nil); code != http.StatusNoContent {
		t.Fatalf("empty settings: %d", code)
	}
	post := func(path, body string) int {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/_sandbox/settings", `{"flow":"tabs"}`); code != http.StatusBadRequest {
		t.Fatalf("unknown flow: %d", code)
	}
	if code := post("/_sandbox/settings", `{"flow":"people","require_verification":true}`); code != http.StatusNoContent {
		t.Fatalf("settings: %d", code)
	}
	if _, _, path := b.login(automation, password); path != "/login/verify/" {
		t.Fatalf("verification not required after the setting: %s", path)
	}
	_, body, _ := b.get("/_sandbox/verification-code?email=" + url.QueryEscape(automation))
	code := regexp.MustCompile(`"code":"(\d+)"`).FindStringSubmatch(body)
	if code == nil {
		t.Fatalf("no code in %s", body)
	}
	if _, page, path := b.post("/login/verify/", url.Values{"code": {code[1]}}); !strings.HasSuffix(path, "/people/") || !strings.Contains(page, `aria-label="People"`) {
		t.Fatalf("after the code: %s", path)
	}
	if code := post("/_sandbox/sessions/expire", ""); code != http.StatusNoContent {
		t.Fatalf("expire: %d", code)
	}
	if _, _, path := b.get("/business/business-access/" + businessID + "/people/"); path != "/login/" {
		t.Fatalf("after expiry: %s", path)
	}
	biz := s.Business(businessID)
	biz.Invites["7"] = &pinsandbox.Invite{ID: "7", Email: "new@acme.test", Role: pinsandbox.RoleEmployee, Status: "PENDING"}
	if code := post("/_sandbox/invites/7/accept", `{"name":"New Person"}`); code != http.StatusOK {
		t.Fatalf("accept: %d", code)
	}
	if code := post("/_sandbox/invites/7/accept", `{}`); code != http.StatusNotFound {
		t.Fatalf("accept twice: %d", code)
	}
}

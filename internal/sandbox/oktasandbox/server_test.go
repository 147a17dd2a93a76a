package oktasandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const token = "00test-token"

// get sends a raw request, as any Okta client would.
func get(t *testing.T, srvURL, path, auth string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", srvURL+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func start(t *testing.T, n int) (*Server, string, []seed.Person) {
	people := seed.Company("acme.test", n, 5)
	s := New(token, people)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL, people
}

func TestListingFollowsOktaProtocol(t *testing.T) {
	_, base, people := start(t, 450)
	resp, body := get(t, base, "/api/v1/users?limit=1000", "SSWS "+token)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var users []User
	_ = json.Unmarshal(body, &users)
	if len(users) != MaxLimit {
		t.Fatalf("limit=1000 served %d users, want the %d maximum", len(users), MaxLimit)
	}
	links := resp.Header.Values("Link")
	if len(links) != 2 || !strings.Contains(links[0], `rel="self"`) || !strings.Contains(links[1], `rel="next"`) {
		t.Fatalf("Link headers = %q", links)
	}
	seen := map[string]bool{}
	next := links[1]
	for pages := 1; ; pages++ {
		for _, u := range users {
			if u.Status == "DEPROVISIONED" {
				t.Fatalf("plain listing shows DEPROVISIONED %s", u.ID)
			}
			seen[u.ID] = true
		}
		if next == "" {
			break
		}
		u := next[strings.Index(next, "<")+1 : strings.Index(next, ">")]
		parsed, _ := url.Parse(u)
		resp, body = get(t, base, parsed.RequestURI(), "SSWS "+token)
		users = nil
		_ = json.Unmarshal(body, &users)
		next = ""
		for _, l := range resp.Header.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				next = l
			}
		}
		if pages > 10 {
			t.Fatal("no end to the pages")
		}
	}
	deprov := 0
	for _, p := range people {
		if p.Status == "deprovisioned" {
			deprov++
		}
	}
	if len(seen) != len(people)-deprov {
		t.Fatalf("listed %d, want %d", len(seen), len(people)-deprov)
	}
	resp, body = get(t, base, "/api/v1/users?filter="+url.QueryEscape(`status eq "DEPROVISIONED"`), "SSWS "+token)
	users = nil
	_ = json.Unmarshal(body, &users)
	if len(users) != deprov || deprov == 0 {
		t.Fatalf("status filter listed %d deprovisioned, want %d", len(users), deprov)
	}
}

func TestErrorsFollowOktaProtocol(t *testing.T) {
	s, base, _ := start(t, 3)
	for _, tc := range []struct {
		name, path, auth string
		status           int
		code             string
	}{
		{"ErrNoToken", "/api/v1/users", "", 401, "E0000011"},
		{"ErrBearerInsteadOfSSWS", "/api/v1/users", "Bearer " + token, 401, "E0000011"},
		{"ErrBadFilterField", "/api/v1/users?filter=" + url.QueryEscape(`department eq "x"`), "SSWS " + token, 400, "E0000031"},
		{"ErrBadFilterOperator", "/api/v1/users?filter=" + url.QueryEscape(`status sw "A"`), "SSWS " + token, 400, "E0000031"},
		{"ErrBadLimit", "/api/v1/users?limit=abc", "SSWS " + token, 400, "E0000001"},
		{"ErrUnknownUser", "/api/v1/users/00unope", "SSWS " + token, 404, "E0000007"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, base, tc.path, tc.auth)
			var e struct {
				ErrorCode, ErrorSummary, ErrorID string
				ErrorCauses                      []any
			}
			if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != tc.status || e.ErrorCode != tc.code ||
				e.ErrorSummary == "" || !strings.HasPrefix(e.ErrorID, "oae") || e.ErrorCauses == nil {
				t.Fatalf("status %d body %s", resp.StatusCode, body)
			}
		})
	}
	t.Run("RateLimitHeadersAnd429", func(t *testing.T) {
		s.RateLimit, s.Window = 2, time.Minute
		var last *http.Response
		var body []byte
		for range 3 {
			last, body = get(t, base, "/api/v1/users", "SSWS "+token)
		}
		reset, err := strconv.ParseInt(last.Header.Get("X-Rate-Limit-Reset"), 10, 64)
		if last.StatusCode != 429 || !strings.Contains(string(body), "E0000047") || err != nil || reset < time.Now().Unix() ||
			last.Header.Get("X-Rate-Limit-Limit") != "2" || last.Header.Get("X-Rate-Limit-Remaining") != "0" {
			t.Fatalf("third call: %d %s %v", last.StatusCode, body, last.Header)
		}
	})
}

func TestFilterGrammar(t *testing.T) {
	for _, ok := range []string{`status eq "ACTIVE"`, `status eq "ACTIVE" or status eq "SUSPENDED"`,
		`(status eq "ACTIVE" and profile.lastName eq "Kim") or id eq "00u1"`, `lastUpdated gt "2024-01-01T00:00:00.000Z"`} {
		if _, err := parseFilter(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{``, `status`, `status eq`, `status eq ACTIVE`, `status gt "A"`, `lastUpdated gt "yesterday"`,
		`(status eq "A"`, `status eq "A" xor id eq "b"`, `profile.department eq "x"`, `status eq "A`} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// list follows a listing's next links and returns every user.
func list(t *testing.T, base, path string) []User {
	t.Helper()
	var all []User
	for path != "" {
		resp, body := get(t, base, path, "SSWS "+token)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var users []User
		_ = json.Unmarshal(body, &users)
		all = append(all, users...)
		path = ""
		for _, l := range resp.Header.Values("Link") {
			if strings.Contains(l, `rel="next"`) {
				parsed, _ := url.Parse(l[strings.Index(l, "<")+1 : strings.Index(l, ">")])
				path = parsed.RequestURI()
			}
		}
	}
	return all
}

// search lists users of every status, paged by id, with its own grammar
// (sw and pr too); q finds by a name's or address's start, 10 by default,
// never DEPROVISIONED users and never a next page.
func TestSearchAndFind(t *testing.T) {
	_, base, people := start(t, 450)
	deprov := 0
	for _, p := range people {
		if p.Status == "deprovisioned" {
			deprov++
		}
	}
	all := list(t, base, "/api/v1/users?search="+url.QueryEscape(`id pr`))
	statuses := map[string]int{}
	for _, u := range all {
		statuses[u.Status]++
	}
	if len(all) != len(people) || statuses["DEPROVISIONED"] != deprov || deprov == 0 {
		t.Fatalf("search listed %d users (%v), want %d with %d deprovisioned", len(all), statuses, len(people), deprov)
	}
	p := people[7]
	if got := list(t, base, "/api/v1/users?search="+url.QueryEscape(`profile.lastName sw "`+p.FamilyName[:3]+`" and status eq "ACTIVE"`)); len(got) == 0 {
		t.Fatal("sw found nobody")
	} else {
		for _, u := range got {
			if !strings.HasPrefix(u.Profile.LastName, p.FamilyName[:3]) || u.Status != "ACTIVE" {
				t.Fatalf("search found %+v", u)
			}
		}
	}
	resp, body := get(t, base, "/api/v1/users?q=a", "SSWS "+token)
	var found []User
	_ = json.Unmarshal(body, &found)
	if resp.StatusCode != 200 || len(found) != 10 || strings.Contains(strings.Join(resp.Header.Values("Link"), " "), `rel="next"`) {
		t.Fatalf("q=a: %d, %d users, links %q", resp.StatusCode, len(found), resp.Header.Values("Link"))
	}
	for _, u := range found {
		if u.Status == "DEPROVISIONED" {
			t.Fatalf("q found deprovisioned %s", u.ID)
		}
	}
	for _, bad := range []string{"/api/v1/users?search=" + url.QueryEscape(`profile.nope eq "x"`),
		"/api/v1/users?search=" + url.QueryEscape(`id pr`) + "&sortBy=profile.lastName",
		"/api/v1/users?search=x&filter=" + url.QueryEscape(`status eq "ACTIVE"`)} {
		if resp, _ := get(t, base, bad, "SSWS "+token); resp.StatusCode != 400 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
}

// The token endpoint takes a private_key_jwt assertion once, for its own
// audience and the app's granted scopes; its token reads but does not
// write without okta.users.manage.
func TestServiceAppTokenEndpoint(t *testing.T) {
	s, base, _ := start(t, 5)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	s.RegisterServiceApp(ServiceApp{ClientID: "0oa1", Scopes: []string{"okta.users.read"}, PublicKey: jose.JSONWebKey{Key: key.Public()}})
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, nil)
	assertion := func(aud, jti string) string {
		now := time.Now()
		a, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "0oa1", Subject: "0oa1", Audience: jwt.Audience{aud}, ID: jti,
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}).Serialize()
		return a
	}
	tokenURL := base + "/oauth2/v1/token"
	post := func(form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(tokenURL, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	form := func(a, scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "client_assertion": {a},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	}
	code, body := post(form(assertion(tokenURL, "j1"), "okta.users.read"))
	if code != 200 || body["token_type"] != "Bearer" {
		t.Fatalf("token: %d %v", code, body)
	}
	access := body["access_token"].(string)
	for name, tc := range map[string]struct {
		form url.Values
		code int
		err  string
	}{
		"ReusedJTI":       {form(assertion(tokenURL, "j1"), "okta.users.read"), 401, "invalid_client"},
		"WrongAudience":   {form(assertion(base+"/oauth2/default/v1/token", "j2"), "okta.users.read"), 401, "invalid_client"},
		"ScopeNotGranted": {form(assertion(tokenURL, "j3"), "okta.users.manage"), 400, "invalid_scope"},
		"NoAssertion":     {url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.users.read"}}, 401, "invalid_client"},
		"WrongGrant":      {url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
	} {
		if code, body := post(tc.form); code != tc.code || body["error"] != tc.err {
			t.Errorf("%s: %d %v", name, code, body)
		}
	}
	if resp, _ := get(t, base, "/api/v1/users", "Bearer "+access); resp.StatusCode != 200 {
		t.Fatalf("read with the token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/users/"+OktaID("p0001")+"/lifecycle/deactivate", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		t.Fatalf("write with a read token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// Groups and their members page by Link as users do; membership changes
// through PUT and DELETE; an unknown group is Okta's 404.
func TestGroupsFollowOktaProtocol(t *testing.T) {
	s, base, people := start(t, 30)
	a := s.AddGroup("Marketing", OktaID(people[0].Key), OktaID(people[1].Key), OktaID(people[2].Key))
	s.AddGroup("Agencies")
	if got := list(t, base, "/api/v1/groups?limit=1"); len(got) != 2 {
		t.Fatalf("groups listed as %d users", len(got))
	}
	resp, body := get(t, base, "/api/v1/groups?limit=1", "SSWS "+token)
	var groups []Group
	_ = json.Unmarshal(body, &groups)
	if resp.StatusCode != 200 || len(groups) != 1 || groups[0].Type != "OKTA_GROUP" || groups[0].Profile.Name != "Marketing" ||
		!strings.Contains(strings.Join(resp.Header.Values("Link"), " "), `rel="next"`) {
		t.Fatalf("groups page: %d %s", resp.StatusCode, body)
	}
	if got := list(t, base, "/api/v1/groups/"+a+"/users?limit=2"); len(got) != 3 || got[0].Profile.Email == "" {
		t.Fatalf("members %+v", got)
	}
	for _, method := range []string{"DELETE", "PUT"} {
		req, _ := http.NewRequest(method, base+"/api/v1/groups/"+a+"/users/"+OktaID(people[0].Key), nil)
		req.Header.Set("Authorization", "SSWS "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("%s membership: %v %d", method, err, resp.StatusCode)
		}
		resp.Body.Close()
		want := map[string]int{"DELETE": 2, "PUT": 3}[method]
		if got := list(t, base, "/api/v1/groups/"+a+"/users"); len(got) != want {
			t.Fatalf("after %s: %d members", method, len(got))
		}
	}
	if resp, body := get(t, base, "/api/v1/groups/00gnope/users", "SSWS "+token); resp.StatusCode != 404 || !strings.Contains(string(body), "E0000007") {
		t.Fatalf("unknown group: %d %s", resp.StatusCode, body)
	}
}

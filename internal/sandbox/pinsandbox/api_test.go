package pinsandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
)

const (
	clientID     = "1487262"
	clientSecret = "app-secret-Qm3x"
	redirectURI  = "http://127.0.0.1:8080/v1/pinterest/oauth/callback"
)

// specRouter finds operations in Pinterest's own description of the API
// (testdata: a copy of specs/pinterest-v5-business-access.yaml).
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("testdata/pinterest-v5-business-access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// apiClient calls the sandbox API and holds every request and answer to
// the spec: the request must be one the spec allows, the answer (errors
// included) one it describes.
type apiClient struct {
	t      *testing.T
	base   string
	router routers.Router
	token  string
	// invalid: the requests break the spec on purpose (the sandbox must
	// refuse them as Pinterest does).
	invalid bool
}

func (c *apiClient) call(method, path string, body any, out any) int {
	c.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, c.base+"/v5"+path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	c.validate(req, raw, resp, answer)
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, answer)
		}
	}
	return resp.StatusCode
}

func (c *apiClient) validate(req *http.Request, body []byte, resp *http.Response, answer []byte) {
	c.t.Helper()
	specReq := req.Clone(context.Background())
	specReq.URL, _ = url.Parse("https://api.pinterest.com" + req.URL.RequestURI())
	specReq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(specReq)
	if err != nil {
		c.t.Fatalf("%s %s is not in the spec: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); (err != nil) != c.invalid {
		c.t.Fatalf("%s %s: the request breaks the spec: %v (on purpose: %v)", req.Method, req.URL.Path, err, c.invalid)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(answer)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Fatalf("%s %s: the answer breaks the spec: %v\n%s", req.Method, req.URL.Path, err, answer)
	}
}

// token runs the authorization code flow as a person logged in to the web
// app would, then exchanges the code; it returns the token answer.
func token(t *testing.T, s *pinsandbox.Server, base string, router routers.Router, scopes string) map[string]any {
	t.Helper()
	b := newBrowser(t, base)
	b.login(automation, password)
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	consent := "/oauth/?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {scopes}, "state": {"st-42"}}.Encode()
	code, page, _ := b.get(consent)
	if code != http.StatusOK || !strings.Contains(page, `data-test-id="oauth-consent"`) || !strings.Contains(page, pinsandbox.ScopeRead) {
		t.Fatalf("consent page: %d %s", code, page)
	}
	form := url.Values{"csrf_token": {csrf(t, page)}, "decision": {"allow"}}
	for k, v := range map[string]string{"client_id": clientID, "redirect_uri": redirectURI, "response_type": "code", "scope": scopes, "state": "st-42"} {
		form.Set(k, v)
	}
	resp, err := b.c.PostForm(base+"/oauth/", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || back.Query().Get("state") != "st-42" || back.Query().Get("code") == "" {
		t.Fatalf("consent answer: %d %s", resp.StatusCode, back)
	}
	return exchange(t, base, router, url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {redirectURI}}, http.StatusOK)
}

// exchange posts to /v5/oauth/token with the app's credentials.
func exchange(t *testing.T, base string, router routers.Router, form url.Values, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v5/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	(&apiClient{t: t, router: router}).validate(req, []byte(form.Encode()), resp, answer)
	var out map[string]any
	if err := json.Unmarshal(answer, &out); err != nil || resp.StatusCode != want {
		t.Fatalf("token: %d %s, want %d", resp.StatusCode, answer, want)
	}
	return out
}

func apiSetup(t *testing.T) (*pinsandbox.Server, *apiClient) {
	s, base := setup(t)
	s.AddApp(clientID, clientSecret, redirectURI)
	router := specRouter(t)
	tok := token(t, s, base, router, pinsandbox.ScopeRead+","+pinsandbox.ScopeWrite)
	return s, &apiClient{t: t, base: base, router: router, token: tok["access_token"].(string)}
}

type membersPage struct {
	Items []struct {
		ID            string   `json:"id"`
		BusinessRoles []string `json:"business_roles"`
		User          struct {
			Email string `json:"email"`
		} `json:"user"`
		AssetsSummary *struct {
			AdAccounts []struct {
				ID          string   `json:"id"`
				Permissions []string `json:"permissions"`
			} `json:"ad_accounts"`
		} `json:"assets_summary"`
	} `json:"items"`
	Bookmark *string `json:"bookmark"`
}

// The OAuth flow: consent on the web app, a code exchanged once, a refresh
// that renews both tokens, expired and revoked tokens refused.
func TestAPIOAuth(t *testing.T) {
	s, base := setup(t)
	s.AddApp(clientID, clientSecret, redirectURI)
	router := specRouter(t)
	got := token(t, s, base, router, pinsandbox.ScopeRead+","+pinsandbox.ScopeWrite)
	if got["token_type"] != "bearer" || got["scope"] != "biz_access:read,biz_access:write" || got["refresh_token"] == "" ||
		got["expires_in"].(float64) != pinsandbox.AccessTokenTTL.Seconds() {
		t.Fatalf("token answer %v", got)
	}
	c := &apiClient{t: t, base: base, router: router, token: got["access_token"].(string)}
	if code := c.call("GET", "/businesses/"+businessID+"/members", nil, nil); code != http.StatusOK {
		t.Fatalf("members with the new token: %d", code)
	}
	refreshed := exchange(t, base, router, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got["refresh_token"].(string)}}, http.StatusOK)
	if refreshed["access_token"] == got["access_token"] || refreshed["refresh_token"] == got["refresh_token"] {
		t.Fatalf("refresh gave the same tokens: %v", refreshed)
	}
	exchange(t, base, router, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got["refresh_token"].(string)}}, http.StatusBadRequest)

	s.ExpireAccessTokens()
	c.token = refreshed["access_token"].(string)
	if code := c.call("GET", "/businesses/"+businessID+"/members", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("an expired access token: %d", code)
	}
	again := exchange(t, base, router, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshed["refresh_token"].(string)}}, http.StatusOK)
	c.token = again["access_token"].(string)
	if code := c.call("GET", "/businesses/"+businessID+"/members", nil, nil); code != http.StatusOK {
		t.Fatalf("after a refresh: %d", code)
	}
	s.RevokeRefreshTokens()
	exchange(t, base, router, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {again["refresh_token"].(string)}}, http.StatusBadRequest)

	// A code is good once, and only with its redirect URI.
	fresh := token(t, s, base, router, pinsandbox.ScopeRead)
	if fresh["scope"] != pinsandbox.ScopeRead {
		t.Fatalf("scope %v", fresh["scope"])
	}
	read := &apiClient{t: t, base: base, router: router, token: fresh["access_token"].(string)}
	if code := read.call("PATCH", "/businesses/"+businessID+"/members", []map[string]string{{"member_id": "549755813001",
		"business_role": "BIZ_ADMIN"}}, nil); code != http.StatusForbidden {
		t.Fatalf("a write with a read-only token: %d", code)
	}
	exchange(t, base, router, url.Values{"grant_type": {"authorization_code"}, "code": {"not-a-code"}, "redirect_uri": {redirectURI}},
		http.StatusBadRequest)
}

// Members page by bookmark, each once, with what they hold; partners are
// listed apart; role changes and removals answer per member.
func TestAPIMembers(t *testing.T) {
	s, c := apiSetup(t)
	b := s.Business(businessID)
	var wantMembers, wantPartners []string
	for id, m := range b.Members {
		if m.Role == pinsandbox.RolePartner {
			wantPartners = append(wantPartners, id)
		} else {
			wantMembers = append(wantMembers, id)
		}
	}
	list := func(path string) (ids []string, pages int) {
		t.Helper()
		bookmark := ""
		for {
			var p membersPage
			q := "?assets_summary=true&page_size=7"
			if bookmark != "" {
				q += "&bookmark=" + url.QueryEscape(bookmark)
			}
			if code := c.call("GET", "/businesses/"+businessID+path+q, nil, &p); code != http.StatusOK {
				t.Fatalf("%s: %d", path, code)
			}
			pages++
			for _, m := range p.Items {
				ids = append(ids, m.ID)
				held := 0
				for _, a := range b.AdAccounts {
					if a.Holders[m.ID] != "" {
						held++
					}
				}
				if m.AssetsSummary == nil || len(m.AssetsSummary.AdAccounts) != held {
					t.Fatalf("%s holds %d ad accounts, summary %+v", m.ID, held, m.AssetsSummary)
				}
			}
			if p.Bookmark == nil {
				return ids, pages
			}
			bookmark = *p.Bookmark
		}
	}
	members, pages := list("/members")
	slices.Sort(wantMembers)
	if !slices.Equal(members, wantMembers) || pages != (len(wantMembers)+6)/7 {
		t.Fatalf("%d members in %d pages, want %d", len(members), pages, len(wantMembers))
	}
	partners, _ := list("/partners")
	slices.Sort(wantPartners)
	if !slices.Equal(partners, wantPartners) || len(partners) == 0 {
		t.Fatalf("partners %v, want %v", partners, wantPartners)
	}

	employee := ""
	for _, id := range wantMembers {
		if b.Members[id].Role == pinsandbox.RoleEmployee && b.Members[id].Email != automation {
			employee = id
			break
		}
	}
	var roles struct {
		Items []map[string]string `json:"items"`
	}
	if code := c.call("PATCH", "/businesses/"+businessID+"/members", []map[string]string{{"member_id": employee, "business_role": "BIZ_ADMIN"},
		{"member_id": "999999999", "business_role": "EMPLOYEE"}}, &roles); code != http.StatusOK || len(roles.Items) != 1 ||
		s.Business(businessID).Members[employee].Role != pinsandbox.RoleManager {
		t.Fatalf("role change: %d %v", code, roles.Items)
	}
	var removed struct {
		Deleted []string `json:"deleted_members"`
	}
	if code := c.call("DELETE", "/businesses/"+businessID+"/members", map[string]any{"members": []map[string]string{
		{"member_id": employee, "business_role": "BIZ_ADMIN"}, {"member_id": "999999999", "business_role": "EMPLOYEE"}}}, &removed); code != http.StatusOK ||
		!slices.Equal(removed.Deleted, []string{employee}) || s.Business(businessID).Members[employee] != nil {
		t.Fatalf("removal: %d %v", code, removed.Deleted)
	}
	for _, a := range s.Business(businessID).AdAccounts {
		if a.Holders[employee] != "" {
			t.Fatal("a removed member still holds an ad account")
		}
	}
}

// Invitations: sent per address (an existing member and a repeat fail on
// their own), listed PENDING then EXPIRED, cancelled once; the web app
// sees what the API sent.
func TestAPIInvites(t *testing.T) {
	s, c := apiSetup(t)
	member := ""
	for _, m := range s.Business(businessID).Members {
		if m.Role == pinsandbox.RoleEmployee {
			member = m.Email
		}
	}
	var sent struct {
		Items []struct {
			Invite *struct {
				ID string `json:"id"`
			} `json:"invite"`
			Exception *struct {
				Message string   `json:"message"`
				Users   []string `json:"users_or_partner_ids"`
			} `json:"exception"`
		} `json:"items"`
	}
	if code := c.call("POST", "/businesses/"+businessID+"/invites", map[string]any{"business_role": "EMPLOYEE", "invite_type": "MEMBER_INVITE",
		"members": []string{"new.hire@acme.test", member, "new.hire@acme.test"}}, &sent); code != http.StatusOK || len(sent.Items) != 3 {
		t.Fatalf("invite: %d %+v", code, sent)
	}
	if sent.Items[0].Invite == nil || sent.Items[1].Exception == nil || sent.Items[1].Exception.Users[0] != member || sent.Items[2].Exception == nil {
		t.Fatalf("per-address answers %+v", sent.Items)
	}
	id := sent.Items[0].Invite.ID
	web := newBrowser(t, c.base)
	web.login(automation, password)
	if _, page, _ := web.get("/business/business-access/" + businessID + "/invites/"); !strings.Contains(page, "new.hire@acme.test") {
		t.Fatalf("the web app does not list the API's invitation:\n%s", page)
	}
	listed := func(status string) []string {
		t.Helper()
		var p struct {
			Items []struct {
				ID   string `json:"id"`
				Data struct {
					Status string `json:"invite_status"`
				} `json:"invite_data"`
			} `json:"items"`
		}
		if code := c.call("GET", "/businesses/"+businessID+"/invites?invite_status="+status, nil, &p); code != http.StatusOK {
			t.Fatalf("invites: %d", code)
		}
		var ids []string
		for _, inv := range p.Items {
			if inv.Data.Status != status {
				t.Fatalf("%s listed as %s under %s", inv.ID, inv.Data.Status, status)
			}
			ids = append(ids, inv.ID)
		}
		return ids
	}
	if !slices.Contains(listed("PENDING"), id) {
		t.Fatal("the new invitation is not pending")
	}
	s.Business(businessID).Invites[id].Expires = time.Now().Add(-time.Hour)
	if slices.Contains(listed("PENDING"), id) || !slices.Contains(listed("EXPIRED"), id) {
		t.Fatal("an invitation past its expiry is not EXPIRED")
	}
	// Expired, the address may be invited again; that one is cancelled.
	if c.call("POST", "/businesses/"+businessID+"/invites", map[string]any{"business_role": "BIZ_ADMIN", "invite_type": "MEMBER_INVITE",
		"members": []string{"new.hire@acme.test"}}, &sent); sent.Items[0].Invite == nil {
		t.Fatalf("re-invite after expiry: %+v", sent.Items[0].Exception)
	}
	again := sent.Items[0].Invite.ID
	var cancelled struct {
		Items []struct {
			Invite *struct {
				ID   string `json:"id"`
				Data struct {
					Status string `json:"invite_status"`
				} `json:"invite_data"`
			} `json:"invite"`
			Exception *struct {
				InviteID string `json:"invite_id"`
			} `json:"exception"`
		} `json:"items"`
	}
	if code := c.call("DELETE", "/businesses/"+businessID+"/invites", map[string]any{"invite_ids": []string{again, id, "123"}}, &cancelled); code != http.StatusOK ||
		cancelled.Items[0].Invite == nil || cancelled.Items[0].Invite.Data.Status != "CANCELLED" ||
		cancelled.Items[1].Exception == nil || cancelled.Items[2].Exception.InviteID != "123" {
		t.Fatalf("cancel: %d %+v", code, cancelled.Items)
	}
}

// Ad accounts and what members hold on them; permissions granted and
// revoked per access, a bad one failing on its own.
func TestAPIAssetPermissions(t *testing.T) {
	s, c := apiSetup(t)
	b := s.Business(businessID)
	var assets struct {
		Items []struct {
			AssetID   string `json:"asset_id"`
			AssetType string `json:"asset_type"`
		} `json:"items"`
	}
	if code := c.call("GET", "/businesses/"+businessID+"/assets?asset_type=AD_ACCOUNT", nil, &assets); code != http.StatusOK || len(assets.Items) != len(b.AdAccounts) {
		t.Fatalf("assets: %d %+v", code, assets)
	}
	account := assets.Items[0].AssetID
	// An employee who holds no ad account yet.
	member := ""
	for id, m := range b.Members {
		holds := false
		for _, a := range b.AdAccounts {
			_, held := a.Holders[id]
			holds = holds || held
		}
		if !holds && m.Role == pinsandbox.RoleEmployee && (member == "" || id < member) {
			member = id
		}
	}
	var granted struct {
		Items []map[string]any `json:"items"`
	}
	if code := c.call("PATCH", "/businesses/"+businessID+"/members/assets/access", map[string]any{"accesses": []map[string]any{
		{"asset_id": account, "member_id": member, "permissions": []string{"ANALYST", "CAMPAIGN_MANAGER"}},
		{"asset_id": account, "member_id": member, "permissions": []string{"PROFILE_PUBLISHER"}}}}, &granted); code != http.StatusOK ||
		granted.Items[0]["response"] == nil || granted.Items[1]["exception"] == nil {
		t.Fatalf("grant: %d %+v", code, granted.Items)
	}
	var held struct {
		Items []struct {
			AssetID     string   `json:"asset_id"`
			Permissions []string `json:"permissions"`
		} `json:"items"`
	}
	c.call("GET", "/businesses/"+businessID+"/members/"+member+"/assets", nil, &held)
	if len(held.Items) != 1 || held.Items[0].AssetID != account || !slices.Equal(held.Items[0].Permissions, []string{"ANALYST", "CAMPAIGN_MANAGER"}) {
		t.Fatalf("member assets %+v", held.Items)
	}
	var revoked struct {
		Items []map[string]string `json:"items"`
	}
	if code := c.call("DELETE", "/businesses/"+businessID+"/members/assets/access", map[string]any{"accesses": []map[string]string{
		{"asset_id": account, "member_id": member}}}, &revoked); code != http.StatusOK || len(revoked.Items) != 1 {
		t.Fatalf("revoke: %d %+v", code, revoked.Items)
	}
	if _, holds := s.Business(businessID).AdAccounts[account].Holders[member]; holds {
		t.Fatal("the permission is still held")
	}
}

// Errors are {code, message}: no token, a business the person does not
// manage, a bad page size or bookmark, too big a batch, a rate limit.
func TestAPIErrors(t *testing.T) {
	s, c := apiSetup(t)
	anonymous := &apiClient{t: t, base: c.base, router: c.router}
	invalid := &apiClient{t: t, base: c.base, router: c.router, token: c.token, invalid: true}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	for _, tc := range []struct {
		name   string
		client *apiClient
		method string
		path   string
		body   any
		want   int
	}{
		{"NoToken", anonymous, "GET", "/businesses/" + businessID + "/members", nil, http.StatusUnauthorized},
		{"OtherBusiness", c, "GET", "/businesses/123456/members", nil, http.StatusForbidden},
		{"PageSizeZero", invalid, "GET", "/businesses/" + businessID + "/members?page_size=0", nil, http.StatusBadRequest},
		{"BadBookmark", c, "GET", "/businesses/" + businessID + "/members?bookmark=%21%21", nil, http.StatusBadRequest},
		{"BatchOf51", invalid, "DELETE", "/businesses/" + businessID + "/invites", map[string]any{"invite_ids": strings.Split(strings.Repeat("1,", 50)+"1", ",")},
			http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.t = t
			if code := tc.client.call(tc.method, tc.path, tc.body, &e); code != tc.want || e.Message == "" {
				t.Fatalf("%d %+v, want %d", code, e, tc.want)
			}
		})
	}
	c.t = t
	s.ThrottleAPI(1)
	if code := c.call("GET", "/businesses/"+businessID+"/members", nil, &e); code != http.StatusTooManyRequests || e.Code == 0 {
		t.Fatalf("throttled: %d %+v", code, e)
	}
	if code := c.call("GET", "/businesses/"+businessID+"/members", nil, nil); code != http.StatusOK {
		t.Fatalf("after the throttle: %d", code)
	}
}

package scimserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pgtest"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

// push is a SCIM directory served by the real API over HTTP.
type push struct {
	t     *testing.T
	st    *store.Store
	db    *pgx.Conn
	base  string // the directory's SCIM base URL
	token string
	dir   store.Directory
	logs  *bytes.Buffer
	// apiURL and apiKey reach the rest of the API.
	apiURL, apiKey string
	// ids maps the fixtures' resource ids to the ones Hubkeeper gave.
	ids map[string]string
}

func newPush(t *testing.T) *push {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	spec, _ := secrets.NewKeySpec("test")
	keys, err := secrets.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	ws, err := st.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mu.Lock()
	handler = api.New(api.Options{Store: st, PublicURL: srv.URL, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	mu.Unlock()

	key, _, err := st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: ws.ID, Name: "test", Scope: store.ScopeAdmin, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/directories", strings.NewReader(`{"type":"scim","name":"Okta provisioning"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		store.Directory
		SCIM struct {
			BaseURL string `json:"base_url"`
			Token   string `json:"token"`
		} `json:"scim"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create directory: %d %v", resp.StatusCode, err)
	}
	if created.SCIM.BaseURL != srv.URL+"/scim/"+created.ID+"/v2" || !strings.HasPrefix(created.SCIM.Token, "hks_") {
		t.Fatalf("scim endpoint %+v", created.SCIM)
	}
	return &push{t: t, st: st, db: db, base: created.SCIM.BaseURL, token: created.SCIM.Token, dir: created.Directory, logs: logs,
		ids: map[string]string{}, apiURL: srv.URL, apiKey: key}
}

// call sends a request with the directory's token and decodes the answer.
func (p *push) call(method, path, body string) (int, map[string]any) {
	p.t.Helper()
	return p.callWith(p.token, method, path, body)
}

func (p *push) callWith(token, method, path, body string) (int, map[string]any) {
	p.t.Helper()
	for fixture, ours := range p.ids {
		path, body = strings.ReplaceAll(path, fixture, ours), strings.ReplaceAll(body, fixture, ours)
	}
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		p.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			p.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			p.t.Fatalf("%s %s: content type %q", method, path, ct)
		}
	}
	return resp.StatusCode, out
}

// fixture is one recorded request of an IdP.
type fixture struct {
	Request    json.RawMessage `json:"request"`
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	StatusCode int             `json:"statusCode"`
}

// replay sends a recorded request and checks the status the IdP expects.
func (p *push) replay(name string) map[string]any {
	p.t.Helper()
	raw, err := os.ReadFile("testdata/" + name + ".json")
	if err != nil {
		p.t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		p.t.Fatal(err)
	}
	body := ""
	if len(f.Request) > 0 && string(f.Request) != "null" {
		body = string(f.Request)
	}
	code, out := p.call(f.Method, f.Path, body)
	if code != f.StatusCode {
		p.t.Fatalf("%s: %s %s answered %d, want %d: %v", name, f.Method, f.Path, code, f.StatusCode, out)
	}
	return out
}

// user is the directory user Hubkeeper matches and reports on.
func (p *push) user(id string) domain.DirectoryUser {
	p.t.Helper()
	var u domain.DirectoryUser
	var removed bool
	err := p.db.QueryRow(context.Background(), `SELECT external_id, email, aliases, display_name, given_name, family_name, status,
		provider_status, removed_at IS NOT NULL FROM directory_users WHERE directory_id = $1 AND external_id = $2`, p.dir.ID, id).
		Scan(&u.ExternalID, &u.Email, &u.Aliases, &u.DisplayName, &u.GivenName, &u.FamilyName, &u.Status, &u.ProviderStatus, &removed)
	if err != nil {
		p.t.Fatal(err)
	}
	u.Removed = removed
	return u
}

func members(res map[string]any) []string {
	var out []string
	list, _ := res["members"].([]any)
	for _, m := range list {
		out = append(out, m.(map[string]any)["value"].(string))
	}
	return out
}

func total(res map[string]any) int {
	n, _ := res["totalResults"].(float64)
	return int(n)
}

// Okta's provisioning sequence: look the user up, create, read, replace,
// deactivate; then a group made, renamed and given members.
func TestOktaSequence(t *testing.T) {
	p := newPush(t)
	if res := p.replay("okta/user_exists"); total(res) != 0 {
		t.Fatalf("before the push: %v", res)
	}
	created := p.replay("okta/create_user")
	id := created["id"].(string)
	p.ids["23a35c27-23d3-4c03-b4c5-6443c09e7173"] = id
	if _, ok := created["password"]; ok || created["userName"] != "test.user@okta.local" || created["externalId"] != "00ujl29u0le5T6Aj10h7" ||
		created["active"] != true {
		t.Fatalf("created %v", created)
	}
	if meta := created["meta"].(map[string]any); meta["location"] != p.base+"/Users/"+id || meta["resourceType"] != "User" {
		t.Fatalf("meta %v", meta)
	}
	var stored string
	if err := p.db.QueryRow(context.Background(), `SELECT scim::text FROM directory_users WHERE external_id = $1`, id).Scan(&stored); err != nil ||
		strings.Contains(stored, "1mz050nq") || strings.Contains(p.logs.String(), "1mz050nq") {
		t.Fatalf("the password was kept: %s %v", stored, err)
	}
	if u := p.user(id); u.Email != "test.user@okta.local" || u.Status != domain.UserActive || u.DisplayName != "Test User" {
		t.Fatalf("pushed user %+v", u)
	}
	if res := p.replay("okta/user_exists"); total(res) != 1 {
		t.Fatalf("after the push: %v", res)
	}
	// userName is not case-exact.
	if _, res := p.call("GET", `/Users?filter=userName+eq+%22TEST.User%40okta.local%22`, ""); total(res) != 1 {
		t.Fatalf("case-insensitive userName: %v", res)
	}
	if res := p.replay("okta/retrieve_user"); res["id"] != id {
		t.Fatalf("retrieved %v", res)
	}
	p.replay("okta/update_user")
	if u := p.user(id); u.GivenName != "Another" || u.DisplayName != "Another User" {
		t.Fatalf("replaced user %+v", u)
	}
	if res := p.replay("okta/update_user_patch"); res["active"] != false {
		t.Fatalf("deactivated %v", res)
	}
	if u := p.user(id); u.Status != domain.UserDeprovisioned || u.ProviderStatus != "inactive" || u.Removed {
		t.Fatalf("deactivated user %+v", u)
	}

	// The membership fixture names a second user.
	code, second := p.call("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"second@okta.local",
		"emails":[{"value":"second@okta.local","type":"work","primary":true}],"active":true}`)
	if code != 201 {
		t.Fatalf("second user: %d %v", code, second)
	}
	p.ids["89bb1940-b905-4575-9e7f-6f887cfb368e"] = second["id"].(string)
	group := p.replay("okta/create_group")
	p.ids["abf4dd94-a4c0-4f67-89c9-76b03340cb9b"] = group["id"].(string)
	if res := p.replay("okta/update_group_name"); res["displayName"] != "Test SCIMv2" {
		t.Fatalf("renamed %v", res)
	}
	res := p.replay("okta/update_group_membership")
	if got := members(res); len(got) != 2 {
		t.Fatalf("members %v", res)
	}
	if res := p.replay("okta/retrieve_group"); len(members(res)) != 2 {
		t.Fatalf("group %v", res)
	}
	if _, res := p.call("GET", "/Groups/"+group["id"].(string)+"?excludedAttributes=members", ""); res["members"] != nil ||
		res["displayName"] != "Test SCIMv2" {
		t.Fatalf("group without members %v", res)
	}
	if _, res := p.call("GET", `/Groups?filter=displayName+eq+%22test+scimv2%22&excludedAttributes=members`, ""); total(res) != 1 {
		t.Fatalf("group by name %v", res)
	}
	if code, _ := p.call("DELETE", "/Groups/"+group["id"].(string), ""); code != 204 {
		t.Fatalf("delete group: %d", code)
	}
	if code, _ := p.call("GET", "/Groups/"+group["id"].(string), ""); code != 404 {
		t.Fatalf("deleted group: %d", code)
	}
}

// Entra's provisioning sequence: a user with the enterprise extension,
// patched by value paths with capitalised ops, a group given a member and
// losing it by value, and a user deleted.
func TestEntraSequence(t *testing.T) {
	p := newPush(t)
	if res := p.replay("azuread/get_user_query_0"); total(res) != 0 {
		t.Fatalf("before the push: %v", res)
	}
	created := p.replay("azuread/create_user")
	id := created["id"].(string)
	p.ids["6764549bef60420686bc"] = id
	p.ids["48af03ac28ad4fb88478"] = id
	if u := p.user(id); u.Email != "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com" || u.DisplayName != "givenName familyName" {
		t.Fatalf("pushed user %+v", u)
	}
	if _, res := p.call("GET", `/Users?filter=userName+eq+%22Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1%22`, ""); total(res) != 1 {
		t.Fatalf("by userName: %v", res)
	}
	if _, res := p.call("GET", `/Users?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22`, ""); total(res) != 1 {
		t.Fatalf("by externalId: %v", res)
	}
	patched := p.replay("azuread/update_user")
	if patched["userName"] != "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" || patched["active"] != false {
		t.Fatalf("patched %v", patched)
	}
	u := p.user(id)
	if u.Email != "updatedemail@microsoft.com" || u.FamilyName != "updatedFamilyName" || u.Status != domain.UserDeprovisioned {
		t.Fatalf("patched user %+v", u)
	}
	if _, res := p.call("GET", `/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22updatedEmail%40microsoft.com%22`, ""); total(res) != 1 {
		t.Fatalf("by work address: %v", res)
	}
	// Entra's booleans as strings reactivate and deactivate.
	for value, want := range map[string]domain.UserStatus{`"True"`: domain.UserActive, `"False"`: domain.UserDeprovisioned} {
		code, res := p.call("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":`+value+`}]}`)
		if code != 200 || p.user(id).Status != want {
			t.Fatalf("active %s: %d %v %+v", value, code, res, p.user(id))
		}
	}

	group := p.replay("azuread/create_group")
	p.ids["fa2ce26709934589afc5"] = group["id"].(string)
	p.ids["40734ae655284ad3abcc"] = group["id"].(string)
	p.ids["f648f8d5ea4e4cd38e9c"] = id
	if res := p.replay("azuread/get_group_dn"); total(res) != 1 {
		t.Fatalf("group by name: %v", res)
	}
	res := p.replay("azuread/update_group")
	if res["displayName"] != "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" || len(members(res)) != 0 {
		t.Fatalf("patched group %v", res)
	}
	code, res := p.call("PATCH", "/Groups/"+group["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Add","path":"members","value":[{"value":"`+id+`"}]}]}`)
	if code != 200 || len(members(res)) != 1 {
		t.Fatalf("member added: %d %v", code, res)
	}
	if code, _ := p.call("DELETE", "/Users/"+id, ""); code != 204 {
		t.Fatalf("delete user: %d", code)
	}
	if code, _ := p.call("GET", "/Users/"+id, ""); code != 404 {
		t.Fatalf("deleted user: %d", code)
	}
	if u := p.user(id); u.Status != domain.UserDeprovisioned || !u.Removed || u.ProviderStatus != "deleted" {
		t.Fatalf("deleted user %+v", u)
	}
	if res := p.replay("azuread/get_group"); len(members(res)) != 0 {
		t.Fatalf("a deleted user stays a member: %v", res)
	}
	// The userName is free again.
	if res := p.replay("azuread/create_user"); res["id"] == id {
		t.Fatalf("recreated %v", res)
	}
}

// Bad requests get SCIM errors with 4xx statuses and change nothing.
func TestSCIMRefusals(t *testing.T) {
	p := newPush(t)
	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@acme.test","active":true}`
	code, created := p.call("POST", "/Users", user)
	if code != 201 {
		t.Fatalf("create: %d %v", code, created)
	}
	id := created["id"].(string)
	count := func() int {
		var n int
		if err := p.db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM directory_users)
			+ (SELECT count(*) FROM directory_groups) + (SELECT count(*) FROM directory_group_members)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	patch := func(ops string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`
	}
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		scimType                        string
	}{
		{"no token", "-", "GET", "/Users", "", 401, ""},
		{"wrong token", "hks_wrong", "GET", "/Users", "", 401, ""},
		{"duplicate userName", "", "POST", "/Users", strings.Replace(user, "ann@", "ANN@", 1), 409, "uniqueness"},
		{"no userName", "", "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`, 400, ""},
		{"not JSON", "", "POST", "/Users", `{"schemas":`, 400, "invalidSyntax"},
		{"unsupported filter attribute", "", "GET", `/Users?filter=title+eq+%22x%22`, "", 400, "invalidFilter"},
		{"unsupported filter operator", "", "GET", `/Users?filter=userName+co+%22ann%22`, "", 400, "invalidFilter"},
		{"broken filter", "", "GET", `/Users?filter=userName+eq`, "", 400, "invalidFilter"},
		{"unknown path", "", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"shoeSize","value":"9"}]`), 400, "invalidPath"},
		{"unknown op", "", "PATCH", "/Users/" + id, patch(`[{"op":"merge","path":"active","value":false}]`), 400, ""},
		{"wrong type", "", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"active","value":{"a":1}}]`), 400, ""},
		{"unknown user", "", "GET", "/Users/00000000-0000-4000-8000-000000000000", "", 404, ""},
		{"patch unknown user", "", "PATCH", "/Users/nobody", patch(`[{"op":"replace","path":"active","value":false}]`), 404, ""},
		{"group of strangers", "", "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G",
			"members":[{"value":"nobody"}]}`, 400, "invalidValue"},
		{"unknown group", "", "DELETE", "/Groups/nobody", "", 404, ""},
	} {
		token := tc.token
		if token == "-" {
			token = ""
		} else if token == "" {
			token = p.token
		}
		code, res := p.callWith(token, tc.method, tc.path, tc.body)
		if code != tc.status || res["status"] != strconv.Itoa(tc.status) ||
			(tc.scimType != "" && res["scimType"] != tc.scimType) {
			t.Errorf("%s: %d %v, want %d %s", tc.name, code, res, tc.status, tc.scimType)
		}
		if schemas, _ := res["schemas"].([]any); len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Errorf("%s: not a SCIM error: %v", tc.name, res)
		}
	}
	if n := count(); n != before {
		t.Fatalf("refused requests changed %d rows", n-before)
	}
	if u := p.user(id); u.Status != domain.UserActive {
		t.Fatalf("user %+v", u)
	}
}

// IdPs push in parallel: patches of one user all land, one after the
// other, and of racing creates of one userName exactly one wins.
func TestConcurrentPushes(t *testing.T) {
	p := newPush(t)
	code, created := p.call("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann@acme.test"}`)
	if code != 201 {
		t.Fatalf("create: %d", code)
	}
	id := created["id"].(string)
	const n = 12
	var wg sync.WaitGroup
	codes := make(chan int, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			code, _ := p.call("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{"op":"add","path":"emails","value":[{"value":"ann`+strconv.Itoa(i)+`@acme.test","type":"other"}]}]}`)
			codes <- code
		}()
		go func() {
			defer wg.Done()
			code, _ := p.call("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@acme.test"}`)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != n || count[201] != 1 || count[409] != n-1 {
		t.Fatalf("answers %v", count)
	}
	if u := p.user(id); len(u.Aliases) != n {
		t.Fatalf("aliases %v, want %d", u.Aliases, n)
	}
}

// A token reaches its own directory only; a rotation stops the old one.
func TestSCIMTokens(t *testing.T) {
	p := newPush(t)
	other, otherToken, err := p.st.CreateSCIMDirectory(context.Background(), store.NewDirectory{WorkspaceID: p.dir.WorkspaceID,
		Name: "Other", Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"another directory's token": otherToken, "an API key": p.apiKey} {
		if code, res := p.callWith(token, "GET", "/Users", ""); code != 401 {
			t.Errorf("%s: %d %v", name, code, res)
		}
	}
	if other.ID == p.dir.ID {
		t.Fatal("one directory")
	}
	req, _ := http.NewRequest("POST", p.apiURL+"/v1/directories/"+p.dir.ID+"/scim-token", nil)
	req.Header.Set("Authorization", "Bearer "+p.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rotated struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&rotated); err != nil || resp.StatusCode != 200 || rotated.Token == p.token {
		t.Fatalf("rotate: %d %+v %v", resp.StatusCode, rotated, err)
	}
	if code, _ := p.call("GET", "/Users", ""); code != 401 {
		t.Fatalf("the old token still works: %d", code)
	}
	if code, _ := p.callWith(rotated.Token, "GET", "/Users", ""); code != 200 {
		t.Fatalf("the new token: %d", code)
	}
	// Nothing is imported, and there is no secret of ours to replace.
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/sync", ""}, {"PUT", "/credentials", `{"secret":"x"}`},
	} {
		req, _ := http.NewRequest(r.method, p.apiURL+"/v1/directories/"+p.dir.ID+r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 409 {
			t.Errorf("%s %s: %d, want 409", r.method, r.path, resp.StatusCode)
		}
	}
}

// Lists page by startIndex and count (totalResults is every match), and
// discovery names the resource types and their schemas.
func TestSCIMPagingAndDiscovery(t *testing.T) {
	p := newPush(t)
	for i := range 5 {
		if code, res := p.call("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u`+strconv.Itoa(i)+`@acme.test"}`); code != 201 {
			t.Fatalf("create: %d %v", code, res)
		}
	}
	_, res := p.call("GET", "/Users?startIndex=2&count=2", "")
	list, _ := res["Resources"].([]any)
	if total(res) != 5 || len(list) != 2 || res["startIndex"] != float64(2) || list[0].(map[string]any)["userName"] != "u1@acme.test" {
		t.Fatalf("page: %v", res)
	}
	_, res = p.call("GET", `/Users?filter=userName+eq+%22u3%40acme.test%22&startIndex=2`, "")
	if total(res) != 1 || len(res["Resources"].([]any)) != 0 {
		t.Fatalf("a filtered page past its one match: %v", res)
	}
	_, res = p.call("GET", "/ResourceTypes", "")
	if total(res) != 2 {
		t.Fatalf("resource types: %v", res)
	}
	_, res = p.call("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
	if res["id"] != "urn:ietf:params:scim:schemas:core:2.0:User" {
		t.Fatalf("user schema: %v", res)
	}
	_, res = p.call("GET", "/ServiceProviderConfig", "")
	if filter, _ := res["filter"].(map[string]any); filter["supported"] != true || filter["maxResults"] != float64(200) {
		t.Fatalf("service provider config: %v", res)
	}
}

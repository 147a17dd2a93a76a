package metasandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	token = "EAAprotocol-test"
	bid   = "777000000000001"
)

func start(t *testing.T, shape Shape) (*Server, string) {
	s := New()
	s.AddBusiness(NewBusiness(bid, "acme.test", seed.Company("acme.test", 200, 4), shape, time.Now()), token)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func call(t *testing.T, method, u string, form url.Values) (*http.Response, map[string]any, []any) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = http.Get(u)
	} else {
		resp, err = http.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	var obj map[string]any
	var list []any
	if json.Unmarshal(raw, &obj) != nil {
		_ = json.Unmarshal(raw, &list)
	}
	return resp, obj, list
}

func graphError(t *testing.T, body map[string]any, code float64) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if e == nil || e["code"] != code || e["type"] != "OAuthException" || e["message"] == "" || !strings.HasPrefix(e["fbtrace_id"].(string), "A") {
		t.Fatalf("error body %v, want code %v", body, code)
	}
}

func TestPagingFollowsGraph(t *testing.T) {
	_, base := start(t, Shape{Members: 120})
	u := base + "/v25.0/" + bid + "/business_users?fields=id,email,role&limit=50&access_token=" + token
	seen := map[string]bool{}
	for pages := 1; ; pages++ {
		resp, body, _ := call(t, "GET", u, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		for _, item := range body["data"].([]any) {
			m := item.(map[string]any)
			if _, ok := m["first_name"]; ok {
				t.Fatal("a field not asked for was returned")
			}
			seen[m["id"].(string)] = true
		}
		paging := body["paging"].(map[string]any)
		next, ok := paging["next"].(string)
		if !ok {
			if pages != 3 {
				t.Fatalf("next omitted after %d pages, want 3", pages)
			}
			break
		}
		if !strings.Contains(next, "access_token=") || !strings.Contains(next, "after=") {
			t.Fatalf("next link %s", next)
		}
		u = next
		u = strings.Replace(u, "https://", "http://", 1)
	}
	if len(seen) != 120 {
		t.Fatalf("%d members", len(seen))
	}
}

func TestErrorsFollowGraph(t *testing.T) {
	s, base := start(t, Shape{Members: 5, Pages: 2, AdAccounts: 1, HoldersPerAsset: 1})
	b := s.Business(bid)
	page, ad := b.FirstAsset("page"), b.FirstAsset("ad_account")
	for _, tc := range []struct {
		name, path string
		status     int
		code       float64
	}{
		{"NoToken", "/v25.0/" + bid + "/business_users", 400, 104},
		{"BadToken", "/v25.0/" + bid + "/business_users?access_token=nope", 400, 190},
		{"BadVersion", "/25/" + bid + "/business_users?access_token=" + token, 400, 2500},
		{"OtherBusiness", "/v25.0/123/business_users?access_token=" + token, 400, 100},
		{"AssignedUsersNeedsBusiness", "/v25.0/" + ad + "/assigned_users?access_token=" + token, 400, 100},
		{"PageEdgeNeedsPageToken", "/v25.0/" + page + "/assigned_users?business=" + bid + "&access_token=" + token, 400, 190},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, _ := call(t, "GET", base+tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d", resp.StatusCode)
			}
			graphError(t, body, tc.code)
		})
	}
	t.Run("InjectedFaults", func(t *testing.T) {
		for name, f := range Faults {
			s.Inject(f, 1)
			resp, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?access_token="+token, nil)
			if resp.StatusCode != f.Status {
				t.Fatalf("%s: status %d", name, resp.StatusCode)
			}
			graphError(t, body, float64(f.Code))
			if e := body["error"].(map[string]any); f.Subcode != 0 && e["error_subcode"] != float64(f.Subcode) {
				t.Fatalf("%s: subcode %v", name, e["error_subcode"])
			}
		}
	})
	t.Run("UsageHeadersClimb", func(t *testing.T) {
		s.CallLimit = 4
		var last string
		for range 3 {
			resp, _, _ := call(t, "GET", base+"/v25.0/"+bid+"/system_users?access_token="+token, nil)
			if u := resp.Header.Get("X-Business-Use-Case-Usage"); u <= last || !strings.Contains(u, bid) {
				t.Fatalf("usage header %q after %q", u, last)
			} else {
				last = u
			}
		}
		s.CallLimit = 0
	})
}

func TestBatchFollowsGraph(t *testing.T) {
	s, base := start(t, Shape{Members: 20, Pages: 3, HoldersPerAsset: 2})
	ops := []map[string]string{{"method": "GET", "relative_url": bid + "/system_users"},
		{"method": "GET", "relative_url": "v25.0/" + bid + "/pending_users?fields=id,email"}}
	b, _ := json.Marshal(ops)
	s.NullNextBatchEntries(1)
	resp, _, list := call(t, "POST", base+"/v25.0/", url.Values{"access_token": {token}, "batch": {string(b)}})
	if resp.StatusCode != 200 || len(list) != 2 || list[0] != nil {
		t.Fatalf("batch answer %d %v (the first entry must be null)", resp.StatusCode, list)
	}
	second := list[1].(map[string]any)
	var inner map[string]any
	if second["code"] != float64(200) || json.Unmarshal([]byte(second["body"].(string)), &inner) != nil || inner["data"] == nil {
		t.Fatalf("second entry %v: body must be a JSON string", second)
	}
	tooMany, _ := json.Marshal(make([]map[string]string, 51))
	resp, body, _ := call(t, "POST", base+"/v25.0/", url.Values{"access_token": {token}, "batch": {string(tooMany)}})
	if resp.StatusCode != 400 {
		t.Fatalf("51 operations: %d", resp.StatusCode)
	}
	graphError(t, body, 1)

	t.Run("OperationHeaders", func(t *testing.T) {
		one, _ := json.Marshal(ops[:1])
		for _, include := range []string{"", "true", "false"} {
			form := url.Values{"access_token": {token}, "batch": {string(one)}}
			if include != "" {
				form.Set("include_headers", include)
			}
			_, _, list := call(t, "POST", base+"/v25.0/", form)
			headers, _ := list[0].(map[string]any)["headers"].([]any)
			var usage bool
			for _, h := range headers {
				usage = usage || h.(map[string]any)["name"] == "X-Business-Use-Case-Usage"
			}
			if usage != (include != "false") {
				t.Fatalf("include_headers=%q: headers %v", include, headers)
			}
		}
	})
}

// Usage headers say how much of Meta's limits a caller used; X-Ad-Account-Usage
// comes on ad account calls; a throttle can come without any of them.
func TestUsageHeaders(t *testing.T) {
	s, base := start(t, Shape{Members: 5, AdAccounts: 1, HoldersPerAsset: 1})
	var ad string
	for id := range s.Business(bid).Assets {
		ad = id
	}
	s.CallLimit = 1
	_, _, _ = call(t, "GET", base+"/v25.0/"+bid+"/business_users?access_token="+token, nil)
	resp, body, _ := call(t, "GET", base+"/v25.0/"+ad+"/assigned_users?business="+bid+"&access_token="+token, nil)
	graphError(t, body, 80004)
	var usage struct {
		Pct   int `json:"acc_id_util_pct"`
		Reset int `json:"reset_time_duration"`
	}
	if json.Unmarshal([]byte(resp.Header.Get("X-Ad-Account-Usage")), &usage) != nil || usage.Pct < 100 || usage.Reset <= 0 {
		t.Fatalf("X-Ad-Account-Usage %q on a throttled ad account call", resp.Header.Get("X-Ad-Account-Usage"))
	}
	s.CallLimit = 0
	s.NoUsageHeaders = true
	s.Inject(Faults["app_throttle"], 1)
	resp, body, _ = call(t, "GET", base+"/v25.0/"+bid+"/business_users?access_token="+token, nil)
	graphError(t, body, 4)
	for _, name := range []string{"X-App-Usage", "X-Business-Use-Case-Usage", "X-Ad-Account-Usage"} {
		if resp.Header.Get(name) != "" {
			t.Fatalf("%s sent with NoUsageHeaders", name)
		}
	}
}

// Held batches wait for their release; other calls go on meanwhile.
func TestHeldBatchesWaitForRelease(t *testing.T) {
	s, base := start(t, Shape{Members: 10})
	release := s.HoldBatches()
	batch := url.Values{"access_token": {token}, "batch": {`[{"method":"GET","relative_url":"` + bid + `/business_users"}]`}}
	done := make(chan []any, 1)
	go func() {
		_, _, list := call(t, "POST", base+"/v25.0/", batch)
		done <- list
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.HeldBatches() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the batch was not held")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?access_token="+token, nil); resp.StatusCode != 200 || body["data"] == nil {
		t.Fatalf("a plain call during the hold: %d", resp.StatusCode)
	}
	select {
	case <-done:
		t.Fatal("the batch was answered before its release")
	default:
	}
	release()
	if list := <-done; len(list) != 1 {
		t.Fatalf("released batch answered %v", list)
	}
}

// A lost answer: the request is carried out, the caller gets a 502.
func TestLostAnswerStillActs(t *testing.T) {
	s, base := start(t, Shape{Members: 10})
	s.LoseAnswers("POST", 1)
	resp, _, _ := call(t, "POST", base+"/v25.0/"+bid+"/business_users", url.Values{"access_token": {token}, "email": {"late@acme.test"}})
	if resp.StatusCode != http.StatusBadGateway || s.Invitations() != 1 {
		t.Fatalf("answer %d, %d invitations", resp.StatusCode, s.Invitations())
	}
	resp, body, _ := call(t, "POST", base+"/v25.0/"+bid+"/business_users", url.Values{"access_token": {token}, "email": {"late@acme.test"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("inviting again: %d %v", resp.StatusCode, body)
	}
}

// A Page's assigned_users edge takes that Page's access token, which the
// asset listing (or the Page itself) gives a system user managing it; the
// Page token reaches nothing else. Batch operations may carry their own.
func TestPageAccessTokens(t *testing.T) {
	_, base := start(t, Shape{Members: 10, Pages: 3, HoldersPerAsset: 2})
	_, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/owned_pages?fields=id,name,access_token&access_token="+token, nil)
	pages := body["data"].([]any)
	if len(pages) == 0 {
		t.Fatal("no pages")
	}
	first := pages[0].(map[string]any)
	pageID, pageToken := first["id"].(string), first["access_token"].(string)
	if pageToken == "" || pageToken == token {
		t.Fatalf("page token %q", pageToken)
	}
	if _, body, _ := call(t, "GET", base+"/v25.0/"+pageID+"?fields=access_token&access_token="+token, nil); body["access_token"] != pageToken {
		t.Fatalf("the page's own access_token field: %v", body)
	}
	if _, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/owned_pages?fields=id,name&access_token="+token, nil); body["data"].([]any)[0].(map[string]any)["access_token"] != nil {
		t.Fatal("the token was listed without being asked for")
	}
	resp, body, _ := call(t, "GET", base+"/v25.0/"+pageID+"/assigned_users?business="+bid+"&access_token="+pageToken, nil)
	if resp.StatusCode != 200 || len(body["data"].([]any)) == 0 {
		t.Fatalf("holders with the page token: %d %v", resp.StatusCode, body)
	}
	other := pages[1].(map[string]any)["id"].(string)
	for _, path := range []string{other + "/assigned_users?business=" + bid, bid + "/business_users"} {
		if resp, body, _ := call(t, "GET", base+"/v25.0/"+path+"&access_token="+pageToken, nil); resp.StatusCode != 400 {
			t.Fatalf("%s with another page's token: %d %v", path, resp.StatusCode, body)
		}
	}
	ops := `[{"method":"GET","relative_url":"` + pageID + `/assigned_users?business=` + bid + `&access_token=` + pageToken + `"},` +
		`{"method":"GET","relative_url":"` + pageID + `/assigned_users?business=` + bid + `"}]`
	_, _, answers := call(t, "POST", base+"/v25.0/", url.Values{"access_token": {token}, "batch": {ops}})
	if len(answers) != 2 || answers[0].(map[string]any)["code"].(float64) != 200 || answers[1].(map[string]any)["code"].(float64) != 400 {
		t.Fatalf("batch with and without the page token: %v", answers)
	}
}

// An object the token lost permission on answers 100/33, yet is still listed.
func TestLostPermissionLooksLikeGone(t *testing.T) {
	s, base := start(t, Shape{Members: 10})
	var user string
	for id := range s.Business(bid).Users {
		user = id
		break
	}
	s.LosePermissionOn(user)
	resp, body, _ := call(t, "GET", base+"/v25.0/"+user+"?access_token="+token, nil)
	if resp.StatusCode != 400 {
		t.Fatalf("GET a hidden user: %d", resp.StatusCode)
	}
	e := body["error"].(map[string]any)
	if e["code"].(float64) != 100 || e["error_subcode"].(float64) != 33 {
		t.Fatalf("error %v, want 100/33", e)
	}
	req, _ := http.NewRequest("DELETE", base+"/v25.0/"+user+"?access_token="+token, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 || s.Business(bid).Users[user] == nil {
		t.Fatalf("DELETE a hidden user: %v, removed: %v", err, s.Business(bid).Users[user] == nil)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+bid+"/business_users?fields=id&limit=100&access_token="+token, nil)
	listed := false
	for _, item := range body["data"].([]any) {
		listed = listed || item.(map[string]any)["id"] == user
	}
	if !listed {
		t.Fatal("the hidden user is not listed")
	}
}

// Tasks are Meta's enums: single tasks are valid; an ad-account combination
// Meta refuses answers 100/1752129; an unknown task is invalid. The demo
// business's grants pass Hubkeeper's own validation.
func TestTasksFollowTheEnums(t *testing.T) {
	s, base := start(t, Shape{Members: 10, Pages: 1, AdAccounts: 1})
	b := s.Business(bid)
	page, ad := b.FirstAsset("page"), b.FirstAsset("ad_account")
	var user string
	for id := range b.Users {
		user = id
		break
	}
	pageToken := s.pageTokenFor(b, "30000000000001", page)
	for _, tc := range []struct {
		name, asset, token, tasks string
		status                    int
		code                      string
	}{
		{"PageManageAlone", page, pageToken, `["MANAGE"]`, 200, ""},
		{"AdAnalyzeAlone", ad, token, `["ANALYZE"]`, 200, ""},
		{"AdManageAlone", ad, token, `["MANAGE"]`, 200, ""},
		{"AdDraftWithManage", ad, token, `["DRAFT","MANAGE"]`, 400, "100/1752129"},
		{"UnknownTask", ad, token, `["OWN"]`, 400, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, _ := call(t, "POST", base+"/v25.0/"+tc.asset+"/assigned_users", url.Values{"access_token": {tc.token}, "user": {user},
				"tasks": {tc.tasks}})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d: %v", resp.StatusCode, body)
			}
			if tc.code != "" {
				e := body["error"].(map[string]any)
				code := fmt.Sprint(int(e["code"].(float64)))
				if sub, ok := e["error_subcode"].(float64); ok {
					code += "/" + fmt.Sprint(int(sub))
				}
				if code != tc.code {
					t.Fatalf("error %s, want %s", code, tc.code)
				}
			}
		})
	}
	demo := NewBusiness("1", "acme.test", seed.Company("acme.test", 300, 5), DemoShape, time.Now())
	for _, a := range demo.Assets {
		for holder, tasks := range a.Holders {
			if err := domain.ValidMetaTasks(a.Kind, tasks); err != nil {
				t.Fatalf("demo grant of %s on %s: %v", holder, a.ID, err)
			}
		}
	}
}

// A cursor whose item was deleted is refused (2642), as Graph does.
func TestCursorOfADeletedItemIsRefused(t *testing.T) {
	s, base := start(t, Shape{Members: 30})
	s.DeleteLastOfPage("business_users", 1)
	_, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?limit=10&access_token="+token, nil)
	after := body["paging"].(map[string]any)["cursors"].(map[string]any)["after"].(string)
	resp, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?limit=10&after="+after+"&access_token="+token, nil)
	if resp.StatusCode != 400 || body["error"].(map[string]any)["code"].(float64) != 2642 {
		t.Fatalf("the cursor of a deleted item: %d %v", resp.StatusCode, body)
	}
	if resp, _, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?limit=10&after=garbage&access_token="+token, nil); resp.StatusCode != 400 {
		t.Fatalf("a garbage cursor: %d", resp.StatusCode)
	}
}

// pending_users lists invitations of every status and takes an email
// filter; an expired or declined invitation does not stop a new one.
func TestInvitationStatuses(t *testing.T) {
	s, base := start(t, Shape{Members: 5, Invitations: 2})
	var inv *PendingUser
	for _, p := range s.Business(bid).Pending {
		inv = p
		break
	}
	list := func(email string) []any {
		_, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/pending_users?fields=id,email,status&email="+url.QueryEscape(email)+"&access_token="+token, nil)
		return body["data"].([]any)
	}
	if got := list(inv.Email); len(got) != 1 || got[0].(map[string]any)["status"] != "PENDING" {
		t.Fatalf("by email: %v", got)
	}
	invite := func() int {
		resp, _, _ := call(t, "POST", base+"/v25.0/"+bid+"/business_users", url.Values{"access_token": {token}, "email": {inv.Email}})
		return resp.StatusCode
	}
	if code := invite(); code != 400 {
		t.Fatalf("inviting a pending address: %d", code)
	}
	if err := s.ExpireInvitation(bid, inv.ID); err != nil {
		t.Fatal(err)
	}
	if got := list(inv.Email); len(got) != 1 || got[0].(map[string]any)["status"] != "EXPIRED" {
		t.Fatalf("expired: %v", got)
	}
	if code := invite(); code != 200 {
		t.Fatalf("inviting again after expiry: %d", code)
	}
	if got := list(inv.Email); len(got) != 2 {
		t.Fatalf("after a new invitation: %v", got)
	}
}

// An app token reads its own app's fields, owner_business among them, and
// nothing of any business.
func TestAppTokenReadsItsApp(t *testing.T) {
	s, base := start(t, Shape{Members: 5})
	id, secret := s.RegisterApp()
	app := url.QueryEscape(id + "|" + secret)
	_, body, _ := call(t, "GET", base+"/v25.0/"+id+"?fields=id,owner_business&access_token="+app, nil)
	if body["id"] != id || body["owner_business"] != nil {
		t.Fatalf("unclaimed app: %v", body)
	}
	if err := s.ClaimApp(bid, id); err != nil {
		t.Fatal(err)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+id+"?fields=owner_business{id,name}&access_token="+app, nil)
	if owner, _ := body["owner_business"].(map[string]any); owner["id"] != bid {
		t.Fatalf("claimed app: %v", body)
	}
	for _, path := range []string{bid + "/owned_apps", bid + "/business_users", bid} {
		resp, body, _ := call(t, "GET", base+"/v25.0/"+path+"?access_token="+app, nil)
		if resp.StatusCode != 400 {
			t.Fatalf("%s with an app token: %d", path, resp.StatusCode)
		}
		graphError(t, body, 100)
	}
	other, _ := s.RegisterApp()
	_, body, _ = call(t, "GET", base+"/v25.0/"+other+"?access_token="+app, nil)
	graphError(t, body, 100)
	s.AddBusiness(NewBusiness("777000000000002", "other.test", seed.Company("other.test", 10, 1), Shape{Members: 1}, time.Now()), "EAAother")
	if s.ClaimApp("777000000000002", id) == nil {
		t.Fatal("an app was claimed by a second business")
	}
}

// Graph refuses fields a node does not have, and roles outside its enum.
func TestStrictFieldsAndRoles(t *testing.T) {
	s, base := start(t, Shape{Members: 5, Pages: 1, AdAccounts: 1, HoldersPerAsset: 1})
	var user string
	for id := range s.Business(bid).Users {
		user = id
	}
	for _, tc := range []struct{ path, field, node string }{
		{bid + "/business_users?fields=id,invited_user_type", "invited_user_type", "BusinessUser"},
		{bid + "/business_users?fields=id,user_type", "user_type", "BusinessUser"},
		{bid + "/system_users?fields=id,email", "email", "SystemUser"},
		{bid + "/owned_pages?fields=id,account_status", "account_status", "Page"},
		{user + "?fields=id,nickname", "nickname", "BusinessUser"},
	} {
		_, body, _ := call(t, "GET", base+"/v25.0/"+tc.path+"&access_token="+token, nil)
		graphError(t, body, 100)
		want := "(#100) Tried accessing nonexisting field (" + tc.field + ") on node type (" + tc.node + ")"
		if msg := body["error"].(map[string]any)["message"]; msg != want {
			t.Fatalf("%s: %q, want %q", tc.path, msg, want)
		}
	}
	for _, path := range []string{
		bid + "/business_users?fields=id,name,email,first_name,last_name,role,tasks,title,two_fac_status",
		bid + "/pending_users?fields=id,email,role,tasks,status,created_time,expiration_time,invited_user_type",
		bid + "/system_users?fields=id,name,role,created_time",
	} {
		resp, body, _ := call(t, "GET", base+"/v25.0/"+path+"&access_token="+token, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
		}
	}
	resp, body, _ := call(t, "POST", base+"/v25.0/"+user, url.Values{"access_token": {token}, "role": {"FINANCE_EDITOR"}})
	if resp.StatusCode != 200 || s.Business(bid).Users[user].Role != "FINANCE_EDITOR" {
		t.Fatalf("a documented role was refused: %d %v", resp.StatusCode, body)
	}
	for _, form := range []url.Values{{"role": {"OWNER"}}, {"role": {"admin"}}} {
		form.Set("access_token", token)
		_, body, _ = call(t, "POST", base+"/v25.0/"+user, form)
		graphError(t, body, 100)
		form.Set("email", "someone@acme.test")
		_, body, _ = call(t, "POST", base+"/v25.0/"+bid+"/business_users", form)
		graphError(t, body, 100)
	}
}

// debug_token says when a token expires; past that, every call answers
// 190/463. The business says who must use two-factor, each member whether
// they do.
func TestTokenExpiryAndTwoFactor(t *testing.T) {
	s, base := start(t, Shape{Members: 6})
	_, body, _ := call(t, "GET", base+"/v25.0/debug_token?input_token="+token+"&access_token="+token, nil)
	data, _ := body["data"].(map[string]any)
	if data["is_valid"] != true || data["expires_at"] != float64(0) || data["data_access_expires_at"] != float64(0) || data["type"] != "SYSTEM_USER" {
		t.Fatalf("a token that never expires: %v", body)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/debug_token?access_token="+token, nil)
	graphError(t, body, 100)

	_, body, _ = call(t, "GET", base+"/v25.0/"+bid+"?fields=two_factor_type&access_token="+token, nil)
	if body["two_factor_type"] != "none" {
		t.Fatalf("business: %v", body)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+bid+"/business_users?fields=id,two_fac_status&access_token="+token, nil)
	statuses := map[any]int{}
	for _, u := range body["data"].([]any) {
		statuses[u.(map[string]any)["two_fac_status"]]++
	}
	if statuses["enabled"] == 0 || statuses["disabled"] == 0 || len(statuses) != 2 {
		t.Fatalf("two_fac_status of the members: %v", statuses)
	}

	expires := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
	s.SetTokenExpiry(token, expires, time.Time{})
	_, body, _ = call(t, "GET", base+"/v25.0/debug_token?input_token="+token+"&access_token="+token, nil)
	if data := body["data"].(map[string]any); data["expires_at"] != float64(expires.Unix()) || data["is_valid"] != true {
		t.Fatalf("a token expiring in ten days: %v", body)
	}
	s.SetTokenExpiry(token, time.Now().Add(-time.Minute), time.Time{})
	resp, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/business_users?access_token="+token, nil)
	graphError(t, body, 190)
	if resp.StatusCode != 400 || body["error"].(map[string]any)["error_subcode"] != float64(463) {
		t.Fatalf("an expired token: %d %v", resp.StatusCode, body)
	}
}

// A business lists its agencies and clients; each asset the partners that
// hold it, with their permitted tasks (a Page's with the Page's token).
func TestPartners(t *testing.T) {
	s, base := start(t, Shape{Members: 10, Pages: 3, AdAccounts: 3, HoldersPerAsset: 1})
	b := s.Business(bid)
	for edge, want := range map[string]int{"agencies": len(b.Agencies), "clients": len(b.Clients)} {
		_, body, _ := call(t, "GET", base+"/v25.0/"+bid+"/"+edge+"?fields=id,name&access_token="+token, nil)
		data, _ := body["data"].([]any)
		if len(data) != want || want == 0 || data[0].(map[string]any)["name"] == "" {
			t.Fatalf("%s: %v", edge, body)
		}
	}
	var page, ad string
	for id, a := range b.Assets {
		if len(a.Partners) > 0 && a.Kind == "page" {
			page = id
		} else if len(a.Partners) > 0 {
			ad = id
		}
	}
	_, body, _ := call(t, "GET", base+"/v25.0/"+ad+"/agencies?fields=id,name,permitted_tasks&access_token="+token, nil)
	data, _ := body["data"].([]any)
	if len(data) != len(b.Assets[ad].Partners) || data[0].(map[string]any)["permitted_tasks"] == nil {
		t.Fatalf("ad account agencies: %v", body)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+page+"/agencies?access_token="+token, nil)
	graphError(t, body, 190)
	_, body, _ = call(t, "GET", base+"/v25.0/"+bid+"/owned_pages?fields=id,access_token&access_token="+token, nil)
	var pageToken string
	for _, p := range body["data"].([]any) {
		if p.(map[string]any)["id"] == page {
			pageToken = p.(map[string]any)["access_token"].(string)
		}
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+page+"/agencies?fields=id,permitted_tasks&access_token="+pageToken, nil)
	if data, _ := body["data"].([]any); len(data) != len(b.Assets[page].Partners) {
		t.Fatalf("page agencies: %v", body)
	}
	_, body, _ = call(t, "GET", base+"/v25.0/"+bid+"/agencies?fields=id,permitted_tasks&access_token="+token, nil)
	graphError(t, body, 100) // permitted_tasks belongs to an asset's agencies
	s.RemoveAgency(bid, b.Agencies[0].ID)
	for _, a := range b.Assets {
		if _, ok := a.Partners["70000000000001"]; ok {
			t.Fatal("a removed agency still holds an asset")
		}
	}
}

package entrasandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	tenant = "11111111-2222-4333-8444-555555555555"
	app    = "66666666-7777-4888-8999-000000000000"
	secret = "test~secret"
)

func start(t *testing.T, n int) (*Server, string) {
	s := New(tenant, app, secret, seed.Company("acme.test", n, 9))
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func token(t *testing.T, base string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func goodForm() url.Values {
	return url.Values{"client_id": {app}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"},
		"grant_type": {"client_credentials"}}
}

func graph(t *testing.T, base, path, bearer string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestTokenEndpoint(t *testing.T) {
	_, base := start(t, 1)
	resp, body := token(t, base, goodForm())
	if resp.StatusCode != 200 || body["token_type"] != "Bearer" || body["access_token"] == "" || body["expires_in"] == nil {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	for name, change := range map[string][2]string{
		"ErrBadSecret": {"client_secret", "nope"}, "ErrBadClient": {"client_id", "nope"},
		"ErrBadGrant": {"grant_type", "password"}, "ErrBadScope": {"scope", "User.Read"},
	} {
		t.Run(name, func(t *testing.T) {
			f := goodForm()
			f.Set(change[0], change[1])
			resp, body := token(t, base, f)
			if resp.StatusCode < 400 || body["error"] == nil || !strings.HasPrefix(body["error_description"].(string), "AADSTS") ||
				body["trace_id"] == nil || body["correlation_id"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
		})
	}
}

func TestUsersFollowGraphProtocol(t *testing.T) {
	s, base := start(t, 30)
	_, tok := token(t, base, goodForm())
	bearer := tok["access_token"].(string)

	_, body := graph(t, base, "/v1.0/users?$top=5", bearer)
	first := body["value"].([]any)[0].(map[string]any)
	if _, ok := first["accountEnabled"]; ok {
		t.Fatal("accountEnabled returned without $select")
	}
	if _, ok := first["userPrincipalName"]; !ok || body["@odata.nextLink"] == nil {
		t.Fatalf("default properties or nextLink missing: %v", body)
	}
	if _, ok := first["userType"]; ok {
		t.Fatal("userType returned without $select")
	}
	_, body = graph(t, base, "/v1.0/users?$select=id,accountEnabled,userType", bearer)
	if u := body["value"].([]any)[0].(map[string]any); u["accountEnabled"] == nil || u["userType"] != "Member" {
		t.Fatalf("accountEnabled or userType missing although selected: %v", u)
	}
	for name, path := range map[string]string{"ErrTopTooLarge": "/v1.0/users?$top=1000", "ErrUnknownProperty": "/v1.0/users?$select=shoeSize"} {
		t.Run(name, func(t *testing.T) {
			resp, body := graph(t, base, path, bearer)
			e, _ := body["error"].(map[string]any)
			if resp.StatusCode != 400 || e["code"] == nil || e["message"] == nil || e["innerError"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
		})
	}
	t.Run("ErrBadToken", func(t *testing.T) {
		resp, body := graph(t, base, "/v1.0/users", "forged")
		if e, _ := body["error"].(map[string]any); resp.StatusCode != 401 || e["code"] != "InvalidAuthenticationToken" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})
	t.Run("ThrottledWithRetryAfter", func(t *testing.T) {
		s.InjectFaults(429, 1, 7)
		resp, body := graph(t, base, "/v1.0/users", bearer)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" || body["error"] == nil {
			t.Fatalf("%d %v", resp.StatusCode, resp.Header)
		}
	})
}

func TestDeltaRounds(t *testing.T) {
	s, base := start(t, 12)
	_, tok := token(t, base, goodForm())
	bearer := tok["access_token"].(string)
	follow := func(link string) (ids []string, removed map[string]string, deltaLink string) {
		removed = map[string]string{}
		for pages := 0; link != ""; pages++ {
			u, _ := url.Parse(link)
			_, body := graph(t, base, u.RequestURI(), bearer, "Prefer", "odata.maxpagesize=4")
			for _, v := range body["value"].([]any) {
				item := v.(map[string]any)
				if r, ok := item["@removed"].(map[string]any); ok {
					removed[item["id"].(string)] = r["reason"].(string)
				} else {
					ids = append(ids, item["id"].(string))
				}
			}
			next, _ := body["@odata.nextLink"].(string)
			delta, _ := body["@odata.deltaLink"].(string)
			if (next == "") == (delta == "") {
				t.Fatalf("a page must have exactly one of nextLink and deltaLink: %v", body)
			}
			link, deltaLink = next, delta
			if pages > 20 {
				t.Fatal("no end to the round")
			}
		}
		return ids, removed, deltaLink
	}
	ids, _, delta := follow(base + "/v1.0/users/delta?$select=id,accountEnabled")
	if len(ids) == 0 {
		t.Fatal("full round listed nobody")
	}
	req, _ := http.NewRequest("DELETE", base+"/v1.0/users/"+ids[0], nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("delete: %v", err)
	}
	changed, removed, delta2 := follow(delta)
	if len(changed) != 0 || removed[ids[0]] != "changed" || delta2 == "" {
		t.Fatalf("changes round: changed=%v removed=%v", changed, removed)
	}
	s.ExpireDeltaTokens()
	u, _ := url.Parse(delta2)
	resp, body := graph(t, base, u.RequestURI(), bearer)
	if e, _ := body["error"].(map[string]any); resp.StatusCode != 410 || e["code"] != "syncStateNotFound" {
		t.Fatalf("expired delta token: %d %v", resp.StatusCode, body)
	}
}

package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// An admin issues a key with an expiry, lists the workspace's keys (never
// their secrets) and revokes one, which stops working at once.
func TestAPIKeysThroughTheAPI(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 5, 4))
	other, _ := s.store.CreateWorkspace(context.Background(), "Other")
	_, otherKey, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: other.ID, Name: "other",
		Scope: store.ScopeAdmin, Actor: "test"})

	var created struct {
		Key    string
		APIKey store.APIKey `json:"api_key"`
	}
	expires := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	if code := s.call("POST", "/v1/api-keys", s.apiKey, map[string]any{"name": "console", "expires_at": expires}, &created); code != 201 ||
		!strings.HasPrefix(created.Key, "hk_") || created.APIKey.ExpiresAt == nil || !created.APIKey.ExpiresAt.Equal(expires) {
		t.Fatalf("create: %d %+v", code, created)
	}
	var listed struct{ Items []store.APIKey }
	if code := s.call("GET", "/v1/api-keys", created.Key, nil, &listed); code != 200 || len(listed.Items) != 2 {
		t.Fatalf("list with the new key: %d %+v", code, listed)
	}
	for _, k := range listed.Items {
		if k.ID == otherKey.ID {
			t.Fatal("another workspace's key is listed")
		}
		if k.LastUsedAt == nil {
			t.Errorf("key %s was used but shows no last use", k.Name)
		}
	}
	s.expectErrors(t, []badRequest{
		{"ExpiresInThePast", "POST", "/v1/api-keys", s.apiKey, `{"name":"x","expires_at":"2020-01-01T00:00:00Z"}`, 400},
		{"ExpiresNotATime", "POST", "/v1/api-keys", s.apiKey, `{"name":"x","expires_at":"tomorrow"}`, 400},
		{"NoName", "POST", "/v1/api-keys", s.apiKey, `{}`, 400},
		{"UnknownField", "POST", "/v1/api-keys", s.apiKey, `{"name":"x","scope":"support"}`, 400},
		{"OtherWorkspaceKey", "DELETE", "/v1/api-keys/" + otherKey.ID, s.apiKey, ``, 404},
		{"NotAKeyID", "DELETE", "/v1/api-keys/nope", s.apiKey, ``, 404},
		{"NoKey", "GET", "/v1/api-keys", "", ``, 401},
	})
	if code := s.call("DELETE", "/v1/api-keys/"+created.APIKey.ID, s.apiKey, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if code := s.call("GET", "/v1/api-keys", created.Key, nil, nil); code != 401 {
		t.Fatalf("a revoked key answered %d", code)
	}
	if code := s.call("DELETE", "/v1/api-keys/"+created.APIKey.ID, s.apiKey, nil, nil); code != 404 {
		t.Fatalf("second revoke: %d", code)
	}
	var events struct{ Items []store.AuditEvent }
	s.call("GET", "/v1/audit?subject_id="+created.APIKey.ID, s.apiKey, nil, &events)
	var actions []string
	for _, e := range events.Items {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "api_key.revoked,api_key.created" {
		t.Fatalf("audit of the key: %v", actions)
	}
}

// A key past its budget gets 429 with Retry-After while another key goes
// on; confirmation pages are budgeted per client address.
func TestRateLimits(t *testing.T) {
	s := newStack(t, nil)
	limited := httptest.NewServer(api.New(api.Options{Store: s.store, Temporal: s.temporal, TaskQueue: taskQueue, SyncEvery: 24 * time.Hour,
		ProviderHosts: sandboxHosts, KeyRequestsPerMinute: 20, ConfirmRequestsPerMinute: 10}))
	defer limited.Close()
	second, _, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: s.ws.ID, Name: "second",
		Scope: store.ScopeAdmin, Actor: "test"})
	get := func(path, key string) *http.Response {
		req, _ := http.NewRequest("GET", limited.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	statuses := func(n int, path, key string) (ok, limited int, retryAfter string) {
		for range n {
			resp := get(path, key)
			switch resp.StatusCode {
			case 200, 404:
				ok++
			case 429:
				limited++
				retryAfter = resp.Header.Get("Retry-After")
			default:
				t.Fatalf("%s: status %d", path, resp.StatusCode)
			}
		}
		return ok, limited, retryAfter
	}
	ok, refused, retry := statuses(6, "/v1/directories", s.apiKey)
	if ok != 2 || refused != 4 {
		t.Fatalf("a key with a burst of 2: %d answered, %d refused", ok, refused)
	}
	if seconds, err := strconv.Atoi(retry); err != nil || seconds < 1 || seconds > 3 {
		t.Fatalf("Retry-After %q, want the seconds until a token (20 a minute: 3)", retry)
	}
	if ok, _, _ := statuses(2, "/v1/directories", second); ok != 2 {
		t.Fatal("one key's budget starved another")
	}
	if ok, refused, _ := statuses(3, "/confirm/not-a-token", ""); ok != 1 || refused != 2 {
		t.Fatalf("confirmation pages from one address: %d answered, %d refused", ok, refused)
	}
	// X-Forwarded-For counts only from a trusted proxy: here it is ignored.
	if resp := getFrom(t, limited.URL, "203.0.113.9"); resp.StatusCode != 429 {
		t.Fatalf("a forged X-Forwarded-For escaped the limit: %d", resp.StatusCode)
	}
	behindProxy := httptest.NewServer(api.New(api.Options{Store: s.store, Temporal: s.temporal, TaskQueue: taskQueue,
		SyncEvery: 24 * time.Hour, ConfirmRequestsPerMinute: 10, TrustedProxies: []*net.IPNet{{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)}}}))
	defer behindProxy.Close()
	for _, client := range []string{"203.0.113.9", "203.0.113.10"} {
		if resp := getFrom(t, behindProxy.URL, client); resp.StatusCode != 404 {
			t.Fatalf("client %s behind the trusted proxy: %d", client, resp.StatusCode)
		}
	}
	if resp := getFrom(t, behindProxy.URL, "203.0.113.9"); resp.StatusCode != 429 {
		t.Fatalf("client 203.0.113.9's second page: %d", resp.StatusCode)
	}
}

// getFrom loads a confirmation page as forwarded for client.
func getFrom(t *testing.T, base, client string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/confirm/not-a-token", nil)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

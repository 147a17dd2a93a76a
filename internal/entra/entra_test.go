package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/entra"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/entrasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	tenant = "8f3c9a1e-0000-4000-8000-00000000aaaa"
	client = "2b1d7c4e-0000-4000-8000-00000000bbbb"
	secret = "sandbox~client~secret~value"
)

func setup(t *testing.T, n int) (*entrasandbox.Server, string, []seed.Person) {
	t.Helper()
	people := seed.Company("acme.test", n, 7)
	sb := entrasandbox.New(tenant, client, secret, people)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv.URL, people
}

func newClient(t *testing.T, base, clientSecret string, opts ...entra.Option) *entra.Client {
	t.Helper()
	c, err := entra.New(entra.Config{TenantID: tenant, ClientID: client, ClientSecret: clientSecret, GraphBaseURL: base, LoginBaseURL: base}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type collected struct {
	users   map[string]domain.DirectoryUser
	items   int
	pages   int
	cursors []string
}

func run(t *testing.T, c *entra.Client, deltaLink string) (collected, domain.ImportResult, error) {
	t.Helper()
	got := collected{users: map[string]domain.DirectoryUser{}}
	res, err := c.ImportUsers(context.Background(), deltaLink, "", func(users []domain.DirectoryUser, resume string) error {
		got.pages++
		got.items += len(users)
		got.cursors = append(got.cursors, resume)
		for _, u := range users {
			got.users[u.ExternalID] = u
		}
		return nil
	})
	return got, res, err
}

func live(people []seed.Person) int {
	n := 0
	for _, p := range people {
		if p.Status != domain.UserDeprovisioned {
			n++
		}
	}
	return n
}

func TestFullRoundPaging(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pageSize int
	}{{"ExactMultiple", 0}, {"SeveralPages", 40}, {"OnePerPage", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			_, base, people := setup(t, 120)
			want := live(people)
			size := tc.pageSize
			if size == 0 { // a page size that divides the user count: the last page is full and still has no nextLink
				size = want
			}
			c := newClient(t, base, secret, entra.WithPageSize(size))
			got, res, err := run(t, c, "")
			if err != nil {
				t.Fatal(err)
			}
			wantPages := (want + size - 1) / size
			if len(got.users) != want || got.pages != wantPages {
				t.Fatalf("got %d users in %d pages, want %d in %d", len(got.users), got.pages, want, wantPages)
			}
			if !res.FullListing || res.DeltaLink == "" {
				t.Fatalf("result = %+v", res)
			}
			if res.Requests != wantPages+1 { // +1 token request
				t.Fatalf("requests = %d, want %d", res.Requests, wantPages+1)
			}
		})
	}
}

func TestAccountEnabledSelected(t *testing.T) {
	_, base, people := setup(t, 200)
	got, _, err := run(t, newClient(t, base, secret), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		u, ok := got.users[entrasandbox.EntraID(p.Key)]
		if p.Status == domain.UserDeprovisioned {
			if ok {
				t.Fatalf("deleted person %s listed", p.Key)
			}
			continue
		}
		if u.Status != p.Status || u.Email != p.Email {
			t.Fatalf("%s: got %s/%s, want %s/%s", p.Key, u.Status, u.Email, p.Status, p.Email)
		}
		if p.Alias != "" && (len(u.Aliases) != 1 || u.Aliases[0] != p.Alias) {
			t.Fatalf("%s: aliases %v, want [%s]", p.Key, u.Aliases, p.Alias)
		}
	}
}

// A guest (userType Guest, selected since Graph does not return it by
// default) is marked, and known by their own addresses only: not by the
// tenant's #EXT# user principal name.
func TestGuestsKnownByTheirOwnAddresses(t *testing.T) {
	sb, base, people := setup(t, 20)
	sb.AddGuest("9f0c2a51-guest-4000-8000-000000000001", "Ann.Lee@Agency.test", "Ann Lee (Agency)")
	got, _, err := run(t, newClient(t, base, secret), "")
	if err != nil {
		t.Fatal(err)
	}
	g := got.users["9f0c2a51-guest-4000-8000-000000000001"]
	if !g.Guest || g.Email != "ann.lee@agency.test" || len(g.Aliases) != 0 || g.Status != domain.UserActive {
		t.Fatalf("guest = %+v", g)
	}
	for _, p := range people {
		if u, ok := got.users[entrasandbox.EntraID(p.Key)]; ok && u.Guest {
			t.Fatalf("member %s marked a guest", p.Key)
		}
	}
}

func TestDeltaPicksUpChangeAndRemoval(t *testing.T) {
	sb, base, people := setup(t, 60)
	c := newClient(t, base, secret, entra.WithPageSize(25))
	_, first, err := run(t, c, "")
	if err != nil {
		t.Fatal(err)
	}
	var activeIDs []string
	for _, p := range people {
		if p.Status == domain.UserActive {
			activeIDs = append(activeIDs, entrasandbox.EntraID(p.Key))
		}
	}
	disabled, deleted, purged := activeIDs[0], activeIDs[1], activeIDs[2]
	do := func(method, path, body string) {
		t.Helper()
		tok := tokenFor(t, base)
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s %s: %v %v", method, path, err, resp.Status)
		}
	}
	do("PATCH", "/v1.0/users/"+disabled, `{"accountEnabled": false}`)
	do("DELETE", "/v1.0/users/"+deleted, "")
	do("DELETE", "/v1.0/users/"+purged, "")
	do("DELETE", "/v1.0/directory/deletedItems/"+purged, "")

	got, second, err := run(t, c, first.DeltaLink)
	if err != nil {
		t.Fatal(err)
	}
	if second.FullListing || len(got.users) != 3 {
		t.Fatalf("delta round: full=%v users=%v", second.FullListing, got.users)
	}
	if u := got.users[disabled]; u.Status != domain.UserSuspended || u.Removed {
		t.Fatalf("disabled user = %+v", u)
	}
	for id, reason := range map[string]string{deleted: "removed:changed", purged: "removed:deleted"} {
		if u := got.users[id]; !u.Removed || u.ProviderStatus != reason {
			t.Fatalf("removed user = %+v, want %s", u, reason)
		}
	}
	third, res, err := run(t, c, second.DeltaLink)
	if err != nil || len(third.users) != 0 || res.DeltaLink == "" {
		t.Fatalf("quiet round: %d users, %+v, %v", len(third.users), res, err)
	}

	t.Run("ExpiredDeltaTokenStartsFullRound", func(t *testing.T) {
		sb.ExpireDeltaTokens()
		got, res, err := run(t, c, second.DeltaLink)
		if err != nil || !res.FullListing || len(got.users) != live(people)-2 {
			t.Fatalf("after expiry: full=%v users=%d err=%v", res.FullListing, len(got.users), err)
		}
	})
}

func tokenFor(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", map[string][]string{
		"client_id": {client}, "client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return body.AccessToken
}

func TestRepeatedItemsAreHarmless(t *testing.T) {
	sb, base, people := setup(t, 50)
	sb.RepeatItems = true
	got, _, err := run(t, newClient(t, base, secret, entra.WithPageSize(10)), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.users) != live(people) || got.items <= len(got.users) {
		t.Fatalf("users=%d items=%d: want every user once and some repeats", len(got.users), got.items)
	}
}

func TestThrottledRetryAfterHonoured(t *testing.T) {
	sb, base, people := setup(t, 30)
	c := newClient(t, base, secret)
	if _, err := tokenOnly(c); err != nil {
		t.Fatal(err)
	}
	sb.InjectFaults(http.StatusTooManyRequests, 2, 1)
	start := time.Now()
	got, _, err := run(t, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.users) != live(people) {
		t.Fatalf("users = %d", len(got.users))
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("finished after %v: the two Retry-After: 1 hints were not honoured", waited)
	}
}

// tokenOnly runs an import against a quiet server to warm the token cache.
func tokenOnly(c *entra.Client) (domain.ImportResult, error) {
	return c.ImportUsers(context.Background(), "", "", func([]domain.DirectoryUser, string) error { return nil })
}

func TestThrottledTooLongIsReturned(t *testing.T) {
	sb, base, _ := setup(t, 5)
	c := newClient(t, base, secret, entra.WithBackoff(providerhttp.Policy{Attempts: 5, MaxWait: time.Second, Base: time.Millisecond}))
	if _, err := tokenOnly(c); err != nil {
		t.Fatal(err)
	}
	sb.InjectFaults(http.StatusTooManyRequests, 1, 120)
	_, _, err := run(t, c, "")
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.RateLimited || pe.RetryAfter != 120*time.Second {
		t.Fatalf("err = %v", err)
	}
}

func TestBadSecretIsAuthBroken(t *testing.T) {
	sb, base, _ := setup(t, 5)
	_, _, err := run(t, newClient(t, base, "wrong-secret-value"), "")
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.AuthBroken || !strings.Contains(pe.Message, "AADSTS7000215") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatal("error message contains the secret")
	}
	if sb.Requests() != 1 {
		t.Fatalf("%d requests: an auth failure must not be retried", sb.Requests())
	}
}

func TestExpiredAccessTokenRenewed(t *testing.T) {
	sb, base, people := setup(t, 20)
	c := newClient(t, base, secret)
	if _, err := tokenOnly(c); err != nil {
		t.Fatal(err)
	}
	sb.ExpireAccessTokens()
	got, _, err := run(t, c, "")
	if err != nil || len(got.users) != live(people) {
		t.Fatalf("users=%d err=%v", len(got.users), err)
	}
}

func TestResumeFromCursor(t *testing.T) {
	_, base, people := setup(t, 100)
	c := newClient(t, base, secret, entra.WithPageSize(20))
	stop := errors.New("worker stopped")
	seen := map[string]bool{}
	var resume string
	_, err := c.ImportUsers(context.Background(), "", "", func(users []domain.DirectoryUser, cur string) error {
		for _, u := range users {
			seen[u.ExternalID] = true
		}
		resume = cur
		if len(seen) >= 40 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v", err)
	}
	res, err := c.ImportUsers(context.Background(), "", resume, func(users []domain.DirectoryUser, _ string) error {
		for _, u := range users {
			if seen[u.ExternalID] {
				t.Fatalf("user %s fetched again after resume", u.ExternalID)
			}
			seen[u.ExternalID] = true
		}
		return nil
	})
	if err != nil || !res.FullListing || len(seen) != live(people) {
		t.Fatalf("after resume: %d users, %+v, %v", len(seen), res, err)
	}
}

func TestForeignNextLinkRefused(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent to a foreign host with %q", r.Header.Get("Authorization"))
	}))
	defer evil.Close()
	_, base, _ := setup(t, 3)
	c := newClient(t, base, secret)
	_, err := c.Delta(context.Background(), evil.URL+"/v1.0/users/delta?$skiptoken=x")
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.Permanent {
		t.Fatalf("err = %v", err)
	}
}

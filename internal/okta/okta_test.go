package okta_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const token = "00sandbox-okta-api-token"

func setup(t *testing.T, n int) (*oktasandbox.Server, string, []seed.Person) {
	t.Helper()
	people := seed.Company("acme.test", n, 11)
	sb := oktasandbox.New(token, people)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv.URL, people
}

func newClient(t *testing.T, base, tok string, opts ...okta.Option) *okta.Client {
	t.Helper()
	c, err := okta.New(base, tok, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func importAll(t *testing.T, c *okta.Client) (map[string]domain.DirectoryUser, domain.ImportResult, error) {
	t.Helper()
	got := map[string]domain.DirectoryUser{}
	res, err := c.ImportUsers(context.Background(), "", func(users []domain.DirectoryUser, _ string) error {
		for _, u := range users {
			if _, dup := got[u.ExternalID]; dup {
				t.Fatalf("user %s listed twice", u.ExternalID)
			}
			got[u.ExternalID] = u
		}
		return nil
	})
	return got, res, err
}

func count(people []seed.Person, status domain.UserStatus) int {
	n := 0
	for _, p := range people {
		if p.Status == status {
			n++
		}
	}
	return n
}

func pages(n int) int { return max((n+okta.PageSize-1)/okta.PageSize, 1) }

func TestImportPagingStopsAtTheEnd(t *testing.T) {
	for _, n := range []int{0, 1, 200, 450} {
		t.Run(fmt.Sprintf("%dUsers", n), func(t *testing.T) {
			sb, base, _ := setup(t, n)
			got, res, err := importAll(t, newClient(t, base, token))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n || !res.FullListing {
				t.Fatalf("got %d users (full=%v), want %d", len(got), res.FullListing, n)
			}
			want := pages(n)
			if res.Requests != want || sb.Requests() != want {
				t.Fatalf("requests client=%d server=%d, want %d", res.Requests, sb.Requests(), want)
			}
		})
	}
}

func TestDeprovisionedHiddenFromPlainListing(t *testing.T) {
	_, base, people := setup(t, 300)
	c := newClient(t, base, token)
	page, err := c.ListUsers(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Users {
		if u.Status == "DEPROVISIONED" {
			t.Fatalf("plain listing returned deprovisioned %s", u.ID)
		}
	}
	got, _, err := importAll(t, c)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range got {
		if u.Status == domain.UserDeprovisioned {
			n++
		}
	}
	if n == 0 || n != count(people, domain.UserDeprovisioned) {
		t.Fatalf("import found %d deprovisioned, want %d", n, count(people, domain.UserDeprovisioned))
	}
	for _, p := range people {
		u := got[oktasandbox.OktaID(p.Key)]
		if u.Status != p.Status || u.Email != p.Email {
			t.Fatalf("%s = %+v, want %s %s", p.Key, u, p.Status, p.Email)
		}
	}
}

// A user deprovisioned while the listing passes them and reactivated
// before it ends is listed once, never left out (which an import would
// take for a user gone from Okta).
func TestOneListingSeesEveryoneOnce(t *testing.T) {
	people := seed.Company("acme.test", 450, 11)
	sb := oktasandbox.New(token, people)
	// The last person by id is on the third page.
	target := ""
	for _, p := range people {
		if id := oktasandbox.OktaID(p.Key); id > target && p.Status == domain.UserActive {
			target = id
		}
	}
	listings := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/users" {
			listings++
			switch listings {
			case 2: // after the first page: an admin deactivates the target
				if err := sb.SetStatus(target, "DEPROVISIONED"); err != nil {
					t.Error(err)
				}
			case 4: // after the third page: and reactivates them
				if err := sb.SetStatus(target, "ACTIVE"); err != nil {
					t.Error(err)
				}
			}
		}
		sb.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	got, res, err := importAll(t, newClient(t, srv.URL, token))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[target]; !ok || len(got) != len(people) || !res.FullListing {
		t.Fatalf("listed %d of %d users; the target listed: %v", len(got), len(people), ok)
	}
}

func TestRateLimitHintHonoured(t *testing.T) {
	sb, base, people := setup(t, 50)
	sb.InjectFaults(http.StatusTooManyRequests, 1, 2)
	start := time.Now()
	got, _, err := importAll(t, newClient(t, base, token))
	if err != nil || len(got) != len(people) {
		t.Fatalf("got %d, %v", len(got), err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("finished after %v: X-Rate-Limit-Reset was not honoured", waited)
	}
}

// A rate-limit reset is on Okta's clock: counted from the answer's Date,
// a clock an hour apart from Okta's neither waits an hour nor too little.
func TestRateLimitResetOnOktasClock(t *testing.T) {
	for _, skew := range []time.Duration{time.Hour, -time.Hour} {
		sb, base, people := setup(t, 450)
		sb.ClockSkew = skew
		sb.InjectFaults(http.StatusTooManyRequests, 1, 2)
		sb.RateLimit, sb.Window = 2, time.Second
		c := newClient(t, base, token, okta.WithBackoff(providerhttp.Policy{Attempts: 5, MaxWait: 10 * time.Second, Base: time.Millisecond}))
		start := time.Now()
		got, res, err := importAll(t, c)
		if err != nil || len(got) != len(people) {
			t.Fatalf("skew %v: got %d, %v", skew, len(got), err)
		}
		// The injected 429 is retried after its 2 s; pacing meets no other.
		if waited := time.Since(start); waited < 2*time.Second || waited > time.Minute || res.Requests != pages(len(people))+1 {
			t.Fatalf("skew %v: %d requests in %v", skew, res.Requests, waited)
		}
	}
}

func TestPacingAvoids429(t *testing.T) {
	sb, base, people := setup(t, 450)
	sb.RateLimit, sb.Window = 2, time.Second
	got, res, err := importAll(t, newClient(t, base, token))
	if err != nil || len(got) != len(people) {
		t.Fatalf("got %d, %v", len(got), err)
	}
	// Every request was a page: no request was answered 429 and retried.
	if want := pages(len(people)); res.Requests != want {
		t.Fatalf("requests = %d, want %d (no 429s)", res.Requests, want)
	}
}

func TestRateLimitTooLongIsReturned(t *testing.T) {
	sb, base, _ := setup(t, 5)
	sb.InjectFaults(http.StatusTooManyRequests, 1, 300)
	c := newClient(t, base, token, okta.WithBackoff(providerhttp.Policy{Attempts: 5, MaxWait: time.Second, Base: time.Millisecond}))
	_, _, err := importAll(t, c)
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.RateLimited || pe.Code != "E0000047" || pe.RetryAfter < 250*time.Second {
		t.Fatalf("err = %v", err)
	}
}

func TestTransientErrorsRetried(t *testing.T) {
	sb, base, people := setup(t, 20)
	sb.InjectFaults(http.StatusInternalServerError, 2, 0)
	c := newClient(t, base, token, okta.WithBackoff(providerhttp.Policy{Attempts: 5, MaxWait: time.Second, Base: time.Millisecond}))
	got, _, err := importAll(t, c)
	if err != nil || len(got) != len(people) {
		t.Fatalf("got %d, %v", len(got), err)
	}
}

func TestBadTokenIsAuthBroken(t *testing.T) {
	sb, base, _ := setup(t, 5)
	_, _, err := importAll(t, newClient(t, base, "00wrong-token-value"))
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.AuthBroken || pe.Code != "E0000011" || pe.TraceID == "" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatal("error message contains the token")
	}
	if sb.Requests() != 1 {
		t.Fatalf("%d requests: an auth failure must not be retried", sb.Requests())
	}
}

func TestInvalidFilterIsPermanent(t *testing.T) {
	_, base, _ := setup(t, 5)
	c := newClient(t, base, token)
	for _, f := range []string{`status = "ACTIVE"`, `profile.department eq "x"`, `status gt "ACTIVE"`, `status eq ACTIVE`, `(status eq "ACTIVE"`} {
		_, err := c.ListUsers(context.Background(), f, "")
		pe, ok := domain.AsProviderError(err)
		if !ok || pe.Kind != domain.Permanent || pe.Code != "E0000031" {
			t.Fatalf("filter %q: err = %v", f, err)
		}
	}
	page, err := c.ListUsers(context.Background(), `status eq "SUSPENDED" or (status eq "ACTIVE" and profile.lastName eq "Nobody")`, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Users {
		if u.Status != "SUSPENDED" {
			t.Fatalf("filter returned %s", u.Status)
		}
	}
}

func TestResumeFromCursor(t *testing.T) {
	_, base, people := setup(t, 700)
	c := newClient(t, base, token)
	stop := errors.New("worker stopped")
	seen := map[string]bool{}
	var resume string
	_, err := c.ImportUsers(context.Background(), "", func(users []domain.DirectoryUser, cur string) error {
		for _, u := range users {
			seen[u.ExternalID] = true
		}
		resume = cur
		if len(seen) >= 400 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v", err)
	}
	_, err = c.ImportUsers(context.Background(), resume, func(users []domain.DirectoryUser, _ string) error {
		for _, u := range users {
			if seen[u.ExternalID] {
				t.Fatalf("user %s fetched again after resume", u.ExternalID)
			}
			seen[u.ExternalID] = true
		}
		return nil
	})
	if err != nil || len(seen) != len(people) {
		t.Fatalf("after resume %d users, %v", len(seen), err)
	}
}

func TestLifecycleThroughAPI(t *testing.T) {
	_, base, people := setup(t, 10)
	var id string
	for _, p := range people {
		if p.Status == domain.UserActive {
			id = oktasandbox.OktaID(p.Key)
			break
		}
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/users/"+id+"/lifecycle/deactivate", nil)
	req.Header.Set("Authorization", "SSWS "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("deactivate: %v %v", err, resp.Status)
	}
	got, _, err := importAll(t, newClient(t, base, token))
	if err != nil || got[id].Status != domain.UserDeprovisioned {
		t.Fatalf("after deactivate: %+v, %v", got[id], err)
	}
}

func TestForeignNextLinkRefused(t *testing.T) {
	_, base, _ := setup(t, 1)
	_, err := newClient(t, base, token).ListUsers(context.Background(), "", "http://evil.example/api/v1/users?after=x")
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.Permanent {
		t.Fatalf("err = %v", err)
	}
}

// Groups are listed with every member, over pages of members, and a
// service app reads them with okta.groups.read.
func TestImportGroups(t *testing.T) {
	sb, base, people := setup(t, 1500)
	var everyone, few []string
	for i, p := range people {
		everyone = append(everyone, oktasandbox.OktaID(p.Key))
		if i%100 == 0 {
			few = append(few, oktasandbox.OktaID(p.Key))
		}
	}
	all := sb.AddGroup("Everyone", everyone...)
	marketing := sb.AddGroup("Marketing", few...)
	empty := sb.AddGroup("Nobody yet")
	c := newClient(t, base, token)
	imported, err := c.ImportGroups(context.Background())
	if err != nil || !imported.Full {
		t.Fatal(err)
	}
	groups := imported.Groups
	byID := map[string]domain.DirectoryGroup{}
	for _, g := range groups {
		byID[g.ExternalID] = g
	}
	if len(groups) != 3 || len(byID[all].Members) != len(people) || len(byID[marketing].Members) != len(few) ||
		byID[marketing].Name != "Marketing" || len(byID[empty].Members) != 0 {
		t.Fatalf("groups %d: everyone %d, marketing %d %q", len(groups), len(byID[all].Members), len(byID[marketing].Members), byID[marketing].Name)
	}
	// 1 listing, 2 pages of Everyone's 1,500 members, 1 each for the others.
	if c.Requests() != 5 {
		t.Fatalf("%d requests", c.Requests())
	}
}

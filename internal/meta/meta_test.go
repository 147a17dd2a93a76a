package meta_test

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	token      = "EAAsandbox-system-user-token-test"
	businessID = "900000000000001"
)

var fast = providerhttp.Policy{Attempts: 5, MaxWait: 2 * time.Second, Base: time.Millisecond}

func setup(t *testing.T, shape metasandbox.Shape) (*metasandbox.Server, *meta.Client, *metasandbox.Business) {
	sb, c, b, _ := setupURL(t, shape)
	return sb, c, b
}

func setupURL(t *testing.T, shape metasandbox.Shape) (*metasandbox.Server, *meta.Client, *metasandbox.Business, string) {
	t.Helper()
	sb := metasandbox.New()
	b := metasandbox.NewBusiness(businessID, "acme.test", seed.Company("acme.test", max(shape.Members, 10), 3), shape, time.Now())
	sb.AddBusiness(b, token)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c, err := meta.New(srv.URL, "v25.0", token, meta.WithBackoff(fast))
	if err != nil {
		t.Fatal(err)
	}
	return sb, c, b, srv.URL
}

// once is a client that makes one attempt, to see the first classification.
func once(t *testing.T, base string) *meta.Client {
	c, err := meta.New(base, "v25.0", token, meta.WithBackoff(providerhttp.Policy{Attempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func allMembers(t *testing.T, c *meta.Client, edge string) []domain.BusinessMember {
	t.Helper()
	var all []domain.BusinessMember
	after := ""
	for pages := 0; ; pages++ {
		got, next, err := c.Members(context.Background(), businessID, edge, after)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got...)
		if next == "" {
			return all
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		after = next
	}
}

func TestPagingBoundaries(t *testing.T) {
	for _, n := range []int{1, 99, 100, 101, 250} {
		t.Run(fmt.Sprintf("%dMembers", n), func(t *testing.T) {
			sb, c, _ := setup(t, metasandbox.Shape{Members: n})
			got := allMembers(t, c, "business_users")
			if len(got) != n {
				t.Fatalf("got %d members, want %d", len(got), n)
			}
			seen := map[string]bool{}
			for _, m := range got {
				if seen[m.ExternalID] {
					t.Fatalf("%s listed twice", m.ExternalID)
				}
				seen[m.ExternalID] = true
			}
			// One request per page, and a full last page still asks once more only if Graph gave a next link.
			reqs, _ := sb.Requests()
			if want := (n + meta.PageSize - 1) / meta.PageSize; reqs != want {
				t.Fatalf("%d requests, want %d", reqs, want)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	for name, want := range map[string]domain.ProviderErrorKind{
		"token_expired":     domain.AuthBroken,
		"password_changed":  domain.AuthBroken,
		"permission":        domain.Permanent,
		"permission_denied": domain.Permanent,
		"bad_tasks":         domain.Permanent,
		"restricted":        domain.RateLimited,
		"app_throttle":      domain.RateLimited,
		"user_throttle":     domain.RateLimited,
		"page_throttle":     domain.RateLimited,
		"ad_throttle":       domain.RateLimited,
		"buc_throttle":      domain.RateLimited,
		"transient":         domain.Transient,
		"unknown":           domain.Transient,
	} {
		t.Run(name, func(t *testing.T) {
			sb, _, _, base := setupURL(t, metasandbox.Shape{Members: 3})
			sb.Inject(metasandbox.Faults[name], 1)
			_, _, err := once(t, base).Members(context.Background(), businessID, "business_users", "")
			pe, ok := domain.AsProviderError(err)
			if !ok || pe.Kind != want || pe.TraceID == "" || pe.Code == "" {
				t.Fatalf("err = %v, want kind %s with code and fbtrace_id", err, want)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatal("error contains the token")
			}
		})
	}
	t.Run("RetriedThenSucceeds", func(t *testing.T) {
		sb, c, _ := setup(t, metasandbox.Shape{Members: 3})
		sb.Inject(metasandbox.Faults["app_throttle"], 1)
		sb.Inject(metasandbox.Faults["transient"], 1)
		if got := allMembers(t, c, "business_users"); len(got) != 3 {
			t.Fatalf("got %d", len(got))
		}
	})
	t.Run("ExpiredTokenNotRetried", func(t *testing.T) {
		sb, c, _ := setup(t, metasandbox.Shape{Members: 3})
		sb.Inject(metasandbox.Faults["token_expired"], 5)
		_, _, err := c.Members(context.Background(), businessID, "business_users", "")
		if reqs, _ := sb.Requests(); reqs != 1 || !strings.Contains(err.Error(), "190/463") {
			t.Fatalf("%d requests, err %v", reqs, err)
		}
	})
}

func TestAssetsAndGrantsWithBatch(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 40, Pages: 70, AdAccounts: 45, HoldersPerAsset: 4})
	var targets []meta.GrantTarget
	for _, edge := range meta.AssetEdges {
		after := ""
		for {
			assets, next, err := c.Assets(context.Background(), businessID, edge, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range assets {
				if a.Type == "ad_account" && !strings.HasPrefix(a.ExternalID, "act_") {
					t.Fatalf("ad account id %s", a.ExternalID)
				}
				if (a.Type == "page") != (a.PageToken != "") {
					t.Fatalf("%s %s came with token %q", a.Type, a.ExternalID, a.PageToken)
				}
				targets = append(targets, meta.GrantTarget{AssetID: a.ExternalID, PageToken: a.PageToken})
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	if len(targets) != 115 {
		t.Fatalf("%d assets, want 115", len(targets))
	}
	sb.NullNextBatchEntries(3)
	before, _ := sb.Requests()
	chunks := map[int]bool{}
	total := 0
	grantsOf := func(ctx context.Context, chunk []meta.GrantTarget) ([]domain.Grant, error) {
		return c.Grants(ctx, businessID, chunk)
	}
	err := meta.Concurrently(context.Background(), targets, 2, grantsOf, func(i int, grants []domain.Grant) error {
		chunks[i] = true
		total += len(grants)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, a := range b.Assets {
		want += len(a.Holders)
	}
	after, _ := sb.Requests()
	if total != want || len(chunks) != 3 {
		t.Fatalf("%d grants in %d chunks, want %d in 3", total, len(chunks), want)
	}
	// 3 batches, plus one more for the three null entries.
	if after-before != 4 {
		t.Fatalf("%d requests for the grants, want 4", after-before)
	}
	if _, err := c.Batch(context.Background(), make([]meta.BatchRequest, 51)); err == nil {
		t.Fatal("a batch of 51 was sent")
	}
}

func TestPacingWhenUsageClimbs(t *testing.T) {
	sb, c, _ := setup(t, metasandbox.Shape{Members: 500})
	sb.CallLimit, sb.Window = 8, time.Hour // usage climbs 12.5% a call
	c.SlowDownAt = 50
	start := time.Now()
	_, _, err := c.Members(context.Background(), businessID, "business_users", "")
	for i := 0; err == nil && i < 6; i++ {
		_, _, err = c.Members(context.Background(), businessID, "business_users", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	// Past 50% usage the gaps grow: ~0.5s before call 6 (62%), ~1s before call 7 (75%).
	if waited := time.Since(start); waited < 1400*time.Millisecond {
		t.Fatalf("no slowdown as usage climbed (%v)", waited)
	}
}

func TestThrottledAtFullUsage(t *testing.T) {
	sb, c, _, base := setupURL(t, metasandbox.Shape{Members: 5})
	sb.CallLimit = 1
	_, _, _ = c.Members(context.Background(), businessID, "business_users", "")
	_, _, err := once(t, base).Members(context.Background(), businessID, "business_users", "")
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.RateLimited || pe.RetryAfter != time.Minute || pe.Code != "80004" {
		t.Fatalf("err = %v (retry after %v)", err, pe.RetryAfter)
	}
}

// A throttle without usage headers waits minutes, left to the caller, not
// seconds in place: Meta's limits are rolling hours.
func TestThrottledWithoutUsageHeaders(t *testing.T) {
	sb, c, _, base := setupURL(t, metasandbox.Shape{Members: 5, Pages: 2, HoldersPerAsset: 1})
	assets, _, err := c.Assets(context.Background(), businessID, "owned_pages", "")
	if err != nil {
		t.Fatal(err)
	}
	// A second client: the first one holds its calls back after the throttle.
	c2, err := meta.New(base, "v25.0", token, meta.WithBackoff(fast))
	if err != nil {
		t.Fatal(err)
	}
	sb.NoUsageHeaders = true
	before, _ := sb.Requests()
	sb.Inject(metasandbox.Faults["app_throttle"], 1)
	_, _, err = c.Members(context.Background(), businessID, "business_users", "")
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.RateLimited || pe.RetryAfter != meta.ThrottleBackoff {
		t.Fatalf("err = %v, want a rate limit to retry after %v", err, meta.ThrottleBackoff)
	}
	sb.Inject(metasandbox.Faults["app_throttle"], 1)
	_, err = c2.Grants(context.Background(), businessID, []meta.GrantTarget{{AssetID: assets[0].ExternalID, PageToken: assets[0].PageToken}})
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.RateLimited || pe.RetryAfter != meta.ThrottleBackoff {
		t.Fatalf("batch err = %v, want a rate limit to retry after %v", err, meta.ThrottleBackoff)
	}
	if after, _ := sb.Requests(); after-before != 2 {
		t.Fatalf("%d requests, want one per call, none retried in place", after-before)
	}
}

// A throttled operation inside a batch carries its own usage headers, and
// says when access comes back.
func TestBatchOperationThrottleReadsItsHeaders(t *testing.T) {
	sb, c, _, base := setupURL(t, metasandbox.Shape{Members: 5, AdAccounts: 2, HoldersPerAsset: 1})
	assets, _, err := c.Assets(context.Background(), businessID, "owned_ad_accounts", "")
	if err != nil {
		t.Fatal(err)
	}
	sb.CallLimit = 1
	_, err = once(t, base).Grants(context.Background(), businessID, []meta.GrantTarget{{AssetID: assets[0].ExternalID}, {AssetID: assets[1].ExternalID}})
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.RateLimited || pe.RetryAfter != time.Minute {
		t.Fatalf("err = %v, want a rate limit to retry after a minute", err)
	}
}

func TestBatchRetriesOnlyFailedOperations(t *testing.T) {
	sb, c, _ := setup(t, metasandbox.Shape{Members: 10, Pages: 50, HoldersPerAsset: 2})
	var ids []meta.GrantTarget
	assets, _, err := c.Assets(context.Background(), businessID, "owned_pages", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range assets {
		ids = append(ids, meta.GrantTarget{AssetID: a.ExternalID, PageToken: a.PageToken})
	}
	before, beforeOps := sb.Requests()
	sb.Inject(metasandbox.Faults["app_throttle"], 2)
	grants, err := c.Grants(context.Background(), businessID, ids)
	if err != nil || len(grants) == 0 {
		t.Fatalf("grants: %d, %v", len(grants), err)
	}
	after, afterOps := sb.Requests()
	// One batch of len(ids) operations, then one batch of the two throttled ones.
	if after-before != 2 || afterOps-beforeOps != len(ids)+2 {
		t.Fatalf("%d requests and %d operations, want 2 and %d", after-before, afterOps-beforeOps, len(ids)+2)
	}
	sb.Inject(metasandbox.Faults["permission"], 1)
	if _, err := c.Grants(context.Background(), businessID, ids[:3]); err == nil {
		t.Fatal("a permission error inside a batch was not returned")
	}
}

// An invitation whose answer was lost is looked up, not sent blindly again:
// Meta sends it once, and the client returns it.
func TestInviteAfterLostAnswer(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 20})
	before := sb.Invitations()
	sb.LoseAnswers("POST", 1)
	id, _, err := c.Invite(context.Background(), businessID, "new.hire@acme.test", "EMPLOYEE")
	if err != nil {
		t.Fatal(err)
	}
	if sb.Invitations() != before+1 || b.Pending[id] == nil || b.Pending[id].Email != "new.hire@acme.test" {
		t.Fatalf("%d invitations sent, id %q", sb.Invitations()-before, id)
	}
}

// A Page's edge needs the Page's token: the client reads it and uses it for
// the Page's task changes; a system-user token there is a refusal that no
// new system-user token fixes, not an expired token.
func TestPageTasksUsePageTokens(t *testing.T) {
	_, c, b, base := setupURL(t, metasandbox.Shape{Members: 20, Pages: 2, AdAccounts: 1, HoldersPerAsset: 2})
	page, ad := b.FirstAsset("page"), b.FirstAsset("ad_account")
	var user string
	for id := range b.Users {
		user = id
		break
	}
	ctx := context.Background()
	if _, err := c.AssignTasks(ctx, page, user, []string{"ANALYZE"}); err != nil {
		t.Fatalf("page tasks: %v", err)
	}
	if got := b.Assets[page].Holders[user]; len(got) != 1 || got[0] != "ANALYZE" {
		t.Fatalf("page holder tasks %v", got)
	}
	if _, err := c.AssignTasks(ctx, ad, user, []string{"ANALYZE"}); err != nil {
		t.Fatalf("ad account tasks: %v", err)
	}
	if _, err := c.UnassignTasks(ctx, page, user); err != nil || b.Assets[page].Holders[user] != nil {
		t.Fatalf("page unassign: %v", err)
	}
	// The same Page edge with the system user's token: Meta's wrong-token answer.
	_, err := once(t, base).Grants(ctx, businessID, []meta.GrantTarget{{AssetID: page}})
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.Permanent || pe.Code != "190" {
		t.Fatalf("err = %v, want a permanent 190 (the wrong kind of token)", err)
	}
}

// 100/33 is never proof of a removal: a user the token lost permission on
// (still listed) is not counted removed; one really gone is.
func TestRemovalNeedsAPositiveCheck(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 30})
	var hidden, gone, other string
	for id := range b.Users {
		switch {
		case hidden == "":
			hidden = id
		case gone == "":
			gone = id
		case other == "":
			other = id
		}
	}
	sb.LosePermissionOn(hidden)
	ctx := context.Background()
	if _, err := c.RemoveBusinessUser(ctx, businessID, hidden); err == nil {
		t.Fatal("a removal answered 100/33 for a listed user counted as done")
	}
	if present, err := c.HasBusinessUser(ctx, businessID, hidden); err != nil || !present {
		t.Fatalf("the hidden user present: %v, %v", present, err)
	}
	if _, err := c.RemoveBusinessUser(ctx, businessID, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveBusinessUser(ctx, businessID, gone); err != nil {
		t.Fatalf("removing a user already gone: %v", err)
	}
	errs, err := c.RemoveBusinessUsers(ctx, businessID, []string{hidden, gone, other})
	if err != nil || errs[0] == nil || errs[1] != nil || errs[2] != nil || b.Users[other] != nil {
		t.Fatalf("batch removal: %v, %v", errs, err)
	}
	if present, _ := c.PresentBusinessUsers(ctx, businessID, []string{hidden, gone}); !present[0] || present[1] {
		t.Fatalf("present %v, want the hidden one present and the gone one not", present)
	}
}

// When Graph refuses a cursor because its item was deleted mid-listing, the
// positive check of a removal lists again instead of failing.
func TestListingStartsOverOnARefusedCursor(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 250})
	ids := slices.Sorted(maps.Keys(b.Users))
	hidden := ids[len(ids)-1] // on the last page, after the cursor refused
	sb.LosePermissionOn(hidden)
	sb.DeleteLastOfPage("business_users", 1)
	present, err := c.HasBusinessUser(context.Background(), businessID, hidden)
	if err != nil || !present {
		t.Fatalf("present %v, %v", present, err)
	}
}

// An expired invitation is not "already invited": a new one is sent, and
// the invitation is listed as expired.
func TestInviteAfterExpiry(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 10, Invitations: 1})
	var old *metasandbox.PendingUser
	for _, p := range b.Pending {
		old = p
	}
	ctx := context.Background()
	if id, _, err := c.Invite(ctx, businessID, old.Email, "EMPLOYEE"); err != nil || id != old.ID {
		t.Fatalf("inviting a pending address: %q, %v; want the pending invitation", id, err)
	}
	if err := sb.ExpireInvitation(businessID, old.ID); err != nil {
		t.Fatal(err)
	}
	before := sb.Invitations()
	id, _, err := c.Invite(ctx, businessID, old.Email, "EMPLOYEE")
	if err != nil || id == old.ID || sb.Invitations() != before+1 {
		t.Fatalf("inviting after expiry: %q, %v", id, err)
	}
	listed, _, err := c.Members(ctx, businessID, "pending_users", "")
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]string{}
	for _, m := range listed {
		statuses[m.ExternalID] = m.InvitationStatus
	}
	if statuses[old.ID] != "EXPIRED" || statuses[id] != "PENDING" {
		t.Fatalf("statuses %v", statuses)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/jackc/pgx/v5"
)

func (s *stack) createIntegration(key, token string) (store.Integration, int) {
	s.t.Helper()
	var ig store.Integration
	code := s.call("POST", "/v1/integrations", key, map[string]any{"provider": "meta", "label": "Acme Meta", "business_id": metaBusinessID,
		"login_method": "sso", "access_token": token, "graph_base_url": s.metaURL}, &ig)
	return ig, code
}

// check triggers a check for updates through the API and waits for it.
func (s *stack) check(key, igID string) (syncStarted, error) {
	s.t.Helper()
	var started syncStarted
	if code := s.call("POST", "/v1/integrations/"+igID+"/sync", key, nil, &started); code != http.StatusAccepted {
		s.t.Fatalf("sync: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return started, s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil)
}

func (s *stack) members(key, igID, state string) []store.Member {
	s.t.Helper()
	var all []store.Member
	cursor := ""
	for {
		var page struct {
			Items      []store.Member `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if code := s.call("GET", fmt.Sprintf("/v1/integrations/%s/members?limit=500&state=%s&cursor=%s", igID, state, cursor), key, nil, &page); code != 200 {
			s.t.Fatalf("members: %d", code)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func (s *stack) partners(igID string) []store.PartnerView {
	s.t.Helper()
	var page struct {
		Items []store.PartnerView `json:"items"`
	}
	if code := s.call("GET", "/v1/integrations/"+igID+"/partners?limit=500", s.apiKey, nil, &page); code != 200 {
		s.t.Fatalf("partners: %d", code)
	}
	return page.Items
}

// stored is everything a check stores for an integration, as text, for comparing runs.
func (s *stack) stored(igID string) string {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out string
	err = conn.QueryRow(ctx, `SELECT
		(SELECT string_agg(concat_ws('|', external_id, kind, email, role, array_to_string(tasks, ','), state, match, matched_email, hub_role), E'\n' ORDER BY external_id) FROM members WHERE integration_id = $1)
		|| (SELECT string_agg(concat_ws('|', external_id, type, ownership, name), E'\n' ORDER BY external_id) FROM assets WHERE integration_id = $1)
		|| (SELECT string_agg(concat_ws('|', asset_id, member_id, array_to_string(tasks, ',')), E'\n' ORDER BY asset_id, member_id) FROM asset_grants WHERE integration_id = $1)
		|| (SELECT string_agg(concat_ws('|', relation, partner_id, name), E'\n' ORDER BY relation, partner_id) FROM partners WHERE integration_id = $1)
		|| (SELECT string_agg(concat_ws('|', asset_id, partner_id, array_to_string(tasks, ',')), E'\n' ORDER BY asset_id, partner_id) FROM asset_partners WHERE integration_id = $1)`,
		igID).Scan(&out)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func TestMetaCheckForUpdates(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	s.importOkta()
	ig, code := s.createIntegration(s.apiKey, metaToken)
	if code != http.StatusCreated {
		t.Fatalf("create integration: %d", code)
	}
	started, err := s.check(s.apiKey, ig.ID)
	if err != nil {
		t.Fatalf("check for updates: %v", err)
	}
	if started.WorkflowID != "sync/"+ig.ID {
		t.Fatalf("workflow id %s", started.WorkflowID)
	}

	b := s.meta.Business(metaBusinessID)
	byEmail := map[string]store.Member{}
	for _, m := range s.members(s.apiKey, ig.ID, "") {
		if m.Kind != domain.MemberSystemUser {
			byEmail[m.Email] = m
		}
	}
	if len(byEmail) != len(b.Users)+len(b.Pending) || len(s.members(s.apiKey, ig.ID, "system")) != len(b.SystemUsers) {
		t.Fatalf("%d members listed; business has %d users, %d invitations, %d system users", len(byEmail), len(b.Users), len(b.Pending), len(b.SystemUsers))
	}
	if m := byEmail[seed.SharedAlias(emailDomain)]; m.State != domain.StateUnmatched || m.Match != "several" {
		t.Fatalf("shared mailbox member = %s/%s, want unmatched/several", m.State, m.Match)
	}
	var onboardedDeparted, aliasMatched, agency int
	for _, p := range people {
		if m, ok := byEmail[p.Email]; ok && p.Status == domain.UserDeprovisioned {
			if m.State != domain.StateOnboarded || len(m.DirectoryUsers) != 1 || m.DirectoryUsers[0].Status != domain.UserDeprovisioned {
				t.Fatalf("departed member %s = %+v", p.Email, m)
			}
			onboardedDeparted++
		}
		if m, ok := byEmail[p.Alias]; ok && !p.AliasShared {
			if m.State != domain.StateOnboarded || m.MatchedEmail == nil || *m.MatchedEmail != p.Email {
				t.Fatalf("alias member %s = %+v", p.Alias, m)
			}
			aliasMatched++
		}
	}
	for email, m := range byEmail {
		if strings.HasSuffix(email, "@"+metasandbox.AgencyDomain) || strings.HasSuffix(email, "@"+metasandbox.PersonalDomain) {
			if m.State != domain.StateUnmatched || m.Match != "none" {
				t.Fatalf("agency member %s = %s", email, m.State)
			}
			agency++
		}
		if m.Kind == domain.MemberInvitation && m.State != domain.StatePending {
			t.Fatalf("invitation %s in %s", email, m.State)
		}
	}
	if onboardedDeparted == 0 || aliasMatched == 0 || agency == 0 {
		t.Fatalf("the business lacks a matching case: departed %d, alias %d, agency %d", onboardedDeparted, aliasMatched, agency)
	}
	var assets struct {
		Items []store.AssetWithHolders `json:"items"`
	}
	s.call("GET", "/v1/integrations/"+ig.ID+"/assets?limit=500", s.apiKey, nil, &assets)
	if len(assets.Items) != len(b.Assets) || len(assets.Items[0].Holders) == 0 {
		t.Fatalf("%d assets listed, business has %d", len(assets.Items), len(b.Assets))
	}
	var view struct {
		Members map[string]int `json:"members"`
	}
	s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &view)
	if view.Members["onboarded"] == 0 || view.Members["unmatched"] == 0 || view.Members["pending"] != len(b.Pending) {
		t.Fatalf("tabs = %v", view.Members)
	}
	events := history(t, s, started.WorkflowID, started.RunID).Events
	t.Logf("check for updates: %d history events", len(events))
	// The same whatever the business's size: a few events per activity
	// (members, assets, grants, partners, the token's expiry, reconcile,
	// taking and giving back a slot).
	if len(events) > 80 {
		t.Fatalf("%d history events, want at most 80", len(events))
	}
	pageTokens := s.meta.PageTokens()
	if len(pageTokens) == 0 {
		t.Fatal("the check read no Page token")
	}
	for _, secret := range append(pageTokens, metaToken) {
		assertNoSecrets(t, s, started.WorkflowID, started.RunID, secret)
	}
	exportHistory(t, s, started.WorkflowID, started.RunID, "integration_sync_meta_every_open_report.json")

	// The business's partners, and which of them hold each asset, as Meta lists them.
	partners := s.partners(ig.ID)
	if len(partners) != len(b.Agencies)+len(b.Clients) {
		t.Fatalf("%d partners listed, the business has %d agencies and %d clients", len(partners), len(b.Agencies), len(b.Clients))
	}
	for _, p := range partners {
		held := 0
		for id, a := range b.Assets {
			if tasks, ok := a.Partners[p.ExternalID]; ok {
				held++
				if i := slices.IndexFunc(p.Assets, func(pa store.PartnerAsset) bool { return pa.AssetID == id }); i < 0 || !slices.Equal(p.Assets[i].Tasks, tasks) {
					t.Fatalf("partner %s on %s: %+v, want %v", p.Name, id, p.Assets, tasks)
				}
			}
		}
		if len(p.Assets) != held {
			t.Fatalf("partner %s holds %d assets, listed %d", p.Name, held, len(p.Assets))
		}
	}
	for _, a := range assets.Items {
		if len(a.Partners) != len(b.Assets[a.ExternalID].Partners) {
			t.Fatalf("asset %s lists %d partners, holds %d", a.ExternalID, len(a.Partners), len(b.Assets[a.ExternalID].Partners))
		}
	}

	t.Run("UnchangedCheckWritesNothing", func(t *testing.T) {
		before := s.stored(ig.ID)
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if r := runs[0]; r.Added+r.Changed+r.Removed != 0 || r.Details["grant_rows_written"].(float64) != 0 || s.stored(ig.ID) != before {
			t.Fatalf("unchanged check = %+v", r)
		}
	})

	t.Run("FaultsGiveTheSameResult", func(t *testing.T) {
		other, _ := s.store.CreateWorkspace(context.Background(), "Same company, flaky network")
		key, _, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: other.ID, Name: "faults", Scope: store.ScopeAdmin, Actor: "test"})
		if _, _, err := s.store.CreateDirectory(context.Background(), store.NewDirectory{WorkspaceID: other.ID, Type: domain.DirectoryOkta,
			Name: "Okta", Settings: domain.DirectorySettings{BaseURL: s.oktaURL}, Secret: []byte(oktaToken)}); err != nil {
			t.Fatal(err)
		}
		dirs, _, _ := s.store.ListDirectories(context.Background(), other.ID, store.Page{})
		var started syncStarted
		s.call("POST", "/v1/directories/"+dirs[0].ID+"/sync", key, nil, &started)
		_ = s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil)
		flaky, _ := s.createIntegration(key, metaToken)
		s.meta.FailRate = 0.2
		defer func() { s.meta.FailRate = 0 }()
		if _, err := s.check(key, flaky.ID); err != nil {
			t.Fatalf("check under faults: %v", err)
		}
		if got, want := s.stored(flaky.ID), s.stored(ig.ID); got != want {
			t.Fatal("a check under 20% faults stored a different result than a clean one")
		}
	})

	// Someone leaves while the check lists the business: Graph refuses the
	// cursor that named them, and the listing starts over instead of failing.
	// The check saw them (on the page read before they left); the next one
	// marks them removed.
	t.Run("MemberLeavesMidListing", func(t *testing.T) {
		before := len(b.Users)
		s.meta.DeleteLastOfPage("business_users", 1)
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatalf("check with a refused cursor: %v", err)
		}
		if len(b.Users) != before-1 {
			t.Fatal("nobody left during the listing")
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		removed := s.members(s.apiKey, ig.ID, string(domain.StateRemoved))
		if len(removed) != 1 || b.Users[removed[0].ExternalID] != nil {
			t.Fatalf("%d removed after one left mid-listing", len(removed))
		}
	})

	// An agency that starts working on two assets appears, one whose
	// partnership ended disappears: each counted in the run and audited.
	t.Run("PartnersAppearAndDisappear", func(t *testing.T) {
		page, ad := b.FirstAsset("page"), b.FirstAsset("ad_account")
		gone := b.Agencies[1]
		s.meta.AddAgency(metaBusinessID, metasandbox.Partner{ID: "70000000000099", Name: "Late Night Agency"},
			map[string][]string{page: {"ANALYZE"}, ad: {"ADVERTISE", "ANALYZE"}})
		s.meta.RemoveAgency(metaBusinessID, gone.ID)
		started, err := s.check(s.apiKey, ig.ID)
		if err != nil {
			t.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if d := runs[0].Details; d["partners_added"] != float64(1) || d["partners_removed"] != float64(1) {
			t.Fatalf("run details %v", d)
		}
		for action, name := range map[string]string{"integration.partner_added": "Late Night Agency", "integration.partner_removed": gone.Name} {
			events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: action}, store.Page{})
			if len(events) == 0 || events[0].Details["name"] != name || events[0].RunID != started.RunID {
				t.Fatalf("%s: %+v", action, events)
			}
		}
		var late *store.PartnerView
		for _, p := range s.partners(ig.ID) {
			if p.ExternalID == gone.ID {
				t.Fatalf("%s is still listed", gone.Name)
			}
			if p.ExternalID == "70000000000099" {
				late = &p
			}
		}
		if late == nil || late.Relation != "agency" || len(late.Assets) != 2 {
			t.Fatalf("the new agency: %+v", late)
		}
	})

	// Meta refuses the partners: the check still lands members and grants,
	// says why partners were not read, and leaves them as they were.
	t.Run("PartnersRefused", func(t *testing.T) {
		before := s.partners(ig.ID)
		restore := s.meta.LosePermissionOn(metaBusinessID + "/agencies")
		defer restore()
		s.meta.RemoveAgency(metaBusinessID, before[0].ExternalID)
		started, err := s.check(s.apiKey, ig.ID)
		if err != nil {
			t.Fatalf("check with the partners refused: %v", err)
		}
		var res workflows.IntegrationSyncResult
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), &res); err != nil ||
			!strings.Contains(res.PartnersProblem, "100/33") || res.Members == 0 {
			t.Fatalf("result %+v, %v", res, err)
		}
		if after := s.partners(ig.ID); len(after) != len(before) {
			t.Fatalf("%d partners after a refused read, %d before", len(after), len(before))
		}
	})

	// Meta says the token expires in five days: the integration shows it and
	// each admin is mailed once, however many checks see it; the business's
	// two-factor rule and who holds Full control without two-factor show too.
	t.Run("TokenExpiryAndTwoFactor", func(t *testing.T) {
		admin := "it-admin@" + emailDomain
		if code := s.call("PUT", "/v1/workspace/settings", s.apiKey, map[string]any{"admin_emails": []string{admin}}, nil); code != 200 {
			t.Fatalf("settings: %d", code)
		}
		expires := time.Now().Add(5 * 24 * time.Hour).Truncate(time.Second)
		s.meta.SetTokenExpiry(metaToken, expires, time.Time{})
		defer s.meta.SetTokenExpiry(metaToken, time.Time{}, time.Time{})
		var last syncStarted
		for range 2 {
			started, err := s.check(s.apiKey, ig.ID)
			if err != nil {
				t.Fatalf("check with a token expiring soon: %v", err)
			}
			last = started
		}
		var got struct {
			store.Integration
			FullControlWithoutTwoFactor int `json:"full_control_without_two_factor"`
		}
		s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &got)
		exposed := map[string]bool{}
		for id, u := range b.Users {
			if u.Role == "ADMIN" && u.TwoFactor != "enabled" {
				exposed[id] = true
			}
		}
		if got.Status != "connected" || got.TokenExpiresAt == nil || !got.TokenExpiresAt.Equal(expires) || got.DataAccessExpiresAt != nil ||
			got.TwoFactorType != "none" || got.FullControlWithoutTwoFactor != len(exposed) || len(exposed) == 0 {
			t.Fatalf("integration: %s, token expires %v (want %v), data access %v, two_factor_type %q, %d without two-factor (want %d)",
				got.Status, got.TokenExpiresAt, expires, got.DataAccessExpiresAt, got.TwoFactorType, got.FullControlWithoutTwoFactor, len(exposed))
		}
		var listed struct {
			Items []store.Member `json:"items"`
		}
		s.call("GET", "/v1/integrations/"+ig.ID+"/members?limit=500&role=ADMIN&two_factor=off", s.apiKey, nil, &listed)
		if len(listed.Items) != len(exposed) {
			t.Fatalf("%d listed with Full control without two-factor, want %d", len(listed.Items), len(exposed))
		}
		for _, m := range listed.Items {
			if !exposed[m.ExternalID] || m.TwoFactor != "disabled" {
				t.Fatalf("listed %s (%s, two_fac_status %q)", m.ExternalID, m.Role, m.TwoFactor)
			}
		}
		s.waitMail(admin, "expires")
		var notices int
		for _, m := range s.mail.Messages() {
			if slices.Contains(m.To, admin) && strings.Contains(m.Subject, "Meta token of Acme Meta expires") {
				notices++
				if !strings.Contains(m.Text, "/v1/integrations/"+ig.ID+"/token") || !strings.Contains(m.Text, expires.UTC().Format("2 January 2006")) {
					t.Fatalf("the notice does not say when and how:\n%s", m.Text)
				}
			}
		}
		events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "integration.token_expiring"}, store.Page{})
		if notices != 1 || len(events) != 1 {
			t.Fatalf("%d notices mailed and %d audited over two checks, want 1", notices, len(events))
		}
		s.expectErrors(t, []badRequest{
			{"TwoFactorNotOnOrOff", "GET", "/v1/integrations/" + ig.ID + "/members?two_factor=maybe", s.apiKey, "", 400},
			{"RoleLowercase", "GET", "/v1/integrations/" + ig.ID + "/members?role=admin", s.apiKey, "", 400},
		})
		assertNoSecrets(t, s, last.WorkflowID, last.RunID, metaToken)
		exportHistory(t, s, last.WorkflowID, last.RunID, "integration_sync_meta_slots.json")
	})

	// Past its expiry, the token is refused: the integration needs a new one.
	t.Run("TokenPastItsExpiry", func(t *testing.T) {
		s.meta.SetTokenExpiry(metaToken, time.Now().Add(-time.Minute), time.Time{})
		defer s.meta.SetTokenExpiry(metaToken, time.Time{}, time.Time{})
		if _, err := s.check(s.apiKey, ig.ID); err == nil || !strings.Contains(err.Error(), "190/463") {
			t.Fatalf("check with an expired token: %v", err)
		}
		var got store.Integration
		s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &got)
		if got.Status != "needs_reauth" {
			t.Fatalf("integration = %s: %s", got.Status, got.StatusMessage)
		}
		s.meta.SetTokenExpiry(metaToken, time.Time{}, time.Time{})
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatalf("check once the token works again: %v", err)
		}
	})

	t.Run("ExpiredTokenNeedsReauth", func(t *testing.T) {
		reqBefore, _ := s.meta.Requests()
		s.meta.Inject(metasandbox.Faults["token_expired"], 100)
		started, err := s.check(s.apiKey, ig.ID)
		if err == nil || !strings.Contains(err.Error(), "190/463") {
			t.Fatalf("check with an expired token: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		// Members, assets and the token's expiry are asked at once: one request each.
		if reqs, _ := s.meta.Requests(); reqs-reqBefore > 3 {
			t.Fatalf("%d Graph requests: an expired token must not be retried", reqs-reqBefore)
		}
		var got store.Integration
		s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &got)
		if got.Status != "needs_reauth" || !strings.Contains(got.StatusMessage, "Meta rejected the access token") {
			t.Fatalf("integration = %s: %s", got.Status, got.StatusMessage)
		}
		events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "integration.needs_reauth"}, store.Page{})
		if len(events) == 0 || events[0].TraceID == "" {
			t.Fatalf("audit = %+v", events)
		}
		assertNoSecrets(t, s, started.WorkflowID, started.RunID, metaToken)

		// A new token reconnects the integration at the next check.
		s.meta.AddToken(metaBusinessID, "EAAfresh-token-e2e", "30000000000001", metasandbox.AllPermissions)
		if code := s.call("PUT", "/v1/integrations/"+ig.ID+"/token", s.apiKey, map[string]string{"access_token": "EAAfresh-token-e2e"}, nil); code != 204 {
			t.Fatalf("replace token: %d", code)
		}
		s.meta.ClearFaults() // the rest of the expired-token faults
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatalf("check with the new token: %v", err)
		}
		var fixed store.Integration
		s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, &fixed)
		if fixed.Status != "connected" || fixed.StatusMessage != "" {
			t.Fatalf("after a new token: %s %q", fixed.Status, fixed.StatusMessage)
		}
	})
}

package e2e

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// consentToPinterest does what an admin does: opens the integration's
// oauth/start, logs in to the sandbox's Pinterest, allows (or denies) the
// app, and lands on Hubkeeper's callback page, whose status and text it
// returns.
func (s *stack) consentToPinterest(t testing.TB, key, igID, decision string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.api.URL+"/v1/integrations/"+igID+"/oauth/start", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	consent, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(consent.String(), s.pinURL+"/oauth/") ||
		consent.Query().Get("scope") != "biz_access:read,biz_access:write" {
		t.Fatalf("oauth/start: %d %s", resp.StatusCode, consent)
	}
	back, err := pinsandbox.Consent(context.Background(), consent.String(), pinAutomation, pinPassword, decision == "allow")
	if err != nil {
		t.Fatal(err)
	}
	return page(t, "GET", back.String(), nil)
}

// TestPinterestThroughTheAPI: a Pinterest business connected by an
// admin's consent is checked through the API into the same tabs as
// through the browser; invitations are sent and cancelled, roles and
// ad-account permissions changed and members removed, one by one and in
// bulk, each checked in the sandbox; every use refreshes the short-lived token; a refused refresh
// marks the integration needs_reauth and a new consent connects it again.
func TestPinterestThroughTheAPI(t *testing.T) {
	people := seed.Company(emailDomain, 120, 5)
	s := newStack(t, people)
	s.importOkta()
	s.pin.AccessTokenTTL = time.Hour // within a day of expiry: every use refreshes first
	var ig store.Integration
	if code := s.call("POST", "/v1/integrations", s.apiKey, map[string]any{"provider": "pinterest", "label": "Acme Pinterest",
		"business_id": pinBusinessID, "login_method": "sso"}, &ig); code != http.StatusCreated || ig.Mode != "api" || ig.Status != "onboarding" {
		t.Fatalf("create: %d %+v", code, ig)
	}
	s.expectErrors(t, []badRequest{
		{"APIWithAccount", "POST", "/v1/integrations", s.apiKey, `{"provider":"pinterest","mode":"api","label":"x","business_id":"1","login_method":"sso","automation":{"email":"a@b.test","password":"p"}}`, http.StatusBadRequest},
		{"UnknownMode", "POST", "/v1/integrations", s.apiKey, `{"provider":"pinterest","mode":"fax","label":"x","business_id":"1","login_method":"sso"}`, http.StatusBadRequest},
		{"MetaWithMode", "POST", "/v1/integrations", s.apiKey, `{"provider":"meta","mode":"api","label":"x","business_id":"1","login_method":"sso","access_token":"x"}`, http.StatusBadRequest},
		{"CheckBeforeConsent", "POST", "/v1/integrations/" + ig.ID + "/sync", s.apiKey, "", http.StatusConflict},
		{"StartUnknown", "GET", "/v1/integrations/not-an-id/oauth/start", s.apiKey, "", http.StatusNotFound},
		{"ModeUnknown", "PUT", "/v1/integrations/not-an-id/mode", s.apiKey, `{"mode":"api"}`, http.StatusNotFound},
		{"ModeFax", "PUT", "/v1/integrations/" + ig.ID + "/mode", s.apiKey, `{"mode":"fax"}`, http.StatusBadRequest},
		{"ModeAlready", "PUT", "/v1/integrations/" + ig.ID + "/mode", s.apiKey, `{"mode":"api"}`, http.StatusConflict},
	})
	// The callback is a page for admins' browsers.
	if code, _ := page(t, "GET", s.api.URL+"/v1/pinterest/oauth/callback?state=forged&code=x", nil); code != http.StatusNotFound {
		t.Fatalf("a forged state: %d", code)
	}
	if code, _ := page(t, "GET", s.api.URL+"/v1/pinterest/oauth/callback?code=x", nil); code != http.StatusBadRequest {
		t.Fatalf("no state: %d", code)
	}
	if code, page := s.consentToPinterest(t, s.apiKey, ig.ID, "deny"); code != http.StatusBadRequest || !strings.Contains(page, "did not give Hubkeeper access") {
		t.Fatalf("denied consent: %d %s", code, page)
	}
	if code, page := s.consentToPinterest(t, s.apiKey, ig.ID, "allow"); code != http.StatusOK || !strings.Contains(page, "Connected") {
		t.Fatalf("consent: %d %s", code, page)
	}
	if got := s.integration(ig.ID); got.Status != "connected" {
		t.Fatalf("after consent: %+v", got.Integration)
	}
	checked := s.waitCheck(t, ig.ID)
	for _, token := range s.pin.IssuedTokens() {
		assertNoSecrets(t, s, workflows.IntegrationSyncID(ig.ID), "", token)
	}
	biz := s.pin.Business(pinBusinessID)
	if checked.Members != len(biz.Members)+len(biz.Invites) || checked.Assets != len(biz.AdAccounts) {
		t.Fatalf("check %+v; the business has %d people, %d invitations, %d ad accounts", checked, len(biz.Members), len(biz.Invites), len(biz.AdAccounts))
	}
	onboarded, unmatched := s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)), s.members(s.apiKey, ig.ID, string(domain.StateUnmatched))
	if len(onboarded) == 0 || len(unmatched) == 0 {
		t.Fatalf("%d onboarded, %d unmatched", len(onboarded), len(unmatched))
	}
	ctx := context.Background()
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.IntegrationSyncID(ig.ID)).Describe(ctx); err != nil {
		t.Fatalf("no daily Schedule: %v", err)
	}

	// Invite a directory person, then cancel: what the browser could not.
	inBusiness := map[string]bool{}
	for _, m := range biz.Members {
		inBusiness[m.Email] = true
	}
	invitee := ""
	for _, p := range people {
		if p.Status == domain.UserActive && !inBusiness[p.Email] {
			invitee = p.Email
			break
		}
	}
	var started actionStarted
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/invitations", s.apiKey, map[string]string{"email": invitee, "role": "EMPLOYEE"},
		&started); code != http.StatusAccepted {
		t.Fatalf("invite: %d", code)
	}
	s.waitAction(t, started)
	invitationID := ""
	for id, inv := range biz.Invites {
		if inv.Email == invitee && inv.Status == "PENDING" {
			invitationID = id
		}
	}
	if invitationID == "" {
		t.Fatal("no invitation at Pinterest")
	}
	if code := s.call("DELETE", "/v1/integrations/"+ig.ID+"/invitations/"+invitationID, s.apiKey, nil, &started); code != http.StatusAccepted {
		t.Fatalf("cancel: %d", code)
	}
	s.waitAction(t, started)
	if biz.Invites[invitationID].Status != "CANCELLED" {
		t.Fatalf("the invitation is %s at Pinterest", biz.Invites[invitationID].Status)
	}

	// A Manager with an ad account, then removed.
	member := onboarded[0]
	account := ""
	for id, a := range biz.AdAccounts {
		if _, held := a.Holders[member.ExternalID]; !held {
			account = id
		}
	}
	s.expectErrors(t, []badRequest{
		{"MetaTaskOnPinterest", "POST", "/v1/integrations/" + ig.ID + "/members/" + member.ExternalID + "/role", s.apiKey,
			`{"assets":[{"asset_id":"` + account + `","tasks":["MANAGE"]}]}`, http.StatusBadRequest},
		{"MetaRoleOnPinterest", "POST", "/v1/integrations/" + ig.ID + "/members/" + member.ExternalID + "/role", s.apiKey, `{"role":"ADMIN"}`,
			http.StatusBadRequest},
	})
	s.act(ig.ID, member.ExternalID, "role", map[string]any{"role": "BIZ_ADMIN",
		"assets": []map[string]any{{"asset_id": account, "tasks": []string{"ANALYST", "CAMPAIGN_MANAGER"}}}})
	if got := biz.Members[member.ExternalID]; got.Role != pinsandbox.RoleManager || biz.AdAccounts[account].Holders[member.ExternalID] != "ANALYST,CAMPAIGN_MANAGER" {
		t.Fatalf("at Pinterest: role %s, permissions %q", got.Role, biz.AdAccounts[account].Holders[member.ExternalID])
	}
	s.act(ig.ID, member.ExternalID, "remove", nil)
	if biz.Members[member.ExternalID] != nil {
		t.Fatal("the member is still in the business")
	}
	if m := s.member(ig.ID, member.ExternalID); m.State != domain.StateRemoved {
		t.Fatalf("the removed member is %s", m.State)
	}

	// Bulk: two members made Managers, two removed, in the API's batches.
	bulk := func(body map[string]any) {
		t.Helper()
		var raw map[string]any
		if code := s.call("POST", "/v1/integrations/"+ig.ID+"/members/bulk", s.apiKey, body, &raw); code != http.StatusAccepted {
			t.Fatalf("bulk %v: %d %v", body["action"], code, raw)
		}
		s.waitAction(t, actionStarted{WorkflowID: raw["workflow_id"].(string), RunID: raw["run_id"].(string)})
	}
	promoted := []string{onboarded[1].ExternalID, onboarded[2].ExternalID}
	leaving := []string{onboarded[3].ExternalID, onboarded[4].ExternalID}
	bulk(map[string]any{"action": "role", "role": "BIZ_ADMIN", "members": promoted})
	bulk(map[string]any{"action": "remove", "members": leaving})
	for _, id := range promoted {
		if biz.Members[id] == nil || biz.Members[id].Role != pinsandbox.RoleManager {
			t.Fatalf("%s is not a Manager at Pinterest", id)
		}
	}
	for _, id := range leaving {
		if biz.Members[id] != nil || s.member(ig.ID, id).State != domain.StateRemoved {
			t.Fatalf("%s was not removed", id)
		}
	}

	// Pinterest stops accepting the refresh token: the next check says
	// what to do; a new consent connects the integration again.
	s.pin.RevokeRefreshTokens()
	if _, err := s.check(s.apiKey, ig.ID); err == nil {
		t.Fatal("a check without working tokens succeeded")
	}
	if got := s.integration(ig.ID); got.Status != "needs_reauth" || !strings.Contains(got.StatusMessage, "oauth/start") {
		t.Fatalf("after a refused refresh: %s %q", got.Status, got.StatusMessage)
	}
	if code, _ := s.consentToPinterest(t, s.apiKey, ig.ID, "allow"); code != http.StatusOK {
		t.Fatalf("consent again: %d", code)
	}
	listed := len(biz.Members)
	for _, inv := range biz.Invites {
		if inv.Status == "PENDING" {
			listed++
		}
	}
	if got := s.waitCheck(t, ig.ID); got.Members != listed || s.integration(ig.ID).Status != "connected" {
		t.Fatalf("after consenting again: %+v, want %d members", got, listed)
	}
	if slices.ContainsFunc(s.members(s.apiKey, ig.ID, "pending"), func(m store.Member) bool { return m.Email == invitee }) {
		t.Fatal("the cancelled invitation is still pending")
	}

	// Back to the browser: the tokens go, the automation account logs in
	// through a new onboarding, and the same members are checked again.
	runsBefore := s.count(t, `SELECT count(*) FROM sync_runs WHERE integration_id = $1`, ig.ID)
	var moved onboardedView
	if code := s.call("PUT", "/v1/integrations/"+ig.ID+"/mode", s.apiKey, map[string]any{"mode": "browser", "web_base_url": s.pinURL,
		"automation": map[string]string{"email": pinAutomation, "password": pinPassword}}, &moved); code != http.StatusOK ||
		moved.Mode != "browser" || moved.Onboarding == nil || moved.Onboarding.Stage != store.OnboardLogin {
		t.Fatalf("back to the browser: %d %+v", code, moved)
	}
	if n := s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1 AND kind = 'pinterest_oauth'`, ig.ID); n != 0 {
		t.Fatalf("%d sealed tokens left", n)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	var again workflows.OnboardingResult
	if err := s.temporal.GetWorkflow(wctx, workflows.OnboardingID(ig.ID), "").Get(wctx, &again); err != nil {
		t.Fatalf("the onboarding after the switch: %v", err)
	}
	if again.Sync.Members != listed || s.integration(ig.ID).Status != "connected" ||
		s.count(t, `SELECT count(*) FROM sync_runs WHERE integration_id = $1`, ig.ID) != runsBefore+1 {
		t.Fatalf("through the browser again: %+v, want %d members", again.Sync, listed)
	}
	if strings.Contains(s.logs.String(), pinClientSecret) {
		t.Fatal("the app secret is in the logs")
	}
}

// waitCheck waits for the integration's current check and returns what it did.
func (s *stack) waitCheck(t testing.TB, igID string) workflows.IntegrationSyncResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.IntegrationSyncResult
	if err := s.temporal.GetWorkflow(ctx, workflows.IntegrationSyncID(igID), "").Get(ctx, &res); err != nil {
		logs := s.logs.String()
		t.Fatalf("check: %v\n%s", err, logs[max(0, len(logs)-4000):])
	}
	return res
}

// waitAction waits for a started member action.
func (s *stack) waitAction(t *testing.T, started actionStarted) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", started.WorkflowID, err)
	}
}

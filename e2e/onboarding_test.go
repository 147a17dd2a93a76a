package e2e

import (
	"context"
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
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
)

// onboardedView is the API's integration with its onboarding.
type onboardedView struct {
	store.Integration
	Members    map[string]int `json:"members"`
	Onboarding *struct {
		WorkflowID string `json:"workflow_id"`
		store.Onboarding
	} `json:"onboarding"`
}

func (s *stack) integration(igID string) onboardedView {
	s.t.Helper()
	var v onboardedView
	if code := s.call("GET", "/v1/integrations/"+igID, s.apiKey, nil, &v); code != http.StatusOK {
		s.t.Fatalf("GET integration: %d", code)
	}
	return v
}

// waitOnboarding polls the integration until ok says its onboarding is there.
func (s *stack) waitOnboarding(igID, what string, ok func(store.Onboarding) bool) onboardedView {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		v := s.integration(igID)
		if ok(v.Onboarding.Onboarding) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("onboarding never reached %s: %+v", what, v.Onboarding)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func atStage(stage string) func(store.Onboarding) bool {
	return func(o store.Onboarding) bool { return o.Stage == stage }
}

func refusedFor(text string) func(store.Onboarding) bool {
	return func(o store.Onboarding) bool { return strings.Contains(strings.Join(o.Problems, "; "), text) }
}

// TestMetaOnboardingEndToEnd drives a whole onboarding through the HTTP API
// (and the sandbox's stand-ins for what people do in Business Manager),
// with second-scale durations, up to imported members and a Schedule.
func TestMetaOnboardingEndToEnd(t *testing.T) {
	people := seed.Company(emailDomain, 150, 5)
	s := newStack(t, people)
	ctx := context.Background()
	s.importOkta()
	// A business whose admin uses a personal e-mail on Facebook.
	const businessID, adminProfile = "901234567890555", "100000000000777"
	var admin seed.Person
	for _, p := range people {
		if p.Status == domain.UserActive && p.Alias == "" {
			admin = p
			break
		}
	}
	adminName := admin.GivenName + " " + admin.FamilyName
	b := metasandbox.NewBusiness(businessID, emailDomain, people, metaShape, time.Now())
	b.Users[adminProfile] = &metasandbox.BusinessUser{ID: adminProfile, Name: adminName, Email: "jane.personal@fbmail.test",
		FirstName: admin.GivenName, LastName: admin.FamilyName, Role: "ADMIN", Tasks: []string{}, UserType: "business_user"}
	s.meta.AddBusiness(b, "EAAunused-token-of-another-app")

	var created onboardedView
	if code := s.call("POST", "/v1/integrations", s.apiKey, map[string]any{"provider": "meta", "label": "Acme onboarding",
		"business_id": businessID, "login_method": "sso", "onboarding": true, "admin_email": admin.Email, "graph_base_url": s.metaURL},
		&created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	igID, base := created.ID, "/v1/integrations/"+created.ID+"/onboarding/"
	if created.Status != "onboarding" || created.Onboarding == nil || created.Onboarding.WorkflowID != workflows.OnboardingID(igID) {
		t.Fatalf("created %+v", created)
	}
	request := s.waitMail(supportEmail, "Dedicated Facebook app requested for business "+businessID)
	if !strings.Contains(request, igID) || !strings.Contains(request, base+"app-approved") {
		t.Fatalf("support's request does not say what to call:\n%s", request)
	}
	supportKey, _, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{Name: "support desk", Scope: store.ScopeSupport, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	appID, appSecret := s.meta.RegisterApp()
	appBody := `{"app_id":"` + appID + `","app_secret":"` + appSecret + `"}`

	// Calls out of turn, with the wrong key or bad input change nothing.
	s.expectErrors(t, []badRequest{
		{"ClaimedBeforeApproval", "POST", base + "claimed", s.apiKey, "", http.StatusConflict},
		{"TokenBeforeApproval", "POST", base + "token", s.apiKey, `{"access_token":"EAAearly"}`, http.StatusConflict},
		{"ProfileBeforeApproval", "POST", base + "profile", s.apiKey, `{"profile":"` + adminProfile + `"}`, http.StatusConflict},
		{"AdminKeyApproves", "POST", base + "app-approved", s.apiKey, appBody, http.StatusForbidden},
		{"SupportKeyReadsIntegrations", "GET", "/v1/integrations", supportKey, "", http.StatusForbidden},
		{"SupportKeyUnknownIntegration", "POST", "/v1/integrations/00000000-0000-0000-0000-000000000000/onboarding/app-approved", supportKey, appBody, http.StatusNotFound},
		{"SupportKeyMalformedID", "POST", "/v1/integrations/nope/onboarding/app-approved", supportKey, appBody, http.StatusNotFound},
		{"AppIDNotNumeric", "POST", base + "app-approved", supportKey, `{"app_id":"abc","app_secret":"x"}`, http.StatusBadRequest},
		{"AppSecretMissing", "POST", base + "app-approved", supportKey, `{"app_id":"` + appID + `"}`, http.StatusBadRequest},
		{"AppUnknownField", "POST", base + "app-approved", supportKey, `{"app_id":"1","app_secret":"x","owner":"me"}`, http.StatusBadRequest},
		{"ProfileNotAnAddress", "POST", base + "profile", s.apiKey, `{"profile":"jane at home"}`, http.StatusBadRequest},
		{"TokenEmpty", "POST", base + "token", s.apiKey, `{"access_token":""}`, http.StatusBadRequest},
		{"RestartWhileRunning", "POST", base + "restart", s.apiKey, "", http.StatusConflict},
		{"CheckWhileOnboarding", "POST", "/v1/integrations/" + igID + "/sync", s.apiKey, "", http.StatusConflict},
		{"TokenReplaceWhileOnboarding", "PUT", "/v1/integrations/" + igID + "/token", s.apiKey, `{"access_token":"EAAx"}`, http.StatusConflict},
		{"OnboardingWithToken", "POST", "/v1/integrations", s.apiKey, `{"provider":"meta","label":"x","business_id":"1","login_method":"sso","onboarding":true,"admin_email":"a@acme.test","access_token":"EAAx"}`, http.StatusBadRequest},
		{"OnboardingWithoutAdmin", "POST", "/v1/integrations", s.apiKey, `{"provider":"meta","label":"x","business_id":"1","login_method":"sso","onboarding":true}`, http.StatusBadRequest},
	})
	var conflict struct{ Error struct{ Message string } }
	s.call("POST", base+"claimed", s.apiKey, nil, &conflict)
	if !strings.Contains(conflict.Error.Message, "waits for support to approve the dedicated app") {
		t.Fatalf("a call out of turn says %q", conflict.Error.Message)
	}

	// 1. Support approves the app; a repeat changes nothing.
	for range 2 {
		if code := s.call("POST", base+"app-approved", supportKey, appBody, nil); code != http.StatusAccepted {
			t.Fatalf("app-approved: %d", code)
		}
	}
	// 2. The admin says "claimed" too early, then claims for real.
	s.waitOnboarding(igID, "claim", atStage(store.OnboardClaim))
	s.waitMail(admin.Email, "Claim app "+appID)
	if code := s.call("POST", base+"claimed", s.apiKey, nil, nil); code != http.StatusAccepted {
		t.Fatalf("claimed: %d", code)
	}
	s.waitOnboarding(igID, "a refused claim", refusedFor("does not own app "+appID))
	mid, err := s.temporal.QueryWorkflow(ctx, workflows.OnboardingID(igID), "", workflows.QueryOnboarding)
	if err != nil {
		t.Fatal(err)
	}
	var status workflows.OnboardingStatus
	if err := mid.Get(&status); err != nil || status.Stage != store.OnboardClaim || status.Until == nil || len(status.Problems) == 0 {
		t.Fatalf("query mid-claim: %+v, %v", status, err)
	}
	// The Temporal UI shows the step: search attribute Stage and the current details.
	desc, err := s.temporal.DescribeWorkflowExecution(ctx, workflows.OnboardingID(igID), "")
	if err != nil {
		t.Fatal(err)
	}
	var stage string
	if err := converter.GetDefaultDataConverter().FromPayload(desc.WorkflowExecutionInfo.SearchAttributes.IndexedFields["Stage"], &stage); err != nil ||
		stage != store.OnboardClaim {
		t.Fatalf("Stage search attribute %q, %v", stage, err)
	}
	md, err := s.temporal.QueryWorkflow(ctx, workflows.OnboardingID(igID), "", "__temporal_workflow_metadata")
	var meta sdkpb.WorkflowMetadata
	if err == nil {
		err = md.Get(&meta)
	}
	if err != nil || !strings.Contains(meta.CurrentDetails, "waiting for the admin to claim the app") ||
		!strings.Contains(meta.CurrentDetails, "does not own app") {
		t.Fatalf("current details %q, %v", meta.CurrentDetails, err)
	}
	if err := s.meta.ClaimApp(businessID, appID); err != nil {
		t.Fatal(err)
	}
	if code := s.call("POST", base+"claimed", s.apiKey, nil, nil); code != http.StatusAccepted {
		t.Fatalf("claimed: %d", code)
	}
	// 3. A token lacking permissions is refused in words; a good one passes.
	s.waitOnboarding(igID, "token", atStage(store.OnboardToken))
	_, weakToken, _ := s.meta.CreateSystemUser(businessID, "Weak", "ADMIN", []string{"business_management"})
	if code := s.call("POST", base+"token", s.apiKey, map[string]string{"access_token": weakToken}, nil); code != http.StatusAccepted {
		t.Fatalf("token: %d", code)
	}
	s.waitOnboarding(igID, "a refused token", refusedFor("ads_management"))
	su, goodToken, _ := s.meta.CreateSystemUser(businessID, "Hubkeeper", "ADMIN", metasandbox.AllPermissions)
	if code := s.call("POST", base+"token", s.apiKey, map[string]string{"access_token": goodToken}, nil); code != http.StatusAccepted {
		t.Fatalf("token: %d", code)
	}
	// 4. The restriction window starts at the system user's creation.
	atProfile := s.waitOnboarding(igID, "profile", atStage(store.OnboardProfile))
	suCreated, _ := time.Parse("2006-01-02T15:04:05-0700", su.CreatedTime)
	if atProfile.RestrictedUntil == nil || !atProfile.RestrictedUntil.Equal(suCreated.Add(onboardingTimings.RestrictionWindow)) ||
		atProfile.Onboarding.SystemUserID != su.ID {
		t.Fatalf("after the token: restricted until %v, system user %q", atProfile.RestrictedUntil, atProfile.Onboarding.SystemUserID)
	}
	// 5. A profile without Full control is refused; the admin's passes.
	var employee string
	for _, u := range b.Users {
		if u.Role == "EMPLOYEE" {
			employee = u.Email
			break
		}
	}
	s.call("POST", base+"profile", s.apiKey, map[string]string{"profile": employee}, nil)
	s.waitOnboarding(igID, "a refused profile", refusedFor("needs Full control"))
	s.call("POST", base+"profile", s.apiKey, map[string]string{"profile": adminProfile}, nil)

	// 6-8. First check, owner claim, Schedule.
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	run := s.temporal.GetWorkflow(runCtx, workflows.OnboardingID(igID), "")
	var res workflows.OnboardingResult
	if err := run.Get(runCtx, &res); err != nil {
		t.Fatal(err)
	}
	done := s.integration(igID)
	if done.Status != "connected" || done.Onboarding.Stage != store.OnboardDone || done.Onboarding.FinishedAt == nil ||
		res.Sync.Members == 0 || done.Members[string(domain.StateOnboarded)] == 0 {
		t.Fatalf("after onboarding: %+v, %+v, result %+v", done.Integration, done.Onboarding, res)
	}
	owner := s.member(igID, adminProfile)
	if owner.State != domain.StateOnboarded || owner.HubRole == nil || *owner.HubRole != "owner" || owner.MatchedEmail == nil ||
		*owner.MatchedEmail != admin.Email {
		t.Fatalf("the admin's own member: %+v (%s)", owner.Member, res.OwnerClaim)
	}
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.IntegrationSyncID(igID)).Describe(ctx); err != nil {
		t.Fatalf("no daily Schedule after onboarding: %v", err)
	}
	s.waitMail(admin.Email, "Onboarding of business "+businessID+" finished")
	// Repeats after the end change nothing; other calls are conflicts.
	if code := s.call("POST", base+"token", s.apiKey, map[string]string{"access_token": goodToken}, nil); code != http.StatusAccepted {
		t.Fatalf("a repeated token after the end: %d", code)
	}
	if code := s.call("POST", base+"token", s.apiKey, map[string]string{"access_token": weakToken}, nil); code != http.StatusConflict {
		t.Fatalf("another token after the end: %d", code)
	}

	// A removal asked for inside the restriction window waits for its end.
	var victim string
	for _, m := range s.members(s.apiKey, igID, string(domain.StateOnboarded)) {
		if m.ExternalID != adminProfile && m.Kind == domain.MemberUser {
			victim = m.ExternalID
			break
		}
	}
	removalsBefore := s.meta.Removals()
	started := s.act(igID, victim, "remove", nil)
	if started.Status != "waiting" || started.WaitingUntil == nil || !started.WaitingUntil.Equal(*done.RestrictedUntil) {
		t.Fatalf("a removal in the window answered %+v; the window ends %v", started, done.RestrictedUntil)
	}
	if time.Now().Before(*done.RestrictedUntil) || s.meta.Removals() != removalsBefore+1 {
		t.Fatalf("removal done at %v, before the window ended at %v (removals %d → %d)", time.Now(), done.RestrictedUntil,
			removalsBefore, s.meta.Removals())
	}

	// Every step is in the audit log.
	var audit struct{ Items []store.AuditEvent }
	s.call("GET", "/v1/audit?limit=500", s.apiKey, nil, &audit)
	var actions []string
	for _, e := range audit.Items {
		if e.SubjectID == igID {
			actions = append(actions, e.Action)
		}
	}
	for _, want := range []string{"integration.created", "onboarding.app_approved", "onboarding.claim_reported", "onboarding.refused",
		"onboarding.token_submitted", "onboarding.token_accepted", "onboarding.profile_submitted", "onboarding.owner_claim",
		"onboarding.completed"} {
		if !slices.Contains(actions, want) {
			t.Errorf("no %s audit event in %v", want, actions)
		}
	}
	for _, secret := range []string{appSecret, weakToken, goodToken} {
		assertNoSecrets(t, s, workflows.OnboardingID(igID), run.GetRunID(), secret)
		assertNoSecrets(t, s, workflows.IntegrationSyncID(igID), "", secret)
	}
	exportHistory(t, s, workflows.OnboardingID(igID), run.GetRunID(), "meta_onboarding.json")
}

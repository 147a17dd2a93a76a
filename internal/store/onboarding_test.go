package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

func TestSupportKeyServesNoWorkspace(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, key, err := f.st.CreateAPIKey(ctx, store.NewAPIKey{Name: "support desk", Scope: store.ScopeSupport, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.st.AuthenticateAPIKey(ctx, secret)
	if err != nil || got.ID != key.ID || got.Scope != store.ScopeSupport || got.WorkspaceID != "" {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	admin, _, _ := f.st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: f.ws.ID, Name: "admin", Scope: store.ScopeAdmin, Actor: "test"})
	if got, _ := f.st.AuthenticateAPIKey(ctx, admin); got.Scope != store.ScopeAdmin {
		t.Fatalf("workspace key scope %q", got.Scope)
	}
}

func TestOnboardingSubmissions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ig, _, err := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderMeta, Label: "Acme ads",
		BusinessID: "104857600000009", LoginMethod: "sso", RemovalSafeguard: 0.2, Actor: "test", OnboardingAdmin: "jane@acme.test",
		OnboardingStage: store.OnboardAppApproval})
	if err != nil {
		t.Fatal(err)
	}
	if ig.Status != "onboarding" || ig.CredentialID != "" {
		t.Fatalf("integration %+v", ig)
	}
	o, err := f.st.OnboardingOf(ctx, ig.ID)
	if err != nil || o.Stage != store.OnboardAppApproval || !strings.Contains(o.WaitingFor, "app-approved") || o.AdminEmail != "jane@acme.test" {
		t.Fatalf("onboarding %+v, %v", o, err)
	}
	sub := func(stage string, mod func(*store.OnboardingSubmission)) (store.Submitted, error) {
		s := store.OnboardingSubmission{WorkspaceID: f.ws.ID, IntegrationID: ig.ID, Actor: "test", Stage: stage}
		if mod != nil {
			mod(&s)
		}
		return f.st.SubmitOnboarding(ctx, s)
	}
	conflict := func(t *testing.T, err error, says string) {
		t.Helper()
		if domain.ErrorCode(err) != domain.EConflict || !strings.Contains(err.Error(), says) {
			t.Fatalf("err = %v, want a conflict saying %q", err, says)
		}
	}
	setStage := func(stage string) {
		if err := f.st.UpdateOnboarding(ctx, store.OnboardingUpdate{IntegrationID: ig.ID, Stage: stage}); err != nil {
			t.Fatal(err)
		}
	}
	audits := func() int {
		return f.count(t, `SELECT count(*) FROM audit_events WHERE subject_id = $1 AND action LIKE 'onboarding.%'`, ig.ID)
	}

	_, err = sub(store.OnboardClaim, nil)
	conflict(t, err, "waits for support to approve the dedicated app")
	app := func(id string) func(*store.OnboardingSubmission) {
		return func(s *store.OnboardingSubmission) { s.AppID, s.Secret = id, []byte("app-secret-"+id) }
	}
	if done, err := sub(store.OnboardAppApproval, app("42")); err != nil || done.Repeat {
		t.Fatalf("approve: %+v, %v", done, err)
	}
	if done, err := sub(store.OnboardAppApproval, app("42")); err != nil || !done.Repeat {
		t.Fatalf("approve again: %+v, %v", done, err)
	}
	if n := f.count(t, `SELECT count(*) FROM credentials WHERE position($1::bytea in ciphertext) > 0`, []byte("app-secret")); n != 0 {
		t.Fatal("app secret stored in clear")
	}
	if n := audits(); n != 1 {
		t.Fatalf("%d audit events after an approval and its repeat, want 1", n)
	}

	setStage(store.OnboardToken)
	_, err = sub(store.OnboardAppApproval, app("43"))
	conflict(t, err, "submit an Admin system user's token")
	if done, err := sub(store.OnboardAppApproval, app("42")); err != nil || !done.Repeat {
		t.Fatalf("a late repeat of the approval: %+v, %v", done, err)
	}
	token := func(s string) func(*store.OnboardingSubmission) {
		return func(sub *store.OnboardingSubmission) { sub.Secret = []byte(s) }
	}
	first, err := sub(store.OnboardToken, token("EAAfirst"))
	if err != nil || first.CredentialID == "" {
		t.Fatalf("token: %+v, %v", first, err)
	}
	again, err := sub(store.OnboardToken, token("EAAfirst"))
	if err != nil || !again.Repeat || again.CredentialID != first.CredentialID {
		t.Fatalf("the same token again: %+v, %v", again, err)
	}
	second, err := sub(store.OnboardToken, token("EAAsecond"))
	if err != nil || second.Repeat || second.CredentialID == first.CredentialID {
		t.Fatalf("another token: %+v, %v", second, err)
	}
	_, err = sub(store.OnboardProfile, func(s *store.OnboardingSubmission) { s.Profile = "jane@facebook.test" })
	conflict(t, err, "this call belongs to the profile step")

	until := time.Now().Add(7 * 24 * time.Hour).Truncate(time.Second)
	if err := f.st.AcceptOnboardingToken(ctx, ig.ID, second.CredentialID, "30000000000101", until, "onboard/x", "run"); err != nil {
		t.Fatal(err)
	}
	setStage(store.OnboardProfile)
	if _, err := sub(store.OnboardProfile, func(s *store.OnboardingSubmission) { s.Profile = "jane@facebook.test" }); err != nil {
		t.Fatal(err)
	}
	setStage(store.OnboardDone)
	ig, _ = f.st.Integration(ctx, f.ws.ID, ig.ID)
	if ig.Status != "connected" || ig.CredentialID != second.CredentialID || ig.RestrictedUntil == nil || !ig.RestrictedUntil.Equal(until) ||
		ig.AppID != "42" {
		t.Fatalf("onboarded integration %+v", ig)
	}
	o, _ = f.st.OnboardingOf(ctx, ig.ID)
	if o.FinishedAt == nil || o.SystemUserID != "30000000000101" || o.WaitingFor != "" {
		t.Fatalf("finished onboarding %+v", o)
	}
	if done, err := sub(store.OnboardProfile, func(s *store.OnboardingSubmission) { s.Profile = "jane@facebook.test" }); err != nil || !done.Repeat {
		t.Fatalf("a repeat after the end: %+v, %v", done, err)
	}
	_, err = sub(store.OnboardProfile, func(s *store.OnboardingSubmission) { s.Profile = "other@facebook.test" })
	conflict(t, err, "the onboarding is finished")

	// Only a failed onboarding restarts; it keeps the approved app.
	_, err = f.st.RestartOnboarding(ctx, f.ws.ID, ig.ID, "test")
	conflict(t, err, "only a failed onboarding")
	if err := f.st.UpdateOnboarding(ctx, store.OnboardingUpdate{IntegrationID: ig.ID, Stage: store.OnboardFailed, Message: "too late"}); err != nil {
		t.Fatal(err)
	}
	if start, err := f.st.RestartOnboarding(ctx, f.ws.ID, ig.ID, "test"); err != nil || !start.AppApproved || start.Kind != store.StartOnboarding {
		t.Fatalf("restart: %+v, %v", start, err)
	}
	if o, _ = f.st.OnboardingOf(ctx, ig.ID); o.Stage != store.OnboardAppApproval || o.FinishedAt != nil || o.Message != "" {
		t.Fatalf("restarted onboarding %+v", o)
	}

	// An integration connected with a token has no onboarding.
	other, _, _ := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderMeta, Label: "Other",
		BusinessID: "104857600000010", LoginMethod: "sso", RemovalSafeguard: 0.2, Actor: "test", Secret: []byte("EAAx")})
	_, err = f.st.SubmitOnboarding(ctx, store.OnboardingSubmission{WorkspaceID: f.ws.ID, IntegrationID: other.ID, Stage: store.OnboardClaim})
	conflict(t, err, "has no onboarding")
	// Another workspace's integration is not found.
	ws2, _ := f.st.CreateWorkspace(ctx, "Globex")
	_, err = f.st.SubmitOnboarding(ctx, store.OnboardingSubmission{WorkspaceID: ws2.ID, IntegrationID: ig.ID, Stage: store.OnboardClaim})
	if domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("another workspace: %v", err)
	}
}

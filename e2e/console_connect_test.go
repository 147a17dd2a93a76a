package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// TestConsoleConnectAndRemoveApps: in real Chromium an admin connects a
// Meta business with a token (a bad business id first refused, nothing
// created) and gives it a new token from its card once Meta rejects the
// old one, onboards another step by step through the wizard (support's
// approval by its key, the claim at the sandbox, a weak token refused in
// words, then the token and the profile typed in the console) up to
// connected, and removes the first app, typing its name.
func TestConsoleConnectAndRemoveApps(t *testing.T) {
	s, admin, page := consoleAdmin(t, 80)
	ctx := context.Background()
	const businessID, adminProfile = "901234567890666", "100000000000888"
	b := metasandbox.NewBusiness(businessID, emailDomain, s.people, metaShape, time.Now())
	b.Users[adminProfile] = &metasandbox.BusinessUser{ID: adminProfile, Name: admin.DisplayName(), Email: "ann.personal@fbmail.test",
		FirstName: admin.GivenName, LastName: admin.FamilyName, Role: "ADMIN", Tasks: []string{}, UserType: "business_user"}
	s.meta.AddBusiness(b, "EAAunused-token-of-another-app")
	apps := func() []store.Integration {
		list, _, err := s.store.ListIntegrations(ctx, s.ws.ID, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// With a token: a business id that is not one is refused in the form.
	submit(page, "#connect-app")
	screenshot(t, page, "connect")
	page.MustElement("#mt-label").MustInput("Acme Meta")
	page.MustElement("#mt-business").MustInput("acme")
	page.MustElement("#mt-token").MustInput(metaToken)
	page.MustElement("#mt-graph").MustParents("details").First().MustElement("summary").MustClick()
	page.MustElement("#mt-graph").MustInput(s.metaURL)
	submit(page, "#connect-meta-token")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "business_id must be the numeric") || len(apps()) != 0 {
		t.Fatalf("a bad business id: %q, %d apps", text, len(apps()))
	}
	if page.MustElement("#mt-label").MustProperty("value").String() != "Acme Meta" ||
		page.MustElement("#mt-token").MustProperty("value").String() != "" {
		t.Fatal("the refused form lost what was typed, or kept the token")
	}
	page.MustElement("#mt-business").MustSelectAllText().MustInput(metaBusinessID)
	page.MustElement("#mt-token").MustInput(metaToken)
	submit(page, "#connect-meta-token")
	if !strings.Contains(page.MustElement("#notice").MustText(), "Connected") || len(apps()) != 1 {
		t.Fatalf("after connecting: %d apps", len(apps()))
	}
	token := apps()[0]

	// Its token expires: the card says so and takes a new one.
	s.meta.Inject(metasandbox.Faults["token_expired"], 100)
	if _, err := s.check(s.apiKey, token.ID); err == nil {
		t.Fatal("a check with an expired token succeeded")
	}
	s.meta.ClearFaults()
	s.meta.AddToken(metaBusinessID, "EAAfresh-console-token", "30000000000002", metasandbox.AllPermissions)
	page.MustNavigate(s.api.URL + "/ui/apps").MustWaitLoad()
	card := page.MustElement("#app-" + token.ID)
	if text := card.MustText(); !strings.Contains(text, "needs_reauth") || !strings.Contains(text, "Meta rejected the access token") {
		t.Fatalf("the card of an expired token: %q", text)
	}
	screenshot(t, page, "apps-needs-reauth")
	page.MustElement("#secret-" + token.ID).MustInput("EAAfresh-console-token")
	submit(page, "#credential-"+token.ID)
	if !strings.Contains(page.MustElement("#notice").MustText(), "new credential is stored") {
		t.Fatal("no notice after replacing the token")
	}
	if _, err := s.check(s.apiKey, token.ID); err != nil || s.integration(token.ID).Status != "connected" {
		t.Fatalf("the check with the new token: %v", err)
	}

	// Step by step: the wizard shows each stage and takes its forms.
	page.MustNavigate(s.api.URL + "/ui/apps/new").MustWaitLoad()
	page.MustElement("#mo-label").MustInput("Acme onboarding")
	page.MustElement("#mo-business").MustInput(businessID)
	page.MustElement("#mo-admin").MustInput(admin.Email)
	page.MustElement("#mo-graph").MustParents("details").First().MustElement("summary").MustClick()
	page.MustElement("#mo-graph").MustInput(s.metaURL)
	submit(page, "#connect-meta-onboarding")
	if !strings.HasSuffix(page.MustInfo().URL, "/onboarding") {
		t.Fatalf("after starting an onboarding: %s", page.MustInfo().URL)
	}
	var onboarding store.Integration
	for _, ig := range apps() {
		if ig.BusinessID == businessID {
			onboarding = ig
		}
	}
	stageShown := func(stage string) {
		t.Helper()
		s.waitOnboarding(onboarding.ID, stage, atStage(stage))
		page.MustReload().MustWaitLoad()
	}
	stageShown(store.OnboardAppApproval)
	if text := page.MustElement(`#stages [aria-current="step"]`).MustText(); !strings.Contains(text, "dedicated Facebook app") ||
		!strings.Contains(page.MustElement("#waiting").MustText(), "support to approve") {
		t.Fatalf("the first stage: %q", text)
	}
	screenshot(t, page, "onboarding")
	supportKey, _, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{Name: "support desk", Scope: store.ScopeSupport, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	appID, appSecret := s.meta.RegisterApp()
	if code := s.call("POST", "/v1/integrations/"+onboarding.ID+"/onboarding/app-approved", supportKey,
		map[string]string{"app_id": appID, "app_secret": appSecret}, nil); code != http.StatusAccepted {
		t.Fatalf("app-approved: %d", code)
	}
	stageShown(store.OnboardClaim)
	if err := s.meta.ClaimApp(businessID, appID); err != nil {
		t.Fatal(err)
	}
	submit(page, "#claimed")
	stageShown(store.OnboardToken)
	_, weakToken, _ := s.meta.CreateSystemUser(businessID, "Weak", "ADMIN", []string{"business_management"})
	page.MustElement("#token").MustInput(weakToken)
	submit(page, "#send-token")
	s.waitOnboarding(onboarding.ID, "a refused token", refusedFor("ads_management"))
	page.MustReload().MustWaitLoad()
	if !strings.Contains(page.MustElement("main").MustText(), "ads_management") {
		t.Fatal("the refused token's reason is not on the page")
	}
	_, goodToken, _ := s.meta.CreateSystemUser(businessID, "Hubkeeper", "ADMIN", metasandbox.AllPermissions)
	page.MustElement("#token").MustInput(goodToken)
	submit(page, "#send-token")
	stageShown(store.OnboardProfile)
	page.MustElement("#profile").MustInput("ann at home")
	submit(page, "#send-profile")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "profile must be the Facebook profile") {
		t.Fatalf("a profile that is none: %q", text)
	}
	page.MustElement("#profile").MustSelectAllText().MustInput(adminProfile)
	submit(page, "#send-profile")
	stageShown(store.OnboardDone)
	if text := page.MustElement("#stages").MustText(); strings.Contains(text, "now") || !strings.Contains(text, "Connected — done") {
		t.Fatalf("the finished onboarding: %q", text)
	}
	if ig := s.integration(onboarding.ID); ig.Status != "connected" || ig.Members[string(domain.StateOnboarded)] == 0 {
		t.Fatalf("after the wizard: %+v", ig.Integration)
	}
	for _, secret := range []string{goodToken, weakToken, appSecret} {
		if strings.Contains(page.MustHTML(), secret) {
			t.Fatal("a secret is on the page")
		}
	}

	// Remove app: the wrong name is refused; the right one removes it.
	page.MustNavigate(s.api.URL + "/ui/apps").MustWaitLoad()
	submitIn(page, page.MustElement("#app-"+token.ID+" .remove-app"))
	page.MustElement("#label").MustInput("Acme")
	submit(page, "#remove-app")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "Nothing was removed") || len(apps()) != 2 {
		t.Fatalf("a wrong name: %q, %d apps", text, len(apps()))
	}
	screenshot(t, page, "remove")
	page.MustElement("#label").MustInput("Acme Meta")
	submit(page, "#remove-app")
	if !strings.Contains(page.MustElement("#notice").MustText(), "removed") || len(apps()) != 1 || apps()[0].ID != onboarding.ID {
		t.Fatalf("after removing: %d apps", len(apps()))
	}
}

// TestConsolePinterestConnect: the wizard connects Pinterest both ways in
// real Chromium: through its API (the app's card leads the admin to
// Pinterest's consent, and the first check follows), and, once that app
// is removed, through an automation account, whose verification code is
// typed on the onboarding page, up to connected.
func TestConsolePinterestConnect(t *testing.T) {
	s, _, page := consoleAdmin(t, 80)
	ctx := context.Background()
	appOf := func(label string) store.Integration {
		list, _, err := s.store.ListIntegrations(ctx, s.ws.ID, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, ig := range list {
			if ig.Label == label {
				return ig
			}
		}
		t.Fatalf("no app %q", label)
		return store.Integration{}
	}

	// Through the API: the console's consent link leads to Pinterest.
	page.MustNavigate(s.api.URL + "/ui/apps/new").MustWaitLoad()
	page.MustElement("#pa-label").MustInput("Acme Pinterest API")
	page.MustElement("#pa-business").MustInput(pinBusinessID)
	submit(page, "#connect-pinterest-api")
	viaAPI := appOf("Acme Pinterest API")
	if !strings.Contains(page.MustElement("#notice").MustText(), "Consent at Pinterest") {
		t.Fatal("no word of the consent after creating")
	}
	href := page.MustElement("#app-" + viaAPI.ID + " a.consent").MustProperty("href").String()
	resp, err := cookieClient(t, page).Get(href)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	consent := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(consent, s.pinURL+"/oauth/") {
		t.Fatalf("consent: %d %s", resp.StatusCode, consent)
	}
	// The sandbox's consent pages, as the admin would go through them.
	back, err := pinsandbox.Consent(ctx, consent, pinAutomation, pinPassword, true)
	if err != nil {
		t.Fatal(err)
	}
	page.MustNavigate(back.String()).MustWaitLoad()
	if !strings.Contains(page.MustElement("main").MustText(), "Connected") {
		t.Fatalf("after consent: %s", page.MustElement("main").MustText())
	}
	if checked := s.waitCheck(t, viaAPI.ID); checked.Members == 0 {
		t.Fatal("the first check found nobody")
	}

	// The same business can be connected once: the API app goes first.
	page.MustNavigate(s.api.URL + "/ui/apps/" + viaAPI.ID + "/remove").MustWaitLoad()
	page.MustElement("#label").MustInput(viaAPI.Label)
	submit(page, "#remove-app")

	// Through an automation account: the code Pinterest sends, typed here.
	sb, webURL := s.pinterestSandbox(t, pinsandbox.FlowPeople, 40, 2, 25)
	sb.RequireVerification = true
	page.MustNavigate(s.api.URL + "/ui/apps/new").MustWaitLoad()
	page.MustElement("#pb-label").MustInput("Acme Pinterest")
	page.MustElement("#pb-business").MustInput(pinBusinessID)
	page.MustElement("#pb-email").MustInput(pinAutomation)
	page.MustElement("#pb-password").MustInput(pinPassword)
	page.MustElement("#pb-web").MustParents("details").First().MustElement("summary").MustClick()
	page.MustElement("#pb-web").MustInput(webURL)
	submit(page, "#connect-pinterest-browser")
	if has, el, _ := page.Has("#form-error"); has {
		t.Fatalf("the automation account's form: %s", el.MustText())
	}
	viaBrowser := appOf("Acme Pinterest")
	waitFor(t, "Pinterest's verification step", func() bool { return sb.VerificationCode(pinAutomation) != "" })
	page.MustReload().MustWaitLoad()
	if text := page.MustElement(`#stages [aria-current="step"]`).MustText(); !strings.Contains(text, "automation account's login") {
		t.Fatalf("the login stage: %q", text)
	}
	page.MustElement("#code").MustInput("12 34")
	submit(page, "#send-code")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "verification code Pinterest sent") {
		t.Fatalf("a code that is none: %q", text)
	}
	page.MustElement("#code").MustSelectAllText().MustInput(sb.VerificationCode(pinAutomation))
	submit(page, "#send-code")
	s.waitOnboarding(viaBrowser.ID, "done", atStage(store.OnboardDone))
	page.MustReload().MustWaitLoad()
	if text := page.MustElement("#stages").MustText(); !strings.Contains(text, "Connected — done") {
		t.Fatalf("the finished onboarding: %q", text)
	}
	if ig := s.integration(viaBrowser.ID); ig.Status != "connected" || ig.Members[string(domain.StateOnboarded)] == 0 {
		t.Fatalf("after the wizard: %+v", ig.Integration)
	}
}

package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// The console's Connect app wizard (a form per way of connecting, then
// the onboarding's stages, each with what it waits for and the form it
// needs) and Remove app.

// Ways of connecting an app, as the wizard's forms name them.
const (
	connectMetaToken      = "meta_token"
	connectMetaOnboarding = "meta_onboarding"
	connectPinterestAPI   = "pinterest_api"
	connectPinterestLogin = "pinterest_browser"
)

func (s *Server) uiConnect(c echo.Context) error { return s.connectPage(c, http.StatusOK, "", nil) }

// connectPage shows the wizard's forms; formError belongs to the form of
// the way kind, refilled with what was typed (secrets never are).
func (s *Server) connectPage(c echo.Context, status int, formError string, form map[string]string) error {
	if form == nil {
		form = map[string]string{}
	}
	return s.uiRender(c, status, "connect.html", map[string]any{"Error": formError, "Form": form,
		"PinterestAPI": s.Pinterest != nil})
}

// uiConnectApp creates the app a wizard form describes, then goes on to
// its onboarding, Pinterest's consent or the Apps page.
func (s *Server) uiConnectApp(c echo.Context) error {
	sess := uiSession(c)
	kind := c.FormValue("kind")
	form := map[string]string{"kind": kind}
	for _, field := range []string{"label", "business_id", "admin_email", "login_method", "graph_base_url", "web_base_url",
		"automation_email", "automation_phone"} {
		form[field] = strings.TrimSpace(c.FormValue(field))
	}
	req := createIntegrationRequest{Label: form["label"], BusinessID: form["business_id"], LoginMethod: form["login_method"],
		GraphBaseURL: form["graph_base_url"]}
	switch kind {
	case connectMetaToken:
		req.Provider, req.AccessToken = "meta", strings.TrimSpace(c.FormValue("access_token"))
	case connectMetaOnboarding:
		req.Provider, req.Onboarding, req.AdminEmail = "meta", true, form["admin_email"]
	case connectPinterestAPI:
		req.Provider, req.Mode = "pinterest", connector.ModeAPI
	case connectPinterestLogin:
		req.Provider, req.Mode, req.LoginMethod, req.WebBaseURL = "pinterest", connector.ModeBrowser, "password", form["web_base_url"]
		req.Automation = &automationRequest{Label: form["label"], Email: form["automation_email"], Password: c.FormValue("automation_password"),
			Phone: form["automation_phone"]}
	default:
		return s.connectPage(c, http.StatusBadRequest, "Choose how to connect the app.", form)
	}
	ig, err := s.connect(c.Request().Context(), req, sess.WorkspaceID, "console:"+sess.Email)
	if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
		return s.connectPage(c, statusOf[code], messageOf(err)+". Nothing was connected.", form)
	}
	if err != nil {
		return err
	}
	switch {
	case kind == connectPinterestAPI:
		// A link, not a redirect: the CSP's form-action keeps a form's
		// answer from leading to another site.
		return c.Redirect(http.StatusSeeOther, "/ui/apps?notice=consent#app-"+ig.ID)
	case ig.Status == "onboarding":
		return c.Redirect(http.StatusSeeOther, "/ui/apps/"+ig.ID+"/onboarding")
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps?notice=connected#app-"+ig.ID)
}

// uiConsent sends the admin to Pinterest's consent for an API-mode app.
func (s *Server) uiConsent(c echo.Context) error {
	if s.Pinterest == nil {
		return domain.Errorf(domain.EInvalid, "no Pinterest app is configured on this Hubkeeper (HUBKEEPER_PINTEREST_CLIENT_ID)")
	}
	sess := uiSession(c)
	return s.consent(c, sess.WorkspaceID, "console:"+sess.Email)
}

// onboardingStage is a stage of an onboarding as the wizard shows it.
type onboardingStage struct {
	Stage, Title, What string
	// Done, Current: where the onboarding stands.
	Done, Current bool
}

// stagesOf are an onboarding's stages, in order, with what each waits for.
var stagesOf = map[domain.Provider][]onboardingStage{
	domain.ProviderMeta: {
		{Stage: store.OnboardAppApproval, Title: "A dedicated Facebook app",
			What: "Hubkeeper's support creates a Facebook app for this business and approves it; they have been e-mailed. This takes a day or two."},
		{Stage: store.OnboardClaim, Title: "Claim the app",
			What: "In Business Manager, Business settings → Accounts → Apps → Add → Claim an app, enter the app id from your e-mail, then say it is done below. Hubkeeper also checks by itself every few minutes."},
		{Stage: store.OnboardToken, Title: "A system user's token",
			What: "In Business settings → Users → System users, add an Admin system user, give it the app and generate a token with business_management, ads_management and pages_show_list; paste it below."},
		{Stage: store.OnboardProfile, Title: "Your Facebook profile",
			What: "Name the Facebook profile you use in Business Manager (its e-mail or business user id): it must have Full control."},
		{Stage: store.OnboardFirstCheck, Title: "The first check", What: "Hubkeeper imports the business's members, roles and assets."},
		{Stage: store.OnboardOwnerClaim, Title: "You as the owner", What: "Hubkeeper matches your profile to you."},
		{Stage: store.OnboardSchedule, Title: "The daily check", What: "Hubkeeper schedules the check for updates."},
		{Stage: store.OnboardDone, Title: "Connected", What: "The app is on the Apps page."},
	},
	domain.ProviderPinterest: {
		{Stage: store.OnboardLogin, Title: "The automation account's login",
			What: "Hubkeeper logs in to Pinterest with the automation account. When Pinterest asks, it sends the account a verification code: enter it below."},
		{Stage: store.OnboardFirstCheck, Title: "The first check", What: "Hubkeeper imports the business's members, roles and assets."},
		{Stage: store.OnboardSchedule, Title: "The daily check", What: "Hubkeeper schedules the check for updates."},
		{Stage: store.OnboardDone, Title: "Connected", What: "The app is on the Apps page."},
	},
}

func (s *Server) uiOnboarding(c echo.Context) error {
	return s.onboardingPage(c, http.StatusOK, c.QueryParam("notice"), "")
}

// onboardingPage shows an app's onboarding: its stages, where it stands,
// what it waits for, and the form the current stage needs. It refreshes
// while Hubkeeper itself is at work.
func (s *Server) onboardingPage(c echo.Context, status int, notice, formError string) error {
	ctx := c.Request().Context()
	ig, err := s.Store.Integration(ctx, uiSession(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	o, err := s.Store.OnboardingOf(ctx, ig.ID)
	if err != nil {
		return err
	}
	stages := slices.Clone(stagesOf[ig.Provider])
	current := slices.IndexFunc(stages, func(st onboardingStage) bool { return st.Stage == o.Stage })
	for i := range stages {
		stages[i].Done = current >= 0 && i < current || o.Stage == store.OnboardDone
		stages[i].Current = i == current && o.Stage != store.OnboardDone
	}
	working := o.WaitingFor == "" && o.Stage != store.OnboardDone && o.Stage != store.OnboardFailed
	return s.uiRender(c, status, "onboarding.html", map[string]any{"App": ig, "Onboarding": o, "Stages": stages, "Notice": notice,
		"Error": formError, "Refresh": working && formError == ""})
}

// onboardingSteps are the console's onboarding forms, by the step each posts.
var onboardingSteps = []string{"claimed", "token", "profile", "verification", "restart"}

// uiOnboardingStep takes an onboarding form: it is stored and the
// onboarding woken, as through the API; bad input is shown in the form.
func (s *Server) uiOnboardingStep(step string) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess, ctx := uiSession(c), c.Request().Context()
		actor := "console:" + sess.Email
		sub := store.OnboardingSubmission{WorkspaceID: sess.WorkspaceID, IntegrationID: c.Param("id"), Actor: actor}
		var signal string
		var err error
		switch step {
		case "claimed":
			sub.Stage, signal = store.OnboardClaim, workflows.SignalClaimed
		case "token":
			sub.Stage, signal = store.OnboardToken, workflows.SignalToken
			token := strings.TrimSpace(c.FormValue("access_token"))
			err = required("the token", token)
			sub.Secret = []byte(token)
		case "profile":
			sub.Stage, signal = store.OnboardProfile, workflows.SignalProfile
			sub.Profile, err = checkProfile(c.FormValue("profile"))
		case "verification":
			var code string
			sub.Stage, signal = store.OnboardLogin, workflows.SignalVerification
			code, err = checkCode(c.FormValue("code"))
			sub.Secret = []byte(code)
		case "restart":
			_, err = s.restart(ctx, sess.WorkspaceID, sub.IntegrationID, actor)
		}
		if err == nil && step != "restart" {
			_, err = s.submitStep(ctx, sub, signal)
		}
		if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
			return s.onboardingPage(c, statusOf[code], "", messageOf(err)+".")
		}
		if err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/ui/apps/"+sub.IntegrationID+"/onboarding?notice="+step)
	}
}

// uiRemovePage asks an admin to confirm removing an app by typing its label.
func (s *Server) uiRemovePage(c echo.Context) error { return s.removePage(c, http.StatusOK, "") }

func (s *Server) removePage(c echo.Context, status int, formError string) error {
	ctx, ws := c.Request().Context(), uiSession(c).WorkspaceID
	ig, err := s.Store.Integration(ctx, ws, c.Param("id"))
	if err != nil {
		return err
	}
	counts, err := s.Store.MemberCounts(ctx, ig.ID)
	if err != nil {
		return err
	}
	return s.uiRender(c, status, "remove.html", map[string]any{"App": ig, "Counts": counts, "Tabs": memberTabs, "Error": formError})
}

// uiRemoveApp removes the app once its label is typed: its schedule and
// runs stop, and it goes with its members and secrets.
func (s *Server) uiRemoveApp(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.FormValue("label")) != ig.Label {
		return s.removePage(c, http.StatusBadRequest, "Type the app's name exactly to remove it. Nothing was removed.")
	}
	if err := s.removeIntegration(ctx, sess.WorkspaceID, ig.ID, "console:"+sess.Email); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps?notice=removed")
}

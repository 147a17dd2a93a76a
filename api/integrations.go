package api

import (
	"context"
	"net/http"
	"regexp"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

type createIntegrationRequest struct {
	Provider         string   `json:"provider"`
	Label            string   `json:"label"`
	BusinessID       string   `json:"business_id"`
	AppID            string   `json:"app_id"`
	LoginMethod      string   `json:"login_method"`
	AccessToken      string   `json:"access_token"`
	GraphBaseURL     string   `json:"graph_base_url"`
	GraphVersion     string   `json:"graph_version"`
	RemovalSafeguard *float64 `json:"removal_safeguard"`
	// Onboarding starts the step-by-step onboarding instead of taking a token;
	// AdminEmail is then the onboarding admin's directory e-mail.
	Onboarding bool   `json:"onboarding"`
	AdminEmail string `json:"admin_email"`
	// Automation is Pinterest's automation account; WebBaseURL overrides Pinterest's web app.
	Automation *automationRequest `json:"automation"`
	WebBaseURL string             `json:"web_base_url"`
	// Mode is how Pinterest is reached: "api" (the default when the
	// operator configured an app and no automation account is sent) or
	// "browser".
	Mode string `json:"mode"`
}

type automationRequest struct {
	Label    string `json:"label"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Phone    string `json:"phone"`
}

var (
	numericID    = regexp.MustCompile(`^[0-9]{1,30}$`)
	graphVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)
	phoneNumber  = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{5,24}$`)
)

func (r createIntegrationRequest) validate(hosts egress.Policy, pinterestApp bool) (store.NewIntegration, error) {
	ni := store.NewIntegration{Provider: domain.Provider(r.Provider), Label: r.Label, BusinessID: r.BusinessID, AppID: r.AppID,
		LoginMethod: r.LoginMethod, RemovalSafeguard: 0.2}
	if err := firstErr(required("label", r.Label), required("business_id", r.BusinessID)); err != nil {
		return ni, err
	}
	if !numericID.MatchString(r.BusinessID) {
		return ni, domain.Errorf(domain.EInvalid, "business_id must be the numeric Business Manager id")
	}
	if r.RemovalSafeguard != nil {
		if *r.RemovalSafeguard <= 0 || *r.RemovalSafeguard > 1 {
			return ni, domain.Errorf(domain.EInvalid, "removal_safeguard must be a share above 0 and at most 1 (0.2 = 20%%)")
		}
		ni.RemovalSafeguard = *r.RemovalSafeguard
	}
	switch ni.Provider {
	case domain.ProviderMeta:
		if r.Mode != "" {
			return ni, domain.Errorf(domain.EInvalid, "mode is Pinterest's; Meta is reached through its Graph API")
		}
		return r.validateMeta(hosts, ni)
	case domain.ProviderPinterest:
		// The API when the operator configured an app, unless the request
		// brings an automation account for the browser.
		ni.Mode = r.Mode
		if ni.Mode == "" && pinterestApp && r.Automation == nil {
			ni.Mode = connector.ModeAPI
		}
		switch ni.Mode {
		case connector.ModeAPI:
			if !pinterestApp {
				return ni, domain.Errorf(domain.EInvalid, `no Pinterest app is configured on this Hubkeeper: use "mode": "browser" with an automation account`)
			}
			return r.validatePinterestAPI(ni)
		case "", connector.ModeBrowser:
			ni.Mode = connector.ModeBrowser
			return r.validatePinterest(hosts, ni)
		}
		return ni, domain.Errorf(domain.EInvalid, `mode must be "api" or "browser"`)
	case "":
		return ni, domain.Errorf(domain.EInvalid, `provider is required: "meta" or "pinterest"`)
	default:
		return ni, domain.Errorf(domain.EInvalid, `provider %q is not supported: use "meta" or "pinterest"`, r.Provider)
	}
}

func (r createIntegrationRequest) validateMeta(hosts egress.Policy, ni store.NewIntegration) (store.NewIntegration, error) {
	ni.Secret = []byte(r.AccessToken)
	ni.Settings = store.IntegrationSettings{GraphBaseURL: r.GraphBaseURL, GraphVersion: r.GraphVersion}
	if r.Automation != nil || r.WebBaseURL != "" {
		return ni, domain.Errorf(domain.EInvalid, "automation and web_base_url are Pinterest's; Meta connects with a system user's token")
	}
	if r.Onboarding {
		ni.OnboardingStage = store.OnboardAppApproval
		switch ni.OnboardingAdmin = domain.NormalizeEmail(r.AdminEmail); {
		case ni.OnboardingAdmin == "":
			return ni, domain.Errorf(domain.EInvalid, "admin_email is required with onboarding: the onboarding admin's directory e-mail address")
		case r.AccessToken != "":
			return ni, domain.Errorf(domain.EInvalid, "an onboarding starts without access_token; submit the token at the onboarding's token step")
		case r.AppID != "":
			return ni, domain.Errorf(domain.EInvalid, "an onboarding starts without app_id; support sets it when approving the dedicated app")
		}
	} else {
		if err := required("access_token", r.AccessToken); err != nil {
			return ni, domain.Errorf(domain.EInvalid, "access_token is required, unless you start an onboarding with \"onboarding\": true")
		}
		if r.AdminEmail != "" {
			return ni, domain.Errorf(domain.EInvalid, "admin_email goes only with \"onboarding\": true")
		}
	}
	if r.AppID != "" && !numericID.MatchString(r.AppID) {
		return ni, domain.Errorf(domain.EInvalid, "app_id must be a numeric Facebook app id")
	}
	if r.LoginMethod != "sso" && r.LoginMethod != "password" {
		return ni, domain.Errorf(domain.EInvalid, `login_method must be "sso" or "password"`)
	}
	if r.GraphBaseURL != "" {
		if err := checkURL(hosts, egress.MetaGraph, "graph_base_url", r.GraphBaseURL); err != nil {
			return ni, err
		}
	}
	if r.GraphVersion != "" && !graphVersion.MatchString(r.GraphVersion) {
		return ni, domain.Errorf(domain.EInvalid, "graph_version must look like v25.0")
	}
	return ni, nil
}

// validatePinterest checks a Pinterest business: it is always onboarded,
// starting with the automation account's login.
func (r createIntegrationRequest) validatePinterest(hosts egress.Policy, ni store.NewIntegration) (store.NewIntegration, error) {
	if r.AccessToken != "" || r.AppID != "" || r.GraphBaseURL != "" || r.GraphVersion != "" || r.Onboarding {
		return ni, domain.Errorf(domain.EInvalid, "access_token, app_id, graph_* and onboarding are Meta's; "+
			"Pinterest connects through an automation account and is always onboarded")
	}
	a := r.Automation
	if a == nil {
		return ni, domain.Errorf(domain.EInvalid, "automation is required: the Pinterest account (label, email, password, phone) with the Manager role")
	}
	email := domain.NormalizeEmail(a.Email)
	switch {
	case email == "":
		return ni, domain.Errorf(domain.EInvalid, "automation.email must be the automation account's e-mail address")
	case a.Password == "":
		return ni, domain.Errorf(domain.EInvalid, "automation.password is required")
	case a.Phone != "" && !phoneNumber.MatchString(a.Phone):
		return ni, domain.Errorf(domain.EInvalid, "automation.phone must be a phone number such as +1 415 555 0100")
	case r.LoginMethod != "password":
		return ni, domain.Errorf(domain.EInvalid, `login_method must be "password": the automation account logs in with its password`)
	}
	if r.AdminEmail != "" {
		if ni.OnboardingAdmin = domain.NormalizeEmail(r.AdminEmail); ni.OnboardingAdmin == "" {
			return ni, domain.Errorf(domain.EInvalid, "admin_email must be an e-mail address")
		}
	}
	if r.WebBaseURL != "" {
		if err := checkURL(hosts, egress.PinterestWeb, "web_base_url", r.WebBaseURL); err != nil {
			return ni, err
		}
	}
	label := a.Label
	if label == "" {
		label = email
	}
	ni.Secret, ni.OnboardingStage = []byte(a.Password), store.OnboardLogin
	ni.Settings = store.IntegrationSettings{WebBaseURL: r.WebBaseURL, Automation: &store.AutomationAccount{Label: label, Email: email, Phone: a.Phone}}
	return ni, nil
}

// validatePinterestAPI: an integration through the API is connected by an
// admin's consent (GET …/oauth/start), with nothing else to send.
func (r createIntegrationRequest) validatePinterestAPI(ni store.NewIntegration) (store.NewIntegration, error) {
	if r.AccessToken != "" || r.AppID != "" || r.GraphBaseURL != "" || r.GraphVersion != "" || r.Onboarding || r.Automation != nil ||
		r.WebBaseURL != "" || r.AdminEmail != "" {
		return ni, domain.Errorf(domain.EInvalid, `in "mode": "api" Pinterest is connected by an admin's consent: send provider, label, `+
			"business_id and login_method only, then open GET /v1/integrations/{id}/oauth/start")
	}
	if r.LoginMethod != "sso" && r.LoginMethod != "password" {
		return ni, domain.Errorf(domain.EInvalid, `login_method must be "sso" or "password": how admins log in to Pinterest`)
	}
	return ni, nil
}

func integrationInput(ig store.Integration, trigger string) workflows.IntegrationSyncInput {
	return workflows.IntegrationSyncInput{WorkspaceID: ig.WorkspaceID, IntegrationID: ig.ID, Provider: string(ig.Provider),
		BusinessID: ig.BusinessID, Trigger: trigger}
}

// integrationView is an integration with its member counts per tab and,
// when it was onboarded step by step, its onboarding.
type integrationView struct {
	store.Integration
	Members map[domain.MemberState]int `json:"members"`
	// FullControlWithoutTwoFactor counts the business users with Full
	// control whom Meta reports without two-factor authentication.
	FullControlWithoutTwoFactor int             `json:"full_control_without_two_factor"`
	Onboarding                  *onboardingView `json:"onboarding,omitempty"`
}

// createIntegration connects a business center with an existing token,
// then creates its daily check-for-updates Schedule, or starts its
// onboarding (the Schedule then comes at the end); either later, if
// Temporal cannot take it now.
func (s *Server) createIntegration(c echo.Context) error {
	var req createIntegrationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key := apiKey(c)
	ig, err := s.connect(c.Request().Context(), req, key.WorkspaceID, "api_key:"+key.ID)
	if err != nil {
		return err
	}
	return s.writeIntegration(c, http.StatusCreated, ig)
}

// connect checks and creates an integration, then starts what comes next,
// the API's and the console's alike.
func (s *Server) connect(ctx context.Context, req createIntegrationRequest, workspaceID, actor string) (store.Integration, error) {
	ni, err := req.validate(s.ProviderHosts, s.Pinterest != nil)
	if err != nil {
		return store.Integration{}, err
	}
	ni.WorkspaceID, ni.Actor = workspaceID, actor
	ig, start, err := s.Store.CreateIntegration(ctx, ni)
	if err != nil {
		return ig, err
	}
	_ = s.start(ctx, start)
	return ig, nil
}

// writeIntegration answers an integration with its counts and onboarding.
func (s *Server) writeIntegration(c echo.Context, status int, ig store.Integration) error {
	ctx := c.Request().Context()
	counts, err := s.Store.MemberCounts(ctx, ig.ID)
	if err != nil {
		return err
	}
	exposed, err := s.Store.FullControlWithoutTwoFactor(ctx, ig.ID)
	if err != nil {
		return err
	}
	view := integrationView{Integration: ig, Members: counts, FullControlWithoutTwoFactor: exposed}
	o, err := s.Store.OnboardingOf(ctx, ig.ID)
	switch {
	case err == nil:
		view.Onboarding = &onboardingView{WorkflowID: workflows.OnboardingID(ig.ID), Onboarding: o}
	case domain.ErrorCode(err) != domain.ENotFound:
		return err
	}
	return c.JSON(status, view)
}

// connected refuses work on an integration that is still onboarding.
func connected(ig store.Integration) error {
	if ig.Status == "onboarding" || ig.OnboardingOpen {
		return domain.Errorf(domain.EConflict, "integration %s is still onboarding; GET it to see which step it waits for", ig.ID)
	}
	return nil
}

func (s *Server) listIntegrations(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	list, next, err := s.Store.ListIntegrations(c.Request().Context(), apiKey(c).WorkspaceID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(list, next))
}

func (s *Server) getIntegration(c echo.Context) error {
	ig, err := s.Store.Integration(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.writeIntegration(c, http.StatusOK, ig)
}

// syncIntegration starts a check for updates, or returns the one running.
func (s *Server) syncIntegration(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	ig, err := s.Store.Integration(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if err := connected(ig); err != nil {
		return err
	}
	run, err := workflows.StartIntegrationSync(c.Request().Context(), s.Temporal, s.TaskQueue, integrationInput(ig, "api"))
	if err != nil {
		s.Logger.Error("starting check for updates", "integration", ig.ID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	return c.JSON(http.StatusAccepted, syncStarted{WorkflowID: run.GetID(), RunID: run.GetRunID()})
}

// integrationPage loads the path's integration of the caller's workspace and the paging parameters.
func (s *Server) integrationPage(c echo.Context) (store.Integration, store.Page, error) {
	ig, err := s.Store.Integration(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return ig, store.Page{}, err
	}
	p, err := page(c)
	return ig, p, err
}

func (s *Server) listMembers(c echo.Context) error {
	ig, p, err := s.integrationPage(c)
	if err != nil {
		return err
	}
	f := store.MemberFilter{State: domain.MemberState(c.QueryParam("state")), Role: c.QueryParam("role"), TwoFactor: c.QueryParam("two_factor"),
		Sort: c.QueryParam("sort")}
	if f.State != "" && !f.State.Valid() {
		return domain.Errorf(domain.EInvalid, "state must be onboarded, unmatched, exempted, pending, removed or system")
	}
	if f.Role != "" && !validRoleFilter(f.Role) {
		return domain.Errorf(domain.EInvalid, "role must be a business role in capitals, such as ADMIN (Full control) or EMPLOYEE")
	}
	if f.TwoFactor != "" && f.TwoFactor != "on" && f.TwoFactor != "off" {
		return domain.Errorf(domain.EInvalid, "two_factor must be on or off")
	}
	members, next, err := s.Store.ListMembers(c.Request().Context(), ig.WorkspaceID, ig.ID, f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(members, next))
}

// validRoleFilter accepts a provider's role spelling: capitals and
// underscores (ADMIN, FINANCE_EDITOR, BIZ_ADMIN).
func validRoleFilter(role string) bool {
	if len(role) > 64 {
		return false
	}
	for _, r := range role {
		if (r < 'A' || r > 'Z') && r != '_' {
			return false
		}
	}
	return true
}

func (s *Server) listAssets(c echo.Context) error {
	ig, p, err := s.integrationPage(c)
	if err != nil {
		return err
	}
	assets, next, err := s.Store.ListAssets(c.Request().Context(), ig.WorkspaceID, ig.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(assets, next))
}

func (s *Server) listPartners(c echo.Context) error {
	ig, p, err := s.integrationPage(c)
	if err != nil {
		return err
	}
	partners, next, err := s.Store.ListPartners(c.Request().Context(), ig.WorkspaceID, ig.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(partners, next))
}

func (s *Server) listIntegrationSyncRuns(c echo.Context) error {
	ig, p, err := s.integrationPage(c)
	if err != nil {
		return err
	}
	runs, next, err := s.Store.ListSyncRuns(c.Request().Context(), ig.WorkspaceID, ig.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(runs, next))
}

type integrationSecretRequest struct {
	AccessToken string `json:"access_token"`
	Password    string `json:"password"`
}

// putToken replaces a Meta integration's token, say after Meta rejected it.
func (s *Server) putToken(c echo.Context) error {
	return s.replaceSecret(c, "meta_token")
}

// putPassword replaces a Pinterest automation account's password, say after
// Pinterest refused it; an onboarding still under way logs in again.
func (s *Server) putPassword(c echo.Context) error {
	return s.replaceSecret(c, "pinterest_password")
}

// replaceSecret replaces an integration's credential of kind (its
// connector's SecretKind): a Meta token or a Pinterest password.
func (s *Server) replaceSecret(c echo.Context, kind string) error {
	var req integrationSecretRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	field, secret, other := "access_token", req.AccessToken, req.Password
	if kind == "pinterest_password" {
		field, secret, other = "password", req.Password, req.AccessToken
	}
	if other != "" {
		return domain.Errorf(domain.EInvalid, "send only %s", field)
	}
	if err := required(field, secret); err != nil {
		return err
	}
	key := apiKey(c)
	ig, err := s.Store.Integration(c.Request().Context(), key.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	if d.SecretKind != kind {
		return domain.Errorf(domain.EInvalid, "integration %s is %s: a Meta token goes to PUT …/token, a Pinterest password to PUT …/password",
			ig.ID, ig.Provider)
	}
	if err := s.replaceCredential(c.Request().Context(), ig, "api_key:"+key.ID, []byte(secret)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// replaceCredential stores an integration's new credential, the API's and
// the console's alike. A Meta onboarding takes its token at its token
// step; a Pinterest one takes a new password here, and logs in again.
func (s *Server) replaceCredential(ctx context.Context, ig store.Integration, actor string, secret []byte) error {
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	loginAgain := d.Onboarding == connector.OnboardAutomationLogin
	if !loginAgain {
		if err := connected(ig); err != nil {
			return err
		}
	}
	if err := s.Store.ReplaceIntegrationSecret(ctx, ig, actor, secret); err != nil {
		return err
	}
	if ig.OnboardingOpen && loginAgain {
		return s.wakeOnboarding(ctx, ig.ID, workflows.SignalVerification, nil)
	}
	return nil
}

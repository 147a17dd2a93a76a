package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// Onboarding calls: each stores what a person sends for one step of an
// integration's onboarding, then wakes the onboarding workflow. A call for
// another step than the current one is a 409 that says what the
// onboarding waits for; a repeat of a step already taken changes nothing.

type appApprovedRequest struct {
	AppID     string `json:"app_id"`
	AppSecret string `json:"app_secret"`
}

type onboardingTokenRequest struct {
	AccessToken string `json:"access_token"`
}

type profileRequest struct {
	Profile string `json:"profile"`
}

// onboardingView is an onboarding with the id of its workflow.
type onboardingView struct {
	WorkflowID string `json:"workflow_id"`
	store.Onboarding
}

// approveApp records support's approval of the dedicated app. Only a
// support key may call it, for an integration of any workspace.
func (s *Server) approveApp(c echo.Context) error {
	var req appApprovedRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := firstErr(required("app_id", req.AppID), required("app_secret", req.AppSecret)); err != nil {
		return err
	}
	if !numericID.MatchString(req.AppID) {
		return domain.Errorf(domain.EInvalid, "app_id must be a numeric Facebook app id")
	}
	if strings.ContainsAny(req.AppSecret, "| \t\r\n") {
		return domain.Errorf(domain.EInvalid, "app_secret must be the app's secret from its Basic settings")
	}
	ig, err := s.Store.IntegrationByID(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return s.submit(c, store.OnboardingSubmission{WorkspaceID: ig.WorkspaceID, IntegrationID: ig.ID, Stage: store.OnboardAppApproval,
		AppID: req.AppID, Secret: []byte(req.AppSecret)}, workflows.SignalAppApproved)
}

// reportClaimed asks the onboarding to check the claim at once.
func (s *Server) reportClaimed(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	return s.submit(c, store.OnboardingSubmission{WorkspaceID: apiKey(c).WorkspaceID, IntegrationID: c.Param("id"),
		Stage: store.OnboardClaim}, workflows.SignalClaimed)
}

// submitOnboardingToken stores a token, sealed, and hands the onboarding
// its credential id to verify.
func (s *Server) submitOnboardingToken(c echo.Context) error {
	var req onboardingTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := required("access_token", req.AccessToken); err != nil {
		return err
	}
	return s.submit(c, store.OnboardingSubmission{WorkspaceID: apiKey(c).WorkspaceID, IntegrationID: c.Param("id"),
		Stage: store.OnboardToken, Secret: []byte(req.AccessToken)}, workflows.SignalToken)
}

// connectProfile records the admin's Facebook profile for the onboarding to verify.
func (s *Server) connectProfile(c echo.Context) error {
	var req profileRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	profile, err := checkProfile(req.Profile)
	if err != nil {
		return err
	}
	return s.submit(c, store.OnboardingSubmission{WorkspaceID: apiKey(c).WorkspaceID, IntegrationID: c.Param("id"),
		Stage: store.OnboardProfile, Profile: profile}, workflows.SignalProfile)
}

// checkProfile reads a Facebook profile: a business user id or an e-mail.
func checkProfile(profile string) (string, error) {
	profile = strings.TrimSpace(profile)
	if err := required("profile", profile); err != nil {
		return "", err
	}
	if numericID.MatchString(profile) {
		return profile, nil
	}
	if profile = domain.NormalizeEmail(profile); profile == "" {
		return "", domain.Errorf(domain.EInvalid, "profile must be the Facebook profile's business user id or e-mail address")
	}
	return profile, nil
}

type verificationRequest struct {
	Code string `json:"code"`
}

var verificationCode = regexp.MustCompile(`^[0-9A-Za-z]{4,12}$`)

// submitVerificationCode hands the Pinterest login the code Pinterest sent;
// a login that stopped waiting logs in again (and Pinterest sends a new code).
func (s *Server) submitVerificationCode(c echo.Context) error {
	var req verificationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	code, err := checkCode(req.Code)
	if err != nil {
		return err
	}
	return s.submit(c, store.OnboardingSubmission{WorkspaceID: apiKey(c).WorkspaceID, IntegrationID: c.Param("id"),
		Stage: store.OnboardLogin, Secret: []byte(code)}, workflows.SignalVerification)
}

// checkCode reads the verification code Pinterest sent.
func checkCode(code string) (string, error) {
	if code = strings.TrimSpace(code); !verificationCode.MatchString(code) {
		return "", domain.Errorf(domain.EInvalid, "code must be the verification code Pinterest sent (4 to 12 letters or digits)")
	}
	return code, nil
}

// restartOnboarding starts a failed onboarding again: from the claim when
// support had approved the app, else from the app approval (its new run
// later, if Temporal cannot take it now).
func (s *Server) restartOnboarding(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	key := apiKey(c)
	o, err := s.restart(c.Request().Context(), key.WorkspaceID, c.Param("id"), "api_key:"+key.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, onboardingView{WorkflowID: workflows.OnboardingID(c.Param("id")), Onboarding: o})
}

// restart starts a failed onboarding again, the API's and the console's alike.
func (s *Server) restart(ctx context.Context, workspaceID, integrationID, actor string) (store.Onboarding, error) {
	if err := s.failStoppedOnboarding(ctx, workspaceID, integrationID); err != nil {
		return store.Onboarding{}, err
	}
	start, err := s.Store.RestartOnboarding(ctx, workspaceID, integrationID, actor)
	if err != nil {
		return store.Onboarding{}, err
	}
	_ = s.start(ctx, start)
	return s.Store.OnboardingOf(ctx, integrationID)
}

// submit stores a submission and signals the onboarding; a repeat in the
// current stage signals again, in case the first signal was lost.
func (s *Server) submit(c echo.Context, sub store.OnboardingSubmission, signal string) error {
	key := apiKey(c)
	sub.Actor = "api_key:" + key.ID
	if key.Scope == store.ScopeSupport {
		sub.Actor = "support_key:" + key.ID
	}
	o, err := s.submitStep(c.Request().Context(), sub, signal)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, onboardingView{WorkflowID: workflows.OnboardingID(sub.IntegrationID), Onboarding: o})
}

// submitStep stores a step's submission and signals the onboarding, the
// API's and the console's alike.
func (s *Server) submitStep(ctx context.Context, sub store.OnboardingSubmission, signal string) (store.Onboarding, error) {
	done, err := s.Store.SubmitOnboarding(ctx, sub)
	if err != nil {
		return store.Onboarding{}, err
	}
	o, err := s.Store.OnboardingOf(ctx, sub.IntegrationID)
	if err != nil {
		return o, err
	}
	if o.Stage == sub.Stage {
		var arg any
		if sub.Stage == store.OnboardToken {
			arg = done.CredentialID
		}
		if err := s.wakeOnboarding(ctx, sub.IntegrationID, signal, arg); err != nil {
			return o, err
		}
	}
	return o, nil
}

// stoppedOnboarding is why an onboarding whose workflow stopped without
// recording an end (terminated by an operator, say) is failed.
func stoppedOnboarding(integrationID string) string {
	return "the onboarding's workflow stopped without finishing (terminated, or it timed out); " +
		"restart it with POST /v1/integrations/" + integrationID + "/onboarding/restart"
}

// failOnboarding records an onboarding failed for reason.
func (s *Server) failOnboarding(ctx context.Context, integrationID, reason string) error {
	return s.Store.UpdateOnboarding(ctx, store.OnboardingUpdate{IntegrationID: integrationID, Stage: store.OnboardFailed,
		Message: reason, Action: "onboarding.failed", Details: map[string]any{"reason": reason}})
}

// wakeOnboarding signals an onboarding. One whose workflow stopped is
// recorded failed, so that it can be restarted, and the caller is told so.
func (s *Server) wakeOnboarding(ctx context.Context, integrationID, signal string, arg any) error {
	err := workflows.SignalOnboarding(ctx, s.Temporal, integrationID, signal, arg)
	switch {
	case err == nil:
		return nil
	case domain.ErrorCode(err) == domain.ENotFound:
		if err := s.failOnboarding(ctx, integrationID, stoppedOnboarding(integrationID)); err != nil {
			return err
		}
		return domain.Errorf(domain.EConflict, "your input is saved, but %s", stoppedOnboarding(integrationID))
	}
	s.Logger.Error("signalling onboarding", "integration", integrationID, "signal", signal, "error", err)
	return domain.Errorf(domain.EUnavailable, "Temporal is unavailable; your input is saved, send it again to go on")
}

// failStoppedOnboarding records as failed an unfinished onboarding whose
// workflow no longer runs, so that restarting it is allowed.
func (s *Server) failStoppedOnboarding(ctx context.Context, workspaceID, integrationID string) error {
	if _, err := s.Store.Integration(ctx, workspaceID, integrationID); err != nil {
		return err
	}
	o, err := s.Store.OnboardingOf(ctx, integrationID)
	if err != nil || o.Stage == store.OnboardFailed || o.Stage == store.OnboardDone {
		return err
	}
	running, err := workflows.OnboardingRunning(ctx, s.Temporal, integrationID)
	if err != nil {
		s.Logger.Error("describing onboarding", "integration", integrationID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	if running {
		return nil
	}
	return s.failOnboarding(ctx, integrationID, stoppedOnboarding(integrationID))
}

package api

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// CallbackPath is where Pinterest sends admins back after consent; the
// operator registers PublicURL+CallbackPath as the app's redirect URI.
const CallbackPath = "/v1/pinterest/oauth/callback"

// oauthStart sends an admin to Pinterest's consent page for an integration
// in API mode (again, to replace tokens Pinterest no longer accepts).
func (s *Server) oauthStart(c echo.Context) error {
	if s.Pinterest == nil {
		return domain.Errorf(domain.EInvalid, "no Pinterest app is configured on this Hubkeeper (HUBKEEPER_PINTEREST_CLIENT_ID)")
	}
	key := apiKey(c)
	return s.consent(c, key.WorkspaceID, "api_key:"+key.ID)
}

// consent sends the admin's browser to Pinterest's consent for the path's
// integration, the API's and the console's alike.
func (s *Server) consent(c echo.Context, workspaceID, actor string) error {
	state, err := s.Store.BeginOAuth(c.Request().Context(), workspaceID, c.Param("id"), actor)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, s.Pinterest.AuthorizeURL(s.PublicURL+CallbackPath, state))
}

var consentResultPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hubkeeper: {{.Title}}</title></head><body><main><h1>{{.Title}}</h1><p role="status">{{.Message}}</p></main></body></html>`))

func consentResult(c echo.Context, status int, title, message string) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().WriteHeader(status)
	return consentResultPage.Execute(c.Response(), map[string]string{"Title": title, "Message": message})
}

// oauthCallback is where an admin's browser comes back from consent: the
// state must be one Hubkeeper made, unused and unexpired, before the code
// is traded; the tokens are sealed and the integration's first check starts.
func (s *Server) oauthCallback(c echo.Context) error {
	ctx := c.Request().Context()
	q := c.QueryParams()
	state := q.Get("state")
	if s.Pinterest == nil || state == "" {
		return consentResult(c, http.StatusBadRequest, "Not connected", "This page takes Pinterest's answer to a consent Hubkeeper asked for.")
	}
	ig, err := s.Store.OAuthIntegration(ctx, state)
	if domain.ErrorCode(err) == domain.ENotFound {
		return consentResult(c, http.StatusNotFound, "Not connected", message(err))
	}
	if err != nil {
		return err
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		return consentResult(c, http.StatusBadRequest, "Not connected",
			"Pinterest did not give Hubkeeper access to "+ig.Label+". To try again, start from GET /v1/integrations/"+ig.ID+"/oauth/start.")
	}
	tokens, err := s.Pinterest.Exchange(ctx, q.Get("code"), s.PublicURL+CallbackPath)
	if pe, ok := domain.AsProviderError(err); ok {
		return consentResult(c, http.StatusBadGateway, "Not connected", pe.Sentence())
	}
	if err != nil {
		return err
	}
	sealed, err := json.Marshal(tokens)
	if err != nil {
		return err
	}
	ig, start, err := s.Store.CompleteOAuth(ctx, state, sealed)
	if domain.ErrorCode(err) == domain.EConflict {
		return consentResult(c, http.StatusConflict, "Already connected", message(err))
	}
	if err != nil {
		return err
	}
	_ = s.start(ctx, start)
	if _, err := workflows.StartIntegrationSync(ctx, s.Temporal, s.TaskQueue, integrationInput(ig, "consent")); err != nil {
		s.Logger.Error("first check after consent; the daily Schedule runs it", "integration", ig.ID, "error", err)
	}
	return consentResult(c, http.StatusOK, "Connected", "Hubkeeper now manages "+ig.Label+" through Pinterest's API and is checking it.")
}

// message is a domain error's sentence.
func message(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

type modeRequest struct {
	Mode string `json:"mode"`
	// Automation and WebBaseURL are the browser's, as on creation.
	Automation *automationRequest `json:"automation"`
	WebBaseURL string             `json:"web_base_url"`
}

// putMode moves a Pinterest integration between the API and the browser;
// it keeps its members, actions, checks and reports. To the API it waits
// for an admin's consent; to the browser it logs the automation account in
// through its onboarding.
func (s *Server) putMode(c echo.Context) error {
	var req modeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key, ctx := apiKey(c), c.Request().Context()
	actor := "api_key:" + key.ID
	switch req.Mode {
	case connector.ModeAPI:
		if s.Pinterest == nil {
			return domain.Errorf(domain.EInvalid, "no Pinterest app is configured on this Hubkeeper (HUBKEEPER_PINTEREST_CLIENT_ID)")
		}
		if req.Automation != nil || req.WebBaseURL != "" {
			return domain.Errorf(domain.EInvalid, "automation and web_base_url go with the browser; the API is connected by consent")
		}
		ig, err := s.Store.SwitchToAPI(ctx, key.WorkspaceID, c.Param("id"), actor)
		if err != nil {
			return err
		}
		return s.writeIntegration(c, http.StatusOK, ig)
	case connector.ModeBrowser:
		browser := createIntegrationRequest{Provider: string(domain.ProviderPinterest), LoginMethod: "password", Automation: req.Automation,
			WebBaseURL: req.WebBaseURL}
		ni, err := browser.validatePinterest(s.ProviderHosts, store.NewIntegration{})
		if err != nil {
			return err
		}
		ig, start, err := s.Store.SwitchToBrowser(ctx, key.WorkspaceID, c.Param("id"), actor, ni.Settings, ni.Secret)
		if err != nil {
			return err
		}
		_ = s.start(ctx, start)
		return s.writeIntegration(c, http.StatusOK, ig)
	}
	return domain.Errorf(domain.EInvalid, `mode must be "api" or "browser"`)
}

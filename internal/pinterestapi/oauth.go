package pinterestapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// App is the operator's Pinterest app, through which admins let Hubkeeper
// act on their business (OAuth 2.0 authorization code).
type App struct {
	ClientID, Secret string
	// APIBase is where /v5/oauth/token is (DefaultBaseURL); ConsentURL the
	// consent page (DefaultConsentURL).
	APIBase, ConsentURL string
	HTTP                *http.Client
}

// Tokens are what Pinterest granted: an access token and the refresh
// token that renews it, with when each expires.
type Tokens struct {
	Access, Refresh               string
	AccessExpires, RefreshExpires time.Time
	Scope                         string
}

// AuthorizeURL is the consent page an admin is sent to; Pinterest sends
// them back to redirectURI with a code and state.
func (a App) AuthorizeURL(redirectURI, state string) string {
	consent := a.ConsentURL
	if consent == "" {
		consent = DefaultConsentURL
	}
	return consent + "?" + url.Values{"client_id": {a.ClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {Scopes}, "state": {state}}.Encode()
}

// Exchange trades a consent's code for tokens.
func (a App) Exchange(ctx context.Context, code, redirectURI string) (Tokens, error) {
	return a.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
}

// Refresh renews the tokens. A refused refresh token is AuthBroken: an
// admin must consent again.
func (a App) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	return a.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (a App) token(ctx context.Context, form url.Values) (Tokens, error) {
	base := a.APIBase
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := providerhttp.BaseURL("pinterest: API base URL", base)
	if err != nil {
		return Tokens{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String()+"/v5/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Tokens{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(a.ClientID, a.Secret)
	now := time.Now()
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return Tokens{}, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient,
			Message: "token request failed: " + providerhttp.TransportError(err)}
	}
	defer resp.Body.Close()
	var answer struct {
		AccessToken      string `json:"access_token"`
		RefreshToken     string `json:"refresh_token"`
		ExpiresIn        int64  `json:"expires_in"`
		RefreshExpiresIn int64  `json:"refresh_token_expires_in"`
		Scope            string `json:"scope"`
		apiError
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return Tokens{}, &domain.ProviderError{Provider: "pinterest", Kind: domain.Permanent, Status: resp.StatusCode,
			Message: "Pinterest refused the app's client id or secret (HUBKEEPER_PINTEREST_CLIENT_ID, HUBKEEPER_PINTEREST_CLIENT_SECRET)"}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Tokens{}, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient, Status: resp.StatusCode, Message: answer.Message}
	case resp.StatusCode >= 300:
		return Tokens{}, &domain.ProviderError{Provider: "pinterest", Kind: domain.AuthBroken, Status: resp.StatusCode,
			Message: "Pinterest refused the grant: " + answer.Message + " (connect the integration again: GET …/oauth/start)"}
	case answer.AccessToken == "":
		return Tokens{}, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient, Message: "the token answer has no access token"}
	}
	t := Tokens{Access: answer.AccessToken, Refresh: answer.RefreshToken, Scope: answer.Scope,
		AccessExpires: now.Add(time.Duration(answer.ExpiresIn) * time.Second)}
	if answer.RefreshExpiresIn > 0 {
		t.RefreshExpires = now.Add(time.Duration(answer.RefreshExpiresIn) * time.Second)
	}
	return t, nil
}

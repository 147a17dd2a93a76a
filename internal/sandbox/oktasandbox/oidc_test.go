package oktasandbox_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"golang.org/x/oauth2"
)

// The org signs a person in for an OIDC web app as Okta does, driven by
// the go-oidc and x/oauth2 clients: discovery, the sign-in page, a code
// back to the redirect URI with the state, the code traded once with the
// PKCE verifier for an ID token signed with the published keys, carrying
// the nonce, the e-mail and the groups.
func TestOIDCSignIn(t *testing.T) {
	people := seed.Company("acme.test", 10, 3)
	sb := oktasandbox.New("00token", people)
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	ann := people[0]
	sb.SetPassword(oktasandbox.OktaID(ann.Key), "correct horse")
	sb.AddGroup("Hubkeeper admins", oktasandbox.OktaID(ann.Key))
	const redirect = "https://hubkeeper.test/ui/callback"
	sb.RegisterWebApp(oktasandbox.WebApp{ClientID: "0oaweb", ClientSecret: "web-secret", RedirectURIs: []string{redirect}})

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: "0oaweb", ClientSecret: "web-secret", Endpoint: provider.Endpoint(), RedirectURL: redirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", "groups"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="password"`) {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, page)
	}
	u, _ := url.Parse(authURL)
	signIn := func(password string) *http.Response {
		form := u.Query()
		form.Set("username", ann.Email)
		form.Set("password", password)
		resp, err := noRedirect.PostForm(srv.URL+"/oauth2/v1/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := signIn("wrong"); resp.StatusCode != 401 {
		t.Fatalf("a wrong password: %d", resp.StatusCode)
	}
	resp = signIn("correct horse")
	back, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || !strings.HasPrefix(back.String(), redirect) || back.Query().Get("state") != "state-1" {
		t.Fatalf("back to the app: %d %s", resp.StatusCode, back)
	}
	code := back.Query().Get("code")
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption("not-the-verifier")); err == nil {
		t.Fatal("a wrong PKCE verifier was taken")
	}
	// The failed exchange spent the code: a code is good once.
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a spent code was traded")
	}
	resp = signIn("correct horse")
	back, _ = url.Parse(resp.Header.Get("Location"))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a code was traded twice")
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := provider.Verifier(&oidc.Config{ClientID: "0oaweb"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := idToken.Claims(&claims); err != nil || idToken.Nonce != "nonce-1" || claims.Email != ann.Email ||
		len(claims.Groups) != 1 || claims.Groups[0] != "Hubkeeper admins" {
		t.Fatalf("claims %+v nonce %q %v", claims, idToken.Nonce, err)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatal(err)
	}

	// A redirect URI the app did not register is refused on the page, not followed.
	bad := strings.Replace(authURL, url.QueryEscape(redirect), url.QueryEscape("https://evil.test/cb"), 1)
	if resp, err := noRedirect.Get(bad); err != nil || resp.StatusCode != 400 {
		t.Fatalf("foreign redirect: %v %d", err, resp.StatusCode)
	}
	// A deactivated person cannot sign in.
	if err := sb.SetStatus(oktasandbox.OktaID(ann.Key), "DEPROVISIONED"); err != nil {
		t.Fatal(err)
	}
	if resp := signIn("correct horse"); resp.StatusCode != 401 {
		t.Fatalf("a deprovisioned person signed in: %d", resp.StatusCode)
	}
}

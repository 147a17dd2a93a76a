package oktasandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The org's OpenID Connect provider (Okta's org authorization server):
// discovery, the authorize endpoint with Okta's sign-in page, the
// authorization-code grant with PKCE at the token endpoint, signing keys,
// and userinfo.

// WebApp is an OIDC web app registered in the org: it signs people in with
// the authorization-code flow back to one of its redirect URIs.
type WebApp struct {
	ClientID, ClientSecret string
	RedirectURIs           []string
}

// authCode is a code the authorize endpoint issued, good once, briefly.
type authCode struct {
	clientID, redirectURI, userID, nonce, challenge, scope string
	expires                                                time.Time
}

// signedInUser is who an access token of the code flow belongs to.
type signedInUser struct {
	userID  string
	expires time.Time
}

// oidcState is the provider's keys and what it issued.
type oidcState struct {
	key       *rsa.PrivateKey
	keyID     string
	webApps   map[string]WebApp
	codes     map[string]authCode
	passwords map[string]string // user id → password
	userinfo  map[string]signedInUser
}

// RegisterWebApp adds an OIDC web app, as an admin does in the console.
func (s *Server) RegisterWebApp(app WebApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidcInit()
	s.oidc.webApps[app.ClientID] = app
}

// SetPassword sets the password a user signs in with.
func (s *Server) SetPassword(userID, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidcInit()
	s.oidc.passwords[userID] = password
}

// oidcInit makes the signing key on first use. Caller holds mu.
func (s *Server) oidcInit() {
	if s.oidc.key != nil {
		return
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.oidc = oidcState{key: key, keyID: randomID(20), webApps: map[string]WebApp{}, codes: map[string]authCode{},
		passwords: map[string]string{}, userinfo: map[string]signedInUser{}}
}

// issuer is the org's URL as this request reached it.
func issuer(r *http.Request) string { return "http://" + r.Host }

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	iss := issuer(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": iss, "authorization_endpoint": iss + "/oauth2/v1/authorize", "token_endpoint": iss + "/oauth2/v1/token",
		"jwks_uri": iss + "/oauth2/v1/keys", "userinfo_endpoint": iss + "/oauth2/v1/userinfo",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "scopes_supported": []string{"openid", "email", "profile", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "iat", "exp", "nonce", "email", "email_verified", "name", "preferred_username", "groups"},
	})
}

func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.oidcInit()
	jwk := jose.JSONWebKey{Key: &s.oidc.key.PublicKey, KeyID: s.oidc.keyID, Algorithm: "RS256", Use: "sig"}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign In - Okta (sandbox)</title></head>
<body><main><h1>Sign In</h1>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
<form method="post" action="/oauth2/v1/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label for="username">Username</label> <input id="username" name="username" autocomplete="username" value="{{.Username}}" required>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="sign-in">Sign In</button>
</form></main></body></html>`))

// authorize serves the authorize endpoint: GET shows the sign-in page,
// POST signs in and sends the browser back to the app with a code. A bad
// client or redirect URI is shown here, never redirected to.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	q := r.Form
	s.mu.Lock()
	s.oidcInit()
	app, known := s.oidc.webApps[q.Get("client_id")]
	s.mu.Unlock()
	switch {
	case !known:
		http.Error(w, "invalid_client: the client_id is not an app of this org", http.StatusBadRequest)
		return
	case !slices.Contains(app.RedirectURIs, q.Get("redirect_uri")):
		http.Error(w, "invalid_request: the redirect_uri is not registered for this app", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(q.Get("redirect_uri"))
		params.Set("state", q.Get("state"))
		u.RawQuery = params.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	scopes := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"The response type is not supported: use code."}})
		return
	case !slices.Contains(scopes, "openid"):
		back(url.Values{"error": {"invalid_scope"}, "error_description": {"The scope openid is required."}})
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256."}})
		return
	}
	params := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		params[k] = q.Get(k)
	}
	show := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_ = signInPage.Execute(w, map[string]any{"Params": params, "Error": msg, "Username": q.Get("username")})
	}
	if r.Method == http.MethodGet {
		show(http.StatusOK, "")
		return
	}
	s.mu.Lock()
	u := s.findUser(q.Get("username"))
	ok := u != nil && u.Status == "ACTIVE" && s.oidc.passwords[u.ID] != "" &&
		subtle.ConstantTimeCompare([]byte(s.oidc.passwords[u.ID]), []byte(q.Get("password"))) == 1
	code := ""
	if ok {
		code = randomID(32)
		s.oidc.codes[code] = authCode{clientID: app.ClientID, redirectURI: q.Get("redirect_uri"), userID: u.ID, nonce: q.Get("nonce"),
			challenge: q.Get("code_challenge"), scope: q.Get("scope"), expires: time.Now().Add(time.Minute)}
	}
	s.mu.Unlock()
	if !ok {
		show(http.StatusUnauthorized, "Unable to sign in")
		return
	}
	back(url.Values{"code": {code}})
}

// codeGrant serves the authorization-code grant: the app's own credentials
// (basic or in the form), the code once, its redirect URI, and the PKCE
// verifier when the code was asked for with a challenge.
func (s *Server) codeGrant(w http.ResponseWriter, r *http.Request) {
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidcInit()
	app, known := s.oidc.webApps[clientID]
	if !known || subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(secret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	c, found := s.oidc.codes[r.PostForm.Get("code")]
	delete(s.oidc.codes, r.PostForm.Get("code"))
	verifier := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !found || time.Now().After(c.expires) || c.clientID != clientID:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or has expired.")
		return
	case c.redirectURI != r.PostForm.Get("redirect_uri"):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the one of the authorization request.")
		return
	case c.challenge != "" && base64.RawURLEncoding.EncodeToString(verifier[:]) != c.challenge:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed.")
		return
	}
	u := s.users[c.userID]
	if u == nil || u.Status != "ACTIVE" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "The user is not active.")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": issuer(r), "sub": u.ID, "aud": clientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"auth_time": now.Unix(), "email": u.Profile.Email, "email_verified": true, "name": u.Profile.FirstName + " " + u.Profile.LastName,
		"preferred_username": u.Profile.Login}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	if slices.Contains(strings.Fields(c.scope), "groups") {
		var names []string
		for _, g := range s.groups {
			if g.members[u.ID] {
				names = append(names, g.Profile.Name)
			}
		}
		slices.Sort(names)
		claims["groups"] = names
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: s.oidc.key, KeyID: s.oidc.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	idToken, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	access := "eyJhY2Nlc3Mi" + randomID(40)
	s.oidc.userinfo[access] = signedInUser{userID: u.ID, expires: now.Add(time.Hour)}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": access, "id_token": idToken,
		"scope": c.scope})
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	access, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidcInit()
	who, ok := s.oidc.userinfo[access]
	u := s.users[who.userID]
	if !ok || time.Now().After(who.expires) || u == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid."`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": u.ID, "email": u.Profile.Email, "email_verified": true,
		"name": u.Profile.FirstName + " " + u.Profile.LastName, "preferred_username": u.Profile.Login})
}

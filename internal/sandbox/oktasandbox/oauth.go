package oktasandbox

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ServiceApp is an API service app registered in the org: it signs
// client assertions with the private half of PublicKey (private_key_jwt)
// and is granted Scopes. RequireDPoP is the app setting "Require
// Demonstrating Proof of Possession (DPoP) header in token requests".
type ServiceApp struct {
	ClientID    string
	PublicKey   jose.JSONWebKey
	Scopes      []string
	RequireDPoP bool
}

// accessToken is an access token the org issued to a service app.
type accessToken struct {
	scopes  []string
	expires time.Time
	// jkt is the thumbprint of the DPoP key the token is bound to ("": a
	// bearer token).
	jkt string
}

// assertionAlgorithms are the signatures Okta takes on client assertions.
var assertionAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

// RegisterServiceApp adds a service app, as an admin does in the console.
func (s *Server) RegisterServiceApp(app ServiceApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps == nil {
		s.apps, s.accessTokens, s.usedJTIs = map[string]ServiceApp{}, map[string]accessToken{}, map[string]bool{}
	}
	s.apps[app.ClientID] = app
}

// ExpireAccessTokens makes every issued access token invalid, as their
// lifetime ending would.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.accessTokens)
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// tokenURL is where a request to this org's token endpoint was sent.
func tokenURL(r *http.Request) string { return "http://" + r.Host + "/oauth2/v1/token" }

// issueToken serves POST /oauth2/v1/token: the authorization-code grant
// of web apps (codeGrant), and the client-credentials grant with a
// private_key_jwt client assertion, and DPoP when the app requires it.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a form.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") == "authorization_code" {
		s.codeGrant(w, r)
		return
	}
	if f.Get("grant_type") != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "The grant type is not supported: use client_credentials.")
		return
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_assertion") == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: send a private_key_jwt client assertion.")
		return
	}
	assertion, err := jwt.ParseSigned(f.Get("client_assertion"), assertionAlgorithms)
	if err != nil {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion is not a signed JWT.")
		return
	}
	var unverified jwt.Claims
	_ = assertion.UnsafeClaimsWithoutVerification(&unverified)
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[unverified.Issuer]
	var claims jwt.Claims
	if !ok || assertion.Claims(app.PublicKey.Key, &claims) != nil {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion signature is invalid.")
		return
	}
	now := time.Now()
	if claims.Subject != app.ClientID || claims.ValidateWithLeeway(jwt.Expected{Issuer: app.ClientID, AnyAudience: jwt.Audience{tokenURL(r)},
		Time: now}, 0) != nil || claims.Expiry == nil || claims.Expiry.Time().After(now.Add(time.Hour)) || claims.ID == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client",
			"The client_assertion is not valid: iss and sub the client id, aud the token endpoint, exp within the hour, jti set.")
		return
	}
	if s.usedJTIs[claims.ID] {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion jti has already been used.")
		return
	}
	scopes := strings.Fields(f.Get("scope"))
	for _, sc := range scopes {
		if !slices.Contains(app.Scopes, sc) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not granted to the client: "+sc)
			return
		}
	}
	if len(scopes) == 0 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "The request must include at least one scope.")
		return
	}
	jkt := ""
	if app.RequireDPoP {
		proof := r.Header.Get("DPoP")
		if proof == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
			return
		}
		var nonce string
		if jkt, nonce, err = s.checkProof(proof, http.MethodPost, tokenURL(r), ""); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_dpop_proof", err.Error())
			return
		}
		if nonce != s.dpopNonce() {
			w.Header().Set("DPoP-Nonce", s.dpopNonce())
			writeOAuthError(w, http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
			return
		}
	}
	s.usedJTIs[claims.ID] = true
	access := "eyJsb3rGFr" + randomID(40)
	s.accessTokens[access] = accessToken{scopes: scopes, expires: now.Add(time.Hour), jkt: jkt}
	kind := "Bearer"
	if jkt != "" {
		kind = "DPoP"
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": kind, "expires_in": 3600, "access_token": access, "scope": strings.Join(scopes, " ")})
}

// dpopNonce is the nonce the org wants in DPoP proofs, changing hourly.
// Caller holds mu.
func (s *Server) dpopNonce() string {
	return "n-" + strconv.FormatInt(time.Now().Unix()/3600, 36)
}

// checkProof verifies a DPoP proof for a request (RFC 9449): its own
// embedded key signed it, and it names the method and URL; ath, when set,
// is the access token's hash. It returns the key's thumbprint and the
// proof's nonce. Caller holds mu.
func (s *Server) checkProof(proof, method, url, ath string) (jkt, nonce string, err error) {
	type proofClaims struct {
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		JTI   string `json:"jti"`
		Nonce string `json:"nonce"`
		ATH   string `json:"ath"`
	}
	bad := func(msg string) (string, string, error) { return "", "", &dpopError{msg} }
	tok, err := jwt.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return bad("The DPoP proof is not a signed JWT.")
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return bad("The DPoP proof must have typ dpop+jwt and its public key as jwk.")
	}
	var c proofClaims
	if err := tok.Claims(h.JSONWebKey.Key, &c); err != nil {
		return bad("The DPoP proof signature is invalid.")
	}
	if c.HTM != method || c.HTU != url || c.JTI == "" || time.Since(time.Unix(c.IAT, 0)).Abs() > 5*time.Minute {
		return bad("The DPoP proof htm, htu, iat or jti is not valid for this request.")
	}
	if s.usedJTIs["dpop:"+c.JTI] {
		return bad("The DPoP proof jti has already been used.")
	}
	s.usedJTIs["dpop:"+c.JTI] = true
	if ath != "" && c.ATH != ath {
		return bad("The DPoP proof ath does not match the access token.")
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("The DPoP proof key has no thumbprint.")
	}
	return base64.RawURLEncoding.EncodeToString(thumb), c.Nonce, nil
}

type dpopError struct{ msg string }

func (e *dpopError) Error() string { return e.msg }

// authorized checks an API request's credentials: the SSWS API token, or
// a service app's access token (bearer, or DPoP-bound with its proof)
// holding scope. Caller holds mu.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, scope string) bool {
	auth := r.Header.Get("Authorization")
	if s.token != "" && auth == "SSWS "+s.token {
		return true
	}
	kind, access, _ := strings.Cut(auth, " ")
	t, ok := s.accessTokens[access]
	switch {
	case !ok || time.Now().After(t.expires) || (kind != "Bearer" && kind != "DPoP"):
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+tokenURL(r)+`", error="invalid_token", error_description="The access token is invalid."`)
		writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return false
	case t.jkt != "" && kind != "DPoP", t.jkt == "" && kind != "Bearer":
		writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided", "the token type does not match how it was issued")
		return false
	case t.jkt != "":
		h := sha256.Sum256([]byte(access))
		jkt, _, err := s.checkProof(r.Header.Get("DPoP"), r.Method, "http://"+r.Host+r.URL.Path, base64.RawURLEncoding.EncodeToString(h[:]))
		if err != nil || jkt != t.jkt {
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`)
			writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided", "the DPoP proof does not match the access token")
			return false
		}
	}
	if !slices.Contains(t.scopes, scope) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", scope="`+scope+`"`)
		writeError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return false
	}
	return true
}

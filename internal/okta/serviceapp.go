package okta

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Scopes are what Hubkeeper asks a service app's access token for.
const Scopes = "okta.users.read okta.groups.read"

const tokenPath = "/oauth2/v1/token"

// ServiceApp is an Okta API service app that authenticates with
// private_key_jwt, which Okta recommends over SSWS tokens (those carry
// their creator's privileges and die after 30 days unused).
type ServiceApp struct {
	ClientID string
	// PrivateKey is the app's private key as PEM (PKCS #8, PKCS #1 or SEC
	// 1) or as the JWK the Okta console generates.
	PrivateKey string
	// KeyID is the key's kid in Okta ("": a JWK's own kid, if any).
	KeyID string
}

// ParseServiceApp checks the app's key and returns what signs with it.
func ParseServiceApp(app ServiceApp) (jose.SigningKey, error) {
	if app.ClientID == "" {
		return jose.SigningKey{}, errors.New("okta: the service app's client id is required")
	}
	key, kid, err := parsePrivateKey(app.PrivateKey)
	if err != nil {
		return jose.SigningKey{}, err
	}
	if app.KeyID != "" {
		kid = app.KeyID
	}
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return jose.SigningKey{}, errors.New("okta: the service app's RSA key must have at least 2048 bits")
		}
		alg = jose.RS256
	case *ecdsa.PrivateKey:
		alg = map[elliptic.Curve]jose.SignatureAlgorithm{elliptic.P256(): jose.ES256, elliptic.P384(): jose.ES384, elliptic.P521(): jose.ES512}[k.Curve]
	}
	if alg == "" {
		return jose.SigningKey{}, errors.New("okta: the service app's key must be RSA or EC (P-256, P-384, P-521)")
	}
	return jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg)}}, nil
}

// parsePrivateKey reads a PEM or JWK private key and its kid, if a JWK has one.
func parsePrivateKey(text string) (crypto.Signer, string, error) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{") {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON([]byte(text)); err != nil || jwk.IsPublic() {
			return nil, "", errors.New("okta: the service app's private key is not a private JWK")
		}
		signer, ok := jwk.Key.(crypto.Signer)
		if !ok {
			return nil, "", errors.New("okta: the service app's JWK is not a signing key")
		}
		return signer, jwk.KeyID, nil
	}
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, "", errors.New("okta: the service app's private key is neither PEM nor a JWK")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if signer, ok := k.(crypto.Signer); ok {
			return signer, "", nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, "", nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, "", nil
	}
	return nil, "", errors.New("okta: the service app's PEM holds no RSA or EC private key")
}

// appAuth holds a service app's access token and renews it before it
// expires. When the app requires DPoP (Okta's default for new service
// apps), the token is bound to a key made for this client, and every
// request carries a proof signed with it.
type appAuth struct {
	clientID string
	signing  jose.SigningKey
	tokenURL string
	access   string
	expires  time.Time
	// dpop is the proof key once Okta asked for one; nonce the last nonce
	// it gave.
	dpop  *ecdsa.PrivateKey
	nonce string
}

// authorize sets a request's credentials, fetching an access token first
// when there is none or it is about to expire.
func (a *appAuth) authorize(ctx context.Context, c *Client, req *http.Request) error {
	if a.access == "" || time.Until(a.expires) < time.Minute {
		if err := a.fetch(ctx, c); err != nil {
			return err
		}
	}
	if a.dpop == nil {
		req.Header.Set("Authorization", "Bearer "+a.access)
		return nil
	}
	h := sha256.Sum256([]byte(a.access))
	proof, err := a.proof(req.Method, req.URL, base64.RawURLEncoding.EncodeToString(h[:]))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+a.access)
	req.Header.Set("DPoP", proof)
	return nil
}

// forget drops the access token (Okta refused it), so the next request fetches another.
func (a *appAuth) forget() { a.access = "" }

// fetch trades a client assertion for an access token. Okta answers a
// token request without DPoP proof for an app that needs one with
// invalid_dpop_proof, and a proof without its nonce with use_dpop_nonce
// and the nonce: both are met once each.
func (a *appAuth) fetch(ctx context.Context, c *Client) error {
	for attempt := 0; attempt < 3; attempt++ {
		assertion, err := a.assertion()
		if err != nil {
			return err
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {Scopes},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		if a.dpop != nil {
			proof, err := a.proof(http.MethodPost, req.URL, "")
			if err != nil {
				return err
			}
			req.Header.Set("DPoP", proof)
		}
		c.requests++
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &domain.ProviderError{Provider: "okta", Kind: domain.Transient, Message: "token request failed: " + providerhttp.TransportError(err)}
		}
		var body struct {
			AccessToken      string `json:"access_token"`
			TokenType        string `json:"token_type"`
			ExpiresIn        int    `json:"expires_in"`
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK && err == nil && body.AccessToken != "":
			a.access, a.expires = body.AccessToken, time.Now().Add(time.Duration(body.ExpiresIn)*time.Second)
			return nil
		case body.Error == "invalid_dpop_proof" && a.dpop == nil:
			if a.dpop, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
				return err
			}
		case body.Error == "use_dpop_nonce" && resp.Header.Get("DPoP-Nonce") != "" && a.nonce != resp.Header.Get("DPoP-Nonce"):
			a.nonce = resp.Header.Get("DPoP-Nonce")
		default:
			return tokenError(resp, body.Error, body.ErrorDescription)
		}
	}
	return &domain.ProviderError{Provider: "okta", Kind: domain.Permanent, Message: "the token endpoint kept asking for another DPoP proof"}
}

// tokenError classifies a refused token request. Its text is Okta's, which
// names no secret.
func tokenError(resp *http.Response, code, description string) error {
	msg := fmt.Sprintf("the token endpoint answered %d %s: %s", resp.StatusCode, code, description)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return &domain.ProviderError{Provider: "okta", Kind: domain.RateLimited, Status: resp.StatusCode, Message: msg, RetryAfter: resetWait(resp.Header)}
	case resp.StatusCode >= 500:
		return &domain.ProviderError{Provider: "okta", Kind: domain.Transient, Status: resp.StatusCode, Message: msg}
	case code == "invalid_client", code == "unauthorized_client", code == "invalid_scope", code == "access_denied":
		return &domain.ProviderError{Provider: "okta", Kind: domain.AuthBroken, Status: resp.StatusCode, Code: code,
			Message: msg + " (check the service app's client id, its public key in Okta, and its granted scopes " + Scopes + ")"}
	}
	return &domain.ProviderError{Provider: "okta", Kind: domain.Permanent, Status: resp.StatusCode, Code: code, Message: msg}
}

// assertion is a fresh client assertion: the app's own id as issuer and
// subject, the token endpoint as audience, valid for five minutes, once.
func (a *appAuth) assertion() (string, error) {
	signer, err := jose.NewSigner(a.signing, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	now := time.Now()
	return jwt.Signed(signer).Claims(jwt.Claims{Issuer: a.clientID, Subject: a.clientID, Audience: jwt.Audience{a.tokenURL},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: randomJTI()}).Serialize()
}

// proof is a DPoP proof (RFC 9449) for one request: its method and URL
// without query, and ath, the access token's hash, on API requests.
func (a *appAuth) proof(method string, u *url.URL, ath string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.dpop},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", err
	}
	claims := map[string]any{"htm": method, "htu": u.Scheme + "://" + u.Host + u.Path, "iat": time.Now().Unix(), "jti": randomJTI()}
	if a.nonce != "" {
		claims["nonce"] = a.nonce
	}
	if ath != "" {
		claims["ath"] = ath
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func randomJTI() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package okta_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// recorder notes the Authorization schemes and DPoP proofs an org sees.
type recorder struct {
	mu      sync.Mutex
	schemes map[string]int
	proofs  int
	tokens  int
}

func (rec *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		if r.URL.Path == "/oauth2/v1/token" {
			rec.tokens++
		} else {
			scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			rec.schemes[scheme]++
		}
		if r.Header.Get("DPoP") != "" {
			rec.proofs++
		}
		rec.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// serviceAppOrg is an org with a registered service app whose key signs.
func serviceAppOrg(t *testing.T, key crypto.Signer, dpop bool, scopes ...string) (*oktasandbox.Server, string, *recorder, []seed.Person) {
	t.Helper()
	people := seed.Company("acme.test", 450, 11)
	sb := oktasandbox.New(token, people)
	sb.RegisterServiceApp(oktasandbox.ServiceApp{ClientID: "0oa1hubkeeper", RequireDPoP: dpop, Scopes: scopes,
		PublicKey: jose.JSONWebKey{Key: key.Public(), KeyID: "kid-1"}})
	rec := &recorder{schemes: map[string]int{}}
	srv := httptest.NewServer(rec.wrap(sb.Handler()))
	t.Cleanup(srv.Close)
	return sb, srv.URL, rec, people
}

func pkcs8(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func jwk(t *testing.T, key crypto.Signer, kid string) string {
	t.Helper()
	raw, err := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: "RS256"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// A service app imports with an access token from a private_key_jwt
// assertion, its key given as PEM or as Okta's JWK, RSA or EC; with DPoP
// when the app requires it, the token bound to a proof on every request.
func TestServiceAppImports(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		pem  func() string
		dpop bool
	}{
		{"RSAPEM", rsaKey, func() string { return pkcs8(t, rsaKey) }, false},
		{"RSAJWK", rsaKey, func() string { return jwk(t, rsaKey, "kid-1") }, false},
		{"ECPEM", ecKey, func() string { return pkcs8(t, ecKey) }, false},
		{"RSADPoP", rsaKey, func() string { return pkcs8(t, rsaKey) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base, rec, people := serviceAppOrg(t, tc.key, tc.dpop, "okta.users.read", "okta.groups.read")
			c, err := okta.NewServiceApp(base, okta.ServiceApp{ClientID: "0oa1hubkeeper", PrivateKey: tc.pem(), KeyID: "kid-1"})
			if err != nil {
				t.Fatal(err)
			}
			got, res, err := importAll(t, c)
			if err != nil || len(got) != len(people) || !res.FullListing {
				t.Fatalf("imported %d of %d: %v", len(got), len(people), err)
			}
			want := map[string]int{"Bearer": pages(len(people))}
			if tc.dpop {
				want = map[string]int{"DPoP": pages(len(people))}
			}
			if len(rec.schemes) != 1 || rec.schemes["Bearer"] != want["Bearer"] || rec.schemes["DPoP"] != want["DPoP"] {
				t.Fatalf("schemes %v, want %v", rec.schemes, want)
			}
			// DPoP: the token request is refused without a proof, then
			// without the nonce, then answered; every API request has a proof.
			if wantTokens := map[bool]int{false: 1, true: 3}[tc.dpop]; rec.tokens != wantTokens {
				t.Fatalf("%d token requests, want %d", rec.tokens, wantTokens)
			}
			if tc.dpop && rec.proofs != 2+pages(len(people)) {
				t.Fatalf("%d DPoP proofs", rec.proofs)
			}
		})
	}
}

// A token Okta stops taking is replaced once, unseen by the import.
func TestServiceAppTokenRenewed(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	sb, base, rec, people := serviceAppOrg(t, key, false, "okta.users.read", "okta.groups.read")
	c, err := okta.NewServiceApp(base, okta.ServiceApp{ClientID: "0oa1hubkeeper", PrivateKey: pkcs8(t, key)})
	if err != nil {
		t.Fatal(err)
	}
	pagesSeen := 0
	_, err = c.ImportUsers(context.Background(), "", func(users []domain.DirectoryUser, _ string) error {
		if pagesSeen++; pagesSeen == 1 {
			sb.ExpireAccessTokens()
		}
		return nil
	})
	if err != nil || rec.tokens != 2 || pagesSeen != pages(len(people)) {
		t.Fatalf("err %v, %d token requests, %d pages", err, rec.tokens, pagesSeen)
	}
}

// A wrong key or a scope Okta did not grant breaks the directory's
// authentication, with Okta's reason and no key material.
func TestServiceAppRefused(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tc := range map[string]struct {
		signer crypto.Signer
		scopes []string
		says   string
	}{
		"WrongKey":        {other, []string{"okta.users.read", "okta.groups.read"}, "invalid_client"},
		"ScopeNotGranted": {key, []string{"okta.users.read"}, "invalid_scope"},
	} {
		t.Run(name, func(t *testing.T) {
			_, base, _, _ := serviceAppOrg(t, key, false, tc.scopes...)
			private := pkcs8(t, tc.signer)
			c, err := okta.NewServiceApp(base, okta.ServiceApp{ClientID: "0oa1hubkeeper", PrivateKey: private})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = importAll(t, c)
			pe, ok := domain.AsProviderError(err)
			if !ok || pe.Kind != domain.AuthBroken || !strings.Contains(pe.Message, tc.says) {
				t.Fatalf("err = %v", err)
			}
			body := strings.Split(private, "\n")[1]
			if strings.Contains(err.Error(), body[:20]) {
				t.Fatal("the key is in the error")
			}
		})
	}
	for name, app := range map[string]okta.ServiceApp{
		"NoClientID": {PrivateKey: pkcs8(t, key)},
		"NotAKey":    {ClientID: "0oa1", PrivateKey: "hello"},
		"PublicJWK":  {ClientID: "0oa1", PrivateKey: func() string { raw, _ := jose.JSONWebKey{Key: key.Public()}.MarshalJSON(); return string(raw) }()},
	} {
		if _, err := okta.ParseServiceApp(app); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

package egress

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckBaseURL(t *testing.T) {
	p, err := Parse(" 127.0.0.1:8093, sandbox.internal ,[::1]:9000")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		service Service
		raw     string
		ok      bool
	}{
		{MetaGraph, "https://graph.facebook.com", true},
		{PinterestAPI, "https://api.pinterest.com", true},
		{PinterestAPI, "https://www.pinterest.com", false},
		{MetaGraph, "https://graph.facebook.com:443/", true},
		{MetaGraph, "http://graph.facebook.com", false},
		{MetaGraph, "https://graph.facebook.com:8443", false},
		{MetaGraph, "https://graph.facebook.com.evil.example", false},
		{MetaGraph, "https://evil.example", false},
		{MetaGraph, "http://169.254.169.254", false},
		{MetaGraph, "http://127.0.0.1:9464", false},
		{MetaGraph, "http://127.0.0.1:8093", true},
		{MetaGraph, "https://127.0.0.1:8093", true},
		{MetaGraph, "http://sandbox.internal:1234", true},
		{MetaGraph, "http://[::1]:9000", true},
		{MetaGraph, "http://[::1]:9001", false},
		{Okta, "https://acme.okta.com", true},
		{Okta, "https://acme.oktapreview.com", true},
		{Okta, "https://okta.com", false},
		{Okta, "https://acme.okta.com.evil.example", false},
		{Okta, "https://evilokta.com", false},
		{Okta, "https://graph.facebook.com", false},
		{EntraLogin, "https://login.microsoftonline.com", true},
		{EntraLogin, "https://graph.microsoft.com", false},
		{EntraGraph, "https://graph.microsoft.com", true},
		{PinterestWeb, "https://www.pinterest.com", true},
		{PinterestWeb, "https://pinterest.com", true},
		{PinterestWeb, "https://www.pinterest.com.evil.example", false},
	} {
		err := p.CheckBaseURL(tc.service, "field", tc.raw)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: error %v, want ok=%v", tc.service, tc.raw, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), Setting) {
			t.Errorf("refusal %q does not say what allows it", err)
		}
	}
}

func TestParseRefusesBadEntries(t *testing.T) {
	for _, bad := range []string{"http://x", "x:", "*.example.com", "a@b", "x/y"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

func TestPublic(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "157.240.1.1": true, "2a03:2880::1": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "::": false, "fe80::1": false, "fd00:ec2::254": false,
		"::ffff:127.0.0.1": false, "::ffff:169.254.169.254": false, "64:ff9b::a9fe:a9fe": false, "224.0.0.1": false,
		"255.255.255.255": false, "2002:7f00:1::": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != public {
			t.Errorf("Public(%s) = %v", addr, got)
		}
	}
}

// TestClientRefusesLocalAddresses dials through the policy: a loopback
// server is refused by address, by a name that resolves to it, and as a
// redirect target; allowed by the operator, it is reached.
func TestClientRefusesLocalAddresses(t *testing.T) {
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/metadata", http.StatusFound)
	}))
	defer redirector.Close()
	targetHost := strings.TrimPrefix(target.URL, "http://")
	redirectorHost := strings.TrimPrefix(redirector.URL, "http://")
	_, port, _ := strings.Cut(targetHost, ":")

	get := func(p Policy, raw string) error {
		resp, err := p.Client(5 * time.Second).Get(raw)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for name, tc := range map[string]struct {
		policy string
		url    string
	}{
		"Loopback":         {"", target.URL},
		"LocalhostName":    {"", "http://localhost:" + port},
		"OtherPortAllowed": {"127.0.0.1:1", target.URL},
		"Redirect":         {redirectorHost, redirector.URL},
		"Metadata":         {"", "http://169.254.169.254/latest/meta-data/"},
	} {
		p, _ := Parse(tc.policy)
		err := get(p, tc.url)
		var ue *url.Error
		if !errors.Is(err, ErrRefused) || !errors.As(err, &ue) {
			t.Errorf("%s: error %v, want a refusal", name, err)
		}
	}
	if hits != 0 {
		t.Fatalf("a refused request reached the server %d times", hits)
	}
	p, _ := Parse(targetHost)
	if err := get(p, target.URL); err != nil || hits != 1 {
		t.Fatalf("allowed host: %v, %d hits", err, hits)
	}
	p, _ = Parse("localhost:" + port)
	if err := get(p, "http://localhost:"+port); err != nil || hits != 2 {
		t.Fatalf("allowed name: %v, %d hits", err, hits)
	}
}

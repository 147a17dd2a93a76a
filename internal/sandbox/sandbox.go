// Package sandbox runs the simulated providers together, seeded with one
// demo company, so Hubkeeper can be seen working without real accounts.
package sandbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/entrasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// Demo company and app registration of the sandbox.
const (
	DemoDomain      = "acme.example"
	DemoSize        = 400
	DemoSeed        = 42
	DemoEntraTenant = "7d3f2a10-5c1b-4e8a-9f00-acbe00000001"
	DemoEntraClient = "c0ffee00-1234-4abc-8def-acbe00000002"
	DemoBusinessID  = "104857600000001"
	// DemoPinterestBusinessID and DemoPinterestAutomation are the demo's
	// Pinterest business and the automation account (a Manager) that logs in.
	DemoPinterestBusinessID = "549755813888"
	DemoPinterestAutomation = "hubkeeper-bot@" + DemoDomain
	// DemoPinterestAPIBusinessID is the demo's Pinterest business reached
	// through the API, by the app DemoPinterestClientID, whose consent the
	// automation account (a Manager there too) gives.
	DemoPinterestAPIBusinessID = "549755813889"
	DemoPinterestClientID      = "1487262"
	// DemoConsoleClientID is the console's OIDC web app in the sandbox Okta.
	DemoConsoleClientID = "0oahubkeeperconsole"
)

// Options configure the sandbox servers.
type Options struct {
	OktaAddr      string
	EntraAddr     string
	MetaAddr      string
	PinterestAddr string
	OktaToken     string
	EntraSecret   string
	MetaToken     string
	// PinterestPassword is the automation account's password.
	PinterestPassword string
	// PinterestClientSecret, when set, registers the app
	// DemoPinterestClientID with it, redirecting to PinterestRedirectURI.
	PinterestClientSecret, PinterestRedirectURI string
}

// Sandbox is the running providers.
type Sandbox struct {
	Okta      *oktasandbox.Server
	Entra     *entrasandbox.Server
	Meta      *metasandbox.Server
	Pinterest *pinsandbox.Server
	OktaURL   string
	EntraURL  string
	MetaURL   string
	// PinterestURL is the sandbox Pinterest Business web app and API.
	PinterestURL string
	servers      []*http.Server
}

// Start serves the sandbox Okta org, Entra tenant and Meta Graph API until ctx ends.
func Start(ctx context.Context, o Options) (*Sandbox, error) {
	if o.OktaToken == "" || o.EntraSecret == "" || o.MetaToken == "" || o.PinterestPassword == "" {
		return nil, errors.New("sandbox: an Okta token, an Entra client secret, a Meta token and a Pinterest password are required")
	}
	people := seed.Company(DemoDomain, DemoSize, DemoSeed)
	s := &Sandbox{Okta: oktasandbox.New(o.OktaToken, people),
		Entra: entrasandbox.New(DemoEntraTenant, DemoEntraClient, o.EntraSecret, people), Meta: metasandbox.New()}
	s.Meta.AddBusiness(metasandbox.NewBusiness(DemoBusinessID, DemoDomain, people, metasandbox.DemoShape, time.Now()), o.MetaToken)
	s.Pinterest = pinsandbox.New()
	s.Pinterest.AddBusiness(pinsandbox.NewDemoBusiness(DemoPinterestBusinessID, "Acme", DemoPinterestAutomation, people, 180, 8))
	s.Pinterest.AddBusiness(pinsandbox.NewDemoBusiness(DemoPinterestAPIBusinessID, "Acme Studio", DemoPinterestAutomation, people[180:], 120, 6))
	s.Pinterest.AddAccount(DemoPinterestAutomation, o.PinterestPassword)
	if o.PinterestClientSecret != "" {
		s.Pinterest.AddApp(DemoPinterestClientID, o.PinterestClientSecret, o.PinterestRedirectURI)
	}
	var err error
	if s.OktaURL, err = s.serve(ctx, o.OktaAddr, s.Okta.Handler()); err != nil {
		return nil, err
	}
	if s.EntraURL, err = s.serve(ctx, o.EntraAddr, s.Entra.Handler()); err != nil {
		s.Close()
		return nil, err
	}
	if s.MetaURL, err = s.serve(ctx, o.MetaAddr, s.Meta); err != nil {
		s.Close()
		return nil, err
	}
	if s.PinterestURL, err = s.serve(ctx, o.PinterestAddr, s.Pinterest); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sandbox) serve(ctx context.Context, addr string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + l.Addr().String(), nil
}

// Close stops the servers.
func (s *Sandbox) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

package pinterestapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	businessID = "549755813888"
	automation = "automation@acme.test"
	password   = "correct horse battery staple"
	redirect   = "http://127.0.0.1:8080/v1/pinterest/oauth/callback"
)

// consent allows the app as the automation account would; it returns the
// code Pinterest sends back.
func consent(t *testing.T, app pinterestapi.App) string {
	t.Helper()
	back, err := pinsandbox.Consent(context.Background(), app.AuthorizeURL(redirect, "state-1"), automation, password, true)
	if err != nil || back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("consent answer %v, %v", back, err)
	}
	return back.Query().Get("code")
}

func setup(t *testing.T) (*pinsandbox.Server, pinterestapi.App, pinterestapi.Tokens, string) {
	s := pinsandbox.New()
	s.AddBusiness(pinsandbox.NewDemoBusiness(businessID, "Acme", automation, seed.Company("acme.test", 700, 10), 600, 12))
	s.AddAccount(automation, password)
	s.AddApp("1487262", "app-secret", redirect)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	app := pinterestapi.App{ClientID: "1487262", Secret: "app-secret", APIBase: srv.URL, ConsentURL: srv.URL + "/oauth/", HTTP: srv.Client()}
	tokens, err := app.Exchange(context.Background(), consent(t, app), redirect)
	if err != nil {
		t.Fatal(err)
	}
	return s, app, tokens, srv.URL
}

var policy = providerhttp.Policy{Attempts: 3, MaxWait: time.Second, Base: time.Millisecond}

func TestReadBusiness(t *testing.T) {
	s, _, tokens, base := setup(t)
	if tokens.Scope != pinterestapi.Scopes || tokens.Refresh == "" || time.Until(tokens.AccessExpires) < 29*24*time.Hour {
		t.Fatalf("tokens %+v", tokens)
	}
	c, err := pinterestapi.New(base, tokens.Access, http.DefaultClient, policy)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := s.Business(businessID)
	var members, partners []domain.BusinessMember
	var grants []domain.Grant
	for _, read := range []struct {
		fn  func(context.Context, string, string) (pinterestapi.People, error)
		out *[]domain.BusinessMember
	}{{c.Members, &members}, {c.Partners, &partners}} {
		for bookmark, pages := "", 0; pages == 0 || bookmark != ""; pages++ {
			p, err := read.fn(ctx, businessID, bookmark)
			if err != nil {
				t.Fatal(err)
			}
			*read.out = append(*read.out, p.Members...)
			grants = append(grants, p.Grants...)
			bookmark = p.Next
		}
	}
	wantPartners, held := 0, 0
	for _, m := range b.Members {
		if m.Role == pinsandbox.RolePartner {
			wantPartners++
		}
	}
	for _, a := range b.AdAccounts {
		held += len(a.Holders)
	}
	if len(members)+len(partners) != len(b.Members) || len(partners) != wantPartners || len(grants) != held {
		t.Fatalf("%d members, %d partners, %d grants; the business has %d people (%d partners) holding %d", len(members), len(partners),
			len(grants), len(b.Members), wantPartners, held)
	}
	for _, m := range append(members, partners...) {
		if want := b.Members[m.ExternalID]; want == nil || want.Email != m.Email || want.Role != m.Role || m.Kind != domain.MemberUser {
			t.Fatalf("member %+v, business has %+v", m, want)
		}
	}
	for _, g := range grants {
		if b.AdAccounts[g.AssetID].Holders[g.MemberID] != strings.Join(g.Tasks, ",") {
			t.Fatalf("grant %+v", g)
		}
	}
	// Roles by id, 24 ids a request; an id not in the business is absent.
	ids := []string{"999999999"}
	for _, m := range members[:29] {
		ids = append(ids, m.ExternalID)
	}
	before := c.Requests()
	roles, err := c.MemberRoles(ctx, businessID, ids)
	if err != nil || len(roles) != 29 || c.Requests()-before != 2 || roles[members[0].ExternalID] != members[0].Role {
		t.Fatalf("roles of %d ids: %d in %d requests, %v", len(ids), len(roles), c.Requests()-before, err)
	}
	assets, next, err := c.AdAccounts(ctx, businessID, "")
	if err != nil || next != "" || len(assets) != len(b.AdAccounts) {
		t.Fatalf("%d ad accounts, next %q, %v", len(assets), next, err)
	}
	if c.Requests() != 3+1+2+1 { // 600 members at 250 a page, partners, the roles, ad accounts
		t.Fatalf("%d requests", c.Requests())
	}
}

// Invitations, roles, removals and permissions: each item answered on its own.
func TestChanges(t *testing.T) {
	s, _, tokens, base := setup(t)
	c, _ := pinterestapi.New(base, tokens.Access, http.DefaultClient, policy)
	ctx := context.Background()
	b := s.Business(businessID)
	var employee *pinsandbox.Member
	for _, m := range b.Members {
		if m.Role == pinsandbox.RoleEmployee && (employee == nil || m.ID < employee.ID) {
			employee = m
		}
	}
	ids, errs, err := c.Invite(ctx, businessID, "EMPLOYEE", []string{"new.hire@acme.test", employee.Email})
	if err != nil || ids[0] == "" || errs[0] != nil || errs[1] == nil {
		t.Fatalf("invite: %v %v %v", ids, errs, err)
	}
	pending, _, err := c.Invitations(ctx, businessID, "")
	if err != nil || !slices.ContainsFunc(pending, func(m domain.BusinessMember) bool {
		return m.ExternalID == ids[0] && m.InvitationStatus == "PENDING" && m.Email == "new.hire@acme.test" && m.Kind == domain.MemberInvitation
	}) {
		t.Fatalf("pending %+v, %v", pending, err)
	}
	if errs, err := c.CancelInvitations(ctx, businessID, []string{ids[0], "123"}); err != nil || errs[0] != nil || errs[1] == nil {
		t.Fatalf("cancel: %v %v", errs, err)
	}
	if errs, err := c.SetRoles(ctx, businessID, []pinterestapi.MemberRole{{MemberID: employee.ID, Role: "BIZ_ADMIN"},
		{MemberID: "999999", Role: "EMPLOYEE"}}); err != nil || errs[0] != nil || errs[1] == nil || b.Members[employee.ID].Role != "BIZ_ADMIN" {
		t.Fatalf("roles: %v %v", errs, err)
	}
	account := ""
	for id, a := range b.AdAccounts {
		if _, ok := a.Holders[employee.ID]; !ok {
			account = id
		}
	}
	access := pinterestapi.Access{AssetID: account, MemberID: employee.ID, Permissions: []string{"ANALYST"}}
	if errs, err := c.Grant(ctx, businessID, []pinterestapi.Access{access, {AssetID: account, MemberID: employee.ID,
		Permissions: []string{"PROFILE_PUBLISHER"}}}); err != nil || errs[0] != nil || errs[1] == nil {
		t.Fatalf("grant: %v %v", errs, err)
	}
	if revoked, err := c.Revoke(ctx, businessID, []pinterestapi.Access{access}); err != nil || !revoked[[2]string{account, employee.ID}] {
		t.Fatalf("revoke: %v %v", revoked, err)
	}
	gone, err := c.RemoveMembers(ctx, businessID, []pinterestapi.MemberRole{{MemberID: employee.ID, Role: "BIZ_ADMIN"}})
	if err != nil || !gone[employee.ID] || b.Members[employee.ID] != nil {
		t.Fatalf("remove: %v %v", gone, err)
	}
	if _, _, err := c.Invite(ctx, businessID, "EMPLOYEE", make([]string, 51)); err == nil {
		t.Fatal("a batch of 51 was sent")
	}
}

// Errors are classified once: a throttle carries the reset, an expired
// token is AuthBroken until a refresh renews it, a revoked refresh token
// is AuthBroken.
func TestErrors(t *testing.T) {
	s, app, tokens, base := setup(t)
	ctx := context.Background()
	c, _ := pinterestapi.New(base, tokens.Access, http.DefaultClient, policy)
	s.ThrottleAPI(5)
	_, err := c.Members(ctx, businessID, "")
	var pe *domain.ProviderError
	if !errors.As(err, &pe) || pe.Kind != domain.RateLimited || pe.RetryAfter != time.Minute || pe.Code != "29" {
		t.Fatalf("throttled: %v", err)
	}
	s.ThrottleAPI(0)
	s.ExpireAccessTokens()
	if _, err := c.Members(ctx, businessID, ""); !errors.As(err, &pe) || pe.Kind != domain.AuthBroken || !strings.Contains(pe.Message, "oauth/start") {
		t.Fatalf("expired token: %v", err)
	}
	renewed, err := app.Refresh(ctx, tokens.Refresh)
	if err != nil || renewed.Access == tokens.Access || renewed.Refresh == tokens.Refresh {
		t.Fatalf("refresh: %+v %v", renewed, err)
	}
	c, _ = pinterestapi.New(base, renewed.Access, http.DefaultClient, policy)
	if _, err := c.Members(ctx, businessID, ""); err != nil {
		t.Fatalf("after the refresh: %v", err)
	}
	s.RevokeRefreshTokens()
	if _, err := app.Refresh(ctx, renewed.Refresh); !errors.As(err, &pe) || pe.Kind != domain.AuthBroken {
		t.Fatalf("revoked refresh token: %v", err)
	}
	wrong := app
	wrong.Secret = "not-it"
	if _, err := wrong.Refresh(ctx, renewed.Refresh); !errors.As(err, &pe) || pe.Kind != domain.Permanent || strings.Contains(pe.Message, "not-it") {
		t.Fatalf("a wrong app secret: %v", err)
	}
}

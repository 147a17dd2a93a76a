package pinterest_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/pinterest"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

const (
	businessID = "549755813888"
	automation = "automation@acme.test"
	password   = "Pinterest-sandbox-Pa55word!"
)

func launch(t *testing.T) *browser.Browser {
	t.Helper()
	b, err := browser.Launch(browser.Options{Sessions: 2, PageTimeout: 20 * time.Second, CaptureDir: t.TempDir(),
		Hosts: egress.Policy{Allowed: []string{"127.0.0.1"}}})
	if err != nil {
		t.Fatalf("%v (the browser tests need Chromium: apt-get install chromium)", err)
	}
	t.Cleanup(b.Close)
	return b
}

func sandbox(t *testing.T, flow string) (*pinsandbox.Server, string) {
	t.Helper()
	s := pinsandbox.New()
	s.Flow, s.PageSize = flow, 20
	s.AddBusiness(pinsandbox.NewDemoBusiness(businessID, "Acme", automation, seed.Company("acme.test", 100, 9), 70, 3))
	s.AddAccount(automation, password)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func session(t *testing.T, b *browser.Browser) *browser.Session {
	t.Helper()
	s, err := b.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// all reads every page of members, expiring the session after expireAfter pages (0: never).
func all(t *testing.T, c *pinterest.Client, sb *pinsandbox.Server, expireAfter int) []domain.BusinessMember {
	t.Helper()
	var members []domain.BusinessMember
	next, pages := "", 0
	for {
		page, err := c.Members(next)
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, page.Members...)
		if pages++; pages == expireAfter {
			sb.ExpireSessions()
		}
		if next = page.Next; next == "" {
			return members
		}
	}
}

func TestImportBothFlowsWithVerificationAndExpiry(t *testing.T) {
	b := launch(t)
	for _, flow := range []string{pinsandbox.FlowEmployees, pinsandbox.FlowPeople} {
		t.Run(flow, func(t *testing.T) {
			sb, base := sandbox(t, flow)
			sb.RequireVerification = true
			asked := 0
			code := func(context.Context) (string, error) { asked++; return sb.VerificationCode(automation), nil }
			c, err := pinterest.Open(context.Background(), session(t, b), base, businessID, pinterest.Account{Email: automation, Password: password}, code)
			if err != nil {
				t.Fatal(err)
			}
			members := all(t, c, sb, 2)
			want := sb.Business(businessID).Members
			if len(members) != len(want) {
				t.Fatalf("%d members, want %d", len(members), len(want))
			}
			for _, m := range members {
				w := want[m.ExternalID]
				if w == nil || w.Email != m.Email || w.Role != m.Role || w.Name != m.Name {
					t.Fatalf("member %+v, sandbox has %+v", m, w)
				}
			}
			// The session expired after page 2: one more login, and the trusted browser needed no second code.
			if c.Logins != 2 || asked != 1 {
				t.Fatalf("logins %d, codes asked %d; want 2 and 1", c.Logins, asked)
			}
		})
	}
}

func TestWrongPasswordFailsAsAuthWithoutThePassword(t *testing.T) {
	b := launch(t)
	_, base := sandbox(t, pinsandbox.FlowPeople)
	wrong := "Not-the-Pa55word-" + password
	_, err := pinterest.Open(context.Background(), session(t, b), base, businessID, pinterest.Account{Email: automation, Password: wrong}, nil)
	pe, ok := domain.AsProviderError(err)
	if !ok || pe.Kind != domain.AuthBroken || !strings.Contains(pe.Message, "refused the automation account's password") {
		t.Fatalf("err = %v, want auth_broken", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatal("the error shows the password")
	}
	// The failure kept a screenshot and the page, neither with the password.
	i := strings.Index(pe.Message, "page ")
	htmlPath := strings.TrimSuffix(pe.Message[i+len("page "):], ")")
	html, err := os.ReadFile(htmlPath)
	if err != nil || !strings.Contains(string(html), "login-form") || strings.Contains(string(html), wrong) {
		t.Fatalf("captured page %s: %v", htmlPath, err)
	}
	if st, err := os.Stat(strings.TrimSuffix(htmlPath, ".html") + ".png"); err != nil || st.Size() == 0 {
		t.Fatalf("no screenshot: %v", err)
	}
}

func TestVerificationWithoutCodeAndNonManager(t *testing.T) {
	b := launch(t)
	sb, base := sandbox(t, pinsandbox.FlowEmployees)
	sb.RequireVerification = true
	_, err := pinterest.Open(context.Background(), session(t, b), base, businessID, pinterest.Account{Email: automation, Password: password}, nil)
	if pe, ok := domain.AsProviderError(err); !ok || pe.Code != pinterest.ErrVerificationRequired {
		t.Fatalf("err = %v, want %s", err, pinterest.ErrVerificationRequired)
	}
	sb.RequireVerification = false
	var employee string
	for _, m := range sb.Business(businessID).Members {
		if m.Role == pinsandbox.RoleEmployee {
			employee = m.Email
			break
		}
	}
	sb.AddAccount(employee, "employee-pw")
	_, err = pinterest.Open(context.Background(), session(t, b), base, businessID, pinterest.Account{Email: employee, Password: "employee-pw"}, nil)
	if pe, ok := domain.AsProviderError(err); !ok || pe.Kind != domain.Permanent || !strings.Contains(pe.Message, "Manager role") {
		t.Fatalf("err = %v, want a permanent not-a-manager failure", err)
	}
}

func TestActionsBothFlows(t *testing.T) {
	b := launch(t)
	for _, flow := range []string{pinsandbox.FlowEmployees, pinsandbox.FlowPeople} {
		t.Run(flow, func(t *testing.T) {
			sb, base := sandbox(t, flow)
			c, err := pinterest.Open(context.Background(), session(t, b), base, businessID, pinterest.Account{Email: automation, Password: password}, nil)
			if err != nil {
				t.Fatal(err)
			}
			biz := sb.Business(businessID)

			// Ad accounts and who holds them, as the sandbox has them.
			assets, grants, err := c.AdAccounts()
			if err != nil {
				t.Fatal(err)
			}
			wantGrants := 0
			for _, a := range biz.AdAccounts {
				wantGrants += len(a.Holders)
			}
			if len(assets) != len(biz.AdAccounts) || len(grants) != wantGrants {
				t.Fatalf("%d ad accounts, %d grants; sandbox has %d, %d", len(assets), len(grants), len(biz.AdAccounts), wantGrants)
			}
			for _, g := range grants {
				if biz.AdAccounts[g.AssetID].Holders[g.MemberID] != g.Tasks[0] {
					t.Fatalf("grant %+v not in the sandbox", g)
				}
			}

			// Invite two people as Managers; they stay pending until accepted.
			if err := c.Invite([]string{"new.one@acme.test", "new.two@acme.test"}, pinsandbox.RoleManager); err != nil {
				t.Fatal(err)
			}
			pending, err := c.PendingInvites()
			if err != nil || len(pending) != 2 || pending[0].Role != pinsandbox.RoleManager || pending[0].InvitationStatus != "PENDING" {
				t.Fatalf("pending %+v, %v", pending, err)
			}
			if err := c.Invite([]string{"not-an-address"}, pinsandbox.RoleEmployee); err == nil || !strings.Contains(err.Error(), "refused the invitation") {
				t.Fatalf("a bad address: %v", err)
			}

			// Change a role, then remove the member with their ad accounts.
			var member string
			for _, g := range grants {
				if biz.Members[g.MemberID].Role == pinsandbox.RoleEmployee {
					member = g.MemberID
					break
				}
			}
			if err := c.SetRole(member, pinsandbox.RoleManager); err != nil || biz.Members[member].Role != pinsandbox.RoleManager {
				t.Fatalf("role: %v", err)
			}
			if was, err := c.Remove(member); err != nil || !was || biz.Members[member] != nil {
				t.Fatalf("remove: %v, %v", was, err)
			}
			if was, err := c.Remove(member); err != nil || was {
				t.Fatalf("removing again: %v, %v; want nothing to remove", was, err)
			}
			for _, a := range biz.AdAccounts {
				if a.Holders[member] != "" {
					t.Fatal("a removed member still holds an ad account")
				}
			}
		})
	}
}

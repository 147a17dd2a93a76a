// Package pinterest drives the Pinterest Business Manager web app in a
// headless browser as an automation account with the Manager role: login
// (with the verification code Pinterest asks of a new browser), and the
// members list, page by page. A session that expires mid-way logs in again
// and goes on; a refused password is an auth failure, never retried.
package pinterest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Account is the automation account; Password stays in memory here only.
type Account struct {
	Email    string
	Password string
}

// CodeFunc returns the verification code Pinterest sent for a new browser;
// it may wait (for a person to submit it).
type CodeFunc func(ctx context.Context) (string, error)

// ErrVerificationRequired is the Code of the ProviderError returned when
// Pinterest asks for a code and no CodeFunc was given.
const ErrVerificationRequired = "verification_required"

// Client is a logged-in browser session on one business.
type Client struct {
	s          *browser.Session
	base       string
	businessID string
	account    Account
	code       CodeFunc
	// Logins counts logins, the first one included.
	Logins int
}

// Open logs the account in to the business's Business Manager at base
// (https://www.pinterest.com, or a sandbox).
func Open(ctx context.Context, s *browser.Session, base, businessID string, account Account, code CodeFunc) (*Client, error) {
	c := &Client{s: s, base: strings.TrimRight(base, "/"), businessID: businessID, account: account, code: code}
	return c, c.open(c.businessURL(""))
}

func (c *Client) businessURL(rest string) string {
	return c.base + loginUI.BusinessAppPath + url.PathEscape(c.businessID) + "/" + rest
}

// fail classifies an automation failure, keeping a capture of the page.
func (c *Client) fail(kind domain.ProviderErrorKind, code, step, message string) error {
	pe := &domain.ProviderError{Provider: "pinterest", Kind: kind, Code: code, Message: message}
	if capture, err := c.s.Capture("pinterest-" + step); err == nil {
		pe.Message += " (screenshot " + capture.Screenshot + ", page " + capture.HTML + ")"
	}
	return pe
}

// transient wraps a browser error (timeouts, a crashed page) as retryable.
func (c *Client) transient(step string, err error) error {
	return c.fail(domain.Transient, "", step, fmt.Sprintf("%s: %v", step, err))
}

// open loads a page of the business app, logging in first when Pinterest
// sends the browser to its login page (a new or an expired session).
func (c *Client) open(target string) error {
	if err := c.s.Open(target); err != nil {
		return c.transient("open", err)
	}
	if !strings.HasPrefix(c.path(), loginUI.LoginPath) {
		return c.checkAccess()
	}
	if err := c.login(); err != nil {
		return err
	}
	if c.path() != mustPath(target) {
		if err := c.s.Open(target); err != nil {
			return c.transient("open", err)
		}
	}
	return c.checkAccess()
}

func (c *Client) path() string {
	u, err := url.Parse(c.s.URL())
	if err != nil {
		return ""
	}
	return u.Path
}

func mustPath(raw string) string {
	u, _ := url.Parse(raw)
	return u.Path
}

// checkAccess refuses a page that says the account lacks the Manager role.
func (c *Client) checkAccess() error {
	has, _, err := c.s.Timed().Has(loginUI.AccessDenied)
	if err != nil {
		return c.transient("check access", err)
	}
	if has {
		return c.fail(domain.Permanent, "not_manager", "access", fmt.Sprintf("the automation account cannot manage business %s: it needs the Manager role",
			c.businessID))
	}
	return nil
}

// submit types values into fields, clicks the form's button and waits for the next page.
func (c *Client) submit(step string, fields map[string]string, button string) error {
	p := c.s.Timed()
	for sel, value := range fields {
		el, err := p.Element(sel)
		if err != nil {
			return c.transient(step, fmt.Errorf("find %s: %w", sel, err))
		}
		if err := el.Input(value); err != nil {
			return c.transient(step, fmt.Errorf("fill %s: %w", sel, err))
		}
	}
	btn, err := p.Element(button)
	if err != nil {
		return c.transient(step, err)
	}
	return c.click(btn, step)
}

// click clicks an element that leads to another page, and waits for it.
func (c *Client) click(el *rod.Element, step string) error {
	wait := c.s.Timed().WaitNavigation(proto.PageLifecycleEventNameLoad)
	if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
		return c.transient(step, err)
	}
	wait()
	c.s.Pages++
	return nil
}

// login fills the login form, and the verification code when asked.
func (c *Client) login() error {
	if err := c.submit("login", map[string]string{loginUI.Email: c.account.Email, loginUI.Password: c.account.Password}, loginUI.Submit); err != nil {
		return err
	}
	if strings.HasPrefix(c.path(), loginUI.VerifyPath) {
		if c.code == nil {
			return c.fail(domain.Permanent, ErrVerificationRequired, "verification",
				"Pinterest asks for the verification code it sent to the automation account")
		}
		code, err := c.code(c.s.Page.GetContext())
		if err != nil {
			return err
		}
		if err := c.submit("verification", map[string]string{loginUI.VerifyCode: code}, loginUI.VerifySubmit); err != nil {
			return err
		}
		if strings.HasPrefix(c.path(), loginUI.VerifyPath) {
			return c.fail(domain.Permanent, ErrVerificationRequired, "verification", "Pinterest refused the verification code")
		}
	}
	if strings.HasPrefix(c.path(), loginUI.LoginPath) {
		return c.fail(domain.AuthBroken, "wrong_password", "login", "Pinterest refused the automation account's password")
	}
	c.Logins++
	return nil
}

// MembersPage is one page of the members list.
type MembersPage struct {
	Members []domain.BusinessMember
	// Next is the next page's address, "" on the last page.
	Next string
}

// Members reads one page of the members list: the first when from is "",
// else the Next of the page before. An expired session logs in again.
func (c *Client) Members(from string) (MembersPage, error) {
	target := from
	if target == "" {
		target = c.businessURL("")
	} else if !strings.HasPrefix(target, c.base+"/") {
		return MembersPage{}, fmt.Errorf("pinterest: page %q is not on %s", target, c.base)
	}
	if err := c.open(target); err != nil {
		return MembersPage{}, err
	}
	tables, _ := json.Marshal(memberTables)
	res, err := c.s.Timed().Eval(`(tables) => {
		const text = (row, sel) => { const el = row.querySelector(sel); return el ? el.textContent.trim() : '' };
		for (const t of tables) {
			if (!document.querySelector(t.table)) continue;
			const rows = [...document.querySelectorAll(t.table + ' ' + t.row)].map(r => ({
				id: r.getAttribute(t.idAttr), name: text(r, t.name), email: text(r, t.email), role: text(r, t.role)}));
			const next = document.querySelector(t.next);
			return {found: true, rows, next: next ? next.href : ''};
		}
		return {found: false, rows: [], next: ''};
	}`, json.RawMessage(tables))
	if err != nil {
		return MembersPage{}, c.transient("read members", err)
	}
	var page struct {
		Found bool
		Rows  []struct{ ID, Name, Email, Role string }
		Next  string
	}
	if err := json.Unmarshal([]byte(res.Value.JSON("", "")), &page); err != nil {
		return MembersPage{}, c.transient("read members", err)
	}
	if !page.Found {
		return MembersPage{}, c.fail(domain.Permanent, "ui_changed", "members", "no members list on "+c.path()+
			": the Business Manager UI changed; update internal/pinterest/selectors.go")
	}
	out := MembersPage{Next: page.Next}
	for _, r := range page.Rows {
		role, ok := roleNames[r.Role]
		if !ok || r.ID == "" {
			return MembersPage{}, c.fail(domain.Permanent, "ui_changed", "members", fmt.Sprintf("member row %q with role %q not understood", r.ID, r.Role))
		}
		out.Members = append(out.Members, domain.BusinessMember{ExternalID: r.ID, Kind: domain.MemberUser, Name: r.Name,
			Email: strings.ToLower(r.Email), Role: role})
	}
	return out, nil
}

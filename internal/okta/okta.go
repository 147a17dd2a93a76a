// Package okta reads users from the Okta Users API.
//
// API: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/listUsers
package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Endpoint and paging constants.
const (
	usersPath = "/api/v1/users"
	// PageSize is the largest page Okta serves for /api/v1/users.
	PageSize = 200
	// EveryStatusFilter lists users of every status, the DEPROVISIONED
	// ones the plain listing hides included, in one listing. Okta filters
	// against up-to-date data, so each user is listed once with the status
	// it had when its page was read.
	EveryStatusFilter = `status eq "STAGED" or status eq "PROVISIONED" or status eq "ACTIVE" or status eq "RECOVERY" or ` +
		`status eq "PASSWORD_EXPIRED" or status eq "LOCKED_OUT" or status eq "SUSPENDED" or status eq "DEPROVISIONED"`
)

// Client talks to one Okta org with an SSWS API token or as a service app.
type Client struct {
	base  *url.URL
	token string
	// app authenticates instead of token, for a service app.
	app      *appAuth
	http     *http.Client
	policy   providerhttp.Policy
	requests int
	// pauseUntil is when Okta's rate-limit window resets after it reported
	// no remaining calls.
	pauseUntil time.Time
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithBackoff replaces the retry policy.
func WithBackoff(p providerhttp.Policy) Option { return func(c *Client) { c.policy = p } }

// New returns a client for the org at baseURL (https://acme.okta.com).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := providerhttp.BaseURL("okta: base URL", baseURL)
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, errors.New("okta: API token is required")
	}
	return newClient(u, token, nil, opts), nil
}

// NewServiceApp returns a client for the org at baseURL that
// authenticates as the service app, with the scopes in Scopes.
func NewServiceApp(baseURL string, app ServiceApp, opts ...Option) (*Client, error) {
	u, err := providerhttp.BaseURL("okta: base URL", baseURL)
	if err != nil {
		return nil, err
	}
	signing, err := ParseServiceApp(app)
	if err != nil {
		return nil, err
	}
	return newClient(u, "", &appAuth{clientID: app.ClientID, signing: signing, tokenURL: u.String() + tokenPath}, opts), nil
}

func newClient(base *url.URL, token string, app *appAuth, opts []Option) *Client {
	c := &Client{base: base, token: token, app: app, http: &http.Client{Timeout: 60 * time.Second}, policy: providerhttp.Default}
	for _, o := range opts {
		o(c)
	}
	return c
}

// User is the part of Okta's user object Hubkeeper reads.
type User struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Profile struct {
		Login       string `json:"login"`
		Email       string `json:"email"`
		SecondEmail string `json:"secondEmail"`
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DisplayName string `json:"displayName"`
	} `json:"profile"`
}

// DirectoryUser maps an Okta user. Every status but SUSPENDED and
// DEPROVISIONED (STAGED, PROVISIONED, ACTIVE, RECOVERY, LOCKED_OUT,
// PASSWORD_EXPIRED) is an employee still in the company.
func (u User) DirectoryUser() domain.DirectoryUser {
	status := domain.UserActive
	switch u.Status {
	case "SUSPENDED":
		status = domain.UserSuspended
	case "DEPROVISIONED":
		status = domain.UserDeprovisioned
	}
	email := domain.NormalizeEmail(u.Profile.Email)
	if email == "" {
		email = domain.NormalizeEmail(u.Profile.Login)
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = strings.TrimSpace(u.Profile.FirstName + " " + u.Profile.LastName)
	}
	return domain.DirectoryUser{
		ExternalID: u.ID, Email: email, Aliases: domain.NormalizeAliases(email, u.Profile.Login, u.Profile.SecondEmail),
		DisplayName: name, GivenName: u.Profile.FirstName, FamilyName: u.Profile.LastName,
		Status: status, ProviderStatus: u.Status,
	}
}

// Page is one page of users and the URL of the next page ("" at the end).
type Page struct {
	Users []User
	Next  string
}

// ListUsers fetches one page: the first page of the listing with filter
// when pageURL is "", else the page at pageURL (a "next" link).
func (c *Client) ListUsers(ctx context.Context, filter, pageURL string) (Page, error) {
	target, err := c.pageURL(filter, pageURL)
	if err != nil {
		return Page{}, err
	}
	resp, err := c.get(ctx, target)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	var users []User
	if err := json.NewDecoder(resp.Body).Decode(&users); err != nil {
		return Page{}, &domain.ProviderError{Provider: "okta", Kind: domain.Transient, Status: resp.StatusCode,
			Message: "response is not a JSON list of users: " + err.Error()}
	}
	return Page{Users: users, Next: nextLink(resp.Header.Values("Link"))}, nil
}

func (c *Client) pageURL(filter, pageURL string) (string, error) {
	if pageURL == "" {
		q := url.Values{"limit": {strconv.Itoa(PageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		return c.base.String() + usersPath + "?" + q.Encode(), nil
	}
	// The token goes only to the org it belongs to.
	if !providerhttp.SameOrigin(c.base, pageURL) {
		return "", &domain.ProviderError{Provider: "okta", Kind: domain.Permanent,
			Message: "next-page link points outside the Okta org; refusing to follow it"}
	}
	return pageURL, nil
}

// Cursor is where an import resumes: the next page of the listing of
// every status.
type Cursor struct {
	// EveryStatus marks a cursor of that listing. An earlier import's
	// cursor, of a plain listing followed by a DEPROVISIONED one, starts
	// over: pages land idempotently, and following it alone would miss
	// the deprovisioned users.
	EveryStatus bool   `json:"every_status"`
	Next        string `json:"next"`
}

// ImportUsers lists every user, of every status, in one listing, calling
// onPage for each page with the cursor to resume after it. resume is a
// cursor from an earlier onPage, or "" to start. (Two listings, a plain
// one and a DEPROVISIONED one, would miss a user deprovisioned while the
// first passed it and reactivated before the second.)
func (c *Client) ImportUsers(ctx context.Context, resume string, onPage domain.PageFunc) (domain.ImportResult, error) {
	var cur Cursor
	if resume != "" {
		if err := json.Unmarshal([]byte(resume), &cur); err != nil {
			return domain.ImportResult{}, fmt.Errorf("okta: bad resume cursor: %w", err)
		}
	}
	if !cur.EveryStatus {
		cur = Cursor{EveryStatus: true}
	}
	for {
		page, err := c.ListUsers(ctx, EveryStatusFilter, cur.Next)
		if err != nil {
			return domain.ImportResult{Requests: c.requests}, err
		}
		users := make([]domain.DirectoryUser, len(page.Users))
		for i, u := range page.Users {
			users[i] = u.DirectoryUser()
		}
		cur.Next = page.Next
		b, _ := json.Marshal(cur)
		if err := onPage(users, string(b)); err != nil {
			return domain.ImportResult{Requests: c.requests}, err
		}
		if page.Next == "" {
			return domain.ImportResult{FullListing: true, Requests: c.requests}, nil
		}
	}
}

// Group listing page sizes: the largest Okta serves.
const (
	groupPageSize       = 10000
	groupMemberPageSize = 1000
)

// ImportGroups lists every group with its members' ids (the scope
// okta.groups.read, for a service app): always a full listing. A group
// Okta deletes while it is read is left out.
func (c *Client) ImportGroups(ctx context.Context) (domain.GroupImport, error) {
	groups, err := c.listGroups(ctx)
	return domain.GroupImport{Full: true, Groups: groups}, err
}

func (c *Client) listGroups(ctx context.Context) ([]domain.DirectoryGroup, error) {
	var groups []domain.DirectoryGroup
	next := c.base.String() + "/api/v1/groups?" + url.Values{"limit": {strconv.Itoa(groupPageSize)}}.Encode()
	for next != "" {
		var page []struct {
			ID      string `json:"id"`
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
		}
		var err error
		if next, err = c.list(ctx, next, &page); err != nil {
			return nil, err
		}
		for _, g := range page {
			groups = append(groups, domain.DirectoryGroup{ExternalID: g.ID, Name: g.Profile.Name, Members: []string{}})
		}
	}
	kept := groups[:0]
	for _, g := range groups {
		next := c.base.String() + "/api/v1/groups/" + url.PathEscape(g.ExternalID) + "/users?" +
			url.Values{"limit": {strconv.Itoa(groupMemberPageSize)}}.Encode()
		gone := false
		for next != "" {
			var page []struct {
				ID string `json:"id"`
			}
			var err error
			if next, err = c.list(ctx, next, &page); err != nil {
				if pe, ok := domain.AsProviderError(err); ok && pe.Status == http.StatusNotFound {
					gone = true
					break
				}
				return nil, err
			}
			for _, u := range page {
				g.Members = append(g.Members, u.ID)
			}
		}
		if !gone {
			kept = append(kept, g)
		}
	}
	return kept, nil
}

// list reads one page of a listing into v and returns the next page's URL.
func (c *Client) list(ctx context.Context, target string, v any) (string, error) {
	if !providerhttp.SameOrigin(c.base, target) {
		return "", &domain.ProviderError{Provider: "okta", Kind: domain.Permanent,
			Message: "next-page link points outside the Okta org; refusing to follow it"}
	}
	resp, err := c.get(ctx, target)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return "", &domain.ProviderError{Provider: "okta", Kind: domain.Transient, Status: resp.StatusCode,
			Message: "response is not a JSON list: " + err.Error()}
	}
	return nextLink(resp.Header.Values("Link")), nil
}

// Requests is how many HTTP requests the client has sent.
func (c *Client) Requests() int { return c.requests }

func (c *Client) get(ctx context.Context, target string) (*http.Response, error) {
	renewed := false
	for attempt := 0; ; attempt++ {
		if wait := time.Until(c.pauseUntil); wait > 0 && wait <= c.policy.MaxWait {
			if err := providerhttp.Sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		var perr *domain.ProviderError
		if err := c.authorize(ctx, req); err != nil {
			if !errors.As(err, &perr) {
				return nil, err
			}
		} else {
			c.requests++
			resp, err := c.http.Do(req)
			switch {
			case err != nil && ctx.Err() != nil:
				return nil, ctx.Err()
			case err != nil:
				perr = &domain.ProviderError{Provider: "okta", Kind: domain.Transient, Message: "request failed: " + providerhttp.TransportError(err)}
			case resp.StatusCode < 300:
				c.notePacing(resp.Header)
				return resp, nil
			case resp.StatusCode == http.StatusUnauthorized && c.app != nil && !renewed:
				// The access token was revoked or expired early: one more try with a new one.
				resp.Body.Close()
				c.app.forget()
				renewed = true
				attempt--
				continue
			default:
				c.notePacing(resp.Header)
				perr = classify(resp)
			}
		}
		if !c.policy.Wait(ctx, perr, attempt) {
			return nil, perr
		}
	}
}

// authorize sets a request's credentials: the SSWS token, or the service
// app's access token.
func (c *Client) authorize(ctx context.Context, req *http.Request) error {
	if c.app != nil {
		return c.app.authorize(ctx, c, req)
	}
	req.Header.Set("Authorization", "SSWS "+c.token)
	return nil
}

// notePacing remembers when to resume after Okta reported no calls left.
func (c *Client) notePacing(h http.Header) {
	if h.Get("X-Rate-Limit-Remaining") != "0" {
		return
	}
	if _, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64); err == nil {
		c.pauseUntil = time.Now().Add(resetWait(h))
	}
}

// oktaError is Okta's error body.
type oktaError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

// classify turns an error response into a ProviderError, once.
func classify(resp *http.Response) *domain.ProviderError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var oe oktaError
	_ = json.Unmarshal(body, &oe)
	msg := oe.ErrorSummary
	for _, c := range oe.ErrorCauses {
		msg += "; " + c.ErrorSummary
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	pe := &domain.ProviderError{Provider: "okta", Status: resp.StatusCode, Code: oe.ErrorCode, Message: msg, TraceID: oe.ErrorID}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || oe.ErrorCode == "E0000047":
		pe.Kind = domain.RateLimited
		pe.RetryAfter = resetWait(resp.Header)
	case resp.StatusCode == http.StatusUnauthorized || oe.ErrorCode == "E0000011":
		pe.Kind = domain.AuthBroken
		pe.Message = "Okta rejected the API token: " + msg + " (issue a new token and update the directory)"
	case resp.StatusCode == http.StatusForbidden:
		pe.Kind = domain.AuthBroken
		pe.Message = "the API token lacks permission to list users: " + msg
	case resp.StatusCode >= 500:
		pe.Kind = domain.Transient
	default:
		pe.Kind = domain.Permanent
	}
	return pe
}

// resetWait reads how long until the rate-limit window resets, from
// X-Rate-Limit-Reset (epoch seconds) or Retry-After. The reset is on Okta's
// clock, so it is counted from the answer's Date header, as Okta asks:
// this machine's clock may differ.
func resetWait(h http.Header) time.Duration {
	if reset, err := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64); err == nil {
		okta := time.Now()
		if date, err := http.ParseTime(h.Get("Date")); err == nil {
			okta = date
		}
		return max(time.Unix(reset, 0).Sub(okta), time.Second)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		return time.Duration(s) * time.Second
	}
	return 0
}

var linkRE = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextLink finds the rel="next" URL among Link headers.
func nextLink(links []string) string {
	for _, l := range links {
		for _, part := range strings.Split(l, ",") {
			if m := linkRE.FindStringSubmatch(part); m != nil {
				return m[1]
			}
		}
	}
	return ""
}

// Package entra reads users from Microsoft Entra ID through Microsoft Graph,
// with a client-credentials token and the users delta query.
//
// API: https://learn.microsoft.com/graph/api/user-delta and
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Endpoint and paging constants.
const (
	deltaPath = "/v1.0/users/delta"
	scope     = "https://graph.microsoft.com/.default"
	// PageSize is the largest page Graph serves for users.
	PageSize = 999
	// SelectFields are the user properties imported. accountEnabled and
	// userType are not in Graph's default set, so they must be selected.
	// A deltaLink keeps the $select it began with: a change here needs a
	// migration that clears stored delta links (as 024_guests.sql does).
	SelectFields = "id,displayName,givenName,surname,mail,userPrincipalName,otherMails,proxyAddresses,accountEnabled,userType"
)

// Config identifies the tenant and app registration.
type Config struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	// GraphBaseURL and LoginBaseURL default to Microsoft's global cloud.
	GraphBaseURL string
	LoginBaseURL string
}

// Client reads one tenant's users.
type Client struct {
	cfg      Config
	graph    *url.URL
	tokenURL string
	http     *http.Client
	policy   providerhttp.Policy
	pageSize int
	requests int
	token    string
	expires  time.Time
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithBackoff replaces the retry policy.
func WithBackoff(p providerhttp.Policy) Option { return func(c *Client) { c.policy = p } }

// WithPageSize asks Graph for smaller pages than PageSize.
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// New validates cfg and returns a client.
func New(cfg Config, opts ...Option) (*Client, error) {
	if cfg.TenantID == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("entra: tenant id, client id and client secret are required")
	}
	if cfg.GraphBaseURL == "" {
		cfg.GraphBaseURL = domain.EntraGraphBaseURL
	}
	if cfg.LoginBaseURL == "" {
		cfg.LoginBaseURL = domain.EntraLoginBaseURL
	}
	graph, err := providerhttp.BaseURL("entra: Graph base URL", cfg.GraphBaseURL)
	if err != nil {
		return nil, err
	}
	login, err := providerhttp.BaseURL("entra: login base URL", cfg.LoginBaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, graph: graph, tokenURL: login.String() + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		http: &http.Client{Timeout: 60 * time.Second}, policy: providerhttp.Default, pageSize: PageSize}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// User is the part of Graph's user resource Hubkeeper reads. Removed is set
// on delta items for users deleted from the tenant.
type User struct {
	ID                string   `json:"id"`
	DisplayName       string   `json:"displayName"`
	GivenName         string   `json:"givenName"`
	Surname           string   `json:"surname"`
	Mail              string   `json:"mail"`
	UserPrincipalName string   `json:"userPrincipalName"`
	OtherMails        []string `json:"otherMails"`
	ProxyAddresses    []string `json:"proxyAddresses"`
	AccountEnabled    *bool    `json:"accountEnabled"`
	// UserType is Member or Guest (someone invited from outside the tenant).
	UserType string `json:"userType"`
	Removed  *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

// DirectoryUser maps a Graph user: deleted users are deprovisioned,
// disabled accounts suspended. A guest is known by their own addresses
// only (mail and otherMails), never by the tenant's user principal name
// (name_their.domain#EXT#@tenant) or its proxy addresses.
func (u User) DirectoryUser() domain.DirectoryUser {
	if u.Removed != nil {
		return domain.DirectoryUser{ExternalID: u.ID, Status: domain.UserDeprovisioned, ProviderStatus: "removed:" + u.Removed.Reason, Removed: true}
	}
	status, providerStatus := domain.UserActive, "enabled"
	if u.AccountEnabled != nil && !*u.AccountEnabled {
		status, providerStatus = domain.UserSuspended, "disabled"
	}
	if strings.EqualFold(u.UserType, "Guest") {
		email := domain.NormalizeEmail(u.Mail)
		return domain.DirectoryUser{ExternalID: u.ID, Email: email, Aliases: domain.NormalizeAliases(email, u.OtherMails...),
			DisplayName: u.DisplayName, GivenName: u.GivenName, FamilyName: u.Surname, Status: status, ProviderStatus: providerStatus,
			Guest: true}
	}
	email := domain.NormalizeEmail(u.Mail)
	if email == "" {
		email = domain.NormalizeEmail(u.UserPrincipalName)
	}
	aliases := append([]string{u.UserPrincipalName}, u.OtherMails...)
	for _, p := range u.ProxyAddresses {
		if addr, ok := strings.CutPrefix(strings.ToLower(p), "smtp:"); ok {
			aliases = append(aliases, addr)
		}
	}
	return domain.DirectoryUser{ExternalID: u.ID, Email: email, Aliases: domain.NormalizeAliases(email, aliases...),
		DisplayName: u.DisplayName, GivenName: u.GivenName, FamilyName: u.Surname, Status: status, ProviderStatus: providerStatus}
}

// Page is one delta page: a nextLink to continue, or the deltaLink that ends the round.
type Page struct {
	Users     []User `json:"value"`
	NextLink  string `json:"@odata.nextLink"`
	DeltaLink string `json:"@odata.deltaLink"`
}

// Delta fetches one page of the users delta query: the first page of a full
// round when link is "", else the page at link (a nextLink or a stored deltaLink).
func (c *Client) Delta(ctx context.Context, link string) (Page, error) {
	target := c.graph.String() + deltaPath + "?" + url.Values{"$select": {SelectFields}}.Encode()
	if link != "" {
		if !providerhttp.SameOrigin(c.graph, link) {
			return Page{}, &domain.ProviderError{Provider: "entra", Kind: domain.Permanent,
				Message: "delta link points outside Microsoft Graph; refusing to follow it"}
		}
		target = link
	}
	var p Page
	return p, c.getJSON(ctx, target, &p)
}

// Cursor is where an import resumes.
type Cursor struct {
	Link string `json:"link"`
	Full bool   `json:"full"`
}

// ImportUsers runs one delta round: from deltaLink (changes since the last
// round) or, when deltaLink is "" or Graph no longer knows it, a full
// listing. It calls onPage per page with the cursor to resume after it.
func (c *Client) ImportUsers(ctx context.Context, deltaLink, resume string, onPage domain.PageFunc) (domain.ImportResult, error) {
	cur := Cursor{Link: deltaLink, Full: deltaLink == ""}
	if resume != "" {
		if err := json.Unmarshal([]byte(resume), &cur); err != nil {
			return domain.ImportResult{}, fmt.Errorf("entra: bad resume cursor: %w", err)
		}
	}
	for {
		page, err := c.Delta(ctx, cur.Link)
		if pe, ok := domain.AsProviderError(err); ok && !cur.Full && deltaExpired(pe) {
			cur = Cursor{Full: true} // Graph forgot the sync state: start a full round.
			continue
		}
		if err != nil {
			return domain.ImportResult{Requests: c.requests}, err
		}
		users := make([]domain.DirectoryUser, len(page.Users))
		for i, u := range page.Users {
			users[i] = u.DirectoryUser()
		}
		if page.NextLink == "" && page.DeltaLink == "" {
			return domain.ImportResult{Requests: c.requests}, &domain.ProviderError{Provider: "entra", Kind: domain.Transient,
				Message: "delta page has neither @odata.nextLink nor @odata.deltaLink"}
		}
		cur.Link = page.NextLink
		b, _ := json.Marshal(cur)
		if err := onPage(users, string(b)); err != nil {
			return domain.ImportResult{Requests: c.requests}, err
		}
		if page.NextLink == "" {
			return domain.ImportResult{FullListing: cur.Full, DeltaLink: page.DeltaLink, Requests: c.requests}, nil
		}
	}
}

// deltaExpired reports Graph's answers for a delta token it no longer accepts.
func deltaExpired(pe *domain.ProviderError) bool {
	return pe.Status == http.StatusGone || pe.Code == "syncStateNotFound" || pe.Code == "resyncRequired" ||
		pe.Code == "SyncStateNotFound"
}

// Requests is how many HTTP requests the client has sent, token requests included.
func (c *Client) Requests() int { return c.requests }

func (c *Client) getJSON(ctx context.Context, target string, out any) error {
	refreshed := false
	for attempt := 0; ; attempt++ {
		token, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(c.pageSize))
		c.requests++
		resp, err := c.http.Do(req)
		var perr *domain.ProviderError
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			perr = &domain.ProviderError{Provider: "entra", Kind: domain.Transient, Message: "request failed: " + providerhttp.TransportError(err)}
		} else if resp.StatusCode < 300 {
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				return &domain.ProviderError{Provider: "entra", Kind: domain.Transient, Status: resp.StatusCode,
					Message: "response is not valid JSON: " + err.Error()}
			}
			return nil
		} else {
			perr = classifyGraph(resp)
		}
		// An expired access token is renewed once, then the credential is to blame.
		if perr.Kind == domain.AuthBroken && perr.Status == http.StatusUnauthorized && !refreshed {
			refreshed = true
			c.token = ""
			continue
		}
		if !c.policy.Wait(ctx, perr, attempt) {
			return perr
		}
	}
}

// accessToken returns a cached token or fetches one with client credentials.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	form := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret},
		"scope": {scope}, "grant_type": {"client_credentials"}}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		c.requests++
		resp, err := c.http.Do(req)
		var perr *domain.ProviderError
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			perr = &domain.ProviderError{Provider: "entra", Kind: domain.Transient, Message: "token request failed: " + providerhttp.TransportError(err)}
		} else {
			var tok struct {
				AccessToken      string `json:"access_token"`
				ExpiresIn        int    `json:"expires_in"`
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
				ErrorCodes       []int  `json:"error_codes"`
				TraceID          string `json:"trace_id"`
				CorrelationID    string `json:"correlation_id"`
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			_ = json.Unmarshal(body, &tok)
			if resp.StatusCode == http.StatusOK && tok.AccessToken != "" {
				c.token = tok.AccessToken
				c.expires = time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute)
				return c.token, nil
			}
			perr = &domain.ProviderError{Provider: "entra", Status: resp.StatusCode, Code: tok.Error,
				Message: firstLine(tok.ErrorDescription), TraceID: tok.TraceID}
			switch {
			case resp.StatusCode == http.StatusTooManyRequests:
				perr.Kind, perr.RetryAfter = domain.RateLimited, retryAfter(resp.Header)
			case resp.StatusCode >= 500:
				perr.Kind = domain.Transient
			default: // invalid_client, unauthorized_client, invalid_request (unknown tenant)
				perr.Kind = domain.AuthBroken
				perr.Message = "Entra refused the app credentials: " + perr.Message + " (check tenant id, client id and secret)"
			}
		}
		if !c.policy.Wait(ctx, perr, attempt) {
			return "", perr
		}
	}
}

// classifyGraph turns a Graph error response into a ProviderError, once.
func classifyGraph(resp *http.Response) *domain.ProviderError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ge struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &ge)
	msg := ge.Error.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	pe := &domain.ProviderError{Provider: "entra", Status: resp.StatusCode, Code: ge.Error.Code, Message: msg,
		TraceID: ge.Error.InnerError.RequestID}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		pe.Kind, pe.RetryAfter = domain.RateLimited, retryAfter(resp.Header)
	case resp.StatusCode == http.StatusUnauthorized:
		pe.Kind = domain.AuthBroken
	case resp.StatusCode == http.StatusForbidden:
		pe.Kind = domain.AuthBroken
		pe.Message = "the app lacks permission to read users (grant User.Read.All): " + msg
	case resp.StatusCode >= 500:
		pe.Kind, pe.RetryAfter = domain.Transient, retryAfter(resp.Header)
	default:
		pe.Kind = domain.Permanent
	}
	return pe
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		return time.Duration(s) * time.Second
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\r\n")
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Package pinterestapi is a client of Pinterest's REST API v5 for business
// access: the OAuth 2.0 authorization code flow and its refresh, then a
// business's members, partners, invitations, ad accounts and who holds
// them, and changes in the API's own batches of up to 50, each item
// answered on its own. Errors ({code, message}) are classified once.
//
// API: https://developers.pinterest.com/docs/api/v5/ (business access)
package pinterestapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Defaults, and the scopes Hubkeeper asks for.
const (
	DefaultBaseURL    = "https://api.pinterest.com"
	DefaultConsentURL = "https://www.pinterest.com/oauth/"
	Scopes            = "biz_access:read,biz_access:write"
	// PageSize is the page size asked of lists (the API's most).
	PageSize = 250
	// MaxBatch is the most items one change may carry.
	MaxBatch = 50
)

// Client calls the API with one access token.
type Client struct {
	base   *url.URL
	token  string
	http   *http.Client
	policy providerhttp.Policy

	mu       sync.Mutex
	requests int
}

// New returns a client of baseURL (https://api.pinterest.com).
func New(baseURL, accessToken string, hc *http.Client, policy providerhttp.Policy) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := providerhttp.BaseURL("pinterest: API base URL", baseURL)
	if err != nil {
		return nil, err
	}
	if accessToken == "" {
		return nil, errors.New("pinterest: access token is required")
	}
	return &Client{base: u, token: accessToken, http: hc, policy: policy}, nil
}

// Requests is how many HTTP requests the client made.
func (c *Client) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// apiError is Pinterest's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// classify turns an error answer into a ProviderError, once: 429 and 5xx
// retry (429 after the reset the headers give), 401 means the token no
// longer works, the rest are refusals.
func classify(status int, body []byte, h http.Header) *domain.ProviderError {
	var e apiError
	_ = json.Unmarshal(body, &e)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	pe := &domain.ProviderError{Provider: "pinterest", Status: status, Message: msg, TraceID: h.Get("X-Pinterest-Rid")}
	if e.Code != 0 {
		pe.Code = strconv.Itoa(e.Code)
	}
	switch {
	case status == http.StatusTooManyRequests:
		pe.Kind = domain.RateLimited
		if s, err := strconv.Atoi(h.Get("X-RateLimit-Reset")); err == nil && s > 0 {
			pe.RetryAfter = time.Duration(s) * time.Second
		}
	case status >= 500:
		pe.Kind = domain.Transient
	case status == http.StatusUnauthorized:
		pe.Kind = domain.AuthBroken
		pe.Message = "Pinterest no longer accepts Hubkeeper's access: " + msg + " (connect the integration again: GET …/oauth/start)"
	default:
		pe.Kind = domain.Permanent
	}
	return pe
}

// call sends one request with a JSON body (nil: none) and decodes a JSON
// answer into out, retrying throttles and transient failures in place.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	target := c.base.String() + "/v5/" + strings.TrimPrefix(path, "/")
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	for attempt := 0; ; attempt++ {
		answer, perr, err := c.send(ctx, method, target, raw)
		if err != nil {
			return err
		}
		if perr == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(answer, out); err != nil {
				return &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient, Message: "answer is not the JSON expected: " + err.Error()}
			}
			return nil
		}
		if !c.policy.Wait(ctx, perr, attempt) {
			return perr
		}
	}
}

func (c *Client) send(ctx context.Context, method, target string, body []byte) ([]byte, *domain.ProviderError, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.mu.Lock()
	c.requests++
	c.mu.Unlock()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient,
			Message: "request failed: " + providerhttp.TransportError(err)}, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient, Message: "reading answer: " + err.Error()}, nil
	}
	if resp.StatusCode >= 300 {
		return nil, classify(resp.StatusCode, raw, resp.Header), nil
	}
	return raw, nil, nil
}

// page is a list page: its items and the bookmark of the next ("": the end).
type page[T any] struct {
	Items    []T     `json:"items"`
	Bookmark *string `json:"bookmark"`
}

func (p page[T]) next() string {
	if p.Bookmark == nil {
		return ""
	}
	return *p.Bookmark
}

func list[T any](ctx context.Context, c *Client, path string, query url.Values, bookmark string) ([]T, string, error) {
	query.Set("page_size", strconv.Itoa(PageSize))
	if bookmark != "" {
		query.Set("bookmark", bookmark)
	}
	var p page[T]
	if err := c.call(ctx, http.MethodGet, path, query, nil, &p); err != nil {
		return nil, "", err
	}
	return p.Items, p.next(), nil
}

// binding is UserBusinessRoleBinding: a member or a partner.
type binding struct {
	ID            string   `json:"id"`
	BusinessRoles []string `json:"business_roles"`
	User          *struct {
		Email    *string `json:"email"`
		Username *string `json:"username"`
	} `json:"user"`
	AssetsSummary *struct {
		AdAccounts []struct {
			ID          string   `json:"id"`
			Permissions []string `json:"permissions"`
		} `json:"ad_accounts"`
	} `json:"assets_summary"`
}

// People is a page of members or partners, with what each holds.
type People struct {
	Members []domain.BusinessMember
	Grants  []domain.Grant
	Next    string
}

func people(items []binding, next string) People {
	var out People
	for _, b := range items {
		m := domain.BusinessMember{ExternalID: b.ID, Kind: domain.MemberUser, Tasks: []string{}}
		if len(b.BusinessRoles) > 0 {
			m.Role = b.BusinessRoles[0]
		}
		if b.User != nil {
			if b.User.Email != nil {
				m.Email = strings.ToLower(*b.User.Email)
			}
			if b.User.Username != nil {
				m.Name = *b.User.Username
			}
		}
		out.Members = append(out.Members, m)
		if b.AssetsSummary != nil {
			for _, a := range b.AssetsSummary.AdAccounts {
				out.Grants = append(out.Grants, domain.Grant{AssetID: a.ID, MemberID: b.ID, Tasks: a.Permissions})
			}
		}
	}
	out.Next = next
	return out
}

// Members reads a page of the business's members with their ad accounts.
func (c *Client) Members(ctx context.Context, businessID, bookmark string) (People, error) {
	items, next, err := list[binding](ctx, c, "businesses/"+url.PathEscape(businessID)+"/members",
		url.Values{"assets_summary": {"true"}}, bookmark)
	return people(items, next), err
}

// MemberRoles reads the business roles of those of memberIDs who are
// members of the business, a request per 24 of them (member_ids takes at
// most 500 characters).
func (c *Client) MemberRoles(ctx context.Context, businessID string, memberIDs []string) (map[string]string, error) {
	roles := map[string]string{}
	for chunk := range slices.Chunk(memberIDs, 24) {
		items, _, err := list[binding](ctx, c, "businesses/"+url.PathEscape(businessID)+"/members",
			url.Values{"member_ids": {strings.Join(chunk, ",")}}, "")
		if err != nil {
			return nil, err
		}
		for _, m := range people(items, "").Members {
			if slices.Contains(chunk, m.ExternalID) {
				roles[m.ExternalID] = m.Role
			}
		}
	}
	return roles, nil
}

// Partners reads a page of the business's partners with their ad accounts.
func (c *Client) Partners(ctx context.Context, businessID, bookmark string) (People, error) {
	items, next, err := list[binding](ctx, c, "businesses/"+url.PathEscape(businessID)+"/partners",
		url.Values{"assets_summary": {"true"}}, bookmark)
	return people(items, next), err
}

// invite is InviteResponse.
type invite struct {
	ID         string `json:"id"`
	InviteData struct {
		Status string `json:"invite_status"`
	} `json:"invite_data"`
	User *struct {
		Email *string `json:"email"`
	} `json:"user"`
	BusinessRoles []string `json:"business_roles"`
}

// Invitations reads a page of the business's PENDING and EXPIRED member invitations.
func (c *Client) Invitations(ctx context.Context, businessID, bookmark string) ([]domain.BusinessMember, string, error) {
	items, next, err := list[invite](ctx, c, "businesses/"+url.PathEscape(businessID)+"/invites",
		url.Values{"invite_status": {"PENDING", "EXPIRED"}, "invite_type": {"MEMBER_INVITE"}}, bookmark)
	var out []domain.BusinessMember
	for _, inv := range items {
		m := domain.BusinessMember{ExternalID: inv.ID, Kind: domain.MemberInvitation, InvitationStatus: inv.InviteData.Status, Tasks: []string{}}
		if inv.User != nil && inv.User.Email != nil {
			m.Email = strings.ToLower(*inv.User.Email)
		}
		if len(inv.BusinessRoles) > 0 {
			m.Role = inv.BusinessRoles[0]
		}
		out = append(out, m)
	}
	return out, next, err
}

// AdAccounts reads a page of the business's ad accounts.
func (c *Client) AdAccounts(ctx context.Context, businessID, bookmark string) ([]domain.Asset, string, error) {
	items, next, err := list[struct {
		AssetID string `json:"asset_id"`
	}](ctx, c, "businesses/"+url.PathEscape(businessID)+"/assets", url.Values{"asset_type": {"AD_ACCOUNT"}}, bookmark)
	var out []domain.Asset
	for _, a := range items {
		out = append(out, domain.Asset{ExternalID: a.AssetID, Type: "ad_account", Ownership: "owned"})
	}
	return out, next, err
}

// itemError is one batch item's refusal.
func itemError(message string) error {
	return &domain.ProviderError{Provider: "pinterest", Kind: domain.Permanent, Message: message}
}

// Invite invites each address with role; the answer has one error per
// address (nil: invited, with the invitation's id).
func (c *Client) Invite(ctx context.Context, businessID, role string, emails []string) (ids []string, errs []error, err error) {
	var answer struct {
		Items []struct {
			Invite *struct {
				ID string `json:"id"`
			} `json:"invite"`
			Exception *struct {
				Message string `json:"message"`
			} `json:"exception"`
		} `json:"items"`
	}
	body := map[string]any{"business_role": role, "invite_type": "MEMBER_INVITE", "members": emails}
	if err := c.change(ctx, http.MethodPost, businessID, "invites", len(emails), body, &answer); err != nil {
		return nil, nil, err
	}
	if len(answer.Items) != len(emails) {
		return nil, nil, &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient,
			Message: fmt.Sprintf("the invitation answer has %d items for %d addresses", len(answer.Items), len(emails))}
	}
	ids, errs = make([]string, len(emails)), make([]error, len(emails))
	for i, item := range answer.Items {
		switch {
		case item.Exception != nil:
			errs[i] = itemError(item.Exception.Message)
		case item.Invite != nil:
			ids[i] = item.Invite.ID
		}
	}
	return ids, errs, nil
}

// CancelInvitations cancels each invitation; the answer has one error per
// id (nil: cancelled).
func (c *Client) CancelInvitations(ctx context.Context, businessID string, inviteIDs []string) ([]error, error) {
	var answer struct {
		Items []struct {
			Invite *struct {
				ID string `json:"id"`
			} `json:"invite"`
			Exception *struct {
				InviteID string `json:"invite_id"`
				Message  string `json:"message"`
			} `json:"exception"`
		} `json:"items"`
	}
	if err := c.change(ctx, http.MethodDelete, businessID, "invites", len(inviteIDs), map[string]any{"invite_ids": inviteIDs}, &answer); err != nil {
		return nil, err
	}
	byID := map[string]error{}
	for _, item := range answer.Items {
		switch {
		case item.Exception != nil:
			byID[item.Exception.InviteID] = itemError(item.Exception.Message)
		case item.Invite != nil:
			byID[item.Invite.ID] = nil
		}
	}
	errs := make([]error, len(inviteIDs))
	for i, id := range inviteIDs {
		e, answered := byID[id]
		if !answered {
			e = itemError("Pinterest did not answer for the invitation")
		}
		errs[i] = e
	}
	return errs, nil
}

// MemberRole is a member and a business role.
type MemberRole struct {
	MemberID string `json:"member_id"`
	Role     string `json:"business_role"`
}

// SetRoles sets each member's role; the answer has one error per member
// (nil: set; a member Pinterest does not list as updated is refused).
func (c *Client) SetRoles(ctx context.Context, businessID string, changes []MemberRole) ([]error, error) {
	var answer struct {
		Items []MemberRole `json:"items"`
	}
	if err := c.change(ctx, http.MethodPatch, businessID, "members", len(changes), changes, &answer); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, item := range answer.Items {
		set[item.MemberID] = true
	}
	errs := make([]error, len(changes))
	for i, ch := range changes {
		if !set[ch.MemberID] {
			errs[i] = itemError("Pinterest did not change the member's role: they are not a member of the business")
		}
	}
	return errs, nil
}

// RemoveMembers ends each member's membership (their current role goes
// with them, as the API asks); gone says which ones were removed.
func (c *Client) RemoveMembers(ctx context.Context, businessID string, members []MemberRole) (gone map[string]bool, err error) {
	var answer struct {
		Deleted []string `json:"deleted_members"`
	}
	if err := c.change(ctx, http.MethodDelete, businessID, "members", len(members), map[string]any{"members": members}, &answer); err != nil {
		return nil, err
	}
	gone = map[string]bool{}
	for _, id := range answer.Deleted {
		gone[id] = true
	}
	return gone, nil
}

// Access is a member's permissions on an ad account (none: revoke).
type Access struct {
	AssetID     string   `json:"asset_id"`
	MemberID    string   `json:"member_id"`
	Permissions []string `json:"permissions,omitempty"`
}

// Grant sets each access; the answer has one error per access.
func (c *Client) Grant(ctx context.Context, businessID string, accesses []Access) ([]error, error) {
	var answer struct {
		Items []struct {
			Response *Access `json:"response"`
			// Exception is what the sandbox and Pinterest's description
			// of errors per item give; the schema lists only response.
			Exception *struct {
				Message string `json:"message"`
			} `json:"exception"`
		} `json:"items"`
	}
	err := c.change(ctx, http.MethodPatch, businessID, "members/assets/access", len(accesses), map[string]any{"accesses": accesses}, &answer)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(accesses))
	for i := range accesses {
		switch {
		case i >= len(answer.Items):
			errs[i] = itemError("Pinterest did not answer for the access")
		case answer.Items[i].Exception != nil:
			errs[i] = itemError(answer.Items[i].Exception.Message)
		case answer.Items[i].Response == nil:
			errs[i] = itemError("Pinterest did not set the access")
		}
	}
	return errs, nil
}

// Revoke ends each access; revoked says which ones Pinterest ended, by
// asset id and member id (an access not held is not listed).
func (c *Client) Revoke(ctx context.Context, businessID string, accesses []Access) (revoked map[[2]string]bool, err error) {
	var answer struct {
		Items []Access `json:"items"`
	}
	err = c.change(ctx, http.MethodDelete, businessID, "members/assets/access", len(accesses), map[string]any{"accesses": accesses}, &answer)
	if err != nil {
		return nil, err
	}
	revoked = map[[2]string]bool{}
	for _, a := range answer.Items {
		revoked[[2]string{a.AssetID, a.MemberID}] = true
	}
	return revoked, nil
}

// change sends a change of n items (1 to MaxBatch) to a business's path
// and decodes the answer into out.
func (c *Client) change(ctx context.Context, method, businessID, path string, n int, body, out any) error {
	if n < 1 || n > MaxBatch {
		return fmt.Errorf("pinterest: a change carries 1 to %d items, not %d", MaxBatch, n)
	}
	return c.call(ctx, method, "businesses/"+url.PathEscape(businessID)+"/"+path, nil, body, out)
}

package meta

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// notFound reports Graph's answer for an object that does not exist (or
// that the token may not see): code 100, subcode 33.
func notFound(err error) bool {
	pe, ok := domain.AsProviderError(err)
	return ok && pe.Code == "100/33"
}

// HasBusinessUser reports whether a business user is still in the business.
func (c *Client) HasBusinessUser(ctx context.Context, businessUserID string) (bool, error) {
	_, _, err := c.do(ctx, http.MethodGet, businessUserID, url.Values{"fields": {"id"}})
	if notFound(err) {
		return false, nil
	}
	return err == nil, err
}

// RemoveBusinessUser removes a person from the business, with every asset
// they held, and returns Meta's trace id. A user already gone counts as
// removed (trace id "").
//
// API: DELETE /{business-user-id}
func (c *Client) RemoveBusinessUser(ctx context.Context, businessUserID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, businessUserID, nil)
	if notFound(err) {
		return "", nil
	}
	return trace, err
}

// SetRole sets a business user's role (ADMIN or EMPLOYEE) and returns Meta's trace id.
//
// API: POST /{business-user-id} with role
func (c *Client) SetRole(ctx context.Context, businessUserID, role string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodPost, businessUserID, url.Values{"role": {role}})
	return trace, err
}

// AssignTasks gives a user tasks on an asset (replacing theirs) and returns Meta's trace id.
//
// API: POST /{asset-id}/assigned_users with user, tasks, business
func (c *Client) AssignTasks(ctx context.Context, businessID, assetID, userID string, tasks []string) (string, error) {
	b, _ := json.Marshal(tasks)
	_, trace, err := c.do(ctx, http.MethodPost, assetID+"/assigned_users", url.Values{"user": {userID}, "tasks": {string(b)},
		"business": {businessID}})
	return trace, err
}

// UnassignTasks takes away a user's tasks on an asset; a user holding none counts as done.
//
// API: DELETE /{asset-id}/assigned_users with user, business
func (c *Client) UnassignTasks(ctx context.Context, businessID, assetID, userID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, assetID+"/assigned_users", url.Values{"user": {userID}, "business": {businessID}})
	return trace, err
}

// Invite invites an e-mail address to the business with a role and returns
// the invitation's id and Meta's trace id. An address already invited
// returns the existing invitation: a retried invite does not invite twice.
//
// API: POST /{business-id}/business_users with email, role
func (c *Client) Invite(ctx context.Context, businessID, email, role string) (string, string, error) {
	if id, err := c.PendingInvitation(ctx, businessID, email); err != nil || id != "" {
		return id, "", err
	}
	raw, trace, err := c.do(ctx, http.MethodPost, businessID+"/business_users", url.Values{"email": {email}, "role": {role}})
	if err != nil {
		return "", "", err
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.ID == "" {
		return "", trace, &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "invitation answer has no id"}
	}
	return created.ID, trace, nil
}

// PendingInvitation returns the id of the pending invitation of email ("" if none).
func (c *Client) PendingInvitation(ctx context.Context, businessID, email string) (string, error) {
	after := ""
	for {
		members, next, err := c.Members(ctx, businessID, "pending_users", after)
		if err != nil {
			return "", err
		}
		for _, m := range members {
			if m.Email == domain.NormalizeEmail(email) {
				return m.ExternalID, nil
			}
		}
		if next == "" {
			return "", nil
		}
		after = next
	}
}

// CancelInvitation cancels a pending invitation; one already gone counts as done.
//
// API: DELETE /{business-user-request-id}
func (c *Client) CancelInvitation(ctx context.Context, invitationID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, invitationID, nil)
	if notFound(err) {
		return "", nil
	}
	return trace, err
}

package meta

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// notFound reports Graph's 100/33: the object "does not exist, cannot be
// loaded due to missing permissions, or does not support this operation".
// It is never proof that something is gone: see listed.
func notFound(err error) bool {
	pe, ok := domain.AsProviderError(err)
	return ok && pe.Code == "100/33"
}

// listed reports which of ids a business's edge (business_users,
// pending_users) still lists: the positive check that tells "gone" from
// "not visible to this token" after a 100/33.
func (c *Client) listed(ctx context.Context, businessID, edge string, ids []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	items, err := c.all(ctx, businessID+"/"+edge, "id", nil)
	if err != nil {
		return nil, err
	}
	found := map[string]bool{}
	for _, raw := range items {
		var item struct{ ID string }
		if err := json.Unmarshal(raw, &item); err == nil && want[item.ID] {
			found[item.ID] = true
		}
	}
	return found, nil
}

// goneOr turns a 100/33 on an object of a business's edge into nil when the
// edge no longer lists it (it is gone), and keeps Meta's error when it does.
func (c *Client) goneOr(ctx context.Context, businessID, edge, id string, err error) error {
	if !notFound(err) {
		return err
	}
	still, lerr := c.listed(ctx, businessID, edge, []string{id})
	if lerr != nil {
		return lerr
	}
	if still[id] {
		return err
	}
	return nil
}

// HasBusinessUser reports whether a business user is still in the business.
func (c *Client) HasBusinessUser(ctx context.Context, businessID, businessUserID string) (bool, error) {
	_, _, err := c.do(ctx, http.MethodGet, businessUserID, url.Values{"fields": {"id"}})
	if notFound(err) {
		still, err := c.listed(ctx, businessID, "business_users", []string{businessUserID})
		return still[businessUserID], err
	}
	return err == nil, err
}

// RemoveBusinessUser removes a person from the business, with every asset
// they held, and returns Meta's trace id. A user no longer listed in the
// business counts as removed (trace id "").
//
// API: DELETE /{business-user-id}
func (c *Client) RemoveBusinessUser(ctx context.Context, businessID, businessUserID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, businessUserID, nil)
	return trace, c.goneOr(ctx, businessID, "business_users", businessUserID, err)
}

// SetRole sets a business user's role (ADMIN or EMPLOYEE) and returns Meta's trace id.
//
// API: POST /{business-user-id} with role
func (c *Client) SetRole(ctx context.Context, businessUserID, role string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodPost, businessUserID, url.Values{"role": {role}})
	return trace, err
}

// AssignTasks gives a user tasks on an asset (replacing theirs) and returns
// Meta's trace id. A Page's edge is called with the Page's access token.
//
// API: POST /{asset-id}/assigned_users with user, tasks
func (c *Client) AssignTasks(ctx context.Context, assetID, userID string, tasks []string) (string, error) {
	b, _ := json.Marshal(tasks)
	params, err := c.assetParams(ctx, assetID, url.Values{"user": {userID}, "tasks": {string(b)}})
	if err != nil {
		return "", err
	}
	_, trace, err := c.do(ctx, http.MethodPost, assetID+"/assigned_users", params)
	return trace, err
}

// UnassignTasks takes away a user's tasks on an asset; a user holding none
// counts as done. A Page's edge is called with the Page's access token.
//
// API: DELETE /{asset-id}/assigned_users with user
func (c *Client) UnassignTasks(ctx context.Context, assetID, userID string) (string, error) {
	params, err := c.assetParams(ctx, assetID, url.Values{"user": {userID}})
	if err != nil {
		return "", err
	}
	_, trace, err := c.do(ctx, http.MethodDelete, assetID+"/assigned_users", params)
	return trace, err
}

// assetParams adds the Page's access token to the parameters of a call on
// a Page (ad accounts, whose ids start with act_, take the client's token).
func (c *Client) assetParams(ctx context.Context, assetID string, params url.Values) (url.Values, error) {
	if strings.HasPrefix(assetID, "act_") {
		return params, nil
	}
	token, err := c.PageToken(ctx, assetID)
	if err != nil {
		return nil, err
	}
	params.Set("access_token", token)
	return params, nil
}

// PageToken reads a Page's access token, which its edges need; the
// client's user must manage the Page.
//
// API: GET /{page-id}?fields=access_token
func (c *Client) PageToken(ctx context.Context, pageID string) (string, error) {
	raw, _, err := c.do(ctx, http.MethodGet, pageID, url.Values{"fields": {"access_token"}})
	if err != nil {
		return "", err
	}
	var page struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(raw, &page); err != nil || page.AccessToken == "" {
		return "", &domain.ProviderError{Provider: "meta", Kind: domain.Permanent,
			Message: "Meta gives no access token for Page " + pageID + ": the system user must manage the Page (assign it with the MANAGE task)"}
	}
	return page.AccessToken, nil
}

// Invite invites an e-mail address to the business with a role and returns
// the invitation's id and Meta's trace id. An address already invited
// returns the existing invitation and no trace id. The invitation is sent
// at most once: after an answer that was lost (a timeout, a 5xx), when Meta
// may or may not have sent it, the pending invitations are looked up before
// any new POST.
//
// API: POST /{business-id}/business_users with email, role
func (c *Client) Invite(ctx context.Context, businessID, email, role string) (string, string, error) {
	for attempt := 0; ; attempt++ {
		if id, err := c.PendingInvitation(ctx, businessID, email); err != nil || id != "" {
			return id, "", err
		}
		raw, trace, err := c.doOnce(ctx, http.MethodPost, businessID+"/business_users", url.Values{"email": {email}, "role": {role}})
		if pe, ok := domain.AsProviderError(err); ok && c.policy.Wait(ctx, pe, attempt) {
			continue
		}
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
}

// PendingInvitation returns the id of the address's invitation that is
// still pending ("" if none: an expired or declined one does not count).
//
// API: GET /{business-id}/pending_users with email
func (c *Client) PendingInvitation(ctx context.Context, businessID, email string) (string, error) {
	items, err := c.all(ctx, businessID+"/pending_users", pendingUserFields, url.Values{"email": {email}})
	if err != nil {
		return "", err
	}
	for _, raw := range items {
		var inv rawMember
		if err := json.Unmarshal(raw, &inv); err == nil && domain.NormalizeEmail(inv.Email) == domain.NormalizeEmail(email) &&
			strings.EqualFold(inv.Status, "pending") {
			return inv.ID, nil
		}
	}
	return "", nil
}

// findBusinessUser reads the business users for the first one match
// accepts (the zero member if none does).
func (c *Client) findBusinessUser(ctx context.Context, businessID string, match func(domain.BusinessMember) bool) (domain.BusinessMember, error) {
	items, err := c.all(ctx, businessID+"/business_users", businessUserFields, nil)
	if err != nil {
		return domain.BusinessMember{}, err
	}
	members, err := parseMembers("business_users", items)
	if err != nil {
		return domain.BusinessMember{}, err
	}
	for _, m := range members {
		if match(m) {
			return m, nil
		}
	}
	return domain.BusinessMember{}, nil
}

// CancelInvitation cancels a pending invitation; one no longer listed
// among the pending invitations counts as done (trace id "").
//
// API: DELETE /{business-user-request-id}
func (c *Client) CancelInvitation(ctx context.Context, businessID, invitationID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, invitationID, nil)
	return trace, c.goneOr(ctx, businessID, "pending_users", invitationID, err)
}

// PresentBusinessUsers reports, for up to MaxBatch business users in one
// batch, which are still in the business.
func (c *Client) PresentBusinessUsers(ctx context.Context, businessID string, businessUserIDs []string) ([]bool, error) {
	ops := make([]BatchRequest, len(businessUserIDs))
	for i, id := range businessUserIDs {
		ops[i] = BatchRequest{Method: "GET", RelativeURL: id + "?fields=id"}
	}
	errs, err := c.eachError(ctx, ops)
	if err != nil {
		return nil, err
	}
	var unsure []string
	for i, e := range errs {
		switch {
		case notFound(e):
			unsure = append(unsure, businessUserIDs[i])
		case e != nil:
			return nil, e
		}
	}
	still := map[string]bool{}
	if len(unsure) > 0 {
		if still, err = c.listed(ctx, businessID, "business_users", unsure); err != nil {
			return nil, err
		}
	}
	present := make([]bool, len(errs))
	for i, e := range errs {
		present[i] = e == nil || still[businessUserIDs[i]]
	}
	return present, nil
}

// RemoveBusinessUsers removes up to MaxBatch people in one batch and returns
// each one's error (nil when removed, or no longer listed in the business).
func (c *Client) RemoveBusinessUsers(ctx context.Context, businessID string, businessUserIDs []string) ([]error, error) {
	ops := make([]BatchRequest, len(businessUserIDs))
	for i, id := range businessUserIDs {
		ops[i] = BatchRequest{Method: "DELETE", RelativeURL: id}
	}
	errs, err := c.eachError(ctx, ops)
	if err != nil {
		return nil, err
	}
	return errs, c.forgiveGone(ctx, businessID, businessUserIDs, errs)
}

// forgiveGone clears the 100/33 errors of business users the business no
// longer lists: they are gone. The others keep Meta's answer.
func (c *Client) forgiveGone(ctx context.Context, businessID string, ids []string, errs []error) error {
	var unsure []string
	for i, err := range errs {
		if notFound(err) {
			unsure = append(unsure, ids[i])
		}
	}
	if len(unsure) == 0 {
		return nil
	}
	still, err := c.listed(ctx, businessID, "business_users", unsure)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if notFound(e) && !still[ids[i]] {
			errs[i] = nil
		}
	}
	return nil
}

// SetRoles sets the same role for up to MaxBatch people in one batch and
// returns each one's error.
func (c *Client) SetRoles(ctx context.Context, businessUserIDs []string, role string) ([]error, error) {
	ops := make([]BatchRequest, len(businessUserIDs))
	for i, id := range businessUserIDs {
		ops[i] = BatchRequest{Method: "POST", RelativeURL: id, Body: url.Values{"role": {role}}.Encode()}
	}
	return c.eachError(ctx, ops)
}

// eachError runs a batch and returns each operation's error.
func (c *Client) eachError(ctx context.Context, ops []BatchRequest) ([]error, error) {
	results, err := c.BatchEach(ctx, ops)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(results))
	for i, r := range results {
		errs[i] = r.Err
	}
	return errs, nil
}

package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// RefreshAhead is how long before its access token expires an
// integration's tokens are refreshed.
const RefreshAhead = 24 * time.Hour

// pinterestAPIClient builds an API client for an integration, refreshing
// its tokens first when the access token is about to expire; one process
// refreshes at a time (a refresh token is good once).
func (a *Activities) pinterestAPIClient(ctx context.Context, ig store.Integration) (*pinterestapi.Client, error) {
	if a.PinterestApp == nil {
		return nil, &domain.ProviderError{Provider: "pinterest", Kind: domain.Permanent,
			Message: "no Pinterest app is configured (HUBKEEPER_PINTEREST_CLIENT_ID and HUBKEEPER_PINTEREST_CLIENT_SECRET)"}
	}
	raw, err := a.Store.RenewCredential(ctx, ig.ID, func(current []byte) ([]byte, error) {
		var t pinterestapi.Tokens
		if err := json.Unmarshal(current, &t); err != nil {
			return nil, fmt.Errorf("stored Pinterest tokens: %w", err)
		}
		if time.Until(t.AccessExpires) > RefreshAhead {
			return nil, nil
		}
		renewed, err := a.PinterestApp.Refresh(ctx, t.Refresh)
		if err != nil {
			return nil, err
		}
		return json.Marshal(renewed)
	})
	if err != nil {
		return nil, err
	}
	var t pinterestapi.Tokens
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("stored Pinterest tokens: %w", err)
	}
	return pinterestapi.New(a.PinterestApp.APIBase, t.Access, a.HTTP, a.Backoff)
}

// pinterestAPI reads and changes a business through Pinterest's API. Each
// change looks first, so one already in place is not made again.
type pinterestAPI struct {
	c          *pinterestapi.Client
	businessID string
}

// apiCursor is where a read through the API is: which list, and the
// bookmark of its next page.
type apiCursor struct {
	List     int    `json:"list"`
	Bookmark string `json:"bookmark"`
}

// ReadPart reads a page of, in turn, the members and partners with what
// they hold, the invitations (pending and expired), the ad accounts.
func (p pinterestAPI) ReadPart(ctx context.Context, cursor string) (connector.Part, string, error) {
	var cur apiCursor
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
			return connector.Part{}, "", fmt.Errorf("pinterest API cursor: %w", err)
		}
	}
	before := p.c.Requests()
	var part connector.Part
	var next string
	var err error
	switch cur.List {
	case 0, 1:
		read := []func(context.Context, string, string) (pinterestapi.People, error){p.c.Members, p.c.Partners}[cur.List]
		var people pinterestapi.People
		people, err = read(ctx, p.businessID, cur.Bookmark)
		part.Members, part.Grants, next = people.Members, people.Grants, people.Next
	case 2:
		part.Members, next, err = p.c.Invitations(ctx, p.businessID, cur.Bookmark)
	case 3:
		part.Assets, next, err = p.c.AdAccounts(ctx, p.businessID, cur.Bookmark)
	}
	if err != nil {
		return connector.Part{}, "", err
	}
	part.Requests = p.c.Requests() - before
	if cur.Bookmark = next; next == "" {
		cur.List++
	}
	if cur.List > 3 {
		return part, "", nil
	}
	raw, err := json.Marshal(cur)
	return part, string(raw), err
}

// pending is the pending invitation of email, or of id ("" for either).
func (p pinterestAPI) pending(ctx context.Context, email, id string) (string, error) {
	for bookmark, first := "", true; first || bookmark != ""; first = false {
		invites, next, err := p.c.Invitations(ctx, p.businessID, bookmark)
		if err != nil {
			return "", err
		}
		for _, inv := range invites {
			if inv.InvitationStatus == "PENDING" && ((email != "" && inv.Email == email) || (id != "" && inv.ExternalID == id)) {
				return inv.ExternalID, nil
			}
		}
		bookmark = next
	}
	return "", nil
}

// Invite returns the invitation already pending for the address, if any.
func (p pinterestAPI) Invite(ctx context.Context, email, role string) (connector.Change, error) {
	if id, err := p.pending(ctx, email, ""); err != nil || id != "" {
		return connector.Change{InvitationID: id, AlreadyDone: id != ""}, err
	}
	ids, errs, err := p.c.Invite(ctx, p.businessID, role, []string{email})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return connector.Change{}, err
	}
	return connector.Change{InvitationID: ids[0]}, nil
}

// CancelInvitation counts an invitation no longer pending as done.
func (p pinterestAPI) CancelInvitation(ctx context.Context, invitationID string) (connector.Change, error) {
	if id, err := p.pending(ctx, "", invitationID); err != nil || id == "" {
		return connector.Change{AlreadyDone: id == ""}, err
	}
	errs, err := p.c.CancelInvitations(ctx, p.businessID, []string{invitationID})
	if err == nil {
		err = errs[0]
	}
	return connector.Change{}, err
}

// Remove ends a membership, with the member's current role as the API
// asks; a member already gone is done.
func (p pinterestAPI) Remove(ctx context.Context, memberID string) (connector.Change, error) {
	roles, err := p.c.MemberRoles(ctx, p.businessID, []string{memberID})
	role, present := roles[memberID]
	if err != nil || !present {
		return connector.Change{AlreadyDone: err == nil}, err
	}
	gone, err := p.c.RemoveMembers(ctx, p.businessID, []pinterestapi.MemberRole{{MemberID: memberID, Role: role}})
	if err == nil && !gone[memberID] {
		err = &domain.ProviderError{Provider: "pinterest", Kind: domain.Permanent, Message: "Pinterest did not end the membership"}
	}
	return connector.Change{}, err
}

func (p pinterestAPI) SetRole(ctx context.Context, memberID, role string) (connector.Change, error) {
	errs, err := p.c.SetRoles(ctx, p.businessID, []pinterestapi.MemberRole{{MemberID: memberID, Role: role}})
	if err == nil {
		err = errs[0]
	}
	return connector.Change{}, err
}

// SetAssetTasks grants the ad accounts with permissions and revokes those
// without, each on its own; the first refusal is the answer.
func (p pinterestAPI) SetAssetTasks(ctx context.Context, memberID string, assets []connector.AssetTasks) (connector.Change, error) {
	var grants, revokes []pinterestapi.Access
	for _, at := range assets {
		access := pinterestapi.Access{AssetID: at.AssetID, MemberID: memberID, Permissions: at.Tasks}
		if len(at.Tasks) == 0 {
			revokes = append(revokes, access)
		} else {
			grants = append(grants, access)
		}
	}
	if len(grants) > 0 {
		errs, err := p.c.Grant(ctx, p.businessID, grants)
		if err != nil {
			return connector.Change{}, err
		}
		if err := errors.Join(errs...); err != nil {
			return connector.Change{}, err
		}
	}
	if len(revokes) > 0 {
		// An access not held is not listed as revoked: it is gone already.
		if _, err := p.c.Revoke(ctx, p.businessID, revokes); err != nil {
			return connector.Change{}, err
		}
	}
	return connector.Change{}, nil
}

// RemoveMany ends many memberships: members are looked up first (the API
// wants each one's role), and one already gone counts as removed.
func (p pinterestAPI) RemoveMany(ctx context.Context, memberIDs []string) ([]error, error) {
	roles, err := p.c.MemberRoles(ctx, p.businessID, memberIDs)
	if err != nil {
		return nil, err
	}
	var present []pinterestapi.MemberRole
	for _, id := range memberIDs {
		if role, ok := roles[id]; ok {
			present = append(present, pinterestapi.MemberRole{MemberID: id, Role: role})
		}
	}
	gone := map[string]bool{}
	if len(present) > 0 {
		if gone, err = p.c.RemoveMembers(ctx, p.businessID, present); err != nil {
			return nil, err
		}
	}
	errs := make([]error, len(memberIDs))
	for i, id := range memberIDs {
		if _, ok := roles[id]; ok && !gone[id] {
			errs[i] = &domain.ProviderError{Provider: "pinterest", Kind: domain.Permanent, Message: "Pinterest did not end the membership"}
		}
	}
	return errs, nil
}

func (p pinterestAPI) SetRoles(ctx context.Context, memberIDs []string, role string) ([]error, error) {
	changes := make([]pinterestapi.MemberRole, len(memberIDs))
	for i, id := range memberIDs {
		changes[i] = pinterestapi.MemberRole{MemberID: id, Role: role}
	}
	return p.c.SetRoles(ctx, p.businessID, changes)
}

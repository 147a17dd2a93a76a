package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
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

// apiCursor is where a fetch through the API is: which list, the next
// page's bookmark, and how many members it staged.
type apiCursor struct {
	List     int    `json:"list"`
	Bookmark string `json:"bookmark"`
	Fetched  int    `json:"fetched"`
	Assets   int    `json:"assets"`
	Grants   int    `json:"grants"`
}

// fetchPinterestAPI reads the business through the API into the run's
// staging rows: members and partners with what they hold, invitations
// (pending and expired), ad accounts; page by page, heartbeating where it
// is, so a retry resumes there.
func (a *Activities) fetchPinterestAPI(ctx context.Context, ig store.Integration, runID string) (PinterestFetch, error) {
	c, err := a.pinterestAPIClient(ctx, ig)
	if err != nil {
		return PinterestFetch{}, a.providerFailure(ctx, ig, err)
	}
	var cur apiCursor
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cur)
	}
	hb := beat(ctx, cur)
	defer hb.Stop()
	people := []func(context.Context, string, string) (pinterestapi.People, error){c.Members, c.Partners}
	for cur.List < 4 {
		before := c.Requests()
		var members []domain.BusinessMember
		var grants []domain.Grant
		var assets []store.StagedAsset
		var next string
		switch cur.List {
		case 0, 1:
			var p pinterestapi.People
			p, err = people[cur.List](ctx, ig.BusinessID, cur.Bookmark)
			members, grants, next = p.Members, p.Grants, p.Next
		case 2:
			members, next, err = c.Invitations(ctx, ig.BusinessID, cur.Bookmark)
		case 3:
			var listed []domain.Asset
			listed, next, err = c.AdAccounts(ctx, ig.BusinessID, cur.Bookmark)
			for _, asset := range listed {
				assets = append(assets, store.StagedAsset{Asset: asset})
			}
		}
		if err != nil {
			return PinterestFetch{}, a.providerFailure(ctx, ig, err)
		}
		requests := c.Requests() - before
		if err := a.Store.StageMembers(ctx, runID, members, requests); err != nil {
			return PinterestFetch{}, err
		}
		if err := a.Store.StageGrants(ctx, runID, grants, 0); err != nil {
			return PinterestFetch{}, err
		}
		if err := a.Store.StageAssets(ctx, runID, assets, 0); err != nil {
			return PinterestFetch{}, err
		}
		cur.Fetched, cur.Assets, cur.Grants = cur.Fetched+len(members), cur.Assets+len(assets), cur.Grants+len(grants)
		if cur.Bookmark = next; next == "" {
			cur.List++
		}
		hb.Progress(cur)
	}
	return PinterestFetch{Members: cur.Fetched, Assets: cur.Assets, Grants: cur.Grants}, nil
}

// pinterestAPI changes a business through Pinterest's API. Each change
// looks first, so one already in place is not made again.
type pinterestAPI struct {
	c          *pinterestapi.Client
	businessID string
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
	m, err := p.c.Member(ctx, p.businessID, memberID)
	if err != nil || m == nil {
		return connector.Change{AlreadyDone: m == nil}, err
	}
	gone, err := p.c.RemoveMembers(ctx, p.businessID, []pinterestapi.MemberRole{{MemberID: memberID, Role: m.Role}})
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
	var present []pinterestapi.MemberRole
	for _, id := range memberIDs {
		m, err := p.c.Member(ctx, p.businessID, id)
		if err != nil {
			return nil, err
		}
		if m != nil {
			present = append(present, pinterestapi.MemberRole{MemberID: id, Role: m.Role})
		}
	}
	gone := map[string]bool{}
	if len(present) > 0 {
		var err error
		if gone, err = p.c.RemoveMembers(ctx, p.businessID, present); err != nil {
			return nil, err
		}
	}
	errs := make([]error, len(memberIDs))
	for i, id := range memberIDs {
		if slices.ContainsFunc(present, func(m pinterestapi.MemberRole) bool { return m.MemberID == id }) && !gone[id] {
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

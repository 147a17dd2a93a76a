package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/pinterest"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// The connectors: one per provider, each implementing the capability
// interfaces of its connector.Description.

// metaConnector changes a business through the Graph API.
type metaConnector struct {
	c  *meta.Client
	ig store.Integration
}

// Invite returns the invitation already pending for the address, if any.
func (m metaConnector) Invite(ctx context.Context, email, role string) (connector.Change, error) {
	id, trace, err := m.c.Invite(ctx, m.ig.BusinessID, email, role)
	return connector.Change{InvitationID: id, TraceID: trace, AlreadyDone: err == nil && trace == ""}, err
}

func (m metaConnector) CancelInvitation(ctx context.Context, invitationID string) (connector.Change, error) {
	trace, err := m.c.CancelInvitation(ctx, m.ig.BusinessID, invitationID)
	return connector.Change{TraceID: trace, AlreadyDone: err == nil && trace == ""}, err
}

// Remove removes a member only if the business still has them.
func (m metaConnector) Remove(ctx context.Context, memberID string) (connector.Change, error) {
	present, err := m.c.HasBusinessUser(ctx, m.ig.BusinessID, memberID)
	if err != nil || !present {
		return connector.Change{AlreadyDone: !present}, err
	}
	trace, err := m.c.RemoveBusinessUser(ctx, m.ig.BusinessID, memberID)
	return connector.Change{TraceID: trace}, err
}

func (m metaConnector) SetRole(ctx context.Context, memberID, role string) (connector.Change, error) {
	trace, err := m.c.SetRole(ctx, memberID, role)
	return connector.Change{TraceID: trace}, err
}

func (m metaConnector) SetAssetTasks(ctx context.Context, memberID string, assets []connector.AssetTasks) (connector.Change, error) {
	var change connector.Change
	var err error
	for _, at := range assets {
		if len(at.Tasks) == 0 {
			change.TraceID, err = m.c.UnassignTasks(ctx, at.AssetID, memberID)
		} else {
			change.TraceID, err = m.c.AssignTasks(ctx, at.AssetID, memberID, at.Tasks)
		}
		if err != nil {
			return change, err
		}
	}
	return change, nil
}

// pinterestBrowser reads and changes a business in Pinterest's web app, in
// a logged-in browser session.
type pinterestBrowser struct {
	c    *pinterest.Client
	sess *browser.Session
}

// browserCursor is where a read through the browser is: the members
// list's next page, until the members are done.
type browserCursor struct {
	Next        string `json:"next"`
	MembersDone bool   `json:"members_done"`
}

// ReadPart reads a page of the members list, then the pending
// invitations, then the ad accounts and who holds each.
func (p pinterestBrowser) ReadPart(_ context.Context, cursor string) (connector.Part, string, error) {
	var cur browserCursor
	if cursor != "" {
		if err := json.Unmarshal([]byte(cursor), &cur); err != nil {
			return connector.Part{}, "", fmt.Errorf("pinterest browser cursor: %w", err)
		}
	}
	before := p.sess.Pages
	var part connector.Part
	switch {
	case !cur.MembersDone:
		page, err := p.c.Members(cur.Next)
		if err != nil {
			return part, "", err
		}
		part.Members, cur.Next, cur.MembersDone = page.Members, page.Next, page.Next == ""
	default:
		invites, err := p.c.PendingInvites()
		if err != nil {
			return part, "", err
		}
		if part.Assets, part.Grants, err = p.c.AdAccounts(); err != nil {
			return part, "", err
		}
		part.Members, part.Requests = invites, p.sess.Pages-before
		return part, "", nil
	}
	part.Requests = p.sess.Pages - before
	raw, err := json.Marshal(cur)
	return part, string(raw), err
}

// Invite returns the invitation already pending for the address, if any.
func (p pinterestBrowser) Invite(_ context.Context, email, role string) (connector.Change, error) {
	pendingID := func() (string, error) {
		pending, err := p.c.PendingInvites()
		for _, inv := range pending {
			if inv.Email == email {
				return inv.ExternalID, err
			}
		}
		return "", err
	}
	id, err := pendingID()
	if err != nil || id != "" {
		return connector.Change{InvitationID: id, AlreadyDone: id != ""}, err
	}
	if err := p.c.Invite([]string{email}, role); err != nil {
		return connector.Change{}, err
	}
	if id, err = pendingID(); err == nil && id == "" {
		err = &domain.ProviderError{Provider: "pinterest", Kind: domain.Transient, Message: "the new invitation is not listed yet"}
	}
	return connector.Change{InvitationID: id}, err
}

func (p pinterestBrowser) Remove(_ context.Context, memberID string) (connector.Change, error) {
	was, err := p.c.Remove(memberID)
	return connector.Change{AlreadyDone: !was}, err
}

func (p pinterestBrowser) SetRole(_ context.Context, memberID, role string) (connector.Change, error) {
	return connector.Change{}, p.c.SetRole(memberID, role)
}

// withConnector runs change with the integration's connector, when its
// Description has capability: built on the Graph or Pinterest API client,
// or in a logged-in browser session that is saved afterwards. Provider errors come back
// mapped for Temporal.
func (a *Activities) withConnector(ctx context.Context, ch MemberChange, capability connector.Capability,
	change func(conn any) (connector.Change, error)) (connector.Change, error) {
	defer beat(ctx).Stop()
	ig, err := a.Store.IntegrationByID(ctx, ch.IntegrationID)
	if err != nil {
		return connector.Change{}, failure(err)
	}
	d, ok := connector.Describe(ig.Provider, ig.Mode)
	if !ok || !d.Can(capability) {
		return connector.Change{}, failure(domain.Errorf(domain.EInvalid, "%s has no %s in Hubkeeper", ig.Provider, ch.Action))
	}
	switch d.Channel {
	case connector.ChannelAPI, connector.ChannelGraph:
		conn, err := a.clientConnector(ctx, ig, d)
		if err != nil {
			return connector.Change{}, a.providerFailure(ctx, ig, err)
		}
		done, err := change(conn)
		if err != nil {
			return connector.Change{}, a.actionFailure(ctx, ig, ch, err)
		}
		return done, nil
	default:
		var done connector.Change
		err := a.pinterestAction(ctx, ig, func(b pinterestBrowser) error {
			var err error
			done, err = change(b)
			return err
		})
		return done, err
	}
}

// clientConnector is the connector of an integration reached through an
// API client (the Graph API, Pinterest's API), with its credential opened
// (and refreshed) here.
func (a *Activities) clientConnector(ctx context.Context, ig store.Integration, d connector.Description) (any, error) {
	if d.Channel == connector.ChannelAPI {
		c, err := a.pinterestAPIClient(ctx, ig)
		return pinterestAPI{c: c, businessID: ig.BusinessID}, err
	}
	c, err := a.metaClientFor(ctx, ig)
	return metaConnector{c: c, ig: ig}, err
}

// RemoveMany removes many people, once each (removeOnce).
func (m metaConnector) RemoveMany(ctx context.Context, memberIDs []string) ([]error, error) {
	return removeOnce(ctx, m.c, m.ig.BusinessID, memberIDs)
}

func (m metaConnector) SetRoles(ctx context.Context, memberIDs []string, role string) ([]error, error) {
	return m.c.SetRoles(ctx, memberIDs, role)
}

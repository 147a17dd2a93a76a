package activities

import (
	"context"
	"strconv"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// MemberChange is an admin's change to a member; see store.MemberChange.
type MemberChange = store.MemberChange

// MemberActionStatus records an action's progress for the API.
type MemberActionStatus struct {
	Change       MemberChange
	Status       string
	WaitingUntil *time.Time
	Error        string
}

// RecordMemberAction saves an action's progress.
func (a *Activities) RecordMemberAction(ctx context.Context, in MemberActionStatus) error {
	return failure(a.Store.RecordMemberAction(ctx, in.Change, in.Status, in.WaitingUntil, in.Error))
}

// RestrictedUntil is when Meta lets the integration manage users again (nil: now).
func (a *Activities) RestrictedUntil(ctx context.Context, integrationID string) (*time.Time, error) {
	t, err := a.Store.RestrictedUntil(ctx, integrationID)
	return t, failure(err)
}

// ApplyMemberChange records a change in Postgres with its audit event; a
// change already in place is not applied twice.
func (a *Activities) ApplyMemberChange(ctx context.Context, ch MemberChange) error {
	return failure(a.Store.ApplyMemberChange(ctx, ch))
}

// actionFailure is providerFailure for member actions: when Meta says
// "retry in a few minutes" (10/2859030), the action is recorded as waiting
// until the retry, so the API says why nothing happens yet.
func (a *Activities) actionFailure(ctx context.Context, ig store.Integration, ch MemberChange, err error) error {
	if pe, ok := domain.AsProviderError(err); ok && pe.Code == "10/"+strconv.Itoa(meta.RestrictedSubcode) {
		until := time.Now().Add(pe.RetryAfter)
		if rerr := a.Store.RecordMemberAction(ctx, ch, "waiting", &until, "Meta restricts user management right now: "+pe.Message); rerr != nil {
			return rerr
		}
	}
	return a.providerFailure(ctx, ig, err)
}

// RemoveMetaMember removes a person from the Meta business exactly once: a
// member already removed in Postgres, or no longer in the business, is not
// removed again. It returns Meta's trace id of the removal ("" if there was
// nothing to remove). "Retry in a few minutes" (10/2859030) is retried later.
func (a *Activities) RemoveMetaMember(ctx context.Context, ch MemberChange) (string, error) {
	members, _, err := a.Store.ListMembers(ctx, ch.WorkspaceID, ch.IntegrationID, domain.StateRemoved, store.Page{Limit: 1, Only: ch.MemberID})
	if err != nil {
		return "", failure(err)
	}
	if len(members) == 1 {
		return "", nil // already removed and recorded
	}
	c, ig, err := a.metaClientByID(ctx, ch.IntegrationID)
	if err != nil {
		return "", failure(err)
	}
	present, err := c.HasBusinessUser(ctx, ch.MemberID)
	if err != nil {
		return "", a.actionFailure(ctx, ig, ch, err)
	}
	if !present {
		return "", nil
	}
	trace, err := c.RemoveBusinessUser(ctx, ch.MemberID)
	if err != nil {
		return "", a.actionFailure(ctx, ig, ch, err)
	}
	return trace, nil
}

// ChangeMetaRole sets a member's business role and tasks on assets at Meta
// and returns the last call's trace id. Setting what is already set changes
// nothing, so a retry is harmless.
func (a *Activities) ChangeMetaRole(ctx context.Context, ch MemberChange) (string, error) {
	c, ig, err := a.metaClientByID(ctx, ch.IntegrationID)
	if err != nil {
		return "", failure(err)
	}
	trace := ""
	if ch.Role != "" {
		if trace, err = c.SetRole(ctx, ch.MemberID, ch.Role); err != nil {
			return "", a.actionFailure(ctx, ig, ch, err)
		}
	}
	for _, at := range ch.Assets {
		if len(at.Tasks) == 0 {
			trace, err = c.UnassignTasks(ctx, ig.BusinessID, at.AssetID, ch.MemberID)
		} else {
			trace, err = c.AssignTasks(ctx, ig.BusinessID, at.AssetID, ch.MemberID, at.Tasks)
		}
		if err != nil {
			return "", a.actionFailure(ctx, ig, ch, err)
		}
	}
	return trace, nil
}

// InviteResult is a sent invitation: its id at Meta and the call's trace id.
type InviteResult struct {
	InvitationID string
	TraceID      string
}

// InviteMetaMember invites a directory person to the business exactly once:
// an address already invited returns that invitation.
func (a *Activities) InviteMetaMember(ctx context.Context, ch MemberChange) (InviteResult, error) {
	c, ig, err := a.metaClientByID(ctx, ch.IntegrationID)
	if err != nil {
		return InviteResult{}, failure(err)
	}
	id, trace, err := c.Invite(ctx, ig.BusinessID, ch.Email, ch.Role)
	if err != nil {
		return InviteResult{}, a.actionFailure(ctx, ig, ch, err)
	}
	return InviteResult{InvitationID: id, TraceID: trace}, nil
}

// CancelMetaInvitation cancels an invitation at Meta; one already gone counts as done.
func (a *Activities) CancelMetaInvitation(ctx context.Context, ch MemberChange) (string, error) {
	c, ig, err := a.metaClientByID(ctx, ch.IntegrationID)
	if err != nil {
		return "", failure(err)
	}
	trace, err := c.CancelInvitation(ctx, ch.MemberID)
	if err != nil {
		return "", a.actionFailure(ctx, ig, ch, err)
	}
	return trace, nil
}

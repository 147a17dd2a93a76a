package activities

import (
	"context"
	"strconv"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// MemberChange is an admin's change to a member; see store.MemberChange.
type MemberChange = store.MemberChange

// Intent is what a queued action finds before it acts; see store.Intent.
type Intent = store.Intent

// MemberActionStatus records an action's progress for the API.
type MemberActionStatus struct {
	Change       MemberChange
	Status       string
	WaitingUntil *time.Time
	// Error says why the action failed or waits; Outcome what it did (or why it did nothing).
	Error   string
	Outcome string
}

// RecordMemberAction saves an action's progress.
func (a *Activities) RecordMemberAction(ctx context.Context, in MemberActionStatus) error {
	return failure(a.Store.RecordMemberAction(ctx, in.Change, store.ActionProgress{Status: in.Status, WaitingUntil: in.WaitingUntil,
		Error: in.Error, Outcome: in.Outcome}))
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

// CheckMemberIntent looks at the member again right before an action acts
// at the provider, and says which provider that is; see store.MemberIntent.
func (a *Activities) CheckMemberIntent(ctx context.Context, ch MemberChange) (Intent, error) {
	in, err := a.Store.MemberIntent(ctx, ch)
	return in, failure(err)
}

// ProviderChange is what a change at the provider did.
type ProviderChange = connector.Change

// RemoveMember removes a person from the business center exactly once: a
// member already removed in Postgres, or no longer in the business, is not
// removed again.
func (a *Activities) RemoveMember(ctx context.Context, ch MemberChange) (ProviderChange, error) {
	members, _, err := a.Store.ListMembers(ctx, ch.WorkspaceID, ch.IntegrationID, store.MemberFilter{State: domain.StateRemoved},
		store.Page{Limit: 1, Only: ch.MemberID})
	if err != nil {
		return ProviderChange{}, failure(err)
	}
	if len(members) == 1 {
		return ProviderChange{AlreadyDone: true}, nil
	}
	return a.withConnector(ctx, ch, connector.Remove, func(conn any) (ProviderChange, error) {
		return conn.(connector.Remover).Remove(ctx, ch.MemberID)
	})
}

// ChangeRole sets a member's business role and, at Meta, their tasks on
// assets. Setting what is already set changes nothing, so a retry is harmless.
func (a *Activities) ChangeRole(ctx context.Context, ch MemberChange) (ProviderChange, error) {
	var change ProviderChange
	if ch.Role != "" {
		var err error
		if change, err = a.withConnector(ctx, ch, connector.SetRole, func(conn any) (ProviderChange, error) {
			return conn.(connector.RoleSetter).SetRole(ctx, ch.MemberID, ch.Role)
		}); err != nil {
			return change, err
		}
	}
	if len(ch.Assets) == 0 {
		return change, nil
	}
	return a.withConnector(ctx, ch, connector.SetAssetTasks, func(conn any) (ProviderChange, error) {
		return conn.(connector.AssetTasksSetter).SetAssetTasks(ctx, ch.MemberID, ch.Assets)
	})
}

// InviteMember invites a directory person exactly once: an address already
// invited returns that invitation.
func (a *Activities) InviteMember(ctx context.Context, ch MemberChange) (ProviderChange, error) {
	return a.withConnector(ctx, ch, connector.Invite, func(conn any) (ProviderChange, error) {
		return conn.(connector.Inviter).Invite(ctx, ch.Email, ch.Role)
	})
}

// CancelInvitation cancels an invitation at the provider; one already gone counts as done.
func (a *Activities) CancelInvitation(ctx context.Context, ch MemberChange) (ProviderChange, error) {
	return a.withConnector(ctx, ch, connector.CancelInvitation, func(conn any) (ProviderChange, error) {
		return conn.(connector.InvitationCanceller).CancelInvitation(ctx, ch.MemberID)
	})
}

// actionFailure is providerFailure for member actions: when Meta says
// "retry in a few minutes" (10/2859030), the action is recorded as waiting
// until the retry, so the API says why nothing happens yet.
func (a *Activities) actionFailure(ctx context.Context, ig store.Integration, ch MemberChange, err error) error {
	if pe, ok := domain.AsProviderError(err); ok && pe.Code == "10/"+strconv.Itoa(meta.RestrictedSubcode) {
		until := time.Now().Add(pe.RetryAfter)
		if rerr := a.Store.RecordMemberAction(ctx, ch, store.ActionProgress{Status: store.ActionWaiting, WaitingUntil: &until,
			Error: "Meta restricts user management right now: " + pe.Message}); rerr != nil {
			return rerr
		}
	}
	return a.providerFailure(ctx, ig, err)
}

// The activities below are what member actions started before
// RemoveMember, ChangeRole, InviteMember and CancelInvitation called; they
// stay registered until no such action is open.

// RemoveMetaMember is RemoveMember returning the trace id.
func (a *Activities) RemoveMetaMember(ctx context.Context, ch MemberChange) (string, error) {
	change, err := a.RemoveMember(ctx, ch)
	return change.TraceID, err
}

// ChangeMetaRole is ChangeRole returning the trace id.
func (a *Activities) ChangeMetaRole(ctx context.Context, ch MemberChange) (string, error) {
	change, err := a.ChangeRole(ctx, ch)
	return change.TraceID, err
}

// InviteResult is a sent invitation: its id at the provider and the call's trace id.
type InviteResult struct {
	InvitationID string
	TraceID      string
}

// InviteMetaMember is InviteMember returning an InviteResult.
func (a *Activities) InviteMetaMember(ctx context.Context, ch MemberChange) (InviteResult, error) {
	change, err := a.InviteMember(ctx, ch)
	return InviteResult{InvitationID: change.InvitationID, TraceID: change.TraceID}, err
}

// CancelMetaInvitation is CancelInvitation returning the trace id.
func (a *Activities) CancelMetaInvitation(ctx context.Context, ch MemberChange) (string, error) {
	change, err := a.CancelInvitation(ctx, ch)
	return change.TraceID, err
}

// RemovePinterestMember is RemoveMember.
func (a *Activities) RemovePinterestMember(ctx context.Context, ch MemberChange) error {
	_, err := a.RemoveMember(ctx, ch)
	return err
}

// ChangePinterestRole is ChangeRole.
func (a *Activities) ChangePinterestRole(ctx context.Context, ch MemberChange) error {
	_, err := a.ChangeRole(ctx, ch)
	return err
}

// InvitePinterestMember is InviteMember returning an InviteResult.
func (a *Activities) InvitePinterestMember(ctx context.Context, ch MemberChange) (InviteResult, error) {
	return a.InviteMetaMember(ctx, ch)
}

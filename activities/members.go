package activities

import (
	"context"
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

// RemoveMetaMember removes a person from the Meta business exactly once: a
// member already removed in Postgres, or no longer in the business, is not
// removed again. It returns Meta's trace id of the removal ("" if there was
// nothing to remove). "Retry in a few minutes" (10/2859030) is retried later.
func (a *Activities) RemoveMetaMember(ctx context.Context, ch MemberChange) (string, error) {
	ig, err := a.Store.IntegrationByID(ctx, ch.IntegrationID)
	if err != nil {
		return "", failure(err)
	}
	members, _, err := a.Store.ListMembers(ctx, ch.WorkspaceID, ch.IntegrationID, domain.StateRemoved, store.Page{Limit: 1, Only: ch.MemberID})
	if err != nil {
		return "", failure(err)
	}
	if len(members) == 1 {
		return "", nil // already removed and recorded
	}
	token, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, ig.CredentialID)
	if err != nil {
		return "", err
	}
	c, err := meta.New(ig.Settings.GraphBaseURL, ig.Settings.GraphVersion, string(token), meta.WithHTTPClient(a.HTTP), meta.WithBackoff(a.Backoff))
	if err != nil {
		return "", failure(domain.Errorf(domain.EInvalid, "%v", err))
	}
	present, err := c.HasBusinessUser(ctx, ch.MemberID)
	if err != nil {
		return "", a.providerFailure(ctx, ig, err)
	}
	if !present {
		return "", nil
	}
	trace, err := c.RemoveBusinessUser(ctx, ch.MemberID)
	if err != nil {
		return "", a.providerFailure(ctx, ig, err)
	}
	return trace, nil
}

package store

import (
	"context"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// MemberSnapshot is what an admin saw of a member when asking for an
// action. An action that waits (Meta's restriction window) compares it with
// the member right before it acts, and acts only on the intent it was given.
type MemberSnapshot struct {
	State        string `json:"state"`
	Role         string `json:"role"`
	MatchedEmail string `json:"matched_email,omitempty"`
	// Deprovisioned: the action removes someone who left the company (a
	// confirmed deprovision report); it is called off if they came back.
	Deprovisioned bool `json:"deprovisioned,omitempty"`
	// LeftGroup: the action removes someone who left the group a rule gave
	// them their access by; it is called off if they are back in it.
	LeftGroup *GroupRef `json:"left_group,omitempty"`
}

// GroupRef names a directory's group.
type GroupRef struct {
	DirectoryID string `json:"directory_id"`
	GroupID     string `json:"group_id"`
}

func snapshotOf(m memberState) MemberSnapshot {
	s := MemberSnapshot{State: m.State, Role: m.Role}
	if m.MatchedEmail != nil {
		s.MatchedEmail = *m.MatchedEmail
	}
	return s
}

// Intent is what a queued action finds right before it acts at the provider.
type Intent struct {
	Provider domain.Provider
	// Cancel says, for people, why the action must not act: the member
	// changed since it was asked for. Nothing is sent then.
	Cancel string
	// Done: what the action is for already holds (the member removed, the
	// invitation gone), so there is nothing to send.
	Done bool
}

// MemberIntent looks at the member again right before a queued action acts
// at the provider: a member exempted, re-matched, moved to another tab or
// otherwise changed since ch.Expect was taken calls the action off. It
// changes nothing. Reasons name no e-mail address.
func (s *Store) MemberIntent(ctx context.Context, ch MemberChange) (Intent, error) {
	var in Intent
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var suspended bool
		err := tx.QueryRow(ctx, `SELECT i.provider, w.report_suspended FROM integrations i JOIN workspaces w ON w.id = i.workspace_id
			WHERE i.workspace_id = $1 AND i.id = $2`, ch.WorkspaceID, ch.IntegrationID).Scan(&in.Provider, &suspended)
		if err != nil {
			return notFound(err, "integration")
		}
		if ch.Action == ActionInvite {
			in.Cancel, err = inviteIntent(ctx, tx, ch)
			return err
		}
		if ch.Expect == nil && ch.ReportID != "" {
			if ch.Expect, err = reportedSnapshot(ctx, tx, ch.ReportID, ch.MemberID); err != nil {
				return err
			}
		}
		m, err := lockMember(ctx, tx, ch)
		switch {
		case domain.ErrorCode(err) == domain.ENotFound && ch.Action == ActionCancel:
			in.Done = true // the invitation was dropped: accepted, declined or cancelled elsewhere
			return nil
		case err != nil:
			return err
		}
		in.Done, in.Cancel = memberIntent(ch, m)
		if in.Done || in.Cancel != "" || ch.Expect == nil {
			return nil
		}
		if g := ch.Expect.LeftGroup; g != nil {
			var back bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM directory_group_members gm JOIN directory_users du
					ON du.directory_id = gm.directory_id AND du.external_id = gm.user_id
				WHERE gm.directory_id = $1 AND gm.group_id = $2 AND du.email = $3)`, g.DirectoryID, g.GroupID, ch.Expect.MatchedEmail).Scan(&back); err != nil {
				return err
			}
			if back {
				in.Cancel = "the person is back in the group that gives them their access"
			}
			return nil
		}
		if !ch.Expect.Deprovisioned {
			return nil
		}
		var gone bool
		if err := tx.QueryRow(ctx, `SELECT coalesce(bool_and(du.status = 'deprovisioned' OR (du.status = 'suspended' AND $3)), false)
			FROM directory_users du JOIN directories d ON d.id = du.directory_id
			WHERE d.workspace_id = $1 AND du.email = $2`, ch.WorkspaceID, ch.Expect.MatchedEmail, suspended).Scan(&gone); err != nil {
			return err
		}
		if !gone {
			in.Cancel = "the person is no longer deprovisioned in the directory"
		}
		return nil
	})
	return in, err
}

// reportedSnapshot is a member as a deprovision report showed them: an
// onboarded member matched to a person who left.
func reportedSnapshot(ctx context.Context, tx pgx.Tx, reportID, memberID string) (*MemberSnapshot, error) {
	var matched, leftDirectory, leftGroup *string
	err := tx.QueryRow(ctx, `SELECT matched_email, left_directory_id::text, left_group_id FROM report_members WHERE report_id = $1 AND member_id = $2`,
		reportID, memberID).Scan(&matched, &leftDirectory, &leftGroup)
	if err != nil {
		return nil, notFound(err, "report member")
	}
	snap := &MemberSnapshot{State: string(domain.StateOnboarded), Deprovisioned: true}
	if matched == nil { // reported before reports kept the match: the tab alone is checked
		return &MemberSnapshot{State: snap.State}, nil
	}
	snap.MatchedEmail = *matched
	if leftDirectory != nil && leftGroup != nil {
		snap.Deprovisioned, snap.LeftGroup = false, &GroupRef{DirectoryID: *leftDirectory, GroupID: *leftGroup}
	}
	return snap, nil
}

// memberIntent compares a member with what the action was asked for.
func memberIntent(ch MemberChange, m memberState) (done bool, cancel string) {
	switch {
	case ch.Action == ActionCancel && (m.Kind != string(domain.MemberInvitation) || m.State != string(domain.StatePending)):
		return true, ""
	case ch.Action == ActionRemove && m.State == string(domain.StateRemoved):
		return true, ""
	case m.State == string(domain.StateExempted):
		return false, "the member was exempted meanwhile"
	case m.State == string(domain.StateRemoved):
		return false, "the member was removed meanwhile"
	}
	allowed := false
	for _, st := range allowedFrom[ch.Action] {
		allowed = allowed || st == m.State
	}
	if !allowed {
		return false, fmt.Sprintf("the member is now in the %s tab", m.State)
	}
	want := ch.Expect
	if want == nil {
		return false, ""
	}
	now := snapshotOf(m)
	switch {
	case want.State != now.State:
		return false, fmt.Sprintf("the member moved from the %s tab to the %s tab meanwhile", want.State, now.State)
	case want.MatchedEmail != now.MatchedEmail && now.MatchedEmail == "":
		return false, "the member is no longer matched to a directory person"
	case want.MatchedEmail != now.MatchedEmail:
		return false, "the member was matched to another directory person meanwhile"
	case ch.Action == ActionRole && want.Role != now.Role:
		return false, fmt.Sprintf("the member's role changed from %s to %s meanwhile", want.Role, now.Role)
	}
	return false, ""
}

// inviteIntent calls an invitation off when its address joined the
// business or was invited meanwhile, or left the directory.
func inviteIntent(ctx context.Context, tx pgx.Tx, ch MemberChange) (string, error) {
	err := checkInvite(ctx, tx, ch)
	switch {
	case err == nil:
		return "", nil
	case domain.ErrorCode(err) == domain.EConflict:
		return "the address is already in the business or invited", nil
	case domain.ErrorCode(err) == domain.EInvalid:
		return "the address is no longer a directory person of this workspace", nil
	}
	return "", err
}

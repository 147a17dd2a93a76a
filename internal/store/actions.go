package store

import (
	"context"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Member actions.
const (
	ActionMatch    = "match"
	ActionExempt   = "exempt"
	ActionUnexempt = "unexempt"
	ActionReassign = "reassign"
	ActionRemove   = "remove"
	ActionRole     = "role"
	ActionInvite   = "invite"
	ActionCancel   = "cancel_invitation"
	// ActionUnkeep undoes a report's "keep": the member may be reported again.
	ActionUnkeep = "unkeep"
)

// ProviderActions are the actions that change the business at the provider;
// they wait out the integration's restriction window (Meta's).
var ProviderActions = []string{ActionRemove, ActionRole, ActionInvite, ActionCancel}

// AssetTasks are the tasks a member is to hold on an asset; none takes access away.
type AssetTasks = connector.AssetTasks

// MemberChange is an admin's change to a member as Postgres records it.
type MemberChange struct {
	WorkspaceID   string
	IntegrationID string
	MemberID      string
	Action        string
	Actor         string
	WorkflowID    string
	RunID         string
	// MatchedEmail is the directory person's primary e-mail (match, reassign).
	MatchedEmail string
	// HubRole is owner or collaborator (match).
	HubRole string
	// Reason is why a member is exempted (exempt).
	Reason string
	// Role is the business role to set (role, invite).
	Role string
	// Assets are task changes on assets (role).
	Assets []AssetTasks
	// Email is the address to invite (invite).
	Email string
	// TraceID is the provider's trace id of the call that made the change.
	TraceID string
	// Provider is the business center's (empty: meta, as before Pinterest).
	Provider domain.Provider
	// Expect is the member as the admin saw it; a queued action that finds
	// it changed is called off (nil: only the member's tab is checked).
	Expect *MemberSnapshot `json:",omitempty"`
	// ReportID is the confirmed deprovision report a removal comes from:
	// the member as the report showed it is what the removal expects.
	ReportID string `json:",omitempty"`
}

// memberState is what an action changes, for checks and the audit log.
type memberState struct {
	Kind         string              `json:"-"`
	State        string              `json:"state"`
	Role         string              `json:"role"`
	MatchedEmail *string             `json:"matched_email"`
	HubRole      *string             `json:"hub_role"`
	ExemptReason string              `json:"exempt_reason,omitempty"`
	KeptBy       *string             `json:"kept_by,omitempty"`
	Grants       map[string][]string `json:"grants"`
}

// allowedFrom lists the tabs each action starts from.
var allowedFrom = map[string][]string{
	ActionMatch:    {"unmatched"},
	ActionExempt:   {"unmatched"},
	ActionUnexempt: {"exempted"},
	ActionReassign: {"onboarded"},
	ActionRemove:   {"unmatched", "onboarded"},
	ActionRole:     {"unmatched", "onboarded"},
	ActionCancel:   {"pending"},
	ActionUnkeep:   {"onboarded", "unmatched"},
}

// CheckMemberChange tells whether an action may start: the member exists in
// the workspace's integration, is in a tab the action starts from, and the
// action's inputs hold. It returns the member as it is now (zero for an
// invitation), for the action to compare before it acts. It changes nothing.
func (s *Store) CheckMemberChange(ctx context.Context, ch MemberChange) (MemberSnapshot, error) {
	var snap MemberSnapshot
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		if ch.Action == ActionInvite {
			return checkInvite(ctx, tx, ch)
		}
		before, err := lockMember(ctx, tx, ch)
		if err != nil {
			return err
		}
		snap = snapshotOf(before)
		return checkChange(ctx, tx, ch, before)
	})
	return snap, err
}

// describe is the connector of an integration's provider.
func describe(ctx context.Context, tx pgx.Tx, integrationID string) (connector.Description, error) {
	var provider domain.Provider
	var mode string
	if err := tx.QueryRow(ctx, `SELECT provider, mode FROM integrations WHERE id = $1`, integrationID).Scan(&provider, &mode); err != nil {
		return connector.Description{}, notFound(err, "integration")
	}
	d, ok := connector.Describe(provider, mode)
	if !ok {
		return d, domain.Errorf(domain.EInvalid, "provider %q has no connector in mode %q", provider, mode)
	}
	return d, nil
}

// checkInvite: the address is a directory person of the workspace and
// neither in the business nor invited (an expired or declined invitation
// does not count).
func checkInvite(ctx context.Context, tx pgx.Tx, ch MemberChange) error {
	d, err := describe(ctx, tx, ch.IntegrationID)
	if err != nil {
		return err
	}
	if err := d.CheckRole(ch.Role); err != nil {
		return err
	}
	var people, present int
	err = tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM directory_users du JOIN directories d ON d.id = du.directory_id WHERE d.workspace_id = $1 AND du.email = $3),
			(SELECT count(*) FROM members m WHERE m.integration_id = $2 AND m.email = $3 AND m.state <> 'removed'
				AND NOT (m.kind = 'invitation' AND m.invitation_status IN ('EXPIRED', 'DECLINED')))`,
		ch.WorkspaceID, ch.IntegrationID, ch.Email).Scan(&people, &present)
	if err != nil {
		return err
	}
	if people == 0 {
		return domain.Errorf(domain.EInvalid, "no directory user of this workspace has the e-mail %q", ch.Email)
	}
	if present > 0 {
		return domain.Errorf(domain.EConflict, "%s is already in the business or invited", ch.Email)
	}
	return nil
}

func lockMember(ctx context.Context, tx pgx.Tx, ch MemberChange) (memberState, error) {
	var m memberState
	err := tx.QueryRow(ctx, `SELECT m.kind, m.state, m.role, m.matched_email, m.hub_role, m.exempt_reason, m.kept_by,
			(SELECT coalesce(jsonb_object_agg(g.asset_id, g.tasks), '{}') FROM asset_grants g
				WHERE g.integration_id = m.integration_id AND g.member_id = m.external_id)
		FROM members m JOIN integrations i ON i.id = m.integration_id
		WHERE i.workspace_id = $1 AND m.integration_id = $2 AND m.external_id = $3 FOR UPDATE OF m`,
		ch.WorkspaceID, ch.IntegrationID, ch.MemberID).Scan(&m.Kind, &m.State, &m.Role, &m.MatchedEmail, &m.HubRole, &m.ExemptReason, &m.KeptBy,
		&m.Grants)
	return m, notFound(err, "member")
}

func checkChange(ctx context.Context, tx pgx.Tx, ch MemberChange, m memberState) error {
	from, ok := allowedFrom[ch.Action]
	if !ok {
		return domain.Errorf(domain.EInvalid, "unknown action %q", ch.Action)
	}
	wantKind := string(domain.MemberUser)
	if ch.Action == ActionCancel {
		wantKind = string(domain.MemberInvitation)
	}
	if m.Kind != wantKind {
		return domain.Errorf(domain.EConflict, "member %s is a %s; %s acts on a %s", ch.MemberID, m.Kind, ch.Action, wantKind)
	}
	allowed := false
	for _, st := range from {
		allowed = allowed || st == m.State
	}
	if !allowed {
		return domain.Errorf(domain.EConflict, "cannot %s a member in the %s tab (allowed from: %v)", ch.Action, m.State, from)
	}
	switch ch.Action {
	case ActionMatch, ActionReassign:
		if ch.Action == ActionMatch && ch.HubRole != "owner" && ch.HubRole != "collaborator" {
			return domain.Errorf(domain.EInvalid, `hub_role must be "owner" or "collaborator"`)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM directory_users du JOIN directories d ON d.id = du.directory_id
			WHERE d.workspace_id = $1 AND du.email = $2`, ch.WorkspaceID, ch.MatchedEmail).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return domain.Errorf(domain.EInvalid, "no directory user of this workspace has the e-mail %q", ch.MatchedEmail)
		}
		if ch.Action == ActionReassign && m.MatchedEmail != nil && *m.MatchedEmail == ch.MatchedEmail {
			return domain.Errorf(domain.EConflict, "the member already belongs to %s", ch.MatchedEmail)
		}
	case ActionExempt:
		if len(ch.Reason) < 3 {
			return domain.Errorf(domain.EInvalid, "reason is required: say why this member stays out of management")
		}
	case ActionUnkeep:
		if m.KeptBy == nil {
			return domain.Errorf(domain.EConflict, "member %s is not kept: no report decision keeps them", ch.MemberID)
		}
	case ActionRole:
		d, err := describe(ctx, tx, ch.IntegrationID)
		if err != nil {
			return err
		}
		if ch.Role != "" {
			if err := d.CheckRole(ch.Role); err != nil {
				return err
			}
		}
		if len(ch.Assets) > 0 && !d.Can(connector.SetAssetTasks) {
			return d.Refuse(connector.SetAssetTasks)
		}
		if ch.Role == "" && len(ch.Assets) == 0 {
			return domain.Errorf(domain.EInvalid, "say what to change: role, assets or both")
		}
		return checkAssets(ctx, tx, d, ch.IntegrationID, ch.Assets)
	}
	return nil
}

// checkAssets says whether tasks may be given on each asset: it is in the
// business, listed once, and the tasks suit its type.
func checkAssets(ctx context.Context, tx pgx.Tx, d connector.Description, integrationID string, assets []AssetTasks) error {
	seen := map[string]bool{}
	for _, at := range assets {
		if seen[at.AssetID] {
			return domain.Errorf(domain.EInvalid, "asset %s is listed twice", at.AssetID)
		}
		seen[at.AssetID] = true
		var assetType string
		err := tx.QueryRow(ctx, `SELECT type FROM assets WHERE integration_id = $1 AND external_id = $2`, integrationID, at.AssetID).Scan(&assetType)
		if isNoRows(err) {
			return domain.Errorf(domain.EInvalid, "asset %s is not in this business", at.AssetID)
		}
		if err != nil {
			return err
		}
		if err := d.CheckTasks(assetType, at.Tasks); err != nil {
			return domain.Errorf(domain.EInvalid, "asset %s: %v", at.AssetID, err)
		}
	}
	return nil
}

// done reports whether the change is already in place (a retried activity).
func done(ch MemberChange, m memberState) bool {
	switch ch.Action {
	case ActionMatch:
		return m.State == "onboarded" && m.MatchedEmail != nil && *m.MatchedEmail == ch.MatchedEmail
	case ActionReassign:
		return m.State == "onboarded" && m.MatchedEmail != nil && *m.MatchedEmail == ch.MatchedEmail
	case ActionExempt:
		return m.State == "exempted"
	case ActionUnexempt:
		return m.State == "unmatched"
	case ActionRemove:
		return m.State == "removed"
	case ActionUnkeep:
		return m.KeptBy == nil
	case ActionRole:
		if ch.Role != "" && m.Role != ch.Role {
			return false
		}
		for _, at := range ch.Assets {
			if !slices.Equal(m.Grants[at.AssetID], at.Tasks) && (len(at.Tasks) > 0 || m.Grants[at.AssetID] != nil) {
				return false
			}
		}
		return true
	}
	return false
}

// ApplyMemberChange records an admin's change to a member with an audit
// event (before and after) in the same transaction, numbered so that a
// check whose snapshot began before it leaves the member as the admin left
// them. Applying it again once it is in place changes nothing.
func (s *Store) ApplyMemberChange(ctx context.Context, ch MemberChange) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if err := lockMembers(ctx, tx, ch.IntegrationID, false); err != nil {
			return err
		}
		switch ch.Action {
		case ActionInvite:
			return s.applyInvite(ctx, tx, ch)
		case ActionCancel:
			return s.applyCancel(ctx, tx, ch)
		}
		before, err := lockMember(ctx, tx, ch)
		if err != nil {
			return err
		}
		if done(ch, before) {
			return nil
		}
		if err := checkChange(ctx, tx, ch, before); err != nil {
			return err
		}
		now := s.now()
		switch ch.Action {
		case ActionMatch:
			_, err = tx.Exec(ctx, `UPDATE members SET state = 'onboarded', match = 'one', matched_email = $3, matched_by = 'admin',
				hub_role = $4, updated_at = $5 WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, ch.MatchedEmail, ch.HubRole, now)
		case ActionReassign:
			_, err = tx.Exec(ctx, `UPDATE members SET matched_email = $3, matched_by = 'admin', updated_at = $4
				WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, ch.MatchedEmail, now)
		case ActionExempt:
			_, err = tx.Exec(ctx, `UPDATE members SET state = 'exempted', exempt_reason = $3, updated_at = $4
				WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, ch.Reason, now)
		case ActionUnexempt:
			_, err = tx.Exec(ctx, `UPDATE members SET state = 'unmatched', exempt_reason = '', matched_by = 'sync', updated_at = $3
				WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, now)
		case ActionRemove:
			if _, err = tx.Exec(ctx, `UPDATE members SET state = 'removed', removed_at = $3, updated_at = $3
				WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, now); err == nil {
				_, err = tx.Exec(ctx, `DELETE FROM asset_grants WHERE integration_id = $1 AND member_id = $2`, ch.IntegrationID, ch.MemberID)
			}
		case ActionRole:
			err = applyRole(ctx, tx, ch, now)
		case ActionUnkeep:
			_, err = tx.Exec(ctx, `UPDATE members SET kept_by = NULL, kept_at = NULL, kept_status_changed_at = NULL, updated_at = $3
				WHERE integration_id = $1 AND external_id = $2`, ch.IntegrationID, ch.MemberID, now)
		}
		if err != nil {
			return err
		}
		if err := noteAdminChange(ctx, tx, ch.IntegrationID, ch.MemberID); err != nil {
			return err
		}
		after, err := lockMember(ctx, tx, ch)
		if err != nil {
			return err
		}
		details := map[string]any{"member_id": ch.MemberID, "before": before, "after": after}
		if ch.Reason != "" {
			details["reason"] = ch.Reason
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ch.WorkspaceID, Actor: ch.Actor, Action: "member." + ch.Action,
			SubjectType: "member", SubjectID: ch.IntegrationID + "/" + ch.MemberID, WorkflowID: ch.WorkflowID, RunID: ch.RunID,
			TraceID: ch.TraceID, Details: details})
	})
}

func applyRole(ctx context.Context, tx pgx.Tx, ch MemberChange, now time.Time) error {
	if ch.Role != "" {
		if _, err := tx.Exec(ctx, `UPDATE members SET role = $3, updated_at = $4 WHERE integration_id = $1 AND external_id = $2`,
			ch.IntegrationID, ch.MemberID, ch.Role, now); err != nil {
			return err
		}
	}
	for _, at := range ch.Assets {
		var err error
		if len(at.Tasks) == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM asset_grants WHERE integration_id = $1 AND asset_id = $2 AND member_id = $3`,
				ch.IntegrationID, at.AssetID, ch.MemberID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO asset_grants (integration_id, asset_id, member_id, tasks, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (integration_id, asset_id, member_id) DO UPDATE SET tasks = EXCLUDED.tasks, updated_at = EXCLUDED.updated_at`,
				ch.IntegrationID, at.AssetID, ch.MemberID, at.Tasks, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// noteAdminChange numbers an admin's change to a member.
func noteAdminChange(ctx context.Context, tx pgx.Tx, integrationID, memberID string) error {
	_, err := tx.Exec(ctx, `UPDATE members SET admin_change = nextval('member_changes') WHERE integration_id = $1 AND external_id = $2`,
		integrationID, memberID)
	return err
}

// applyInvite records a new invitation as a pending member; ch.MemberID is
// the invitation's id at the provider. Recording it again changes nothing.
func (s *Store) applyInvite(ctx context.Context, tx pgx.Tx, ch MemberChange) error {
	tag, err := tx.Exec(ctx, `INSERT INTO members (integration_id, external_id, kind, email, name, role, state, invitation_status, admin_change)
		VALUES ($1, $2, 'invitation', $3, $3, $4, 'pending', 'PENDING', nextval('member_changes')) ON CONFLICT DO NOTHING`,
		ch.IntegrationID, ch.MemberID, ch.Email, ch.Role)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ch.WorkspaceID, Actor: ch.Actor, Action: "member.invite",
		SubjectType: "member", SubjectID: ch.IntegrationID + "/" + ch.MemberID, WorkflowID: ch.WorkflowID, RunID: ch.RunID,
		TraceID: ch.TraceID, Details: map[string]any{"email": ch.Email, "role": ch.Role}})
}

// applyCancel marks a cancelled invitation removed; the next check, whose
// snapshot no longer has it, drops it. Marking it again changes nothing.
func (s *Store) applyCancel(ctx context.Context, tx pgx.Tx, ch MemberChange) error {
	var email string
	err := tx.QueryRow(ctx, `UPDATE members SET state = 'removed', removed_at = $3, updated_at = $3, admin_change = nextval('member_changes')
		WHERE integration_id = $1 AND external_id = $2 AND kind = 'invitation' AND state <> 'removed' RETURNING email`,
		ch.IntegrationID, ch.MemberID, s.now()).Scan(&email)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ch.WorkspaceID, Actor: ch.Actor, Action: "member.cancel_invitation",
		SubjectType: "member", SubjectID: ch.IntegrationID + "/" + ch.MemberID, WorkflowID: ch.WorkflowID, RunID: ch.RunID,
		TraceID: ch.TraceID, Details: map[string]any{"email": email}})
}

// Outcomes of a removal: the member was removed, or was already gone.
const (
	OutcomeRemoved = "removed"
	OutcomeGone    = "already gone"
)

// Statuses of a member action. Cancelled: the member changed before the
// action could act, so nothing was sent.
const (
	ActionRunning   = "running"
	ActionWaiting   = "waiting"
	ActionSucceeded = "succeeded"
	ActionCancelled = "cancelled"
	ActionFailed    = "failed"
)

// MemberAction is one admin action's progress.
type MemberAction struct {
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	MemberID     string     `json:"member_id"`
	Action       string     `json:"action"`
	Actor        string     `json:"actor"`
	Status       string     `json:"status"`
	WaitingUntil *time.Time `json:"waiting_until,omitempty"`
	// Outcome says in a sentence what the action did, or why it did nothing.
	Outcome    string     `json:"outcome,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ActionProgress is where an action stands.
type ActionProgress struct {
	Status       string
	WaitingUntil *time.Time
	// Outcome (succeeded, cancelled) and Error (failed, or why it waits) are sentences for people.
	Outcome string
	Error   string
}

// RecordMemberAction upserts an action's progress.
func (s *Store) RecordMemberAction(ctx context.Context, ch MemberChange, p ActionProgress) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO member_actions (workflow_id, run_id, workspace_id, integration_id, member_id, action, actor, status,
			waiting_until, error, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, waiting_until = EXCLUDED.waiting_until, error = EXCLUDED.error,
			outcome = EXCLUDED.outcome, finished_at = CASE WHEN EXCLUDED.status IN ('succeeded', 'cancelled', 'failed') THEN now() END`,
		ch.WorkflowID, ch.RunID, ch.WorkspaceID, ch.IntegrationID, ch.MemberID, ch.Action, ch.Actor, p.Status, p.WaitingUntil, p.Error, p.Outcome)
	return err
}

// MemberActions lists a member's actions, newest first.
func (s *Store) MemberActions(ctx context.Context, workspaceID, integrationID, memberID string) ([]MemberAction, error) {
	rows, err := s.pool.Query(ctx, `SELECT workflow_id, run_id, member_id, action, actor, status, waiting_until, outcome, error, started_at, finished_at
		FROM member_actions WHERE workspace_id = $1 AND integration_id = $2 AND member_id = $3 ORDER BY started_at DESC LIMIT 20`,
		workspaceID, integrationID, memberID)
	if err != nil {
		return nil, notFound(err, "integration")
	}
	actions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MemberAction, error) {
		var a MemberAction
		return a, r.Scan(&a.WorkflowID, &a.RunID, &a.MemberID, &a.Action, &a.Actor, &a.Status, &a.WaitingUntil, &a.Outcome, &a.Error,
			&a.StartedAt, &a.FinishedAt)
	})
	return actions, notFound(err, "integration")
}

// RestrictedUntil is when Meta lets the integration manage users again (nil: now).
func (s *Store) RestrictedUntil(ctx context.Context, integrationID string) (*time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT restricted_until FROM integrations WHERE id = $1`, integrationID).Scan(&t)
	return t, notFound(err, "integration")
}

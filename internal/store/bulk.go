package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// BulkLimit is the most members one bulk action takes.
const BulkLimit = 500

// CancelledPrefix starts the outcome of a bulk member left alone because
// they changed since the admin asked.
const CancelledPrefix = "cancelled: "

// BulkAction is an action on many members and its progress.
type BulkAction struct {
	ID            string     `json:"id"`
	WorkspaceID   string     `json:"workspace_id"`
	IntegrationID string     `json:"integration_id"`
	Action        string     `json:"action"`
	Actor         string     `json:"actor"`
	Reason        string     `json:"reason,omitempty"`
	Role          string     `json:"role,omitempty"`
	MemberIDs     []string   `json:"member_ids"`
	Status        string     `json:"status"`
	WaitingUntil  *time.Time `json:"waiting_until,omitempty"`
	Total         int        `json:"total"`
	Done          int        `json:"done"`
	Failed        int        `json:"failed"`
	Cancelled     int        `json:"cancelled"`
	// Outcomes maps each member acted on to "" (done), "cancelled: why"
	// (the member changed since the admin asked) or why it failed.
	Outcomes map[string]string `json:"outcomes"`
	// Expected is each member as the admin saw them; a chunk calls off the
	// action for a member that changed since.
	Expected   map[string]MemberSnapshot `json:"-"`
	WorkflowID string                    `json:"workflow_id"`
	CreatedAt  time.Time                 `json:"created_at"`
	FinishedAt *time.Time                `json:"finished_at"`
}

// CreateBulkAction stores a bulk action after checking every member, so a
// bad request starts nothing. It returns the action with its id.
func (s *Store) CreateBulkAction(ctx context.Context, b BulkAction) (BulkAction, error) {
	b.Expected = map[string]MemberSnapshot{}
	for _, id := range b.MemberIDs {
		ch := MemberChange{WorkspaceID: b.WorkspaceID, IntegrationID: b.IntegrationID, MemberID: id, Action: b.Action,
			Reason: b.Reason, Role: b.Role}
		snap, err := s.CheckMemberChange(ctx, ch)
		if err != nil {
			var de *domain.Error
			if errors.As(err, &de) {
				return b, domain.Errorf(de.Code, "member %s: %s", id, de.Message)
			}
			return b, err
		}
		b.Expected[id] = snap
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO bulk_actions (workspace_id, integration_id, action, actor, reason, role, member_ids, expected)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at`,
		b.WorkspaceID, b.IntegrationID, b.Action, b.Actor, b.Reason, b.Role, b.MemberIDs, b.Expected).Scan(&b.ID, &b.CreatedAt)
	b.Status, b.Total, b.Outcomes = "running", len(b.MemberIDs), map[string]string{}
	return b, err
}

// BulkAction returns a bulk action of a workspace ("" workspace: any).
func (s *Store) BulkAction(ctx context.Context, workspaceID, id string) (BulkAction, error) {
	var b BulkAction
	err := s.pool.QueryRow(ctx, `SELECT id, workspace_id, integration_id, action, actor, reason, role, member_ids, status, waiting_until,
			outcomes, expected, workflow_id, created_at, finished_at
		FROM bulk_actions WHERE id = $1 AND ($2 = '' OR workspace_id = $2::uuid)`, id, workspaceID).
		Scan(&b.ID, &b.WorkspaceID, &b.IntegrationID, &b.Action, &b.Actor, &b.Reason, &b.Role, &b.MemberIDs, &b.Status, &b.WaitingUntil,
			&b.Outcomes, &b.Expected, &b.WorkflowID, &b.CreatedAt, &b.FinishedAt)
	if err != nil {
		return b, notFound(err, "bulk action")
	}
	b.Total = len(b.MemberIDs)
	for _, e := range b.Outcomes {
		switch {
		case e == "":
			b.Done++
		case strings.HasPrefix(e, CancelledPrefix):
			b.Cancelled++
		default:
			b.Failed++
		}
	}
	return b, nil
}

// RecordBulkOutcomes merges members' outcomes ("" = done) into a bulk action.
func (s *Store) RecordBulkOutcomes(ctx context.Context, id string, outcomes map[string]string) error {
	_, err := s.pool.Exec(ctx, `UPDATE bulk_actions SET outcomes = outcomes || $2 WHERE id = $1`, id, outcomes)
	return err
}

// RecordBulkStatus sets a bulk action's status (and workflow id, waiting time).
func (s *Store) RecordBulkStatus(ctx context.Context, id, workflowID, status string, waitingUntil *time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE bulk_actions SET status = $3, waiting_until = $4,
			workflow_id = CASE WHEN $2 = '' THEN workflow_id ELSE $2 END,
			finished_at = CASE WHEN $3 IN ('succeeded', 'failed') THEN now() END WHERE id = $1`, id, workflowID, status, waitingUntil)
	return err
}

// MemberNames maps the ids of an integration's members to their names.
func (s *Store) MemberNames(ctx context.Context, integrationID string, ids []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT external_id, name FROM members WHERE integration_id = $1 AND external_id = ANY($2)`,
		integrationID, ids)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	var id, name string
	_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
	return names, err
}

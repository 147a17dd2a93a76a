package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent records who did what, when, through which workflow run.
type AuditEvent struct {
	ID          int64          `json:"id"`
	WorkspaceID string         `json:"workspace_id"`
	OccurredAt  time.Time      `json:"occurred_at"`
	Actor       string         `json:"actor"`
	Action      string         `json:"action"`
	SubjectType string         `json:"subject_type"`
	SubjectID   string         `json:"subject_id"`
	WorkflowID  string         `json:"workflow_id,omitempty"`
	RunID       string         `json:"run_id,omitempty"`
	TraceID     string         `json:"trace_id,omitempty"`
	Details     map[string]any `json:"details"`
}

// insertAudit writes an event inside the caller's transaction, so the event
// exists exactly when the change it describes does.
func insertAudit(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (workspace_id, actor, action, subject_type, subject_id, workflow_id, run_id, trace_id, details)
		VALUES (nullif($1, '')::uuid, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.WorkspaceID, e.Actor, e.Action, e.SubjectType, e.SubjectID, e.WorkflowID, e.RunID, e.TraceID, e.Details)
	return err
}

// AuditFilter narrows ListAuditEvents.
type AuditFilter struct {
	Action    string
	SubjectID string
	Actor     string
}

// ListAuditEvents lists a workspace's events, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, workspaceID string, f AuditFilter, p Page) ([]AuditEvent, string, error) {
	var after int64
	if p.Cursor != "" {
		if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT id, workspace_id, occurred_at, actor, action, subject_type, subject_id, workflow_id, run_id, trace_id, details
		FROM audit_events
		WHERE workspace_id = $1 AND ($2 = '' OR action = $2) AND ($3 = '' OR subject_id = $3)
			AND ($4 = '' OR actor = $4) AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, workspaceID, f.Action, f.SubjectID, f.Actor, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		return e, r.Scan(&e.ID, &e.WorkspaceID, &e.OccurredAt, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID,
			&e.WorkflowID, &e.RunID, &e.TraceID, &e.Details)
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(events) > limit {
		events = events[:limit]
		next = encodeCursor(events[limit-1].ID)
	}
	return events, next, nil
}

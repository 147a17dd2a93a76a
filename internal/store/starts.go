package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Kinds of workflow start.
const (
	StartDirectorySchedule   = "directory_schedule"
	StartIntegrationSchedule = "integration_schedule"
	StartOnboarding          = "onboarding"
	// StartOnboardingAgain follows a finished onboarding with a new one.
	StartOnboardingAgain = "onboarding_again"
)

// WorkflowStart is a workflow or Schedule owed to a row: recorded in the
// transaction that creates the row, started after it commits, and kept
// until started, so that a failed commit starts nothing and a Temporal
// that is down delays the start without losing it.
type WorkflowStart struct {
	ID   int64
	Kind string
	// SubjectID is the directory or integration the start is for.
	SubjectID string
	// AppApproved: a restarted Meta onboarding begins at the claim.
	AppApproved bool
}

// owe records a start inside the caller's transaction.
func owe(ctx context.Context, tx pgx.Tx, kind, subjectID string, appApproved bool) (WorkflowStart, error) {
	st := WorkflowStart{Kind: kind, SubjectID: subjectID, AppApproved: appApproved}
	err := tx.QueryRow(ctx, `INSERT INTO workflow_starts (kind, subject_id, app_approved) VALUES ($1, $2, $3) RETURNING id`,
		kind, subjectID, appApproved).Scan(&st.ID)
	return st, err
}

// OwedStarts lists the starts not done yet, oldest first.
func (s *Store) OwedStarts(ctx context.Context, limit int) ([]WorkflowStart, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, kind, subject_id, app_approved FROM workflow_starts ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkflowStart, error) {
		var st WorkflowStart
		return st, r.Scan(&st.ID, &st.Kind, &st.SubjectID, &st.AppApproved)
	})
}

// StartDone forgets a start once it was made.
func (s *Store) StartDone(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM workflow_starts WHERE id = $1`, id)
	return err
}

// StartFailed notes why a start could not be made yet.
func (s *Store) StartFailed(ctx context.Context, id int64, message string) error {
	_, err := s.pool.Exec(ctx, `UPDATE workflow_starts SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, message)
	return err
}

package store

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// DeleteIntegration removes an integration of a workspace with all it
// holds (members, assets, grants, checks, onboarding, reports and their
// links) and every secret it ever had (tokens, passwords, browser
// cookies, superseded ones too). The audit trail stays, with an
// integration.deleted event. The caller stops its workflows first.
func (s *Store) DeleteIntegration(ctx context.Context, workspaceID, id, actor string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var provider, label, businessID string
		var openReports int
		err := tx.QueryRow(ctx, `DELETE FROM integrations i WHERE i.workspace_id = $1 AND i.id::text = $2
			RETURNING i.provider, i.label, i.business_id, (SELECT count(*) FROM deprovision_reports r WHERE r.integration_id = i.id AND r.status = 'pending')`,
			workspaceID, id).Scan(&provider, &label, &businessID, &openReports)
		if err != nil {
			return notFound(err, "integration")
		}
		// Grants have no foreign key to cascade (Reconcile holds the row).
		if _, err := tx.Exec(ctx, `DELETE FROM asset_grants WHERE integration_id = $1::uuid`, id); err != nil {
			return err
		}
		secrets, err := deleteOwned(ctx, tx, id)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "integration.deleted",
			SubjectType: "integration", SubjectID: id, Details: map[string]any{"provider": provider, "label": label,
				"business_id": businessID, "secrets_destroyed": secrets, "open_reports_closed": openReports}})
	})
}

// ReportIDs lists the ids of an integration's reports, whose reviews a
// removal stops.
func (s *Store) ReportIDs(ctx context.Context, integrationID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM deprovision_reports WHERE integration_id::text = $1`, integrationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DeleteDirectory removes a directory of a workspace with its users and
// imports and every secret it ever had; the audit trail stays, with a
// directory.deleted event. The caller stops its workflows first.
func (s *Store) DeleteDirectory(ctx context.Context, workspaceID, id, actor string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var dirType, name string
		err := tx.QueryRow(ctx, `DELETE FROM directories WHERE workspace_id = $1 AND id::text = $2 RETURNING type, name`,
			workspaceID, id).Scan(&dirType, &name)
		if err != nil {
			return notFound(err, "directory")
		}
		secrets, err := deleteOwned(ctx, tx, id)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "directory.deleted",
			SubjectType: "directory", SubjectID: id, Details: map[string]any{"type": dirType, "name": name, "secrets_destroyed": secrets}})
	})
}

// deleteOwned destroys the credentials a removed directory or integration
// owned and the workflow starts still owed for it; it returns how many
// credentials went.
func deleteOwned(ctx context.Context, tx pgx.Tx, ownerID string) (int, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM credentials WHERE owner_id = $1`, ownerID)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM workflow_starts WHERE subject_id = $1`, ownerID); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// Purged counts what a Purge removed.
type Purged struct {
	Credentials  int `json:"credentials"`
	ReportTokens int `json:"report_tokens"`
	StagingRows  int `json:"staging_rows"`
	// ConsoleSignIns are ended console sessions, sign-ins and links.
	ConsoleSignIns int `json:"console_sign_ins"`
}

// Purge removes what is kept only for a while: credentials nothing refers
// to any more (superseded tokens, passwords and cookies, answered
// onboarding submissions) and report links used or expired, older than
// keep; console sessions, sign-ins and links that ended; the staging rows of checks and imports that ended, and of those
// halted or running for longer than keep, which end.
func (s *Store) Purge(ctx context.Context, keep time.Duration) (Purged, error) {
	var p Purged
	if keep < time.Hour {
		return p, domain.Errorf(domain.EInvalid, "retention must be at least an hour, not %v", keep)
	}
	before := s.now().Add(-keep)
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM credentials c WHERE c.created_at < $1
			AND NOT EXISTS (SELECT 1 FROM integrations i WHERE c.id IN (i.credential_id, i.session_credential_id))
			AND NOT EXISTS (SELECT 1 FROM directories d WHERE d.credential_id = c.id)
			AND NOT EXISTS (SELECT 1 FROM onboardings o WHERE c.id IN (o.app_credential_id, o.token_credential_id, o.code_credential_id))
			AND NOT EXISTS (SELECT 1 FROM workspaces w WHERE w.console_secret_id = c.id)`,
			before)
		if err != nil {
			return err
		}
		p.Credentials = int(tag.RowsAffected())
		if tag, err = tx.Exec(ctx, `DELETE FROM report_tokens WHERE coalesce(used_at, expires_at) < $1`, before); err != nil {
			return err
		}
		p.ReportTokens = int(tag.RowsAffected())
		// Console sign-ins, links and sessions that ended.
		for _, q := range []string{`DELETE FROM console_sessions WHERE expires_at < $1`, `DELETE FROM console_sign_ins WHERE expires_at < $1`,
			`DELETE FROM console_links WHERE coalesce(used_at, expires_at) < $1`} {
			if tag, err = tx.Exec(ctx, q, s.now()); err != nil {
				return err
			}
			p.ConsoleSignIns += int(tag.RowsAffected())
		}
		// A halted import waits for an admin only so long, and a run still
		// "running" after keep was abandoned: both end, so that what they
		// staged may go and nothing applies it later.
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET halted = false,
				error = 'the halted import was not accepted in time and expired; run a new import'
			WHERE halted AND directory_id IS NOT NULL AND started_at < $1`, before); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'failed', stage = 'abandoned', finished_at = $2,
				error = 'abandoned: it ran for longer than the retention period'
			WHERE status = 'running' AND started_at < $1`, before, s.now()); err != nil {
			return err
		}
		for _, table := range []string{"directory_user_staging", "member_staging", "asset_staging", "grant_staging",
			"partner_staging", "asset_partner_staging"} {
			tag, err := tx.Exec(ctx, `DELETE FROM `+table+` g USING sync_runs r WHERE r.id = g.sync_run_id
				AND r.status <> 'running' AND NOT r.halted`)
			if err != nil {
				return err
			}
			p.StagingRows += int(tag.RowsAffected())
		}
		return nil
	})
	return p, err
}

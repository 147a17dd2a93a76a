package store

import (
	"context"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// SyncRun is one directory import: its progress while running, its counts after.
type SyncRun struct {
	ID            string               `json:"id"`
	WorkspaceID   string               `json:"workspace_id"`
	DirectoryID   string               `json:"directory_id,omitempty"`
	IntegrationID string               `json:"integration_id,omitempty"`
	Trigger       string               `json:"trigger"`
	WorkflowID    string               `json:"workflow_id"`
	RunID         string               `json:"run_id"`
	Status        domain.SyncRunStatus `json:"status"`
	Stage         string               `json:"stage"`
	Fetched       int                  `json:"fetched"`
	Requests      int                  `json:"requests"`
	domain.SyncCounts
	// Removed, Halted and Details are set by business-center syncs.
	Removed    int            `json:"removed,omitempty"`
	Halted     bool           `json:"halted,omitempty"`
	Details    map[string]any `json:"details,omitempty"`
	Error      string         `json:"error,omitempty"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt *time.Time     `json:"finished_at"`
}

const syncRunColumns = `id, workspace_id, coalesce(directory_id::text, ''), coalesce(integration_id::text, ''), trigger,
	workflow_id, run_id, status, stage, fetched, requests, added, changed, deprovisioned, unchanged, removed, halted, details,
	error, started_at, finished_at`

func scanSyncRun(r pgx.Row) (SyncRun, error) {
	var s SyncRun
	err := r.Scan(&s.ID, &s.WorkspaceID, &s.DirectoryID, &s.IntegrationID, &s.Trigger, &s.WorkflowID, &s.RunID, &s.Status, &s.Stage,
		&s.Fetched, &s.Requests, &s.Added, &s.Changed, &s.Deprovisioned, &s.Unchanged, &s.Removed, &s.Halted, &s.Details,
		&s.Error, &s.StartedAt, &s.FinishedAt)
	return s, err
}

// StartSyncRun records the start of a directory import for a workflow run,
// and drops what older halted imports staged. It is idempotent: a retry for
// the same workflow run returns the same row.
func (s *Store) StartSyncRun(ctx context.Context, directoryID, trigger, workflowID, runID string) (SyncRun, error) {
	var run SyncRun
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var err error
		run, err = scanSyncRun(tx.QueryRow(ctx, `INSERT INTO sync_runs (workspace_id, directory_id, trigger, workflow_id, run_id)
			SELECT workspace_id, id, $2, $3, $4 FROM directories WHERE id = $1
			ON CONFLICT (run_id) DO UPDATE SET run_id = EXCLUDED.run_id
			RETURNING `+syncRunColumns, directoryID, trigger, workflowID, runID))
		if err != nil {
			return notFound(err, "directory")
		}
		// An older halted import can no longer be accepted: drop what it staged.
		_, err = tx.Exec(ctx, `DELETE FROM directory_user_staging WHERE sync_run_id IN
			(SELECT id FROM sync_runs WHERE directory_id = $1 AND halted AND id <> $2)`, directoryID, run.ID)
		return err
	})
	return run, err
}

// SyncRun returns one sync run by id.
func (s *Store) SyncRun(ctx context.Context, id string) (SyncRun, error) {
	run, err := scanSyncRun(s.pool.QueryRow(ctx, `SELECT `+syncRunColumns+` FROM sync_runs WHERE id = $1`, id))
	return run, notFound(err, "sync run")
}

// DirectoryForRun returns the directory a sync run imports.
func (s *Store) DirectoryForRun(ctx context.Context, runID string) (Directory, error) {
	d, err := scanDirectory(s.pool.QueryRow(ctx, `SELECT `+directoryColumns+` FROM directories
		WHERE id = (SELECT directory_id FROM sync_runs WHERE id = $1)`, runID))
	return d, notFound(err, "directory of sync run")
}

// StagePage lands one page of fetched users for a run and records progress:
// requests is how many provider requests the page took. Rows are upserted,
// so a retried page is not counted twice; the fetched count is recomputed
// from what is staged.
func (s *Store) StagePage(ctx context.Context, runID string, users []domain.DirectoryUser, requests int) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if len(users) > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO directory_user_staging
				(sync_run_id, external_id, email, aliases, display_name, given_name, family_name, status, provider_status, guest, removed)
				SELECT $1, u.external_id, coalesce(u.email, ''), coalesce(u.aliases, '{}'), coalesce(u.display_name, ''),
					coalesce(u.given_name, ''), coalesce(u.family_name, ''), coalesce(u.status, 'deprovisioned'),
					coalesce(u.provider_status, ''), coalesce(u.guest, false), coalesce(u.removed, false)
				FROM jsonb_to_recordset($2::jsonb) AS u(external_id text, email text, aliases text[], display_name text,
					given_name text, family_name text, status text, provider_status text, guest boolean, removed boolean)
				ON CONFLICT (sync_run_id, external_id) DO UPDATE SET
					email = EXCLUDED.email, aliases = EXCLUDED.aliases, display_name = EXCLUDED.display_name,
					given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, status = EXCLUDED.status,
					provider_status = EXCLUDED.provider_status, guest = EXCLUDED.guest, removed = EXCLUDED.removed`, runID, users)
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `UPDATE sync_runs SET stage = 'fetching', requests = requests + $2,
			fetched = (SELECT count(*) FROM directory_user_staging WHERE sync_run_id = $1) WHERE id = $1`, runID, requests)
		return err
	})
}

// FinishFetch records how the fetch ended: whether it listed the whole
// directory (so users missing from it are gone), the provider's cursor for
// the next run, and requests not yet counted by StagePage.
func (s *Store) FinishFetch(ctx context.Context, runID string, fullListing bool, nextDeltaLink string, requests int) error {
	_, err := s.pool.Exec(ctx, `UPDATE sync_runs SET stage = 'fetched', full_listing = $2, next_delta_link = nullif($3, ''), requests = requests + $4
		WHERE id = $1`, runID, fullListing, nextDeltaLink, requests)
	return err
}

// ImportResult is what applying an import did.
type ImportResult struct {
	domain.SyncCounts
	// Halted: the deprovision safeguard stopped the import; nothing was applied.
	Halted     bool   `json:"halted,omitempty"`
	HaltReason string `json:"halt_reason,omitempty"`
}

// ApplyImport merges a run's staged users into the directory in one
// transaction: new users are added, changed ones updated, unchanged ones not
// written at all; users the provider reported removed, or (after a full
// listing) no longer listed, become deprovisioned. It records the counts,
// the directory's cursor and an audit event. When more than the directory's
// safeguard share of its users would be deprovisioned, nothing is applied:
// the run is halted (its staged users kept) until an admin accepts it.
// Applying a finished run again returns its result and changes nothing.
func (s *Store) ApplyImport(ctx context.Context, runID string) (ImportResult, error) {
	return s.applyImport(ctx, runID, "")
}

// AcceptImport applies an import the deprovision safeguard halted, on an
// admin's word (actor) that the people really left. Only the directory's
// latest run can be accepted.
func (s *Store) AcceptImport(ctx context.Context, workspaceID, directoryID, runID, actor string) (ImportResult, error) {
	var latest string
	err := s.pool.QueryRow(ctx, `SELECT r.id FROM sync_runs r JOIN directories d ON d.id = r.directory_id
		WHERE d.workspace_id = $1 AND r.directory_id = $2 ORDER BY r.started_at DESC, r.id DESC LIMIT 1`, workspaceID, directoryID).Scan(&latest)
	if err != nil {
		return ImportResult{}, notFound(err, "directory")
	}
	if latest != runID {
		if _, err := s.SyncRun(ctx, runID); err != nil {
			return ImportResult{}, err
		}
		return ImportResult{}, domain.Errorf(domain.EConflict, "a newer import of this directory ran since; accept that one if it halted")
	}
	return s.applyImport(ctx, runID, actor)
}

// safeguardReason says why an import halted and what to do.
func safeguardReason(directoryID, runID string, leaving, known int, share float64) string {
	return fmt.Sprintf("deprovision safeguard: %d of %d users (%.0f%%) would be deprovisioned, over the %.0f%% limit; nothing was applied "+
		"and nobody is reported. If they really left, accept the import: POST /v1/directories/%s/sync-runs/%s/accept; "+
		"if the directory's credentials or settings are wrong, fix them and sync again.",
		leaving, known, 100*float64(leaving)/float64(known), 100*share, directoryID, runID)
}

func (s *Store) applyImport(ctx context.Context, runID, acceptedBy string) (ImportResult, error) {
	var res ImportResult
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var (
			dirID, workspaceID, workflowID, temporalRunID, status, runError string
			full, halted                                                    bool
			nextDelta                                                       *string
			share                                                           float64
		)
		err := tx.QueryRow(ctx, `SELECT r.directory_id, r.workspace_id, r.workflow_id, r.run_id, r.status, r.halted, r.error, r.full_listing,
				r.next_delta_link, d.deprovision_safeguard
			FROM sync_runs r JOIN directories d ON d.id = r.directory_id WHERE r.id = $1`, runID).
			Scan(&dirID, &workspaceID, &workflowID, &temporalRunID, &status, &halted, &runError, &full, &nextDelta, &share)
		if err != nil {
			return notFound(err, "sync run")
		}
		// Imports of one directory apply one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('directory-import'), hashtext($1))`, dirID); err != nil {
			return err
		}
		if err := hashJoinsOnly(ctx, tx); err != nil {
			return err
		}
		switch {
		case status == string(domain.SyncSucceeded):
			return tx.QueryRow(ctx, `SELECT added, changed, deprovisioned, unchanged FROM sync_runs WHERE id = $1`, runID).
				Scan(&res.Added, &res.Changed, &res.Deprovisioned, &res.Unchanged)
		case acceptedBy != "" && !halted:
			return domain.Errorf(domain.EConflict, "this import did not halt; there is nothing to accept")
		case acceptedBy == "" && halted:
			res.Halted, res.HaltReason = true, runError
			return nil
		case acceptedBy == "" && status != string(domain.SyncRunning):
			return domain.Errorf(domain.EConflict, "this import ended %s", status)
		}
		now := s.now()
		if acceptedBy == "" {
			var known, leaving int
			err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE g.removed OR g.status = 'deprovisioned' OR (g.external_id IS NULL AND $3))
				FROM directory_users d LEFT JOIN directory_user_staging g ON g.sync_run_id = $1 AND g.external_id = d.external_id
				WHERE d.directory_id = $2 AND d.removed_at IS NULL AND d.status <> 'deprovisioned'`, runID, dirID, full).Scan(&known, &leaving)
			if err != nil {
				return err
			}
			if leaving >= safeguardFloor && float64(leaving) > share*float64(known) {
				res.Halted, res.HaltReason = true, safeguardReason(dirID, runID, leaving, known, share)
				if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'failed', stage = 'halted', halted = true, error = $2, finished_at = $3
					WHERE id = $1`, runID, res.HaltReason, now); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE directories SET status_message = $2, updated_at = $3 WHERE id = $1`,
					dirID, "the last import halted: "+res.HaltReason, now); err != nil {
					return err
				}
				return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "directory.import_halted",
					SubjectType: "directory", SubjectID: dirID, WorkflowID: workflowID, RunID: temporalRunID,
					Details: map[string]any{"sync_run_id": runID, "would_deprovision": leaving, "users": known, "safeguard": share}})
			}
		}
		res.SyncCounts, err = mergeStaged(ctx, tx, runID, dirID, full, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE directories SET last_synced_at = $2, updated_at = $2, status = 'ok', status_message = '',
			delta_link = coalesce($3, delta_link) WHERE id = $1`, dirID, now, nextDelta); err != nil {
			return err
		}
		// finished_at is when the import commits, right after this.
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'succeeded', stage = 'done', finished_at = $2, error = '',
			added = $3, changed = $4, deprovisioned = $5, unchanged = $6 WHERE id = $1`,
			runID, s.now(), res.Added, res.Changed, res.Deprovisioned, res.Unchanged); err != nil {
			return err
		}
		if err := dropStaging(ctx, tx, runID); err != nil {
			return err
		}
		details := map[string]any{"sync_run_id": runID, "added": res.Added, "changed": res.Changed,
			"deprovisioned": res.Deprovisioned, "unchanged": res.Unchanged}
		actor := "system"
		if acceptedBy != "" {
			actor, details["accepted_halted_import"] = acceptedBy, true
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "directory.synced",
			SubjectType: "directory", SubjectID: dirID, WorkflowID: workflowID, RunID: temporalRunID, Details: details})
	})
	return res, err
}

// hashJoinsOnly keeps the rest of a transaction's statements linear: the
// staging tables' statistics are whatever autovacuum saw last, often an
// empty table, and a nested loop planned over one is quadratic in the rows
// a large run staged (an import of 12,000 users took minutes). The cost
// that forbids nested loops would also have every statement JIT-compiled,
// half a second each, so JIT is off too.
func hashJoinsOnly(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true)`)
	return err
}

// mergeStaged writes a run's staged users into the directory: new users
// added, changed ones updated, unchanged ones not written; users reported
// removed, or (after a full listing) not listed, deprovisioned.
func mergeStaged(ctx context.Context, tx pgx.Tx, runID, dirID string, full bool, now time.Time) (domain.SyncCounts, error) {
	var counts domain.SyncCounts
	var staged int
	err := tx.QueryRow(ctx, `
		WITH s AS (
			SELECT * FROM directory_user_staging WHERE sync_run_id = $1 AND NOT removed
		), prev AS (
			SELECT d.external_id, d.status FROM directory_users d JOIN s USING (external_id) WHERE d.directory_id = $2
		), up AS (
			INSERT INTO directory_users AS d (directory_id, external_id, email, aliases, display_name, given_name, family_name,
				status, provider_status, guest, first_seen_at, status_changed_at, removed_at, updated_at)
			SELECT $2, external_id, email, aliases, display_name, given_name, family_name, status, provider_status, guest, $3, $3, NULL, $3
			FROM s
			ON CONFLICT (directory_id, external_id) DO UPDATE SET
				email = EXCLUDED.email, aliases = EXCLUDED.aliases, display_name = EXCLUDED.display_name,
				given_name = EXCLUDED.given_name, family_name = EXCLUDED.family_name, status = EXCLUDED.status,
				provider_status = EXCLUDED.provider_status, guest = EXCLUDED.guest, removed_at = NULL, updated_at = EXCLUDED.updated_at,
				status_changed_at = CASE WHEN d.status = EXCLUDED.status THEN d.status_changed_at ELSE EXCLUDED.updated_at END
			WHERE (d.email, d.aliases, d.display_name, d.given_name, d.family_name, d.status, d.provider_status, d.guest, d.removed_at IS NULL)
				IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.aliases, EXCLUDED.display_name, EXCLUDED.given_name,
					EXCLUDED.family_name, EXCLUDED.status, EXCLUDED.provider_status, EXCLUDED.guest, true)
			RETURNING d.external_id, (xmax = 0) AS inserted, d.status
		)
		SELECT
			count(*) FILTER (WHERE up.inserted),
			count(*) FILTER (WHERE NOT up.inserted AND up.status = 'deprovisioned' AND prev.status <> 'deprovisioned'),
			count(*) FILTER (WHERE NOT up.inserted AND NOT (up.status = 'deprovisioned' AND prev.status <> 'deprovisioned')),
			(SELECT count(*) FROM s)
		FROM up LEFT JOIN prev USING (external_id)`, runID, dirID, now).
		Scan(&counts.Added, &counts.Deprovisioned, &counts.Changed, &staged)
	if err != nil {
		return counts, err
	}
	counts.Unchanged = staged - counts.Added - counts.Deprovisioned - counts.Changed

	// Users the provider reported deleted, and, after a full listing,
	// users it no longer lists: they are gone from the directory.
	var goneDeprovisioned, goneChanged int
	err = tx.QueryRow(ctx, `
		WITH gone AS (
			SELECT d.external_id, d.status FROM directory_users d
			LEFT JOIN directory_user_staging g ON g.sync_run_id = $1 AND g.external_id = d.external_id
			WHERE d.directory_id = $2 AND d.removed_at IS NULL AND (g.removed OR ($4 AND g.external_id IS NULL))
		), upd AS (
			UPDATE directory_users d SET status = 'deprovisioned', removed_at = $3, updated_at = $3,
				status_changed_at = CASE WHEN d.status = 'deprovisioned' THEN d.status_changed_at ELSE $3 END
			FROM gone WHERE d.directory_id = $2 AND d.external_id = gone.external_id
			RETURNING gone.status AS old_status
		)
		SELECT count(*) FILTER (WHERE old_status <> 'deprovisioned'), count(*) FILTER (WHERE old_status = 'deprovisioned') FROM upd`,
		runID, dirID, now, full).Scan(&goneDeprovisioned, &goneChanged)
	if err != nil {
		return counts, err
	}
	counts.Deprovisioned += goneDeprovisioned
	counts.Changed += goneChanged
	return counts, nil
}

// FailSyncRun ends a run as failed with a message safe to show, and drops
// its staged rows. A run whose users were applied stays succeeded: what
// failed after (its groups) is noted in its details as error_after_import.
func (s *Store) FailSyncRun(ctx context.Context, runID, message string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'failed', stage = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status = 'running'`, runID, message)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			_, err := tx.Exec(ctx, `UPDATE sync_runs SET details = details || jsonb_build_object('error_after_import', $2::text)
				WHERE id = $1 AND status = 'succeeded'`, runID, message)
			return err
		}
		return dropStaging(ctx, tx, runID)
	})
}

// NoteSyncDetails adds to a run's details.
func (s *Store) NoteSyncDetails(ctx context.Context, runID string, details map[string]any) error {
	_, err := s.pool.Exec(ctx, `UPDATE sync_runs SET details = details || $2 WHERE id = $1`, runID, details)
	return err
}

// dropStaging deletes every staged row of a run.
func dropStaging(ctx context.Context, tx pgx.Tx, runID string) error {
	for _, table := range []string{"directory_user_staging", "member_staging", "asset_staging", "grant_staging",
		"partner_staging", "asset_partner_staging"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE sync_run_id = $1`, runID); err != nil {
			return err
		}
	}
	return nil
}

// ListSyncRuns lists the runs of a directory or an integration (ownerID), newest first.
func (s *Store) ListSyncRuns(ctx context.Context, workspaceID, ownerID string, p Page) ([]SyncRun, string, error) {
	type key struct {
		T  time.Time `json:"t"`
		ID string    `json:"id"`
	}
	var after key
	if p.Cursor != "" {
		if err := decodeIDCursor(p.Cursor, &after, func() string { return after.ID }); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT `+syncRunColumns+` FROM sync_runs
		WHERE workspace_id = $1 AND $2::uuid IN (directory_id, integration_id) AND ($3 = '' OR (started_at, id) < ($4, $3::uuid))
		ORDER BY started_at DESC, id DESC LIMIT $5`, workspaceID, ownerID, after.ID, after.T, limit+1)
	if err != nil {
		return nil, "", err
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SyncRun, error) { return scanSyncRun(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(runs) > limit {
		runs = runs[:limit]
		last := runs[limit-1]
		next = encodeCursor(key{T: last.StartedAt, ID: last.ID})
	}
	return runs, next, nil
}

// StoredUser is a directory user as stored, with when it was first and last seen.
type StoredUser struct {
	domain.DirectoryUser
	FirstSeenAt     time.Time  `json:"first_seen_at"`
	LastSeenAt      *time.Time `json:"last_seen_at"`
	StatusChangedAt time.Time  `json:"status_changed_at"`
}

// UserFilter narrows ListDirectoryUsers.
type UserFilter struct {
	Status domain.UserStatus
	// Query matches e-mail, aliases and names, case-insensitively.
	Query string
}

// ListDirectoryUsers lists a directory's users in external id order.
func (s *Store) ListDirectoryUsers(ctx context.Context, workspaceID, directoryID string, f UserFilter, p Page) ([]StoredUser, string, error) {
	after := ""
	if p.Cursor != "" {
		if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	q := ""
	if f.Query != "" {
		q = likePattern(f.Query)
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT u.external_id, u.email, u.aliases, u.display_name, u.given_name, u.family_name,
			u.status, u.provider_status, u.guest, u.first_seen_at, coalesce(u.removed_at, d.last_synced_at), u.status_changed_at
		FROM directory_users u JOIN directories d ON d.id = u.directory_id
		WHERE d.workspace_id = $1 AND u.directory_id = $2 AND ($3 = '' OR u.status = $3) AND u.external_id > $4
			AND ($5 = '' OR u.email ILIKE $5 OR u.display_name ILIKE $5 OR u.given_name || ' ' || u.family_name ILIKE $5
				OR EXISTS (SELECT 1 FROM unnest(u.aliases) a WHERE a ILIKE $5))
		ORDER BY u.external_id LIMIT $6`, workspaceID, directoryID, string(f.Status), after, q, limit+1)
	if err != nil {
		return nil, "", err
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredUser, error) {
		var u StoredUser
		return u, r.Scan(&u.ExternalID, &u.Email, &u.Aliases, &u.DisplayName, &u.GivenName, &u.FamilyName,
			&u.Status, &u.ProviderStatus, &u.Guest, &u.FirstSeenAt, &u.LastSeenAt, &u.StatusChangedAt)
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = encodeCursor(users[limit-1].ExternalID)
	}
	return users, next, nil
}

// Person is someone of a workspace's directories, by their e-mail address.
type Person struct {
	Email       string            `json:"email"`
	DisplayName string            `json:"display_name"`
	Status      domain.UserStatus `json:"status"`
	Guest       bool              `json:"guest"`
}

// SearchPeople finds up to limit people of the workspace's directories
// whose e-mail, alias or name contains query, active ones first, each
// address once: whom an admin may match, re-assign or invite.
func (s *Store) SearchPeople(ctx context.Context, workspaceID, query string, limit int) ([]Person, error) {
	rows, err := s.pool.Query(ctx, `SELECT email, display_name, status, guest FROM (
			SELECT DISTINCT ON (u.email) u.email, u.display_name, u.status, u.guest
			FROM directory_users u JOIN directories d ON d.id = u.directory_id
			WHERE d.workspace_id = $1 AND (u.email ILIKE $2 OR u.display_name ILIKE $2
				OR u.given_name || ' ' || u.family_name ILIKE $2 OR EXISTS (SELECT 1 FROM unnest(u.aliases) a WHERE a ILIKE $2))
			ORDER BY u.email, u.status = 'active' DESC) people
		ORDER BY status <> 'active', email LIMIT $3`, workspaceID, likePattern(query), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Person])
}

package store

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// StagePartners lands a run's partner businesses.
func (s *Store) StagePartners(ctx context.Context, runID string, partners []domain.Partner, requests int) error {
	if partners == nil {
		partners = []domain.Partner{}
	}
	return s.stage(ctx, runID, "fetching partners", `INSERT INTO partner_staging (sync_run_id, relation, partner_id, name)
		SELECT $1, p.relation, p.partner_id, coalesce(p.name, '')
		FROM jsonb_to_recordset($2::jsonb) AS p(relation text, partner_id text, name text)
		ON CONFLICT (sync_run_id, relation, partner_id) DO UPDATE SET name = EXCLUDED.name`, partners, requests)
}

// PartnersFetched marks a run as one that read all its partners, so its
// reconcile replaces them; a run that did not leaves them as they were.
func (s *Store) PartnersFetched(ctx context.Context, runID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE sync_runs SET partners_fetched = true WHERE id = $1`, runID)
	return err
}

// StagePartnerAccess lands which partners hold a page of assets.
func (s *Store) StagePartnerAccess(ctx context.Context, runID string, access []domain.PartnerAccess, requests int) error {
	if access == nil {
		access = []domain.PartnerAccess{}
	}
	return s.stage(ctx, runID, "fetching partners", `INSERT INTO asset_partner_staging (sync_run_id, asset_id, partner_id, name, tasks)
		SELECT $1, p.asset_id, p.partner_id, coalesce(p.name, ''), coalesce(p.tasks, '{}')
		FROM jsonb_to_recordset($2::jsonb) AS p(asset_id text, partner_id text, name text, tasks text[])
		ON CONFLICT (sync_run_id, asset_id, partner_id) DO UPDATE SET name = EXCLUDED.name, tasks = EXCLUDED.tasks`, access, requests)
}

// PartnerChanges is what a check changed of an integration's partners.
type PartnerChanges struct {
	// Added and Removed count the partner businesses that appeared and
	// disappeared; AccessRows the asset partner rows written.
	Added, Removed, AccessRows int
}

// reconcilePartners replaces the integration's partners and who of them
// holds each asset with the run's snapshot, and audits each partner that
// appeared or disappeared. A run that read no partners leaves them be; the
// partners of assets whose holders could not be read stay as they were.
func reconcilePartners(ctx context.Context, tx pgx.Tx, runID string, ev AuditEvent, now time.Time) (PartnerChanges, error) {
	var ch PartnerChanges
	var fetched bool
	if err := tx.QueryRow(ctx, `SELECT partners_fetched FROM sync_runs WHERE id = $1`, runID).Scan(&fetched); err != nil || !fetched {
		return ch, err
	}
	rows, err := tx.Query(ctx, `
		WITH gone AS (
			DELETE FROM partners p WHERE p.integration_id = $2 AND NOT EXISTS (SELECT 1 FROM partner_staging s
				WHERE s.sync_run_id = $1 AND s.relation = p.relation AND s.partner_id = p.partner_id)
			RETURNING 'integration.partner_removed' AS action, relation, partner_id, name
		), up AS (
			INSERT INTO partners AS p (integration_id, relation, partner_id, name, first_seen_at, updated_at)
			SELECT $2, relation, partner_id, name, $3, $3 FROM partner_staging WHERE sync_run_id = $1
			ON CONFLICT (integration_id, relation, partner_id) DO UPDATE SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
			WHERE p.name IS DISTINCT FROM EXCLUDED.name
			RETURNING (xmax = 0) AS inserted, relation, partner_id, name
		)
		SELECT action, relation, partner_id, name FROM gone
		UNION ALL SELECT 'integration.partner_added', relation, partner_id, name FROM up WHERE inserted`, runID, ev.SubjectID, now)
	if err != nil {
		return ch, err
	}
	type change struct{ action, relation, id, name string }
	changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
		var c change
		return c, r.Scan(&c.action, &c.relation, &c.id, &c.name)
	})
	if err != nil {
		return ch, err
	}
	for _, c := range changes {
		if c.action == "integration.partner_added" {
			ch.Added++
		} else {
			ch.Removed++
		}
		e := ev
		e.Action, e.Details = c.action, map[string]any{"sync_run_id": runID, "relation": c.relation, "partner_id": c.id, "name": c.name}
		if err := insertAudit(ctx, tx, e); err != nil {
			return ch, err
		}
	}
	ch.AccessRows, err = replace(ctx, tx, pgx.NamedArgs{"run": runID, "integration": ev.SubjectID, "now": now},
		`WITH written AS (
			INSERT INTO asset_partners AS a (integration_id, asset_id, partner_id, name, tasks, updated_at)
			SELECT @integration, asset_id, partner_id, name, tasks, @now FROM asset_partner_staging WHERE sync_run_id = @run
			ON CONFLICT (integration_id, asset_id, partner_id) DO UPDATE SET name = EXCLUDED.name, tasks = EXCLUDED.tasks,
				updated_at = EXCLUDED.updated_at
			WHERE (a.name, a.tasks) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.tasks)
			RETURNING 1)
		SELECT count(*) FROM written`,
		`DELETE FROM asset_partners a WHERE a.integration_id = @integration
			AND NOT EXISTS (SELECT 1 FROM asset_partner_staging s WHERE s.sync_run_id = @run AND s.asset_id = a.asset_id
				AND s.partner_id = a.partner_id)
			AND NOT EXISTS (SELECT 1 FROM asset_staging u WHERE u.sync_run_id = @run AND u.external_id = a.asset_id AND u.unreadable)`)
	return ch, err
}

// PartnerView is a partner business of an integration and what it holds.
type PartnerView struct {
	domain.Partner
	FirstSeenAt time.Time `json:"first_seen_at"`
	// Assets are the integration's assets the partner holds.
	Assets []PartnerAsset `json:"assets"`
}

// PartnerAsset is an asset a partner holds, with its permitted tasks.
type PartnerAsset struct {
	AssetID string   `json:"asset_id"`
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Tasks   []string `json:"tasks"`
}

// ListPartners lists an integration's partner businesses, agencies first,
// with the assets each holds.
func (s *Store) ListPartners(ctx context.Context, workspaceID, integrationID string, p Page) ([]PartnerView, string, error) {
	var after struct{ Relation, ID string }
	if p.Cursor != "" {
		if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT p.relation, p.partner_id, p.name, p.first_seen_at,
			(SELECT coalesce(jsonb_agg(jsonb_build_object('asset_id', ap.asset_id, 'type', coalesce(a.type, ''), 'name', coalesce(a.name, ''),
					'tasks', ap.tasks) ORDER BY ap.asset_id), '[]')
				FROM asset_partners ap LEFT JOIN assets a ON a.integration_id = ap.integration_id AND a.external_id = ap.asset_id
				WHERE ap.integration_id = p.integration_id AND ap.partner_id = p.partner_id)
		FROM partners p JOIN integrations i ON i.id = p.integration_id
		WHERE i.workspace_id = $1 AND p.integration_id = $2 AND (p.relation, p.partner_id) > ($3, $4)
		ORDER BY p.relation, p.partner_id LIMIT $5`, workspaceID, integrationID, after.Relation, after.ID, limit+1)
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PartnerView, error) {
		var v PartnerView
		return v, r.Scan(&v.Relation, &v.ExternalID, &v.Name, &v.FirstSeenAt, &v.Assets)
	})
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = encodeCursor(struct{ Relation, ID string }{last.Relation, last.ExternalID})
	}
	return list, next, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Slot is a check's or import's claim on its provider's and workspace's
// concurrency.
type Slot struct {
	// Holder names the run: its workflow id and run id.
	Holder      string
	Provider    string
	WorkspaceID string
	// SyncRunID, when set, is the run whose stage shows "queued" while no
	// slot is free.
	SyncRunID string
}

// SlotLimits bound how many slots are held at once.
type SlotLimits struct {
	// PerProvider bounds each provider named; others are unbounded.
	PerProvider map[string]int
	// PerWorkspace bounds each workspace; 0 leaves them unbounded.
	PerWorkspace int
	// Lease is how long a slot lasts unless taken again.
	Lease time.Duration
}

// TakeSlot claims a slot for sl.Holder when its provider and workspace
// are both under their limits. It returns "" when the holder has the slot
// (taking again renews the lease), otherwise why it must wait. Slot takers
// are serialised by a transaction-scoped advisory lock, so the limits hold
// across every worker.
func (s *Store) TakeSlot(ctx context.Context, sl Slot, lim SlotLimits) (busy string, err error) {
	now := s.now()
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('hubkeeper.work_slots'))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM work_slots WHERE expires_at < $1`, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE work_slots SET expires_at = $2 WHERE holder = $1`, sl.Holder, now.Add(lim.Lease))
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var ofProvider, ofWorkspace int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE provider = $1), count(*) FILTER (WHERE workspace_id = $2)
			FROM work_slots`, sl.Provider, sl.WorkspaceID).Scan(&ofProvider, &ofWorkspace); err != nil {
			return err
		}
		if limit, ok := lim.PerProvider[sl.Provider]; ok && ofProvider >= limit {
			busy = fmt.Sprintf("all %d of %s's slots are taken", limit, sl.Provider)
		} else if lim.PerWorkspace > 0 && ofWorkspace >= lim.PerWorkspace {
			busy = fmt.Sprintf("all %d of the workspace's slots are taken", lim.PerWorkspace)
		}
		if busy != "" {
			if sl.SyncRunID == "" {
				return nil
			}
			_, err := tx.Exec(ctx, `UPDATE sync_runs SET stage = 'queued' WHERE id = $1 AND stage = 'starting'`, sl.SyncRunID)
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO work_slots (holder, provider, workspace_id, expires_at) VALUES ($1, $2, $3, $4)`,
			sl.Holder, sl.Provider, sl.WorkspaceID, now.Add(lim.Lease)); err != nil || sl.SyncRunID == "" {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE sync_runs SET stage = 'starting' WHERE id = $1 AND stage = 'queued'`, sl.SyncRunID)
		return err
	})
	return busy, err
}

// ReleaseSlot gives back holder's slot, if it has one.
func (s *Store) ReleaseSlot(ctx context.Context, holder string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM work_slots WHERE holder = $1`, holder)
	return err
}

package store

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// SCIMGroup is what a pushed group stores: its name, other attributes and
// members' ids.
type SCIMGroup struct {
	DisplayName string
	Attributes  map[string]any
	Members     []string
}

// GroupMember is a member of a group as SCIM shows it.
type GroupMember struct {
	ID          string
	DisplayName string
}

// SCIMGroupResource is a pushed group as stored, with its members unless
// they were left out.
type SCIMGroupResource struct {
	SCIMResource
	Members []GroupMember
}

// CreateSCIMGroup stores a pushed group under a new id. Every member must
// be one of the directory's pushed users.
func (s *Store) CreateSCIMGroup(ctx context.Context, d Directory, g SCIMGroup) (SCIMGroupResource, error) {
	var res SCIMGroupResource
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var err error
		res.SCIMResource, err = scanSCIMResource(tx.QueryRow(ctx, `INSERT INTO directory_groups (directory_id, external_id, display_name, scim)
			VALUES ($1, $2, $3, $4) RETURNING external_id, scim, created_at, updated_at`, d.ID, uuid.NewString(), g.DisplayName, g.Attributes))
		if err != nil {
			return err
		}
		if err := setGroupMembers(ctx, tx, d.ID, res.ID, nil, g.Members); err != nil {
			return err
		}
		if res.Members, err = groupMembers(ctx, tx, d.ID, res.ID); err != nil {
			return err
		}
		return pushed(ctx, tx, d.ID)
	})
	return res, err
}

// setGroupMembers writes the difference between a group's members and want.
func setGroupMembers(ctx context.Context, tx pgx.Tx, directoryID, groupID string, had, want []string) error {
	var gone, added []string
	for _, id := range had {
		if !slices.Contains(want, id) {
			gone = append(gone, id)
		}
	}
	for _, id := range want {
		if !slices.Contains(had, id) && !slices.Contains(added, id) {
			added = append(added, id)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM directory_group_members WHERE directory_id = $1 AND group_id = $2 AND user_id = ANY ($3)`,
			directoryID, groupID, gone); err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	var known int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM directory_users WHERE directory_id = $1 AND external_id = ANY ($2) AND removed_at IS NULL`,
		directoryID, added).Scan(&known); err != nil {
		return err
	}
	if known != len(added) {
		return domain.Errorf(domain.EInvalid, "a member is not a user of this directory")
	}
	_, err := tx.Exec(ctx, `INSERT INTO directory_group_members (directory_id, group_id, user_id)
		SELECT $1, $2, unnest($3::text[])`, directoryID, groupID, added)
	return err
}

func groupMembers(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, directoryID, groupID string) ([]GroupMember, error) {
	rows, err := q.Query(ctx, `SELECT u.external_id, u.display_name FROM directory_group_members m
		JOIN directory_users u ON u.directory_id = m.directory_id AND u.external_id = m.user_id
		WHERE m.directory_id = $1 AND m.group_id = $2 ORDER BY u.external_id`, directoryID, groupID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (GroupMember, error) {
		var m GroupMember
		return m, r.Scan(&m.ID, &m.DisplayName)
	})
}

const scimGroupColumns = `external_id, scim, created_at, updated_at`

// SCIMGroups returns the pushed groups q can match (by ID, ExternalID or
// DisplayName), at most limit, with members when withMembers.
func (s *Store) SCIMGroups(ctx context.Context, directoryID string, q SCIMQuery, limit int, withMembers bool) ([]SCIMGroupResource, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scimGroupColumns+` FROM directory_groups
		WHERE directory_id = $1 AND scim IS NOT NULL
			AND ($2 = '' OR external_id = $2)
			AND ($3 = '' OR lower(display_name) = lower($3))
			AND ($4 = '' OR scim->>'externalId' = $4)
		ORDER BY created_at, external_id LIMIT $5`, directoryID, q.ID, q.DisplayName, q.ExternalID, limit)
	if err != nil {
		return nil, err
	}
	return s.withMembers(ctx, directoryID, rows, withMembers)
}

// SCIMGroupPage returns count pushed groups from offset, in the order they
// came, and how many there are.
func (s *Store) SCIMGroupPage(ctx context.Context, directoryID string, offset, count int, withMembers bool) ([]SCIMGroupResource, int, error) {
	var total int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM directory_groups WHERE directory_id = $1 AND scim IS NOT NULL`, directoryID).Scan(&total)
	if err != nil || count == 0 {
		return nil, total, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+scimGroupColumns+` FROM directory_groups WHERE directory_id = $1 AND scim IS NOT NULL
		ORDER BY created_at, external_id OFFSET $2 LIMIT $3`, directoryID, offset, count)
	if err != nil {
		return nil, 0, err
	}
	groups, err := s.withMembers(ctx, directoryID, rows, withMembers)
	return groups, total, err
}

func (s *Store) withMembers(ctx context.Context, directoryID string, rows pgx.Rows, withMembers bool) ([]SCIMGroupResource, error) {
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SCIMGroupResource, error) {
		res, err := scanSCIMResource(r)
		return SCIMGroupResource{SCIMResource: res}, err
	})
	if err != nil || !withMembers {
		return found, err
	}
	for i := range found {
		if found[i].Members, err = groupMembers(ctx, s.pool, directoryID, found[i].ID); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// SCIMGroupChange turns a group as stored into what it becomes.
type SCIMGroupChange func(current SCIMGroupResource) (SCIMGroup, error)

// ChangeSCIMGroup replaces or patches a pushed group under its row lock.
func (s *Store) ChangeSCIMGroup(ctx context.Context, d Directory, id string, change SCIMGroupChange) (SCIMGroupResource, error) {
	var res SCIMGroupResource
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanSCIMResource(tx.QueryRow(ctx, `SELECT `+scimGroupColumns+` FROM directory_groups
			WHERE directory_id = $1 AND external_id = $2 AND scim IS NOT NULL FOR UPDATE`, d.ID, id))
		if err != nil {
			return notFound(err, "group")
		}
		current := SCIMGroupResource{SCIMResource: cur}
		if current.Members, err = groupMembers(ctx, tx, d.ID, id); err != nil {
			return err
		}
		g, err := change(current)
		if err != nil {
			return err
		}
		had := make([]string, len(current.Members))
		for i, m := range current.Members {
			had[i] = m.ID
		}
		if err := setGroupMembers(ctx, tx, d.ID, id, had, g.Members); err != nil {
			return err
		}
		res.SCIMResource, err = scanSCIMResource(tx.QueryRow(ctx, `UPDATE directory_groups SET display_name = $3, scim = $4, updated_at = now()
			WHERE directory_id = $1 AND external_id = $2 RETURNING `+scimGroupColumns, d.ID, id, g.DisplayName, g.Attributes))
		if err != nil {
			return err
		}
		if res.Members, err = groupMembers(ctx, tx, d.ID, id); err != nil {
			return err
		}
		return pushed(ctx, tx, d.ID)
	})
	return res, err
}

// DeleteSCIMGroup deletes a pushed group and its memberships.
func (s *Store) DeleteSCIMGroup(ctx context.Context, d Directory, id string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM directory_groups WHERE directory_id = $1 AND external_id = $2 AND scim IS NOT NULL`, d.ID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ENotFound, "group not found")
		}
		return pushed(ctx, tx, d.ID)
	})
}

// GroupCounts says what replacing a directory's groups changed.
type GroupCounts struct {
	Groups         int `json:"groups"`
	GroupsAdded    int `json:"groups_added"`
	GroupsRemoved  int `json:"groups_removed"`
	MembersAdded   int `json:"members_added"`
	MembersRemoved int `json:"members_removed"`
}

// ApplyGroupImport lands what a directory listed of its groups: a full
// listing replaces the stored groups (ReplaceDirectoryGroups), changes are
// applied as they are: groups added or renamed, members joining, members
// leaving, groups deleted. The delta link for the next round is kept.
func (s *Store) ApplyGroupImport(ctx context.Context, directoryID string, imp domain.GroupImport) (GroupCounts, error) {
	var c GroupCounts
	var err error
	if imp.Full {
		c, err = s.ReplaceDirectoryGroups(ctx, directoryID, imp.Groups)
	} else {
		c, err = s.applyGroupChanges(ctx, directoryID, imp)
	}
	if err != nil {
		return c, err
	}
	_, err = s.pool.Exec(ctx, `UPDATE directories SET groups_delta_link = nullif($2, '') WHERE id = $1`, directoryID, imp.DeltaLink)
	return c, err
}

func (s *Store) applyGroupChanges(ctx context.Context, directoryID string, imp domain.GroupImport) (GroupCounts, error) {
	var c GroupCounts
	groups := imp.Groups
	if groups == nil {
		groups = []domain.DirectoryGroup{}
	}
	type leaving struct {
		Group string   `json:"group"`
		Users []string `json:"users"`
	}
	left := []leaving{}
	for g, users := range imp.Left {
		left = append(left, leaving{g, users})
	}
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH g AS (
				SELECT * FROM jsonb_to_recordset($2::jsonb) AS g(external_id text, name text)
			), up AS (
				INSERT INTO directory_groups AS d (directory_id, external_id, display_name)
				SELECT $1, external_id, coalesce(nullif(name, ''), external_id) FROM g
				ON CONFLICT (directory_id, external_id) DO UPDATE SET display_name = EXCLUDED.display_name, updated_at = now()
				WHERE d.display_name IS DISTINCT FROM EXCLUDED.display_name AND (SELECT name FROM g WHERE g.external_id = d.external_id) <> ''
				RETURNING (xmax = 0) AS inserted
			), gone AS (
				DELETE FROM directory_groups d WHERE d.directory_id = $1 AND d.scim IS NULL AND d.external_id = ANY ($3)
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM up WHERE inserted), (SELECT count(*) FROM gone)`, directoryID, groups, imp.Removed).
			Scan(&c.GroupsAdded, &c.GroupsRemoved)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			WITH joined AS (
				INSERT INTO directory_group_members (directory_id, group_id, user_id)
				SELECT DISTINCT $1::uuid, g.external_id, m
				FROM jsonb_to_recordset($2::jsonb) AS g(external_id text, members text[]), unnest(g.members) m
				WHERE EXISTS (SELECT 1 FROM directory_users u WHERE u.directory_id = $1 AND u.external_id = m)
				ON CONFLICT DO NOTHING
				RETURNING 1
			), leaving AS (
				DELETE FROM directory_group_members d
				USING jsonb_to_recordset($3::jsonb) AS l("group" text, users text[])
				WHERE d.directory_id = $1 AND d.group_id = l."group" AND d.user_id = ANY (l.users)
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM joined), (SELECT count(*) FROM leaving)`, directoryID, groups, left).
			Scan(&c.MembersAdded, &c.MembersRemoved)
	})
	if err != nil {
		return c, err
	}
	return c, s.pool.QueryRow(ctx, `SELECT count(*) FROM directory_groups WHERE directory_id = $1 AND scim IS NULL`, directoryID).Scan(&c.Groups)
}

// ReplaceDirectoryGroups makes an imported directory's groups and their
// members what the directory listed: new ones added, renamed ones renamed,
// ones no longer listed deleted, memberships added and removed, nothing
// unchanged written. Members who are not users of the directory are left
// out.
func (s *Store) ReplaceDirectoryGroups(ctx context.Context, directoryID string, groups []domain.DirectoryGroup) (GroupCounts, error) {
	c := GroupCounts{Groups: len(groups)}
	if groups == nil {
		groups = []domain.DirectoryGroup{}
	}
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH g AS (
				SELECT * FROM jsonb_to_recordset($2::jsonb) AS g(external_id text, name text)
			), up AS (
				INSERT INTO directory_groups AS d (directory_id, external_id, display_name)
				SELECT $1, external_id, name FROM g
				ON CONFLICT (directory_id, external_id) DO UPDATE SET display_name = EXCLUDED.display_name, updated_at = now()
				WHERE d.display_name IS DISTINCT FROM EXCLUDED.display_name
				RETURNING (xmax = 0) AS inserted
			), gone AS (
				DELETE FROM directory_groups d WHERE d.directory_id = $1 AND d.scim IS NULL
					AND NOT EXISTS (SELECT 1 FROM g WHERE g.external_id = d.external_id)
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM up WHERE inserted), (SELECT count(*) FROM gone)`, directoryID, groups).
			Scan(&c.GroupsAdded, &c.GroupsRemoved)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `
			WITH want AS (
				SELECT DISTINCT g.external_id AS group_id, m AS user_id
				FROM jsonb_to_recordset($2::jsonb) AS g(external_id text, members text[]), unnest(g.members) m
				WHERE EXISTS (SELECT 1 FROM directory_users u WHERE u.directory_id = $1 AND u.external_id = m)
			), removed AS (
				DELETE FROM directory_group_members d WHERE d.directory_id = $1
					AND EXISTS (SELECT 1 FROM directory_groups dg WHERE dg.directory_id = $1 AND dg.external_id = d.group_id AND dg.scim IS NULL)
					AND NOT EXISTS (SELECT 1 FROM want w WHERE w.group_id = d.group_id AND w.user_id = d.user_id)
				RETURNING 1
			), added AS (
				INSERT INTO directory_group_members (directory_id, group_id, user_id)
				SELECT $1, group_id, user_id FROM want
				ON CONFLICT DO NOTHING
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM removed)`, directoryID, groups).
			Scan(&c.MembersAdded, &c.MembersRemoved)
	})
	return c, err
}

// StoredGroup is a directory group as the API lists it.
type StoredGroup struct {
	ExternalID  string    `json:"external_id"`
	Name        string    `json:"name"`
	MemberCount int       `json:"member_count"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ListDirectoryGroups lists a workspace directory's groups in name order,
// with how many members each has; q narrows by name.
func (s *Store) ListDirectoryGroups(ctx context.Context, workspaceID, directoryID, q string, p Page) ([]StoredGroup, string, error) {
	var after struct{ Name, ID string }
	if p.Cursor != "" {
		if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	pattern := ""
	if q != "" {
		pattern = likePattern(q)
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT g.external_id, g.display_name,
			(SELECT count(*) FROM directory_group_members m WHERE m.directory_id = g.directory_id AND m.group_id = g.external_id), g.updated_at
		FROM directory_groups g JOIN directories d ON d.id = g.directory_id
		WHERE d.workspace_id = $1 AND g.directory_id = $2 AND ($3 = '' OR g.display_name ILIKE $3)
			AND (g.display_name, g.external_id) > ($4, $5)
		ORDER BY g.display_name, g.external_id LIMIT $6`, workspaceID, directoryID, pattern, after.Name, after.ID, limit+1)
	if err != nil {
		return nil, "", err
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredGroup, error) {
		var g StoredGroup
		return g, r.Scan(&g.ExternalID, &g.Name, &g.MemberCount, &g.UpdatedAt)
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(groups) > limit {
		groups = groups[:limit]
		last := groups[limit-1]
		next = encodeCursor(struct{ Name, ID string }{last.Name, last.ExternalID})
	}
	return groups, next, nil
}

package store

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// MatchedUser is a directory user a member is matched to.
type MatchedUser struct {
	DirectoryID string            `json:"directory_id"`
	ExternalID  string            `json:"external_id"`
	DisplayName string            `json:"display_name"`
	Status      domain.UserStatus `json:"status"`
	// Guest marks someone from outside the company.
	Guest bool `json:"guest,omitempty"`
}

// MemberAsset is what a member holds on one asset.
type MemberAsset struct {
	AssetID string   `json:"asset_id"`
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Tasks   []string `json:"tasks"`
}

// Member is a business-center member with its tab, directory match and tasks.
type Member struct {
	domain.BusinessMember
	State        domain.MemberState `json:"state"`
	Match        string             `json:"match"`
	MatchedEmail *string            `json:"matched_email"`
	MatchedBy    string             `json:"matched_by"`
	HubRole      *string            `json:"hub_role"`
	ExemptReason string             `json:"exempt_reason,omitempty"`
	// KeptBy kept the member at KeptAt, deciding a deprovision report: they
	// are not reported again until their directory status changes again.
	KeptBy      *string    `json:"kept_by"`
	KeptAt      *time.Time `json:"kept_at"`
	FirstSeenAt time.Time  `json:"first_seen_at"`
	RemovedAt   *time.Time `json:"removed_at"`
	// DirectoryUsers are the directory users of the matched person (one per directory that has them).
	DirectoryUsers []MatchedUser `json:"directory_users"`
	Assets         []MemberAsset `json:"assets"`
}

// MemberFilter narrows a member list; its zero value lists everyone.
type MemberFilter struct {
	// State is one tab.
	State domain.MemberState
	// Role is a business role (ADMIN: Full control).
	Role string
	// TwoFactor is "on" for members Meta says use two-factor
	// authentication, "off" for those it says do not.
	TwoFactor string
	// Query matches the name, e-mail or matched e-mail, case-insensitively.
	Query string
	// Sort is name, email or role (each then by id); empty sorts by id.
	Sort string
}

// MemberSorts are the columns a member list sorts by.
var MemberSorts = map[string]string{"name": "m.name", "email": "m.email", "role": "m.role"}

// ListMembers lists an integration's members that pass f, in f.Sort's order then by external id.
func (s *Store) ListMembers(ctx context.Context, workspaceID, integrationID string, f MemberFilter, p Page) ([]Member, string, error) {
	// The cursor is the last id, or the last (sort value, id).
	after, afterValue := "", ""
	column, sorted := MemberSorts[f.Sort]
	if f.Sort != "" && !sorted {
		return nil, "", domain.Errorf(domain.EInvalid, "sort must be name, email or role")
	}
	if p.Cursor != "" {
		if sorted {
			var key [2]string
			if err := decodeCursor(p.Cursor, &key); err != nil {
				return nil, "", err
			}
			afterValue, after = key[0], key[1]
		} else if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	query := ""
	if f.Query != "" {
		query = likePattern(f.Query)
	}
	args := []any{workspaceID, integrationID, string(f.State), after, limit + 1, p.Only, f.Role, f.TwoFactor, query}
	keyset, order := "m.external_id > $4", "m.external_id"
	if sorted {
		keyset, order = "("+column+", m.external_id) > ($10, $4)", column+", m.external_id"
		args = append(args, afterValue)
	}
	// The page first, in key order; then, in one round trip, what its
	// members hold and who they are matched to.
	rows, err := s.pool.Query(ctx, `SELECT m.external_id, m.kind, m.email, m.name, m.role, m.tasks, m.invitation_status, m.two_fac_status,
			m.state, m.match, m.matched_email, m.matched_by, m.hub_role, m.exempt_reason, m.kept_by, m.kept_at, m.first_seen_at, m.removed_at
		FROM members m
		WHERE m.integration_id = $2 AND EXISTS (SELECT 1 FROM integrations i WHERE i.id = $2 AND i.workspace_id = $1)
			AND ($3 = '' OR m.state = $3) AND `+keyset+`
			AND ($6 = '' OR m.external_id = $6) AND ($7 = '' OR m.role = $7)
			AND ($8 = '' OR ($8 = 'on') = (m.two_fac_status = 'enabled') AND m.two_fac_status <> '')
			AND ($9 = '' OR m.name ILIKE $9 OR m.email ILIKE $9 OR m.matched_email ILIKE $9)
		ORDER BY `+order+` LIMIT $5`, args...)
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		m := Member{DirectoryUsers: []MatchedUser{}, Assets: []MemberAsset{}}
		return m, r.Scan(&m.ExternalID, &m.Kind, &m.Email, &m.Name, &m.Role, &m.Tasks, &m.InvitationStatus, &m.TwoFactor, &m.State, &m.Match,
			&m.MatchedEmail, &m.MatchedBy, &m.HubRole, &m.ExemptReason, &m.KeptBy, &m.KeptAt, &m.FirstSeenAt, &m.RemovedAt)
	})
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	next := ""
	if len(members) > limit {
		members = members[:limit]
		last := members[limit-1]
		next = encodeCursor(last.ExternalID)
		if sorted {
			next = encodeCursor([2]string{map[string]string{"name": last.Name, "email": last.Email, "role": last.Role}[f.Sort],
				last.ExternalID})
		}
	}
	if len(members) == 0 {
		return members, next, nil
	}
	return members, next, s.memberDetails(ctx, workspaceID, integrationID, members)
}

// memberDetails fills in members' assets and matched directory users.
func (s *Store) memberDetails(ctx context.Context, workspaceID, integrationID string, members []Member) error {
	byID := make(map[string]*Member, len(members))
	byEmail := map[string][]*Member{}
	ids, emails := make([]string, 0, len(members)), []string{}
	for i := range members {
		m := &members[i]
		byID[m.ExternalID] = m
		ids = append(ids, m.ExternalID)
		if m.MatchedEmail != nil {
			byEmail[*m.MatchedEmail] = append(byEmail[*m.MatchedEmail], m)
			emails = append(emails, *m.MatchedEmail)
		}
	}
	batch := &pgx.Batch{}
	batch.Queue(`SELECT g.member_id, g.asset_id, coalesce(a.type, ''), coalesce(a.name, ''), g.tasks
		FROM asset_grants g LEFT JOIN assets a ON a.integration_id = g.integration_id AND a.external_id = g.asset_id
		WHERE g.integration_id = $1 AND g.member_id = ANY($2) ORDER BY g.member_id, g.asset_id`, integrationID, ids).Query(func(rows pgx.Rows) error {
		var memberID string
		var a MemberAsset
		_, err := pgx.ForEachRow(rows, []any{&memberID, &a.AssetID, &a.Type, &a.Name, &a.Tasks}, func() error {
			byID[memberID].Assets = append(byID[memberID].Assets, a)
			return nil
		})
		return err
	})
	batch.Queue(`SELECT du.email, du.directory_id, du.external_id, du.display_name, du.status, du.guest
		FROM directory_users du JOIN directories d ON d.id = du.directory_id
		WHERE d.workspace_id = $1 AND du.email = ANY($2) ORDER BY du.email, du.directory_id`, workspaceID, emails).Query(func(rows pgx.Rows) error {
		var email string
		var u MatchedUser
		_, err := pgx.ForEachRow(rows, []any{&email, &u.DirectoryID, &u.ExternalID, &u.DisplayName, &u.Status, &u.Guest}, func() error {
			for _, m := range byEmail[email] {
				m.DirectoryUsers = append(m.DirectoryUsers, u)
			}
			return nil
		})
		return err
	})
	return s.pool.SendBatch(ctx, batch).Close()
}

// Member returns one member of a workspace's integration.
func (s *Store) Member(ctx context.Context, workspaceID, integrationID, memberID string) (Member, error) {
	members, _, err := s.ListMembers(ctx, workspaceID, integrationID, MemberFilter{}, Page{Limit: 1, Only: memberID})
	if err != nil {
		return Member{}, err
	}
	if len(members) == 0 {
		return Member{}, domain.Errorf(domain.ENotFound, "member not found")
	}
	return members[0], nil
}

// Holder is a member holding tasks on an asset.
type Holder struct {
	MemberID string             `json:"member_id"`
	Name     string             `json:"name"`
	Email    string             `json:"email"`
	State    domain.MemberState `json:"state"`
	Tasks    []string           `json:"tasks"`
}

// AssetWithHolders is an asset and who holds which tasks on it.
type AssetWithHolders struct {
	domain.Asset
	Holders []Holder `json:"holders"`
	// Partners are the partner businesses that hold the asset.
	Partners []PartnerHolder `json:"partners"`
}

// PartnerHolder is a partner business holding an asset, with its permitted tasks.
type PartnerHolder struct {
	PartnerID string   `json:"partner_id"`
	Name      string   `json:"name"`
	Tasks     []string `json:"tasks"`
}

// ListAssets lists an integration's assets with their holders and partners, in external id order.
func (s *Store) ListAssets(ctx context.Context, workspaceID, integrationID string, p Page) ([]AssetWithHolders, string, error) {
	after := ""
	if p.Cursor != "" {
		if err := decodeCursor(p.Cursor, &after); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT a.external_id, a.type, a.ownership, a.name,
			(SELECT coalesce(jsonb_agg(jsonb_build_object('member_id', g.member_id, 'name', coalesce(m.name, ''),
					'email', coalesce(m.email, ''), 'state', coalesce(m.state, ''), 'tasks', g.tasks) ORDER BY g.member_id), '[]')
				FROM asset_grants g LEFT JOIN members m ON m.integration_id = g.integration_id AND m.external_id = g.member_id
				WHERE g.integration_id = a.integration_id AND g.asset_id = a.external_id),
			(SELECT coalesce(jsonb_agg(jsonb_build_object('partner_id', ap.partner_id, 'name', ap.name, 'tasks', ap.tasks)
					ORDER BY ap.partner_id), '[]')
				FROM asset_partners ap WHERE ap.integration_id = a.integration_id AND ap.asset_id = a.external_id)
		FROM assets a JOIN integrations i ON i.id = a.integration_id
		WHERE i.workspace_id = $1 AND a.integration_id = $2 AND a.external_id > $3
		ORDER BY a.external_id LIMIT $4`, workspaceID, integrationID, after, limit+1)
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	assets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AssetWithHolders, error) {
		var a AssetWithHolders
		return a, r.Scan(&a.ExternalID, &a.Type, &a.Ownership, &a.Name, &a.Holders, &a.Partners)
	})
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	next := ""
	if len(assets) > limit {
		assets = assets[:limit]
		next = encodeCursor(assets[limit-1].ExternalID)
	}
	return assets, next, nil
}

// AssetsOf lists up to limit of an integration's assets, without their
// holders, by type and name: what a member may be given tasks on.
func (s *Store) AssetsOf(ctx context.Context, workspaceID, integrationID string, limit int) ([]domain.Asset, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.external_id, a.type, a.ownership, a.name
		FROM assets a JOIN integrations i ON i.id = a.integration_id
		WHERE i.workspace_id = $1 AND a.integration_id = $2 ORDER BY a.type, a.name, a.external_id LIMIT $3`, workspaceID, integrationID, limit)
	if err != nil {
		return nil, notFound(err, "integration")
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.Asset])
}

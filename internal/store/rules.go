package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// GroupRule says that the members of a directory group get Role, and the
// tasks in Assets, in an integration.
type GroupRule struct {
	ID            string       `json:"id"`
	WorkspaceID   string       `json:"workspace_id"`
	IntegrationID string       `json:"integration_id"`
	DirectoryID   string       `json:"directory_id"`
	GroupID       string       `json:"group_id"`
	GroupName     string       `json:"group_name"`
	Role          string       `json:"role"`
	Assets        []AssetTasks `json:"assets"`
	Actor         string       `json:"actor"`
	CreatedAt     time.Time    `json:"created_at"`
}

// RulePerson is someone a rule's plan acts on.
type RulePerson struct {
	Email string `json:"email"`
	Name  string `json:"name"`
	// MemberID and Role are the member in the business and its role now
	// ("" for someone to invite).
	MemberID string `json:"member_id,omitempty"`
	Role     string `json:"role,omitempty"`
}

// RulePlan is what a rule would do now: invite the group's people who are
// not in the business, change the role or tasks of those whose differ, and
// report the people it covered who left the group (at the next check).
type RulePlan struct {
	Invite    []RulePerson `json:"invite"`
	Change    []RulePerson `json:"change"`
	Report    []RulePerson `json:"report"`
	Unchanged int          `json:"unchanged"`
	// InGroup are the addresses of the group's active people.
	InGroup []string `json:"-"`
}

// CheckGroupRule says whether a rule may be made: the integration and the
// directory are the workspace's, the group is the directory's, and the
// integration's connector invites and sets this role (and these tasks on
// assets of the business).
func (s *Store) CheckGroupRule(ctx context.Context, r GroupRule) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error { return checkGroupRule(ctx, tx, r) })
}

func checkGroupRule(ctx context.Context, tx pgx.Tx, r GroupRule) error {
	var provider, mode string
	err := tx.QueryRow(ctx, `SELECT provider, mode FROM integrations WHERE workspace_id = $1 AND id::text = $2`, r.WorkspaceID, r.IntegrationID).
		Scan(&provider, &mode)
	if err != nil {
		return notFound(err, "integration")
	}
	d, ok := connector.Describe(domain.Provider(provider), mode)
	if !ok {
		return domain.Errorf(domain.EInvalid, "provider %q has no connector in mode %q", provider, mode)
	}
	for _, c := range []connector.Capability{connector.Invite, connector.SetRole} {
		if !d.Can(c) {
			return d.Refuse(c)
		}
	}
	if len(r.Assets) > 0 && !d.Can(connector.SetAssetTasks) {
		return d.Refuse(connector.SetAssetTasks)
	}
	if err := d.CheckRole(r.Role); err != nil {
		return err
	}
	var n int
	err = tx.QueryRow(ctx, `SELECT count(*) FROM directory_groups g JOIN directories d ON d.id = g.directory_id
		WHERE d.workspace_id = $1 AND d.id::text = $2 AND g.external_id = $3`, r.WorkspaceID, r.DirectoryID, r.GroupID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.Errorf(domain.EInvalid, "group %q is not a group of directory %s (GET /v1/directories/%s/groups)", r.GroupID, r.DirectoryID, r.DirectoryID)
	}
	return checkAssets(ctx, tx, d, r.IntegrationID, r.Assets)
}

// CreateGroupRule checks and stores a rule, audited. One rule per group
// and integration.
func (s *Store) CreateGroupRule(ctx context.Context, r GroupRule) (GroupRule, error) {
	if r.Assets == nil {
		r.Assets = []AssetTasks{}
	}
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		if err := checkGroupRule(ctx, tx, r); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `INSERT INTO group_rules (workspace_id, integration_id, directory_id, group_id, role, assets, actor)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
			r.WorkspaceID, r.IntegrationID, r.DirectoryID, r.GroupID, r.Role, r.Assets, r.Actor).Scan(&r.ID, &r.CreatedAt)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return domain.Errorf(domain.EConflict, "this integration already has a rule for that group; delete it to make another")
		}
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: r.WorkspaceID, Actor: r.Actor, Action: "group_rule.created",
			SubjectType: "integration", SubjectID: r.IntegrationID,
			Details: map[string]any{"rule_id": r.ID, "directory_id": r.DirectoryID, "group_id": r.GroupID, "role": r.Role, "assets": r.Assets}})
	})
	if err != nil {
		return r, err
	}
	return s.GroupRule(ctx, r.WorkspaceID, r.ID)
}

const groupRuleColumns = `r.id, r.workspace_id, r.integration_id, r.directory_id, r.group_id, coalesce(g.display_name, ''), r.role, r.assets,
	r.actor, r.created_at`

const groupRuleFrom = ` FROM group_rules r
	LEFT JOIN directory_groups g ON g.directory_id = r.directory_id AND g.external_id = r.group_id`

func scanGroupRule(row pgx.Row) (GroupRule, error) {
	var r GroupRule
	err := row.Scan(&r.ID, &r.WorkspaceID, &r.IntegrationID, &r.DirectoryID, &r.GroupID, &r.GroupName, &r.Role, &r.Assets, &r.Actor, &r.CreatedAt)
	return r, err
}

// GroupRule returns one rule of a workspace ("" workspace: any).
func (s *Store) GroupRule(ctx context.Context, workspaceID, id string) (GroupRule, error) {
	r, err := scanGroupRule(s.pool.QueryRow(ctx, `SELECT `+groupRuleColumns+groupRuleFrom+`
		WHERE r.id::text = $1 AND ($2 = '' OR r.workspace_id::text = $2)`, id, workspaceID))
	return r, notFound(err, "group rule")
}

// GroupRules lists an integration's rules, oldest first.
func (s *Store) GroupRules(ctx context.Context, workspaceID, integrationID string) ([]GroupRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+groupRuleColumns+groupRuleFrom+`
		WHERE r.workspace_id::text = $1 AND r.integration_id::text = $2 ORDER BY r.created_at, r.id`, workspaceID, integrationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (GroupRule, error) { return scanGroupRule(row) })
}

// groupRuleIDs are an integration's rules, for its checks to run.
func groupRuleIDs(ctx context.Context, tx pgx.Tx, integrationID string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id::text FROM group_rules WHERE integration_id = $1 ORDER BY created_at, id`, integrationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// DeleteGroupRule deletes a rule, audited. What it did stays: nobody is
// removed or changed back.
func (s *Store) DeleteGroupRule(ctx context.Context, workspaceID, integrationID, id, actor string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM group_rules WHERE workspace_id = $1 AND integration_id::text = $2 AND id::text = $3`,
			workspaceID, integrationID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ENotFound, "group rule not found")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "group_rule.deleted",
			SubjectType: "integration", SubjectID: integrationID, Details: map[string]any{"rule_id": id}})
	})
}

// PlanGroupRule is what a rule (saved or not) would do now. Exempted
// members and pending invitations are left as they are.
func (s *Store) PlanGroupRule(ctx context.Context, r GroupRule) (RulePlan, error) {
	plan := RulePlan{Invite: []RulePerson{}, Change: []RulePerson{}, Report: []RulePerson{}, InGroup: []string{}}
	rows, err := s.pool.Query(ctx, `
		WITH people AS (
			SELECT DISTINCT ON (du.email) du.email, du.display_name
			FROM directory_group_members gm JOIN directory_users du ON du.directory_id = gm.directory_id AND du.external_id = gm.user_id
			WHERE gm.directory_id::text = $1 AND gm.group_id = $2 AND du.status = 'active' AND du.removed_at IS NULL AND du.email <> ''
			ORDER BY du.email, du.external_id
		)
		SELECT p.email, p.display_name, coalesce(m.external_id, ''), coalesce(m.kind, ''), coalesce(m.state, ''), coalesce(m.role, ''),
			coalesce((SELECT jsonb_object_agg(g.asset_id, g.tasks) FROM asset_grants g
				WHERE g.integration_id = $3::uuid AND g.member_id = m.external_id), '{}')
		FROM people p
		LEFT JOIN LATERAL (
			SELECT * FROM members m WHERE m.integration_id = $3::uuid AND m.state <> 'removed'
				AND (m.matched_email = p.email OR m.email = p.email)
				AND NOT (m.kind = 'invitation' AND m.invitation_status IN ('EXPIRED', 'DECLINED'))
			ORDER BY m.kind = 'user' DESC, m.external_id LIMIT 1
		) m ON true
		ORDER BY p.email`, r.DirectoryID, r.GroupID, r.IntegrationID)
	if err != nil {
		return plan, err
	}
	var email, name, memberID, kind, state, role string
	var grants map[string][]string
	_, err = pgx.ForEachRow(rows, []any{&email, &name, &memberID, &kind, &state, &role, &grants}, func() error {
		plan.InGroup = append(plan.InGroup, email)
		p := RulePerson{Email: email, Name: name, MemberID: memberID, Role: role}
		switch {
		case memberID == "":
			p.Role = ""
			plan.Invite = append(plan.Invite, p)
		case kind == string(domain.MemberUser) && (state == "onboarded" || state == "unmatched") && !holds(r, role, grants):
			plan.Change = append(plan.Change, p)
		default: // invited, exempted, a system user, or already as the rule says
			plan.Unchanged++
		}
		return nil
	})
	if err != nil || r.ID == "" {
		return plan, err
	}
	rows, err = s.pool.Query(ctx, `SELECT p.email, m.name, m.external_id, m.role FROM group_rule_people p
		JOIN members m ON m.integration_id = $2::uuid AND m.matched_email = p.email AND m.kind = 'user' AND m.state = 'onboarded'
		WHERE p.rule_id::text = $1 AND p.left_at IS NULL AND NOT p.email = ANY ($3)
		ORDER BY p.email`, r.ID, r.IntegrationID, plan.InGroup)
	if err != nil {
		return plan, err
	}
	plan.Report, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (RulePerson, error) {
		var p RulePerson
		return p, row.Scan(&p.Email, &p.Name, &p.MemberID, &p.Role)
	})
	if plan.Report == nil {
		plan.Report = []RulePerson{}
	}
	return plan, err
}

// holds says whether a member has the rule's role and its tasks on each of
// its assets.
func holds(r GroupRule, role string, grants map[string][]string) bool {
	if role != r.Role {
		return false
	}
	for _, at := range r.Assets {
		have, want := slices.Sorted(slices.Values(grants[at.AssetID])), slices.Sorted(slices.Values(at.Tasks))
		if !slices.Equal(have, want) {
			return false
		}
	}
	return true
}

// RecordGroupRule notes who the rule covers: the group's people now are
// its (again); those who were and no longer are, left now, and the next
// check reports them.
func (s *Store) RecordGroupRule(ctx context.Context, ruleID string, inGroup []string) error {
	if inGroup == nil {
		inGroup = []string{}
	}
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO group_rule_people (rule_id, email) SELECT $1, unnest($2::text[])
			ON CONFLICT (rule_id, email) DO UPDATE SET left_at = NULL, joined_at = CASE WHEN group_rule_people.left_at IS NULL
				THEN group_rule_people.joined_at ELSE now() END`, ruleID, inGroup); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE group_rule_people SET left_at = now() WHERE rule_id = $1 AND left_at IS NULL AND NOT email = ANY ($2)`,
			ruleID, inGroup)
		return err
	})
}

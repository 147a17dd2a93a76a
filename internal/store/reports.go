package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// WorkspaceSettings are a workspace's report settings.
type WorkspaceSettings struct {
	AdminEmails     []string `json:"admin_emails"`
	ReportSuspended bool     `json:"report_suspended"`
}

// SetWorkspaceSettings sets who receives deprovision reports and whether
// suspended people are reported too, with an audit event.
func (s *Store) SetWorkspaceSettings(ctx context.Context, workspaceID, actor string, set WorkspaceSettings) error {
	if set.AdminEmails == nil {
		set.AdminEmails = []string{}
	}
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE workspaces SET admin_emails = $2, report_suspended = $3 WHERE id = $1`,
			workspaceID, set.AdminEmails, set.ReportSuspended); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "workspace.settings",
			SubjectType: "workspace", SubjectID: workspaceID, Details: map[string]any{"admins": len(set.AdminEmails),
				"report_suspended": set.ReportSuspended}})
	})
}

// Report is a deprovision report and the people in it.
type Report struct {
	ID            string `json:"id"`
	WorkspaceID   string `json:"workspace_id"`
	IntegrationID string `json:"integration_id"`
	Integration   string `json:"integration"`
	Status        string `json:"status"`
	// Version counts how often people joined the report; a decision names it.
	Version    int            `json:"version"`
	DecidedBy  string         `json:"decided_by,omitempty"`
	DecidedAt  *time.Time     `json:"decided_at"`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at"`
	Members    []ReportMember `json:"members"`
}

// ReportMember is a person in a report, with what they hold.
type ReportMember struct {
	MemberID        string `json:"member_id"`
	Email           string `json:"email"`
	Name            string `json:"name"`
	DirectoryStatus string `json:"directory_status"`
	// LeftGroup is the group a member left that a group rule gave them
	// their access by ("": reported for being deprovisioned).
	LeftGroup string `json:"left_group,omitempty"`
	Included  bool   `json:"included"`
	// Result is removed, gone, kept, cancelled or failed once decided;
	// Outcome says it in a sentence ("removed", "not removed: Meta refused: …").
	Result  string        `json:"result"`
	Outcome string        `json:"outcome"`
	Assets  []MemberAsset `json:"assets"`
}

// Report returns a report of a workspace ("" workspace: any) with its members.
func (s *Store) Report(ctx context.Context, workspaceID, id string) (Report, error) {
	var r Report
	err := s.pool.QueryRow(ctx, `SELECT r.id, r.workspace_id, r.integration_id, i.label, r.status, r.version, r.decided_by, r.decided_at,
			r.created_at, r.finished_at
		FROM deprovision_reports r JOIN integrations i ON i.id = r.integration_id
		WHERE r.id = $1 AND ($2 = '' OR r.workspace_id = $2::uuid)`, id, workspaceID).
		Scan(&r.ID, &r.WorkspaceID, &r.IntegrationID, &r.Integration, &r.Status, &r.Version, &r.DecidedBy, &r.DecidedAt, &r.CreatedAt, &r.FinishedAt)
	if err != nil {
		return r, notFound(err, "report")
	}
	rows, err := s.pool.Query(ctx, `SELECT rm.member_id, rm.email, rm.name, rm.directory_status,
			coalesce((SELECT dg.display_name FROM directory_groups dg WHERE dg.directory_id = rm.left_directory_id
				AND dg.external_id = rm.left_group_id), rm.left_group_id, ''), rm.included, rm.result, rm.outcome,
			(SELECT coalesce(jsonb_agg(jsonb_build_object('asset_id', g.asset_id, 'type', coalesce(a.type, ''), 'name', coalesce(a.name, ''),
				'tasks', g.tasks) ORDER BY g.asset_id), '[]')
			 FROM asset_grants g LEFT JOIN assets a ON a.integration_id = g.integration_id AND a.external_id = g.asset_id
			 WHERE g.integration_id = $2 AND g.member_id = rm.member_id)
		FROM report_members rm WHERE rm.report_id = $1 ORDER BY rm.name, rm.member_id`, r.ID, r.IntegrationID)
	if err != nil {
		return r, err
	}
	r.Members, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ReportMember, error) {
		var m ReportMember
		return m, row.Scan(&m.MemberID, &m.Email, &m.Name, &m.DirectoryStatus, &m.LeftGroup, &m.Included, &m.Result, &m.Outcome, &m.Assets)
	})
	return r, err
}

// ListReports lists a workspace's reports, newest first.
func (s *Store) ListReports(ctx context.Context, workspaceID string, p Page) ([]Report, string, error) {
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
	rows, err := s.pool.Query(ctx, `SELECT r.id FROM deprovision_reports r
		WHERE r.workspace_id = $1 AND ($2 = '' OR (r.created_at, r.id) < ($3, $2::uuid))
		ORDER BY r.created_at DESC, r.id DESC LIMIT $4`, workspaceID, after.ID, after.T, limit+1)
	if err != nil {
		return nil, "", err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, "", err
	}
	var reports []Report
	for _, id := range ids[:min(len(ids), limit)] {
		r, err := s.Report(ctx, workspaceID, id)
		if err != nil {
			return nil, "", err
		}
		reports = append(reports, r)
	}
	next := ""
	if len(ids) > limit {
		last := reports[limit-1]
		next = encodeCursor(key{T: last.CreatedAt, ID: last.ID})
	}
	return reports, next, nil
}

// reportDeprovisioned puts onboarded members whose matched person is
// deprovisioned (or, by workspace policy, suspended) in every directory
// that knows them into the integration's open deprovision report, creating
// it when needed, and counts the report's version up. Never reported:
// exempted members, members whose removal is under way (a confirmed report
// or a removal action not finished), and members an admin kept, until their
// person's directory status changes again. It returns the open report
// ("" if none) and how many members joined it.
func reportDeprovisioned(ctx context.Context, tx pgx.Tx, workspaceID, igID string) (string, int, error) {
	var suspended bool
	if err := tx.QueryRow(ctx, `SELECT report_suspended FROM workspaces WHERE id = $1`, workspaceID).Scan(&suspended); err != nil {
		return "", 0, err
	}
	const found = `SELECT m.external_id, m.email, m.name, m.matched_email, min(du.status) AS status
		FROM members m
		JOIN directory_users du ON du.email = m.matched_email
		JOIN directories d ON d.id = du.directory_id AND d.workspace_id = $1
		WHERE m.integration_id = $2 AND m.kind = 'user' AND m.state = 'onboarded'
			AND NOT EXISTS (SELECT 1 FROM report_members rm JOIN deprovision_reports r ON r.id = rm.report_id
				WHERE r.integration_id = $2 AND rm.member_id = m.external_id
					AND (r.status = 'pending' OR (r.status = 'confirmed' AND rm.included)))
			AND NOT EXISTS (SELECT 1 FROM member_actions a WHERE a.integration_id = $2 AND a.member_id = m.external_id
				AND a.action = 'remove' AND a.status IN ('running', 'waiting'))
		GROUP BY m.external_id, m.email, m.name, m.matched_email, m.kept_status_changed_at
		HAVING bool_and(du.status = 'deprovisioned' OR (du.status = 'suspended' AND $3))
			AND (m.kept_status_changed_at IS NULL OR max(du.status_changed_at) > m.kept_status_changed_at)`
	// People a group rule covered who left its group, still onboarded and
	// out of it: reported once per leaving (a kept member again only after
	// leaving again).
	const leavers = `SELECT DISTINCT ON (m.external_id) m.external_id, m.email, m.name, m.matched_email,
			coalesce((SELECT min(du.status) FROM directory_users du JOIN directories d ON d.id = du.directory_id
				WHERE d.workspace_id = $1 AND du.email = m.matched_email), 'active') AS status, r.directory_id, r.group_id
		FROM members m
		JOIN group_rule_people p ON p.email = m.matched_email AND p.left_at IS NOT NULL
		JOIN group_rules r ON r.id = p.rule_id AND r.integration_id = m.integration_id
		WHERE m.integration_id = $2 AND m.kind = 'user' AND m.state = 'onboarded' AND (m.kept_at IS NULL OR p.left_at > m.kept_at)
			AND NOT EXISTS (SELECT 1 FROM report_members rm JOIN deprovision_reports dr ON dr.id = rm.report_id
				WHERE dr.integration_id = $2 AND rm.member_id = m.external_id
					AND (dr.status = 'pending' OR (dr.status = 'confirmed' AND rm.included)))
			AND NOT EXISTS (SELECT 1 FROM member_actions a WHERE a.integration_id = $2 AND a.member_id = m.external_id
				AND a.action = 'remove' AND a.status IN ('running', 'waiting'))
			AND NOT EXISTS (SELECT 1 FROM directory_group_members gm JOIN directory_users du
				ON du.directory_id = gm.directory_id AND du.external_id = gm.user_id
				WHERE gm.directory_id = r.directory_id AND gm.group_id = r.group_id AND du.email = m.matched_email)
		ORDER BY m.external_id, p.left_at`
	var n, left int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (`+found+`) f`, workspaceID, igID, suspended).Scan(&n); err != nil {
		return "", 0, err
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM (`+leavers+`) f`, workspaceID, igID).Scan(&left); err != nil {
		return "", 0, err
	}
	n += left
	if n == 0 {
		var open string
		err := tx.QueryRow(ctx, `SELECT id FROM deprovision_reports WHERE integration_id = $1 AND status = 'pending'`, igID).Scan(&open)
		if isNoRows(err) {
			err = nil
		}
		return open, 0, err
	}
	// The open report, locked so that a decision being made waits, then
	// sees the new version; one decided meanwhile is no longer open.
	var reportID string
	err := tx.QueryRow(ctx, `SELECT id FROM deprovision_reports WHERE integration_id = $1 AND status = 'pending' FOR UPDATE`, igID).Scan(&reportID)
	if isNoRows(err) {
		err = tx.QueryRow(ctx, `INSERT INTO deprovision_reports (workspace_id, integration_id) VALUES ($1, $2) RETURNING id`,
			workspaceID, igID).Scan(&reportID)
	}
	if err != nil {
		return "", 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO report_members (report_id, member_id, email, name, matched_email, directory_status)
		SELECT $4, f.external_id, f.email, f.name, f.matched_email, f.status FROM (`+found+`) f
		ON CONFLICT (report_id, member_id) DO NOTHING`, workspaceID, igID, suspended, reportID)
	if err != nil {
		return "", 0, err
	}
	joined := tag.RowsAffected()
	tag, err = tx.Exec(ctx, `INSERT INTO report_members (report_id, member_id, email, name, matched_email, directory_status,
			left_directory_id, left_group_id)
		SELECT $3, f.external_id, f.email, f.name, f.matched_email, f.status, f.directory_id, f.group_id FROM (`+leavers+`) f
		ON CONFLICT (report_id, member_id) DO NOTHING`, workspaceID, igID, reportID)
	if err != nil {
		return "", 0, err
	}
	joined += tag.RowsAffected()
	if _, err := tx.Exec(ctx, `UPDATE deprovision_reports SET version = version + 1 WHERE id = $1`, reportID); err != nil {
		return "", 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE members m SET kept_by = NULL, kept_at = NULL, kept_status_changed_at = NULL
		FROM report_members rm WHERE rm.report_id = $1 AND m.integration_id = $2 AND m.external_id = rm.member_id AND m.kept_at IS NOT NULL`,
		reportID, igID); err != nil {
		return "", 0, err
	}
	return reportID, int(joined), nil
}

// ReportLink is a confirmation link's token for one admin; it is shown once, in the e-mail.
type ReportLink struct {
	Recipient string
	Token     string
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// IssueReportLinks makes one token per workspace admin not yet sent the
// e-mail mailKey, for a pending report, valid until expires; only their
// hashes are stored.
func (s *Store) IssueReportLinks(ctx context.Context, reportID, mailKey string, expires time.Time) ([]ReportLink, error) {
	var links []ReportLink
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var admins []string
		err := tx.QueryRow(ctx, `SELECT array(SELECT a FROM unnest(w.admin_emails) a
				WHERE NOT EXISTS (SELECT 1 FROM report_mails m WHERE m.report_id = r.id AND m.mail_key = $2 AND m.recipient = a))
			FROM deprovision_reports r JOIN workspaces w ON w.id = r.workspace_id
			WHERE r.id = $1 AND r.status = 'pending'`, reportID, mailKey).Scan(&admins)
		if err != nil {
			return notFound(err, "pending report")
		}
		for _, admin := range admins {
			raw := make([]byte, 32)
			if _, err := rand.Read(raw); err != nil {
				return err
			}
			token := base64.RawURLEncoding.EncodeToString(raw)
			if _, err := tx.Exec(ctx, `INSERT INTO report_tokens (hash, report_id, recipient, expires_at) VALUES ($1, $2, $3, $4)`,
				hashToken(token), reportID, admin, expires); err != nil {
				return err
			}
			links = append(links, ReportLink{Recipient: admin, Token: token})
		}
		return nil
	})
	return links, err
}

// NoteReportMailSent records that recipient got the e-mail mailKey of a report.
func (s *Store) NoteReportMailSent(ctx context.Context, reportID, mailKey, recipient string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO report_mails (report_id, mail_key, recipient) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		reportID, mailKey, recipient)
	return err
}

// LinkState is what a confirmation link may still do.
type LinkState struct {
	Recipient string
	Expired   bool
	// UsedAt is set once the link has decided.
	UsedAt *time.Time
}

// ReportByLink returns the report a token belongs to and the token's state.
// An unknown token is not found.
func (s *Store) ReportByLink(ctx context.Context, token string) (Report, LinkState, error) {
	var st LinkState
	var reportID string
	var expires time.Time
	err := s.pool.QueryRow(ctx, `SELECT report_id, recipient, expires_at, used_at FROM report_tokens WHERE hash = $1`, hashToken(token)).
		Scan(&reportID, &st.Recipient, &expires, &st.UsedAt)
	if err != nil {
		return Report{}, st, notFound(err, "link")
	}
	st.Expired = !s.now().Before(expires)
	r, err := s.Report(ctx, "", reportID)
	return r, st, err
}

// Decision is an admin's answer to a report.
type Decision struct {
	ReportID string
	// Token decides through an e-mail link; else Actor (an API key) does.
	Token   string
	Actor   string
	Confirm bool
	// Exclude lists members left out of a confirmed removal.
	Exclude []string
	// Version is the report's version the admin decided on; a report that
	// changed since is not decided.
	Version int
}

// DecideReport records a decision in one transaction: the link must belong
// to the report, be unused and unexpired (it is then used up); the report
// must be pending and still at the version the admin saw; left-out members
// are kept (and not reported again until their directory status changes).
// It writes an audit event.
func (s *Store) DecideReport(ctx context.Context, d Decision) (Report, error) {
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		by := d.Actor
		if d.Token != "" {
			var reportID, recipient string
			var expires time.Time
			var used *time.Time
			err := tx.QueryRow(ctx, `SELECT report_id, recipient, expires_at, used_at FROM report_tokens WHERE hash = $1 FOR UPDATE`,
				hashToken(d.Token)).Scan(&reportID, &recipient, &expires, &used)
			if err != nil {
				return notFound(err, "link")
			}
			switch {
			case reportID != d.ReportID:
				return domain.Errorf(domain.ENotFound, "link not found")
			case used != nil:
				return domain.Errorf(domain.EConflict, "this link was already used")
			case !s.now().Before(expires):
				return domain.Errorf(domain.EConflict, "this link has expired")
			}
			if _, err := tx.Exec(ctx, `UPDATE report_tokens SET used_at = $2 WHERE hash = $1`, hashToken(d.Token), s.now()); err != nil {
				return err
			}
			by = recipient
		}
		// Checks adding people to the report wait for the decision, and it for them.
		var workspaceID, igID string
		err := tx.QueryRow(ctx, `SELECT workspace_id, integration_id FROM deprovision_reports WHERE id = $1`, d.ReportID).Scan(&workspaceID, &igID)
		if err != nil {
			return notFound(err, "report")
		}
		if err := lockMembers(ctx, tx, igID, false); err != nil {
			return err
		}
		var status string
		var version int
		var members []string
		err = tx.QueryRow(ctx, `SELECT r.status, r.version, array(SELECT member_id FROM report_members WHERE report_id = r.id)
			FROM deprovision_reports r WHERE r.id = $1 FOR UPDATE`, d.ReportID).Scan(&status, &version, &members)
		if err != nil {
			return notFound(err, "report")
		}
		if status != "pending" {
			return domain.Errorf(domain.EConflict, "the report was already decided (%s)", status)
		}
		if d.Version != version {
			return domain.Errorf(domain.EConflict, "the report changed since version %d was shown (it is at version %d, with %d people): "+
				"look at it again and decide on what it shows now", d.Version, version, len(members))
		}
		for _, id := range d.Exclude {
			if !slices.Contains(members, id) {
				return domain.Errorf(domain.EInvalid, "member %s is not in this report", id)
			}
		}
		decision := "rejected"
		if d.Confirm {
			decision = "confirmed"
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE deprovision_reports SET status = $2, decided_by = $3, decided_at = $4 WHERE id = $1`,
			d.ReportID, decision, by, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `WITH d AS (SELECT $2 AND NOT (member_id = ANY(coalesce($3::text[], '{}'))) AS removing, member_id
				FROM report_members WHERE report_id = $1)
			UPDATE report_members rm SET included = d.removing, result = CASE WHEN d.removing THEN '' ELSE 'kept' END,
				outcome = CASE WHEN d.removing THEN '' ELSE 'kept' END
			FROM d WHERE rm.report_id = $1 AND rm.member_id = d.member_id`,
			d.ReportID, d.Confirm, d.Exclude); err != nil {
			return err
		}
		// Whom the admin kept is not reported again until their directory status changes again.
		if _, err := tx.Exec(ctx, `UPDATE members m SET kept_by = $3, kept_at = $4,
				kept_status_changed_at = (SELECT max(du.status_changed_at) FROM directory_users du JOIN directories dir ON dir.id = du.directory_id
					WHERE dir.workspace_id = $5 AND du.email = m.matched_email)
			FROM report_members rm WHERE rm.report_id = $1 AND NOT rm.included AND m.integration_id = $2 AND m.external_id = rm.member_id`,
			d.ReportID, igID, by, now, workspaceID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: by, Action: "report." + decision,
			SubjectType: "report", SubjectID: d.ReportID, Details: map[string]any{"left_out": d.Exclude, "version": version}})
	})
	if err != nil {
		return Report{}, err
	}
	return s.Report(ctx, "", d.ReportID)
}

// ExpireReport ends a pending report that nobody decided; everyone is kept.
func (s *Store) ExpireReport(ctx context.Context, reportID, workflowID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID string
		err := tx.QueryRow(ctx, `UPDATE deprovision_reports SET status = 'expired', finished_at = $2 WHERE id = $1 AND status = 'pending'
			RETURNING workspace_id`, reportID, s.now()).Scan(&workspaceID)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE report_members SET result = 'kept', outcome = 'kept', included = false WHERE report_id = $1`,
			reportID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "report.expired",
			SubjectType: "report", SubjectID: reportID, WorkflowID: workflowID, Details: map[string]any{"removed": 0}})
	})
}

// Results of a person in a report.
const (
	ResultRemoved   = "removed"
	ResultGone      = "gone"
	ResultKept      = "kept"
	ResultCancelled = "cancelled"
	ResultFailed    = "failed"
)

// RemovalResult is how a confirmed person's removal ended.
type RemovalResult struct {
	Result  string
	Outcome string
}

// FinishReport records each included member's result and ends the report
// applied (everyone removed or already gone) or partially_applied.
func (s *Store) FinishReport(ctx context.Context, reportID, workflowID string, results map[string]RemovalResult) (Report, error) {
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		outcomes := map[string]string{}
		for id, r := range results {
			if _, err := tx.Exec(ctx, `UPDATE report_members SET result = $3, outcome = $4 WHERE report_id = $1 AND member_id = $2`,
				reportID, id, r.Result, r.Outcome); err != nil {
				return err
			}
			outcomes[id] = r.Outcome
		}
		var workspaceID, status string
		err := tx.QueryRow(ctx, `UPDATE deprovision_reports r SET finished_at = $2,
				status = CASE WHEN EXISTS (SELECT 1 FROM report_members WHERE report_id = r.id AND included AND result NOT IN ('removed', 'gone'))
					THEN 'partially_applied' ELSE 'applied' END
			WHERE id = $1 AND status = 'confirmed' RETURNING workspace_id, status`, reportID, s.now()).Scan(&workspaceID, &status)
		if isNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "report." + status,
			SubjectType: "report", SubjectID: reportID, WorkflowID: workflowID, Details: map[string]any{"outcomes": outcomes}})
	})
	if err != nil {
		return Report{}, err
	}
	return s.Report(ctx, "", reportID)
}

// NoteReportMailFailed writes an audit event for a report e-mail (kind)
// that could not be sent, with why.
func (s *Store) NoteReportMailFailed(ctx context.Context, reportID, kind, reason, workflowID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID string
		if err := tx.QueryRow(ctx, `SELECT workspace_id FROM deprovision_reports WHERE id = $1`, reportID).Scan(&workspaceID); err != nil {
			return notFound(err, "report")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "report.mail_failed",
			SubjectType: "report", SubjectID: reportID, WorkflowID: workflowID, Details: map[string]any{"mail": kind, "reason": reason}})
	})
}

// ReportAdmins returns the e-mail addresses of the admins of a report's
// workspace who were not yet sent the e-mail mailKey.
func (s *Store) ReportAdmins(ctx context.Context, reportID, mailKey string) ([]string, error) {
	var admins []string
	err := s.pool.QueryRow(ctx, `SELECT array(SELECT a FROM unnest(w.admin_emails) a
			WHERE NOT EXISTS (SELECT 1 FROM report_mails m WHERE m.report_id = r.id AND m.mail_key = $2 AND m.recipient = a))
		FROM deprovision_reports r JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = $1`, reportID, mailKey).Scan(&admins)
	return admins, notFound(err, "report")
}

// WorkspaceSettings returns a workspace's report settings.
func (s *Store) WorkspaceSettings(ctx context.Context, workspaceID string) (WorkspaceSettings, error) {
	var set WorkspaceSettings
	err := s.pool.QueryRow(ctx, `SELECT admin_emails, report_suspended FROM workspaces WHERE id = $1`, workspaceID).
		Scan(&set.AdminEmails, &set.ReportSuspended)
	return set, notFound(err, "workspace")
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// IntegrationSettings are the non-secret connection settings of a business center.
type IntegrationSettings struct {
	// GraphBaseURL and GraphVersion override the Meta Graph API's (the sandbox, or a pinned version).
	GraphBaseURL string `json:"graph_base_url,omitempty"`
	GraphVersion string `json:"graph_version,omitempty"`
	// WebBaseURL overrides Pinterest's web app (the sandbox).
	WebBaseURL string `json:"web_base_url,omitempty"`
	// Automation is the Pinterest account Hubkeeper logs in as; its password is the credential.
	Automation *AutomationAccount `json:"automation,omitempty"`
}

// AutomationAccount is a provider account Hubkeeper acts through, without its password.
type AutomationAccount struct {
	Label string `json:"label"`
	Email string `json:"email"`
	Phone string `json:"phone,omitempty"`
}

// Integration is one connected business center. Its token stays sealed.
type Integration struct {
	ID          string          `json:"id"`
	WorkspaceID string          `json:"workspace_id"`
	Provider    domain.Provider `json:"provider"`
	// Mode is how the integration reaches its provider (connector.Modes).
	Mode         string `json:"mode"`
	Label        string `json:"label"`
	BusinessID   string `json:"business_id"`
	AppID        string `json:"app_id"`
	LoginMethod  string `json:"login_method"`
	CredentialID string `json:"-"`
	// SessionCredentialID holds a browser's sealed cookies (Pinterest).
	SessionCredentialID string `json:"-"`
	// OnboardingOpen: the integration's onboarding has not finished.
	OnboardingOpen   bool                `json:"-"`
	Settings         IntegrationSettings `json:"settings"`
	Status           string              `json:"status"`
	StatusMessage    string              `json:"status_message,omitempty"`
	RemovalSafeguard float64             `json:"removal_safeguard"`
	RestrictedUntil  *time.Time          `json:"restricted_until"`
	// TwoFactorType is who the Meta business requires to use two-factor
	// authentication: admin_required, all_required or none.
	TwoFactorType string `json:"two_factor_type,omitempty"`
	// TokenExpiresAt and DataAccessExpiresAt are when the system-user token
	// and its data access expire (nil: never), as Meta said at TokenCheckedAt.
	TokenExpiresAt      *time.Time `json:"token_expires_at"`
	DataAccessExpiresAt *time.Time `json:"data_access_expires_at"`
	TokenCheckedAt      *time.Time `json:"token_checked_at"`
	LastSyncedAt        *time.Time `json:"last_synced_at"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

// NewIntegration is what CreateIntegration needs.
type NewIntegration struct {
	WorkspaceID      string
	Provider         domain.Provider
	Mode             string
	Label            string
	BusinessID       string
	AppID            string
	LoginMethod      string
	Settings         IntegrationSettings
	Secret           []byte
	RemovalSafeguard float64
	Actor            string
	// OnboardingAdmin, when set, creates the integration without a secret,
	// to be onboarded step by step; it is the onboarding admin's directory e-mail.
	OnboardingAdmin string
	// OnboardingStage is where the onboarding starts: app approval for Meta,
	// the automation account's login (with Secret, its password) for Pinterest.
	OnboardingStage string
}

// onboardingOpen is true for an integration whose onboarding has not finished.
const onboardingOpen = `EXISTS (SELECT 1 FROM onboardings o WHERE o.integration_id = integrations.id AND o.stage <> 'done')`

const integrationColumns = `id, workspace_id, provider, mode, label, business_id, app_id, login_method, coalesce(credential_id::text, ''),
	coalesce(session_credential_id::text, ''), ` + onboardingOpen + `, settings, status, status_message, removal_safeguard, restricted_until, two_factor_type, token_expires_at, data_access_expires_at,
	token_checked_at, last_synced_at, created_at, updated_at`

func scanIntegration(r pgx.Row) (Integration, error) {
	var i Integration
	err := r.Scan(&i.ID, &i.WorkspaceID, &i.Provider, &i.Mode, &i.Label, &i.BusinessID, &i.AppID, &i.LoginMethod, &i.CredentialID,
		&i.SessionCredentialID, &i.OnboardingOpen, &i.Settings, &i.Status, &i.StatusMessage, &i.RemovalSafeguard, &i.RestrictedUntil,
		&i.TwoFactorType, &i.TokenExpiresAt, &i.DataAccessExpiresAt, &i.TokenCheckedAt, &i.LastSyncedAt, &i.CreatedAt, &i.UpdatedAt)
	return i, err
}

// CreateIntegration stores an integration with its sealed token, an audit
// event, and the start it is owed: its onboarding, or (connected with a
// token) its daily Schedule. A second integration of the same business in a
// workspace is a conflict.
func (s *Store) CreateIntegration(ctx context.Context, ni NewIntegration) (Integration, WorkflowStart, error) {
	var ig Integration
	var start WorkflowStart
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		id := uuid.NewString()
		d, ok := connector.Describe(ni.Provider, ni.Mode)
		if !ok {
			return domain.Errorf(domain.EInvalid, "provider %s has no mode %q: use one of %v", ni.Provider, ni.Mode, connector.Modes(ni.Provider))
		}
		var credID *string
		status, message := "connected", ""
		consent := d.Onboarding == connector.OnboardOAuth
		switch {
		case ni.OnboardingStage != "":
			status = "onboarding"
		case consent:
			status, message = "onboarding", "waiting for an admin's consent: GET /v1/integrations/"+id+"/oauth/start"
		}
		if len(ni.Secret) > 0 { // a Meta token or a Pinterest password; a Meta onboarding starts without
			sealed, err := s.sealCredential(ctx, tx, ni.WorkspaceID, id, d.SecretKind, ni.Secret)
			if err != nil {
				return err
			}
			credID = &sealed
		}
		var err error
		ig, err = scanIntegration(tx.QueryRow(ctx, `INSERT INTO integrations
			(id, workspace_id, provider, mode, label, business_id, app_id, login_method, credential_id, settings, removal_safeguard, status,
				status_message)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+integrationColumns,
			id, ni.WorkspaceID, ni.Provider, d.Mode, ni.Label, ni.BusinessID, ni.AppID, ni.LoginMethod, credID, ni.Settings, ni.RemovalSafeguard,
			status, message))
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return domain.Errorf(domain.EConflict, "business %s is already connected in this workspace", ni.BusinessID)
		}
		if err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: ni.WorkspaceID, Actor: ni.Actor, Action: "integration.created",
			SubjectType: "integration", SubjectID: ig.ID, Details: map[string]any{"provider": ni.Provider, "label": ni.Label,
				"business_id": ni.BusinessID, "onboarding": ni.OnboardingStage != ""}}); err != nil {
			return err
		}
		if consent {
			return nil // the start is owed once an admin consents (CompleteOAuth)
		}
		kind := StartIntegrationSchedule
		if ni.OnboardingStage != "" {
			kind = StartOnboarding
			if _, err := tx.Exec(ctx, `INSERT INTO onboardings (integration_id, workspace_id, admin_email, stage, waiting_for) VALUES ($1, $2, $3, $4, $5)`,
				ig.ID, ni.WorkspaceID, ni.OnboardingAdmin, ni.OnboardingStage, onboardingCalls[ni.OnboardingStage]); err != nil {
				return err
			}
		}
		start, err = owe(ctx, tx, kind, ig.ID, false)
		return err
	})
	return ig, start, err
}

// Integration returns one integration of a workspace.
func (s *Store) Integration(ctx context.Context, workspaceID, id string) (Integration, error) {
	ig, err := scanIntegration(s.pool.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return ig, notFound(err, "integration")
}

// IntegrationByID returns an integration of any workspace, for operators.
func (s *Store) IntegrationByID(ctx context.Context, id string) (Integration, error) {
	ig, err := scanIntegration(s.pool.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1`, id))
	return ig, notFound(err, "integration")
}

// IntegrationForRun returns the integration a sync run checks.
func (s *Store) IntegrationForRun(ctx context.Context, runID string) (Integration, error) {
	ig, err := scanIntegration(s.pool.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations
		WHERE id = (SELECT integration_id FROM sync_runs WHERE id = $1)`, runID))
	return ig, notFound(err, "integration of sync run")
}

// ListIntegrations lists a workspace's integrations in id order.
func (s *Store) ListIntegrations(ctx context.Context, workspaceID string, p Page) ([]Integration, string, error) {
	after := ""
	if p.Cursor != "" {
		if err := decodeIDCursor(p.Cursor, &after, func() string { return after }); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT `+integrationColumns+` FROM integrations
		WHERE workspace_id = $1 AND ($2 = '' OR id > $2::uuid) ORDER BY id LIMIT $3`, workspaceID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Integration, error) { return scanIntegration(r) })
	if err != nil {
		return nil, "", notFound(err, "integration")
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(list[limit-1].ID)
	}
	return list, next, nil
}

// MemberCounts counts an integration's members per tab.
func (s *Store) MemberCounts(ctx context.Context, integrationID string) (map[domain.MemberState]int, error) {
	return memberCounts(ctx, s.pool, integrationID)
}

// FullControlWithoutTwoFactor counts the business users with Full control
// (ADMIN) whom Meta reports without two-factor authentication.
func (s *Store) FullControlWithoutTwoFactor(ctx context.Context, integrationID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM members WHERE integration_id = $1 AND kind = 'user' AND state <> 'removed'
		AND role = 'ADMIN' AND two_fac_status NOT IN ('', 'enabled')`, integrationID).Scan(&n)
	return n, err
}

// MetaAccess is what a check learnt of a Meta business's security: who must
// use two-factor, and when the system-user token expires (nil: never).
type MetaAccess struct {
	TwoFactorType       string
	TokenExpiresAt      *time.Time
	DataAccessExpiresAt *time.Time
}

// RecordMetaAccess stores what a check learnt of the business's two-factor
// requirement and its token's expiry.
func (s *Store) RecordMetaAccess(ctx context.Context, integrationID string, a MetaAccess) error {
	_, err := s.pool.Exec(ctx, `UPDATE integrations SET two_factor_type = $2, token_expires_at = $3, data_access_expires_at = $4,
		token_checked_at = $5 WHERE id = $1`, integrationID, a.TwoFactorType, a.TokenExpiresAt, a.DataAccessExpiresAt, s.now())
	return err
}

// TokenNoticeRecipients returns the workspace admins not yet told that the
// integration's token expires at expiresAt.
func (s *Store) TokenNoticeRecipients(ctx context.Context, integrationID string, expiresAt time.Time) ([]string, error) {
	var admins []string
	err := s.pool.QueryRow(ctx, `SELECT array(SELECT a FROM unnest(w.admin_emails) a WHERE NOT EXISTS (SELECT 1 FROM token_notices n
			WHERE n.integration_id = i.id AND n.expires_at = $2 AND n.recipient = a))
		FROM integrations i JOIN workspaces w ON w.id = i.workspace_id WHERE i.id = $1`, integrationID, expiresAt).Scan(&admins)
	return admins, notFound(err, "integration")
}

// NoteTokenNoticeSent records that recipient was told of the expiry; the
// first notice of an expiry is audited.
func (s *Store) NoteTokenNoticeSent(ctx context.Context, ig Integration, expiresAt time.Time, recipient, workflowID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var first bool
		if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM token_notices WHERE integration_id = $1 AND expires_at = $2)`,
			ig.ID, expiresAt).Scan(&first); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO token_notices (integration_id, expires_at, recipient) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, ig.ID, expiresAt, recipient); err != nil {
			return err
		}
		if !first {
			return nil
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ig.WorkspaceID, Actor: "system", Action: "integration.token_expiring",
			SubjectType: "integration", SubjectID: ig.ID, WorkflowID: workflowID, Details: map[string]any{"expires_at": expiresAt}})
	})
}

// querier is what both a pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func memberCounts(ctx context.Context, q querier, integrationID string) (map[domain.MemberState]int, error) {
	rows, err := q.Query(ctx, `SELECT state, count(*) FROM members WHERE integration_id = $1 GROUP BY state`, integrationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[domain.MemberState]int{}
	for rows.Next() {
		var state domain.MemberState
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		counts[state] = n
	}
	return counts, rows.Err()
}

// MarkIntegrationNeedsReauth flags an integration whose token the provider
// rejected, with the reason and an audit event.
func (s *Store) MarkIntegrationNeedsReauth(ctx context.Context, ig Integration, message, workflowID, runID, traceID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE integrations SET status = 'needs_reauth', status_message = $2, updated_at = now() WHERE id = $1`, ig.ID, message)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ig.WorkspaceID, Actor: "system", Action: "integration.needs_reauth",
			SubjectType: "integration", SubjectID: ig.ID, WorkflowID: workflowID, RunID: runID, TraceID: traceID,
			Details: map[string]any{"message": message}})
	})
}

// RecordAutomationFailure writes an audit event for a browser automation
// failure no retry fixes; the message names the failure's screenshot and page.
func (s *Store) RecordAutomationFailure(ctx context.Context, ig Integration, message, workflowID, runID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ig.WorkspaceID, Actor: "system", Action: "integration.automation_failed",
			SubjectType: "integration", SubjectID: ig.ID, WorkflowID: workflowID, RunID: runID, Details: map[string]any{"message": message}})
	})
}

// StartIntegrationSyncRun records the start of a check for updates, and
// which admins' changes came before it; a retry for the same workflow run
// returns the same row.
func (s *Store) StartIntegrationSyncRun(ctx context.Context, integrationID, trigger, workflowID, runID string) (SyncRun, error) {
	run, err := scanSyncRun(s.pool.QueryRow(ctx, `INSERT INTO sync_runs (workspace_id, integration_id, trigger, workflow_id, run_id,
			admin_changes_before)
		SELECT workspace_id, id, $2, $3, $4, nextval('member_changes') FROM integrations WHERE id = $1
		ON CONFLICT (run_id) DO UPDATE SET run_id = EXCLUDED.run_id
		RETURNING `+syncRunColumns, integrationID, trigger, workflowID, runID))
	return run, notFound(err, "integration")
}

// stage upserts a page of items into a staging table and counts requests.
func (s *Store) stage(ctx context.Context, runID, stage, insert string, items any, requests int) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insert, runID, items); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE sync_runs SET stage = $2, requests = requests + $3,
			fetched = (SELECT count(*) FROM member_staging WHERE sync_run_id = $1) WHERE id = $1`, runID, stage, requests)
		return err
	})
}

// StageMembers lands a page of members for a run.
func (s *Store) StageMembers(ctx context.Context, runID string, members []domain.BusinessMember, requests int) error {
	return s.stage(ctx, runID, "fetching members", `INSERT INTO member_staging
		(sync_run_id, external_id, kind, email, name, role, tasks, invitation_status, two_fac_status)
		SELECT $1, m.external_id, m.kind, coalesce(m.email, ''), coalesce(m.name, ''), coalesce(m.role, ''),
			coalesce(m.tasks, '{}'), coalesce(m.invitation_status, ''), coalesce(m.two_fac_status, '')
		FROM jsonb_to_recordset($2::jsonb) AS m(external_id text, kind text, email text, name text, role text, tasks text[],
			invitation_status text, two_fac_status text)
		ON CONFLICT (sync_run_id, external_id) DO UPDATE SET kind = EXCLUDED.kind, email = EXCLUDED.email, name = EXCLUDED.name,
			role = EXCLUDED.role, tasks = EXCLUDED.tasks, invitation_status = EXCLUDED.invitation_status,
			two_fac_status = EXCLUDED.two_fac_status`, members, requests)
}

// StagedAsset is an asset a check fetched, with the access token its Page's
// edges need ("" for ad accounts), or marked unreadable: a Page that came
// without one, whose holders the check cannot read.
type StagedAsset struct {
	domain.Asset
	PageToken  string `json:"-"`
	Unreadable bool   `json:"unreadable,omitempty"`
}

// StageAssets lands a page of assets for a run, their Pages' tokens sealed.
func (s *Store) StageAssets(ctx context.Context, runID string, assets []StagedAsset, requests int) error {
	type row struct {
		StagedAsset
		KeyID  string `json:"key_id,omitempty"`
		Sealed []byte `json:"sealed,omitempty"`
	}
	rows := make([]row, len(assets))
	for i, a := range assets {
		rows[i].StagedAsset = a
		if a.PageToken != "" {
			var err error
			if rows[i].Sealed, rows[i].KeyID, err = s.keys.Seal(secrets.AtRest, []byte(a.PageToken), []byte(runID+"/"+a.ExternalID)); err != nil {
				return err
			}
		}
	}
	return s.stage(ctx, runID, "fetching assets", `INSERT INTO asset_staging (sync_run_id, external_id, type, ownership, name, token_key_id,
			sealed_token, unreadable)
		SELECT $1, a.external_id, a.type, a.ownership, coalesce(a.name, ''), a.key_id, decode(a.sealed, 'base64'), coalesce(a.unreadable, false)
		FROM jsonb_to_recordset($2::jsonb) AS a(external_id text, type text, ownership text, name text, key_id text, sealed text, unreadable boolean)
		ON CONFLICT (sync_run_id, external_id) DO UPDATE SET type = EXCLUDED.type, ownership = EXCLUDED.ownership, name = EXCLUDED.name,
			token_key_id = EXCLUDED.token_key_id, sealed_token = EXCLUDED.sealed_token, unreadable = EXCLUDED.unreadable`,
		rows, requests)
}

// StageGrants lands the holders of a chunk of assets for a run.
func (s *Store) StageGrants(ctx context.Context, runID string, grants []domain.Grant, requests int) error {
	if grants == nil {
		grants = []domain.Grant{}
	}
	return s.stage(ctx, runID, "fetching grants", `INSERT INTO grant_staging (sync_run_id, asset_id, member_id, tasks)
		SELECT $1, g.asset_id, g.member_id, coalesce(g.tasks, '{}')
		FROM jsonb_to_recordset($2::jsonb) AS g(asset_id text, member_id text, tasks text[])
		ON CONFLICT (sync_run_id, asset_id, member_id) DO UPDATE SET tasks = EXCLUDED.tasks`, grants, requests)
}

// StagedAssets lists the assets a run has fetched, in id order, with their
// Pages' tokens opened.
func (s *Store) StagedAssets(ctx context.Context, runID string) ([]StagedAsset, error) {
	rows, err := s.pool.Query(ctx, `SELECT external_id, type, ownership, name, unreadable, coalesce(token_key_id, ''), sealed_token
		FROM asset_staging WHERE sync_run_id = $1 ORDER BY external_id`, runID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StagedAsset, error) {
		var a StagedAsset
		var keyID string
		var sealed []byte
		if err := r.Scan(&a.ExternalID, &a.Type, &a.Ownership, &a.Name, &a.Unreadable, &keyID, &sealed); err != nil || sealed == nil {
			return a, err
		}
		token, err := s.keys.Open(secrets.AtRest, keyID, sealed, []byte(runID+"/"+a.ExternalID))
		a.PageToken = string(token)
		return a, err
	})
}

// ReconcileResult is what a check for updates changed.
type ReconcileResult struct {
	Added, Changed, Removed, Unchanged int
	// Halted: the removal safeguard stopped the reconcile; nothing was applied.
	Halted     bool
	HaltReason string
	// AssetRows and GrantRows count asset and grant rows written (inserted, updated or deleted).
	AssetRows, GrantRows int
	// Partners is what changed of the partner businesses.
	Partners PartnerChanges
	Tabs     map[domain.MemberState]int
	// ReportID is the integration's open deprovision report, which new
	// findings joined ("" if none is open).
	ReportID string
	// Reported is how many members joined it in this run.
	Reported int
	// Rules are the integration's group rules, for the check to run.
	Rules []string
}

// safeguardFloor is the fewest removals the safeguard ever stops: a business
// of three losing one member is not a mass removal.
const safeguardFloor = 5

// Reconcile applies a run's snapshot in one transaction. Members are
// matched to directory people by normalised e-mail and aliases: one
// candidate onboards them, none or several leave them unmatched (several
// means a person decides); exempted members and admins' matches are kept;
// members gone from the business are marked removed; assets and grants are
// replaced. Unchanged rows are not written. When more than the
// integration's safeguard share of members would be marked removed, nothing
// is applied and the run is flagged halted. Reconciling a finished run
// again returns its result.
func (s *Store) Reconcile(ctx context.Context, runID string) (ReconcileResult, error) {
	var res ReconcileResult
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var (
			igID, workspaceID, workflowID, temporalRunID, status string
			halted                                               bool
			safeguard                                            float64
			// before: admins' changes numbered above it came after the snapshot began.
			before int64
		)
		err := tx.QueryRow(ctx, `SELECT r.integration_id, r.workspace_id, r.workflow_id, r.run_id, r.status, r.halted, i.removal_safeguard,
				coalesce(r.admin_changes_before, 0)
			FROM sync_runs r JOIN integrations i ON i.id = r.integration_id WHERE r.id = $1
			FOR KEY SHARE OF i`, runID).
			Scan(&igID, &workspaceID, &workflowID, &temporalRunID, &status, &halted, &safeguard, &before)
		if err != nil {
			return notFound(err, "sync run")
		}
		// Admins' changes wait for the reconcile (and it for them), so each
		// sees the other whole.
		if err := lockMembers(ctx, tx, igID, true); err != nil {
			return err
		}
		if err := hashJoinsOnly(ctx, tx); err != nil {
			return err
		}
		if res.Rules, err = groupRuleIDs(ctx, tx, igID); err != nil {
			return err
		}
		if status != string(domain.SyncRunning) {
			var details map[string]any
			err := tx.QueryRow(ctx, `SELECT added, changed, removed, unchanged, error, details FROM sync_runs WHERE id = $1`, runID).
				Scan(&res.Added, &res.Changed, &res.Removed, &res.Unchanged, &res.HaltReason, &details)
			res.Halted = halted
			return err
		}
		now := s.now()

		// The safeguard: count before changing anything.
		var known, leaving int
		err = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE m.admin_change <= $3 AND NOT EXISTS
				(SELECT 1 FROM member_staging g WHERE g.sync_run_id = $1 AND g.external_id = m.external_id))
			FROM members m WHERE m.integration_id = $2 AND m.kind = 'user' AND m.state <> 'removed'`, runID, igID, before).Scan(&known, &leaving)
		if err != nil {
			return err
		}
		if leaving >= safeguardFloor && float64(leaving) > safeguard*float64(known) {
			res.Halted, res.Removed = true, leaving
			res.HaltReason = fmt.Sprintf("removal safeguard: %d of %d members (%.0f%%) are gone from the business, over the %.0f%% limit; "+
				"nothing was applied. Check the business, then raise the integration's removal_safeguard or sync again.",
				leaving, known, 100*float64(leaving)/float64(known), 100*safeguard)
			if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'failed', stage = 'halted', halted = true, removed = $2, error = $3,
				finished_at = $4 WHERE id = $1`, runID, leaving, res.HaltReason, now); err != nil {
				return err
			}
			if err := dropStaging(ctx, tx, runID); err != nil {
				return err
			}
			return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "integration.sync_halted",
				SubjectType: "integration", SubjectID: igID, WorkflowID: workflowID, RunID: temporalRunID,
				Details: map[string]any{"sync_run_id": runID, "would_remove": leaving, "members": known, "safeguard": safeguard}})
		}

		var staged int
		err = tx.QueryRow(ctx, `
			WITH s AS (
				SELECT * FROM member_staging WHERE sync_run_id = $1
			), people AS (
				SELECT DISTINCT du.email AS person, a.address
				FROM directory_users du JOIN directories d ON d.id = du.directory_id
				CROSS JOIN LATERAL unnest(array_append(du.aliases, du.email)) AS a(address)
				WHERE d.workspace_id = $3 AND du.email <> ''
			), cand AS (
				SELECT s.external_id, count(DISTINCT p.person) AS n, min(p.person) AS person
				FROM s JOIN people p ON p.address = s.email
				WHERE s.kind = 'user' AND s.email <> '' GROUP BY s.external_id
			), desired AS (
				SELECT s.*, m.state AS old_state,
					CASE
						WHEN s.kind = 'invitation' THEN 'pending'
						WHEN s.kind = 'system_user' THEN 'system'
						WHEN m.state = 'exempted' THEN 'exempted'
						WHEN m.matched_by = 'admin' AND m.state = 'onboarded' THEN 'onboarded'
						WHEN c.n = 1 THEN 'onboarded'
						ELSE 'unmatched' END AS state,
					CASE WHEN s.kind <> 'user' OR c.n IS NULL THEN 'none' WHEN c.n = 1 THEN 'one' ELSE 'several' END AS match,
					CASE WHEN m.matched_by = 'admin' THEN m.matched_email WHEN c.n = 1 THEN c.person END AS matched_email,
					coalesce(m.matched_by, 'sync') AS matched_by,
					m.hub_role AS old_hub_role
				FROM s LEFT JOIN cand c USING (external_id)
				LEFT JOIN members m ON m.integration_id = $2 AND m.external_id = s.external_id
			), up AS (
				INSERT INTO members AS m (integration_id, external_id, kind, email, name, role, tasks, invitation_status, two_fac_status,
					state, match, matched_email, matched_by, hub_role, first_seen_at, removed_at, updated_at)
				SELECT $2, external_id, kind, email, name, role, tasks, invitation_status, two_fac_status, state, match, matched_email,
					matched_by, CASE WHEN state = 'onboarded' THEN coalesce(old_hub_role, 'collaborator') ELSE old_hub_role END, $4, NULL, $4
				FROM desired
				ON CONFLICT (integration_id, external_id) DO UPDATE SET
					kind = EXCLUDED.kind, email = EXCLUDED.email, name = EXCLUDED.name, role = EXCLUDED.role, tasks = EXCLUDED.tasks,
					invitation_status = EXCLUDED.invitation_status, two_fac_status = EXCLUDED.two_fac_status, state = EXCLUDED.state,
					match = EXCLUDED.match, matched_email = EXCLUDED.matched_email, hub_role = EXCLUDED.hub_role, removed_at = NULL,
					updated_at = EXCLUDED.updated_at
				WHERE m.admin_change <= $5 AND (m.kind, m.email, m.name, m.role, m.tasks, m.invitation_status, m.two_fac_status, m.state,
						m.match, m.matched_email, m.hub_role, m.removed_at IS NULL)
					IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.email, EXCLUDED.name, EXCLUDED.role, EXCLUDED.tasks, EXCLUDED.invitation_status,
						EXCLUDED.two_fac_status, EXCLUDED.state, EXCLUDED.match, EXCLUDED.matched_email, EXCLUDED.hub_role, true)
				RETURNING (xmax = 0) AS inserted
			)
			SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), (SELECT count(*) FROM s) FROM up`,
			runID, igID, workspaceID, now, before).Scan(&res.Added, &res.Changed, &staged)
		if err != nil {
			return err
		}
		res.Unchanged = staged - res.Added - res.Changed

		// Members gone from the business: people are marked removed (with
		// their grants gone below); invitations and system users are dropped.
		tag, err := tx.Exec(ctx, `UPDATE members m SET state = 'removed', removed_at = $3, updated_at = $3
			WHERE m.integration_id = $2 AND m.kind = 'user' AND m.state <> 'removed' AND m.admin_change <= $4
				AND NOT EXISTS (SELECT 1 FROM member_staging g WHERE g.sync_run_id = $1 AND g.external_id = m.external_id)`, runID, igID, now, before)
		if err != nil {
			return err
		}
		res.Removed = int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `DELETE FROM members m WHERE m.integration_id = $2 AND m.kind <> 'user' AND m.admin_change <= $3
			AND NOT EXISTS (SELECT 1 FROM member_staging g WHERE g.sync_run_id = $1 AND g.external_id = m.external_id)`, runID, igID, before); err != nil {
			return err
		}

		// Assets and grants: replaced by the snapshot, writing only differences.
		args := pgx.NamedArgs{"run": runID, "integration": igID, "now": now, "before": before}
		if res.AssetRows, err = replace(ctx, tx, args,
			`WITH written AS (
				INSERT INTO assets AS a (integration_id, external_id, type, ownership, name, updated_at)
				SELECT @integration, external_id, type, ownership, name, @now FROM asset_staging WHERE sync_run_id = @run
				ON CONFLICT (integration_id, external_id) DO UPDATE SET type = EXCLUDED.type, ownership = EXCLUDED.ownership,
					name = EXCLUDED.name, updated_at = EXCLUDED.updated_at
				WHERE (a.type, a.ownership, a.name) IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.ownership, EXCLUDED.name)
				RETURNING 1)
			SELECT count(*) FROM written`,
			`DELETE FROM assets a WHERE a.integration_id = @integration
				AND NOT EXISTS (SELECT 1 FROM asset_staging g WHERE g.sync_run_id = @run AND g.external_id = a.external_id)`); err != nil {
			return err
		}
		// The grants of members an admin changed after the snapshot began, and
		// of assets whose holders could not be read, stay as they were. Grants
		// are updated, then inserted where missing: a plain insert of tens of
		// thousands costs less than as many upserts.
		if res.GrantRows, err = replace(ctx, tx, args,
			`WITH kept AS (
				SELECT m.external_id FROM members m WHERE m.integration_id = @integration AND m.admin_change > @before
			), changed AS (
				UPDATE asset_grants a SET tasks = g.tasks, updated_at = @now FROM grant_staging g
				WHERE g.sync_run_id = @run AND a.integration_id = @integration AND a.asset_id = g.asset_id AND a.member_id = g.member_id
					AND a.tasks IS DISTINCT FROM g.tasks AND g.member_id NOT IN (SELECT external_id FROM kept)
				RETURNING 1
			), added AS (
				INSERT INTO asset_grants (integration_id, asset_id, member_id, tasks, updated_at)
				SELECT @integration, g.asset_id, g.member_id, g.tasks, @now FROM grant_staging g WHERE g.sync_run_id = @run
					AND g.member_id NOT IN (SELECT external_id FROM kept)
					AND NOT EXISTS (SELECT 1 FROM asset_grants a WHERE a.integration_id = @integration AND a.asset_id = g.asset_id
						AND a.member_id = g.member_id)
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM changed) + (SELECT count(*) FROM added)`,
			`DELETE FROM asset_grants a WHERE a.integration_id = @integration
				AND NOT EXISTS (SELECT 1 FROM grant_staging g WHERE g.sync_run_id = @run AND g.asset_id = a.asset_id AND g.member_id = a.member_id)
				AND NOT EXISTS (SELECT 1 FROM members m WHERE m.integration_id = @integration AND m.external_id = a.member_id
					AND m.admin_change > @before)
				AND NOT EXISTS (SELECT 1 FROM asset_staging u WHERE u.sync_run_id = @run AND u.external_id = a.asset_id AND u.unreadable)`); err != nil {
			return err
		}

		if res.Partners, err = reconcilePartners(ctx, tx, runID, AuditEvent{WorkspaceID: workspaceID, Actor: "system",
			SubjectType: "integration", SubjectID: igID, WorkflowID: workflowID, RunID: temporalRunID}, now); err != nil {
			return err
		}
		if res.Tabs, err = memberCounts(ctx, tx, igID); err != nil {
			return err
		}
		if res.ReportID, res.Reported, err = reportDeprovisioned(ctx, tx, workspaceID, igID); err != nil {
			return err
		}
		details := map[string]any{"asset_rows_written": res.AssetRows, "grant_rows_written": res.GrantRows, "tabs": res.Tabs,
			"reported": res.Reported, "partners_added": res.Partners.Added, "partners_removed": res.Partners.Removed,
			"partner_access_rows_written": res.Partners.AccessRows}
		if _, err := tx.Exec(ctx, `UPDATE sync_runs SET status = 'succeeded', stage = 'done', finished_at = $2,
			added = $3, changed = $4, removed = $5, unchanged = $6, details = $7 WHERE id = $1`,
			runID, now, res.Added, res.Changed, res.Removed, res.Unchanged, details); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE integrations SET last_synced_at = $2, updated_at = $2,
			status = CASE WHEN status = 'needs_reauth' THEN 'connected' ELSE status END,
			status_message = CASE WHEN status = 'needs_reauth' THEN '' ELSE status_message END WHERE id = $1`, igID, now); err != nil {
			return err
		}
		if err := dropStaging(ctx, tx, runID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "integration.synced",
			SubjectType: "integration", SubjectID: igID, WorkflowID: workflowID, RunID: temporalRunID,
			Details: map[string]any{"sync_run_id": runID, "added": res.Added, "changed": res.Changed, "removed": res.Removed,
				"unchanged": res.Unchanged, "tabs": res.Tabs}})
	})
	return res, err
}

// replace runs a write of the snapshot's rows, which selects how many rows
// it wrote, and a delete of the rows the snapshot lacks, with the same
// named arguments, and returns how many rows they wrote.
func replace(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs, write, del string) (int, error) {
	var written int
	if err := tx.QueryRow(ctx, write, args).Scan(&written); err != nil {
		return 0, err
	}
	d, err := tx.Exec(ctx, del, args)
	if err != nil {
		return 0, err
	}
	return written + int(d.RowsAffected()), nil
}

// lockMembers serialises reconciles (exclusive) with admins' changes
// (shared, so changes to different members go on at once) of an integration.
func lockMembers(ctx context.Context, tx pgx.Tx, integrationID string, exclusive bool) error {
	lock := "pg_advisory_xact_lock_shared"
	if exclusive {
		lock = "pg_advisory_xact_lock"
	}
	_, err := tx.Exec(ctx, `SELECT `+lock+`(hashtext('integration-sync'), hashtext($1))`, integrationID)
	return err
}

// ReplaceIntegrationSecret seals a new secret for an integration (a Meta
// token, a Pinterest password, after the provider rejected the old one)
// with an audit event. The next successful check sets the integration
// connected again; an onboarding still under way goes back to onboarding.
func (s *Store) ReplaceIntegrationSecret(ctx context.Context, ig Integration, actor string, secret []byte) error {
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	kind, action := d.SecretKind, "integration.token_replaced"
	if kind == "pinterest_password" {
		action = "integration.password_replaced"
	}
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		credID, err := s.sealCredential(ctx, tx, ig.WorkspaceID, ig.ID, kind, secret)
		if err != nil {
			return err
		}
		// The new token's expiry is unknown until the next check asks Meta.
		if _, err := tx.Exec(ctx, `UPDATE integrations SET credential_id = $2, updated_at = now(), token_expires_at = NULL,
			data_access_expires_at = NULL, token_checked_at = NULL, status = CASE WHEN `+onboardingOpen+` THEN 'onboarding' ELSE status END WHERE id = $1`, ig.ID, credID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: ig.WorkspaceID, Actor: actor, Action: action,
			SubjectType: "integration", SubjectID: ig.ID})
	})
}

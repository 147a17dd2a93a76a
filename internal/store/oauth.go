package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// OAuthStateTTL is how long an admin has to consent.
const OAuthStateTTL = 30 * time.Minute

// BeginOAuth makes the state an admin's browser carries to the provider's
// consent page and back, for an integration of a workspace whose connector
// is connected by consent (again, too: to replace refused tokens). Only
// its hash is stored.
func (s *Store) BeginOAuth(ctx context.Context, workspaceID, integrationID, actor string) (string, error) {
	ig, err := s.Integration(ctx, workspaceID, integrationID)
	if err != nil {
		return "", err
	}
	if d, _ := connector.Describe(ig.Provider, ig.Mode); d.Onboarding != connector.OnboardOAuth {
		return "", domain.Errorf(domain.EInvalid, "integration %s connects without consent (%s %s)", ig.ID, ig.Provider, ig.Mode)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	_, err = s.pool.Exec(ctx, `INSERT INTO oauth_states (hash, integration_id, actor, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(state), ig.ID, actor, s.now().Add(OAuthStateTTL))
	return state, err
}

// OAuthIntegration is the integration a state was made for, while the
// state is unused and unexpired: what a callback checks before it trades
// the provider's code.
func (s *Store) OAuthIntegration(ctx context.Context, state string) (Integration, error) {
	ig, err := scanIntegration(s.pool.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id =
		(SELECT integration_id FROM oauth_states WHERE hash = $1 AND used_at IS NULL AND expires_at > $2)`, hashToken(state), s.now()))
	if isNoRows(err) {
		return ig, domain.Errorf(domain.ENotFound, "this consent link is unknown, used or expired; start again from GET /v1/integrations/{id}/oauth/start")
	}
	return ig, err
}

// CompleteOAuth uses the state once: it seals the tokens as the
// integration's credential, connects it with an audit event, and owes its
// daily Schedule.
func (s *Store) CompleteOAuth(ctx context.Context, state string, tokens []byte) (Integration, WorkflowStart, error) {
	var ig Integration
	var start WorkflowStart
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var integrationID, actor string
		err := tx.QueryRow(ctx, `UPDATE oauth_states SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
			RETURNING integration_id, actor`, hashToken(state), s.now()).Scan(&integrationID, &actor)
		if isNoRows(err) {
			return domain.Errorf(domain.EConflict, "this consent link was used already")
		}
		if err != nil {
			return err
		}
		if ig, err = scanIntegration(tx.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1 FOR UPDATE`,
			integrationID)); err != nil {
			return notFound(err, "integration")
		}
		d, _ := connector.Describe(ig.Provider, ig.Mode)
		credID, err := s.sealCredential(ctx, tx, ig.WorkspaceID, ig.ID, d.SecretKind, tokens)
		if err != nil {
			return err
		}
		if ig, err = scanIntegration(tx.QueryRow(ctx, `UPDATE integrations SET credential_id = $2, status = 'connected', status_message = '',
			updated_at = $3 WHERE id = $1 RETURNING `+integrationColumns, ig.ID, credID, s.now())); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: ig.WorkspaceID, Actor: actor, Action: "integration.consented",
			SubjectType: "integration", SubjectID: ig.ID}); err != nil {
			return err
		}
		start, err = owe(ctx, tx, StartIntegrationSchedule, ig.ID, false)
		return err
	})
	return ig, start, err
}

// RenewCredential runs renew with the integration's credential while no
// other process renews it (a refresh token is good once), and seals what
// renew returns, if anything, as its new credential. It returns the
// credential in use afterwards.
func (s *Store) RenewCredential(ctx context.Context, integrationID string, renew func(current []byte) ([]byte, error)) ([]byte, error) {
	var secret []byte
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('credential-renewal'), hashtext($1))`, integrationID); err != nil {
			return err
		}
		var workspaceID, credID, kind string
		if err := tx.QueryRow(ctx, `SELECT i.workspace_id, coalesce(i.credential_id::text, ''), coalesce(c.kind, '') FROM integrations i
			LEFT JOIN credentials c ON c.id = i.credential_id WHERE i.id = $1`, integrationID).Scan(&workspaceID, &credID, &kind); err != nil {
			return notFound(err, "integration")
		}
		if credID == "" {
			return domain.Errorf(domain.EConflict, "integration %s has no credential yet: an admin must consent first", integrationID)
		}
		current, err := s.OpenCredential(ctx, workspaceID, credID)
		if err != nil {
			return err
		}
		renewed, err := renew(current)
		if err != nil || renewed == nil {
			secret = current
			return err
		}
		newID, err := s.sealCredential(ctx, tx, workspaceID, integrationID, kind, renewed)
		if err != nil {
			return err
		}
		secret = renewed
		_, err = tx.Exec(ctx, `UPDATE integrations SET credential_id = $2, updated_at = $3 WHERE id = $1`, integrationID, newID, s.now())
		return err
	})
	return secret, err
}

// SwitchToAPI moves an integration from the browser to its provider's API
// (connector ModeAPI): same integration, so its members, actions, checks
// and reports stay. The automation account's secrets are destroyed and the
// integration waits for an admin's consent (BeginOAuth).
func (s *Store) SwitchToAPI(ctx context.Context, workspaceID, integrationID, actor string) (Integration, error) {
	var ig Integration
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		was, d, err := switchMode(ctx, tx, workspaceID, integrationID, connector.ModeAPI)
		if err != nil {
			return err
		}
		settings := was.Settings
		settings.Automation = nil
		if ig, err = scanIntegration(tx.QueryRow(ctx, `UPDATE integrations SET mode = $2, settings = $3, status = 'onboarding',
			status_message = $4, updated_at = $5 WHERE id = $1 RETURNING `+integrationColumns,
			was.ID, d.Mode, settings, "waiting for an admin's consent: GET /v1/integrations/"+was.ID+"/oauth/start", s.now())); err != nil {
			return err
		}
		return modeChanged(ctx, tx, actor, was, d.Mode)
	})
	return ig, err
}

// SwitchToBrowser moves an integration from its provider's API back to
// the browser: same integration, its tokens and consent links destroyed,
// the automation account's password sealed, and its onboarding (login,
// first check) run again.
func (s *Store) SwitchToBrowser(ctx context.Context, workspaceID, integrationID, actor string, settings IntegrationSettings,
	password []byte) (Integration, WorkflowStart, error) {
	var ig Integration
	var start WorkflowStart
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		was, d, err := switchMode(ctx, tx, workspaceID, integrationID, connector.ModeBrowser)
		if err != nil {
			return err
		}
		credID, err := s.sealCredential(ctx, tx, workspaceID, was.ID, d.SecretKind, password)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE integrations SET mode = $2, credential_id = $3, settings = $4, status = 'onboarding',
			status_message = '', updated_at = $5 WHERE id = $1`, was.ID, d.Mode, credID, settings, s.now()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO onboardings (integration_id, workspace_id, admin_email, stage, waiting_for)
			VALUES ($1, $2, '', $3, $4)
			ON CONFLICT (integration_id) DO UPDATE SET stage = EXCLUDED.stage, waiting_for = EXCLUDED.waiting_for, until = NULL,
				problems = '{}', message = '', started_at = now(), finished_at = NULL, updated_at = now()`,
			was.ID, workspaceID, OnboardLogin, onboardingCalls[OnboardLogin]); err != nil {
			return err
		}
		if ig, err = scanIntegration(tx.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE id = $1`, was.ID)); err != nil {
			return err
		}
		if err := modeChanged(ctx, tx, actor, was, d.Mode); err != nil {
			return err
		}
		start, err = owe(ctx, tx, StartOnboardingAgain, was.ID, false)
		return err
	})
	return ig, start, err
}

// switchMode locks an integration of a workspace for its move to mode and
// destroys every secret it has (credentials, browser cookies, verification
// codes, consent links). It returns the integration as it was and its
// connector in mode.
func switchMode(ctx context.Context, tx pgx.Tx, workspaceID, integrationID, mode string) (Integration, connector.Description, error) {
	ig, err := scanIntegration(tx.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE workspace_id = $1 AND id::text = $2
		FOR UPDATE`, workspaceID, integrationID))
	if err != nil {
		return ig, connector.Description{}, notFound(err, "integration")
	}
	d, ok := connector.Describe(ig.Provider, mode)
	switch {
	case !ok:
		return ig, d, domain.Errorf(domain.EInvalid, "%s has no %s mode", ig.Provider, mode)
	case ig.Mode == mode:
		return ig, d, domain.Errorf(domain.EConflict, "integration %s already goes through the %s", ig.ID, mode)
	case ig.OnboardingOpen:
		return ig, d, domain.Errorf(domain.EConflict, "integration %s is still onboarding; let it finish or fail first", ig.ID)
	}
	for _, stmt := range []string{`UPDATE integrations SET credential_id = NULL, session_credential_id = NULL WHERE id = $1`,
		`UPDATE onboardings SET app_credential_id = NULL, token_credential_id = NULL, code_credential_id = NULL WHERE integration_id = $1`,
		`DELETE FROM oauth_states WHERE integration_id = $1`,
		`DELETE FROM credentials WHERE owner_id = $1`} {
		if _, err := tx.Exec(ctx, stmt, ig.ID); err != nil {
			return ig, d, err
		}
	}
	return ig, d, nil
}

// modeChanged audits an integration's move from the mode it had to mode.
func modeChanged(ctx context.Context, tx pgx.Tx, actor string, was Integration, mode string) error {
	return insertAudit(ctx, tx, AuditEvent{WorkspaceID: was.WorkspaceID, Actor: actor, Action: "integration.mode_changed",
		SubjectType: "integration", SubjectID: was.ID, Details: map[string]any{"from": was.Mode, "to": mode}})
}

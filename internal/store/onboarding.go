package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Onboarding stages, in order; failed ends an onboarding early.
const (
	OnboardAppApproval = "app_approval"
	OnboardClaim       = "claim"
	OnboardToken       = "token"
	OnboardProfile     = "profile"
	// OnboardLogin is Pinterest's: the automation account logs in.
	OnboardLogin      = "login"
	OnboardFirstCheck = "first_check"
	OnboardOwnerClaim = "owner_claim"
	OnboardSchedule   = "schedule"
	OnboardDone       = "done"
	OnboardFailed     = "failed"
)

// onboardingOrder is the order of the stages; failed is outside it.
var onboardingOrder = []string{OnboardAppApproval, OnboardClaim, OnboardToken, OnboardProfile, OnboardLogin, OnboardFirstCheck,
	OnboardOwnerClaim, OnboardSchedule, OnboardDone}

// WaitingFor says what a waiting stage expects from people, and through
// which call; "" when Hubkeeper itself is at work.
func WaitingFor(stage string) string { return onboardingCalls[stage] }

var onboardingCalls = map[string]string{
	OnboardAppApproval: "support to approve the dedicated app (onboarding/app-approved)",
	OnboardClaim:       "the admin to claim the app in Business Manager (onboarding/claimed)",
	OnboardToken:       "the admin to submit an Admin system user's token (onboarding/token)",
	OnboardProfile:     "the admin to connect their Facebook profile (onboarding/profile)",
	OnboardLogin:       "the automation account's login; when Pinterest asks, the verification code it sent (onboarding/verification)",
}

// Onboarding is where an integration's onboarding stands, as the API shows it.
type Onboarding struct {
	Stage string `json:"stage"`
	// WaitingFor says, in words, who must do what; empty while Hubkeeper works.
	WaitingFor string `json:"waiting_for"`
	// Until is the deadline of the current wait.
	Until *time.Time `json:"until"`
	// Problems say why the last submission or claim check was refused.
	Problems     []string   `json:"problems"`
	AdminEmail   string     `json:"admin_email"`
	Profile      string     `json:"profile"`
	SystemUserID string     `json:"system_user_id"`
	Message      string     `json:"message,omitempty"`
	StartedAt    time.Time  `json:"started_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	// AppCredentialID and TokenCredentialID are sealed credentials, never shown.
	AppCredentialID   string `json:"-"`
	TokenCredentialID string `json:"-"`
	tokenHash         []byte
}

const onboardingColumns = `stage, waiting_for, until, problems, admin_email, profile, system_user_id, message, started_at, updated_at,
	finished_at, coalesce(app_credential_id::text, ''), coalesce(token_credential_id::text, ''), token_sha256`

func scanOnboarding(r pgx.Row) (Onboarding, error) {
	var o Onboarding
	err := r.Scan(&o.Stage, &o.WaitingFor, &o.Until, &o.Problems, &o.AdminEmail, &o.Profile, &o.SystemUserID, &o.Message,
		&o.StartedAt, &o.UpdatedAt, &o.FinishedAt, &o.AppCredentialID, &o.TokenCredentialID, &o.tokenHash)
	return o, err
}

// OnboardingOf returns an integration's onboarding.
func (s *Store) OnboardingOf(ctx context.Context, integrationID string) (Onboarding, error) {
	o, err := scanOnboarding(s.pool.QueryRow(ctx, `SELECT `+onboardingColumns+` FROM onboardings WHERE integration_id = $1`, integrationID))
	return o, notFound(err, "onboarding")
}

// OnboardingSubmission is what a person sends to a waiting onboarding.
type OnboardingSubmission struct {
	WorkspaceID   string
	IntegrationID string
	Actor         string
	// Stage is the stage the call belongs to.
	Stage string
	// AppID and Secret come with the app approval; Secret is the token with a token.
	AppID  string
	Secret []byte
	// Profile comes with the profile connection.
	Profile string
}

// Submitted is what a submission changed.
type Submitted struct {
	// Repeat is true when the same submission was already taken: nothing changed.
	Repeat bool
	// CredentialID is the sealed token to verify (token submissions).
	CredentialID string
}

// SubmitOnboarding takes a person's call for one stage of an onboarding,
// in the same transaction as its audit event. A call for another stage
// than the current one is a conflict that says what the onboarding waits
// for, except a repeat of a step already taken with the same data.
func (s *Store) SubmitOnboarding(ctx context.Context, sub OnboardingSubmission) (Submitted, error) {
	var done Submitted
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var appID string
		var provider domain.Provider
		var mode string
		var o Onboarding
		err := tx.QueryRow(ctx, `SELECT i.app_id, i.provider, i.mode FROM integrations i WHERE i.workspace_id = $1 AND i.id = $2`,
			sub.WorkspaceID, sub.IntegrationID).Scan(&appID, &provider, &mode)
		if err != nil {
			return notFound(err, "integration")
		}
		if d, _ := connector.Describe(provider, mode); (sub.Stage == OnboardLogin) != (d.Onboarding == connector.OnboardAutomationLogin) {
			return domain.Errorf(domain.EConflict, "the %s step is not part of a %s onboarding", sub.Stage, provider)
		}
		o, err = scanOnboarding(tx.QueryRow(ctx, `SELECT `+onboardingColumns+` FROM onboardings WHERE integration_id = $1 FOR UPDATE`,
			sub.IntegrationID))
		if isNoRows(err) {
			return domain.Errorf(domain.EConflict, "integration %s was connected with a token; it has no onboarding", sub.IntegrationID)
		}
		if err != nil {
			return err
		}
		tokenHash := sha256.Sum256(sub.Secret)
		if o.Stage != sub.Stage {
			repeat := stageIndex(o.Stage) > stageIndex(sub.Stage) && o.Stage != OnboardFailed && map[string]bool{
				OnboardAppApproval: appID == sub.AppID,
				OnboardClaim:       true,
				OnboardToken:       string(o.tokenHash) == string(tokenHash[:]),
				OnboardProfile:     o.Profile == sub.Profile,
			}[sub.Stage]
			if repeat {
				done.Repeat = true
				return nil
			}
			return onboardingConflict(o, sub.Stage)
		}
		audit := AuditEvent{WorkspaceID: sub.WorkspaceID, Actor: sub.Actor, SubjectType: "integration", SubjectID: sub.IntegrationID,
			Details: map[string]any{}}
		switch sub.Stage {
		case OnboardAppApproval:
			if appID == sub.AppID && o.AppCredentialID != "" {
				done.Repeat = true
				return nil
			}
			credID, err := s.sealCredential(ctx, tx, sub.WorkspaceID, sub.IntegrationID, "meta_app_secret", sub.Secret)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE integrations SET app_id = $2, updated_at = now() WHERE id = $1`, sub.IntegrationID, sub.AppID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE onboardings SET app_credential_id = $2, updated_at = now() WHERE integration_id = $1`,
				sub.IntegrationID, credID); err != nil {
				return err
			}
			audit.Action, audit.Details["app_id"] = "onboarding.app_approved", sub.AppID
		case OnboardClaim:
			audit.Action = "onboarding.claim_reported"
		case OnboardToken:
			if string(o.tokenHash) == string(tokenHash[:]) {
				done.Repeat, done.CredentialID = true, o.TokenCredentialID
				return nil
			}
			credID, err := s.sealCredential(ctx, tx, sub.WorkspaceID, sub.IntegrationID, "meta_token", sub.Secret)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE onboardings SET token_credential_id = $2, token_sha256 = $3, updated_at = now()
				WHERE integration_id = $1`, sub.IntegrationID, credID, tokenHash[:]); err != nil {
				return err
			}
			done.CredentialID, audit.Action = credID, "onboarding.token_submitted"
		case OnboardProfile:
			if o.Profile == sub.Profile {
				done.Repeat = true
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE onboardings SET profile = $2, updated_at = now() WHERE integration_id = $1`,
				sub.IntegrationID, sub.Profile); err != nil {
				return err
			}
			audit.Action, audit.Details["profile"] = "onboarding.profile_submitted", sub.Profile
		case OnboardLogin:
			credID, err := s.sealCredential(ctx, tx, sub.WorkspaceID, sub.IntegrationID, "pinterest_code", sub.Secret)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE onboardings SET code_credential_id = $2, updated_at = now() WHERE integration_id = $1`,
				sub.IntegrationID, credID); err != nil {
				return err
			}
			audit.Action = "onboarding.code_submitted"
		default:
			return fmt.Errorf("no submission belongs to onboarding stage %q", sub.Stage)
		}
		return insertAudit(ctx, tx, audit)
	})
	return done, err
}

func stageIndex(stage string) int { return slices.Index(onboardingOrder, stage) }

// onboardingConflict explains why a call does not fit the onboarding's stage.
func onboardingConflict(o Onboarding, callStage string) error {
	if o.Stage == OnboardFailed {
		return domain.Errorf(domain.EConflict, "the onboarding failed: %s", o.Message)
	}
	if o.Stage == OnboardDone {
		return domain.Errorf(domain.EConflict, "the onboarding is finished; this call belongs to the %s step", callStage)
	}
	now := "Hubkeeper is at the " + o.Stage + " step"
	if w := onboardingCalls[o.Stage]; w != "" {
		now = "the onboarding waits for " + w
	}
	return domain.Errorf(domain.EConflict, "%s; this call belongs to the %s step", now, callStage)
}

// RestartOnboarding sets a failed onboarding back to its start, with an
// audit event, and owes the start of its new run (at the claim when support
// had approved the app already).
func (s *Store) RestartOnboarding(ctx context.Context, workspaceID, integrationID, actor string) (WorkflowStart, error) {
	var start WorkflowStart
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		ig, err := scanIntegration(tx.QueryRow(ctx, `SELECT `+integrationColumns+` FROM integrations WHERE workspace_id = $1 AND id = $2`,
			workspaceID, integrationID))
		if err != nil {
			return notFound(err, "integration")
		}
		o, err := scanOnboarding(tx.QueryRow(ctx, `SELECT `+onboardingColumns+` FROM onboardings WHERE integration_id = $1 FOR UPDATE`, ig.ID))
		if isNoRows(err) {
			return domain.Errorf(domain.EConflict, "integration %s was connected with a token; it has no onboarding", ig.ID)
		}
		if err != nil {
			return err
		}
		if o.Stage != OnboardFailed {
			return domain.Errorf(domain.EConflict, "only a failed onboarding can be restarted; this one is at the %s step", o.Stage)
		}
		first := OnboardAppApproval
		if d, _ := connector.Describe(ig.Provider, ig.Mode); d.Onboarding == connector.OnboardAutomationLogin {
			first = OnboardLogin
		}
		if _, err := tx.Exec(ctx, `UPDATE onboardings SET stage = $2, waiting_for = $3, until = NULL, problems = '{}',
			message = '', started_at = now(), finished_at = NULL, updated_at = now() WHERE integration_id = $1`,
			ig.ID, first, onboardingCalls[first]); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "onboarding.restarted",
			SubjectType: "integration", SubjectID: ig.ID, Details: map[string]any{"failure": o.Message}}); err != nil {
			return err
		}
		start, err = owe(ctx, tx, StartOnboarding, ig.ID, o.AppCredentialID != "")
		return err
	})
	return start, err
}

// OnboardingUpdate is a step of the onboarding workflow: the stage it is
// at, what it waits for, and the audit event that says what happened.
type OnboardingUpdate struct {
	IntegrationID string
	Stage         string
	Until         *time.Time
	Problems      []string
	Message       string
	// Action and Details are the audit event's; no event when Action is empty.
	Action     string
	Details    map[string]any
	WorkflowID string
	RunID      string
}

// UpdateOnboarding records a step of the onboarding workflow. Reaching done
// connects the integration.
func (s *Store) UpdateOnboarding(ctx context.Context, u OnboardingUpdate) error {
	if u.Problems == nil {
		u.Problems = []string{}
	}
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID string
		err := tx.QueryRow(ctx, `UPDATE onboardings SET stage = $2, waiting_for = $3, until = $4, problems = $5, message = $6,
			finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() END, updated_at = now()
			WHERE integration_id = $1 RETURNING workspace_id`,
			u.IntegrationID, u.Stage, onboardingCalls[u.Stage], u.Until, u.Problems, u.Message).Scan(&workspaceID)
		if err != nil {
			return notFound(err, "onboarding")
		}
		if u.Stage == OnboardDone {
			if _, err := tx.Exec(ctx, `UPDATE integrations SET status = 'connected', status_message = '', updated_at = now()
				WHERE id = $1`, u.IntegrationID); err != nil {
				return err
			}
		}
		if u.Action == "" {
			return nil
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: u.Action, SubjectType: "integration",
			SubjectID: u.IntegrationID, WorkflowID: u.WorkflowID, RunID: u.RunID, Details: u.Details})
	})
}

// AcceptOnboardingToken makes a verified token the integration's, records
// its system user and Meta's restriction window, with an audit event.
func (s *Store) AcceptOnboardingToken(ctx context.Context, integrationID, credentialID, systemUserID string, restrictedUntil time.Time,
	workflowID, runID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID string
		err := tx.QueryRow(ctx, `UPDATE integrations SET credential_id = $2, restricted_until = $3, updated_at = now()
			WHERE id = $1 RETURNING workspace_id`, integrationID, credentialID, restrictedUntil).Scan(&workspaceID)
		if err != nil {
			return notFound(err, "integration")
		}
		if _, err := tx.Exec(ctx, `UPDATE onboardings SET system_user_id = $2, problems = '{}', updated_at = now() WHERE integration_id = $1`,
			integrationID, systemUserID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "onboarding.token_accepted",
			SubjectType: "integration", SubjectID: integrationID, WorkflowID: workflowID, RunID: runID,
			Details: map[string]any{"system_user_id": systemUserID, "restricted_until": restrictedUntil.UTC().Format(time.RFC3339)}})
	})
}

// TakeVerificationCode returns the verification code submitted for a
// login, once: it is gone after. ok is false while none was submitted.
func (s *Store) TakeVerificationCode(ctx context.Context, integrationID string) (code string, ok bool, err error) {
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID, credID string
		err := tx.QueryRow(ctx, `SELECT workspace_id, coalesce(code_credential_id::text, '') FROM onboardings WHERE integration_id = $1 FOR UPDATE`,
			integrationID).Scan(&workspaceID, &credID)
		if err != nil || credID == "" {
			return notFound(err, "onboarding")
		}
		raw, err := s.OpenCredential(ctx, workspaceID, credID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE onboardings SET code_credential_id = NULL WHERE integration_id = $1`, integrationID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM credentials WHERE id = $1`, credID); err != nil {
			return err
		}
		code, ok = string(raw), true
		return nil
	})
	return code, ok, err
}

// SaveBrowserSession keeps a browser's cookies for an integration, sealed,
// in place of the ones before.
func (s *Store) SaveBrowserSession(ctx context.Context, integrationID string, cookies []byte) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var workspaceID, old string
		err := tx.QueryRow(ctx, `SELECT workspace_id, coalesce(session_credential_id::text, '') FROM integrations WHERE id = $1 FOR UPDATE`,
			integrationID).Scan(&workspaceID, &old)
		if err != nil {
			return notFound(err, "integration")
		}
		credID, err := s.sealCredential(ctx, tx, workspaceID, integrationID, "browser_cookies", cookies)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE integrations SET session_credential_id = $2 WHERE id = $1`, integrationID, credID); err != nil {
			return err
		}
		if old != "" {
			_, err = tx.Exec(ctx, `DELETE FROM credentials WHERE id = $1`, old)
		}
		return err
	})
}

// ProfileMember finds the member a Facebook profile (business-user id or
// e-mail) names in an integration.
func (s *Store) ProfileMember(ctx context.Context, integrationID, profile string) (Member, error) {
	var m Member
	err := s.pool.QueryRow(ctx, `SELECT external_id, email, state FROM members
		WHERE integration_id = $1 AND kind = 'user' AND (external_id = $2 OR lower(email) = lower($2))
		ORDER BY external_id = $2 DESC LIMIT 1`, integrationID, profile).Scan(&m.ExternalID, &m.Email, &m.State)
	return m, notFound(err, "member")
}

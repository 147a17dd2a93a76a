package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Console roles: an admin changes things, a viewer only looks.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// Console lifetimes.
const (
	SessionLifetime = 12 * time.Hour
	SignInLifetime  = 10 * time.Minute
)

// ConsoleIdP is how a workspace's people sign in to the console: its
// OpenID Connect issuer and client; Viewers may look, the workspace's
// admin e-mails may act.
type ConsoleIdP struct {
	Issuer   string   `json:"issuer"`
	ClientID string   `json:"client_id"`
	Viewers  []string `json:"viewers"`
}

// ConsoleSession is a signed-in person.
type ConsoleSession struct {
	WorkspaceID string
	Email       string
	Role        string
	// CSRF is the token the session's forms carry.
	CSRF      string
	ExpiresAt time.Time
}

func randomToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// SetConsoleIdP stores a workspace's IdP for the console, its client
// secret sealed, audited.
func (s *Store) SetConsoleIdP(ctx context.Context, workspaceID, actor string, idp ConsoleIdP, secret []byte) error {
	if idp.Viewers == nil {
		idp.Viewers = []string{}
	}
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		credID, err := s.sealCredential(ctx, tx, workspaceID, workspaceID, "console_client_secret", secret)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE workspaces SET console_issuer = $2, console_client_id = $3, console_secret_id = $4,
			console_viewers = $5 WHERE id = $1`, workspaceID, idp.Issuer, idp.ClientID, credID, idp.Viewers)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ENotFound, "workspace not found")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "workspace.console_idp",
			SubjectType: "workspace", SubjectID: workspaceID, Details: map[string]any{"issuer": idp.Issuer, "viewers": len(idp.Viewers)}})
	})
}

// ConsoleIdP returns a workspace's console IdP and its client secret
// (opened); an unset one is not found.
func (s *Store) ConsoleIdP(ctx context.Context, workspaceID string) (ConsoleIdP, []byte, error) {
	var idp ConsoleIdP
	var credID *string
	err := s.pool.QueryRow(ctx, `SELECT console_issuer, console_client_id, console_viewers, console_secret_id::text FROM workspaces
		WHERE id::text = $1`, workspaceID).Scan(&idp.Issuer, &idp.ClientID, &idp.Viewers, &credID)
	if err != nil {
		return idp, nil, notFound(err, "workspace")
	}
	if idp.Issuer == "" || credID == nil {
		return idp, nil, domain.Errorf(domain.ENotFound, "this workspace has no sign-in set up (PUT /v1/workspace/console)")
	}
	secret, err := s.OpenCredential(ctx, workspaceID, *credID)
	return idp, secret, err
}

// BeginConsoleSignIn records a sign-in's state (hashed) and nonce; the
// state is returned for the IdP's redirect.
func (s *Store) BeginConsoleSignIn(ctx context.Context, workspaceID, nonce string) (string, error) {
	state, err := randomToken()
	if err != nil {
		return "", err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO console_sign_ins (hash, workspace_id, nonce, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(state), workspaceID, nonce, s.now().Add(SignInLifetime))
	return state, err
}

// FinishConsoleSignIn takes a sign-in's state once: its workspace and nonce.
func (s *Store) FinishConsoleSignIn(ctx context.Context, state string) (workspaceID, nonce string, err error) {
	err = s.pool.QueryRow(ctx, `DELETE FROM console_sign_ins WHERE hash = $1 AND expires_at > $2 RETURNING workspace_id, nonce`,
		hashToken(state), s.now()).Scan(&workspaceID, &nonce)
	if isNoRows(err) {
		return "", "", domain.Errorf(domain.EUnauthorized, "this sign-in is unknown, used or expired: start again")
	}
	return workspaceID, nonce, err
}

// consoleRole is the role a workspace gives an e-mail address ("" none).
func consoleRole(ctx context.Context, tx pgx.Tx, workspaceID, email string) (string, error) {
	var admins, viewers []string
	if err := tx.QueryRow(ctx, `SELECT admin_emails, console_viewers FROM workspaces WHERE id = $1`, workspaceID).
		Scan(&admins, &viewers); err != nil {
		return "", notFound(err, "workspace")
	}
	switch {
	case slices.Contains(admins, email):
		return RoleAdmin, nil
	case slices.Contains(viewers, email):
		return RoleViewer, nil
	}
	return "", nil
}

// StartConsoleSession signs a person in: the workspace's admins and
// viewers only. It returns the session's cookie token, shown once, and
// the session.
func (s *Store) StartConsoleSession(ctx context.Context, workspaceID, email string) (string, ConsoleSession, error) {
	email = domain.NormalizeEmail(email)
	sess := ConsoleSession{WorkspaceID: workspaceID, Email: email, ExpiresAt: s.now().Add(SessionLifetime)}
	token, err := randomToken()
	if err != nil {
		return "", sess, err
	}
	if sess.CSRF, err = randomToken(); err != nil {
		return "", sess, err
	}
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		if sess.Role, err = consoleRole(ctx, tx, workspaceID, email); err != nil {
			return err
		}
		if sess.Role == "" || email == "" {
			return domain.Errorf(domain.EForbidden, "you may not use this workspace's console: ask an admin to add you as an admin or a viewer")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO console_sessions (hash, workspace_id, email, role, csrf, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			hashToken(token), workspaceID, email, sess.Role, sess.CSRF, sess.ExpiresAt); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "console:" + email, Action: "console.signed_in",
			SubjectType: "workspace", SubjectID: workspaceID, Details: map[string]any{"role": sess.Role}})
	})
	return token, sess, err
}

// ConsoleSessionByToken returns the live session of a cookie's token. The
// role is the workspace's now: one taken away ends the session.
func (s *Store) ConsoleSessionByToken(ctx context.Context, token string) (ConsoleSession, error) {
	var sess ConsoleSession
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT workspace_id, email, csrf, expires_at FROM console_sessions WHERE hash = $1 AND expires_at > $2`,
			hashToken(token), s.now()).Scan(&sess.WorkspaceID, &sess.Email, &sess.CSRF, &sess.ExpiresAt)
		if isNoRows(err) {
			return domain.Errorf(domain.EUnauthorized, "sign in to use the console")
		}
		if err != nil {
			return err
		}
		if sess.Role, err = consoleRole(ctx, tx, sess.WorkspaceID, sess.Email); err != nil {
			return err
		}
		if sess.Role == "" {
			return domain.Errorf(domain.EUnauthorized, "sign in to use the console")
		}
		return nil
	})
	return sess, err
}

// EndConsoleSession signs a session out.
func (s *Store) EndConsoleSession(ctx context.Context, token string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE hash = $1`, hashToken(token))
	return err
}

// MaxLinkLifetime bounds how long a one-time sign-in link stays good.
const MaxLinkLifetime = 7 * 24 * time.Hour

// CreateConsoleLink makes a one-time sign-in link's token for a workspace
// admin or viewer, valid for lifetime; only its hash is kept, and actor's
// issuing it is audited.
func (s *Store) CreateConsoleLink(ctx context.Context, workspaceID, email string, lifetime time.Duration, actor string) (string, error) {
	email = domain.NormalizeEmail(email)
	if lifetime <= 0 || lifetime > MaxLinkLifetime {
		return "", domain.Errorf(domain.EInvalid, "a sign-in link lasts more than nothing and at most %s", MaxLinkLifetime)
	}
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		role, err := consoleRole(ctx, tx, workspaceID, email)
		if err != nil {
			return err
		}
		if role == "" || email == "" {
			return domain.Errorf(domain.EInvalid, "that address is neither an admin nor a viewer of the workspace (settings admin_emails, console viewers)")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO console_links (hash, workspace_id, email, expires_at) VALUES ($1, $2, $3, $4)`,
			hashToken(token), workspaceID, email, s.now().Add(lifetime)); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "console.link_created",
			SubjectType: "workspace", SubjectID: workspaceID, Details: map[string]any{"role": role, "expires_in": lifetime.String()}})
	})
	return token, err
}

// UseConsoleLink signs in with a one-time link, once.
func (s *Store) UseConsoleLink(ctx context.Context, linkToken string) (string, ConsoleSession, error) {
	var workspaceID, email string
	err := s.pool.QueryRow(ctx, `UPDATE console_links SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING workspace_id, email`, hashToken(linkToken), s.now()).Scan(&workspaceID, &email)
	if isNoRows(err) {
		return "", ConsoleSession{}, domain.Errorf(domain.EUnauthorized, "this sign-in link is unknown, used or expired")
	}
	if err != nil {
		return "", ConsoleSession{}, err
	}
	return s.StartConsoleSession(ctx, workspaceID, email)
}

package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
)

// Workspace is one customer company.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey identifies a caller; the secret part is only ever shown once,
// and only its hash is stored.
type APIKey struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Name        string `json:"name"`
	Prefix      string `json:"prefix"`
	// Scope is admin (everything in its workspace) or support (approving
	// dedicated apps in every workspace, nothing else).
	Scope     string     `json:"scope"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	// LastUsedAt is accurate to a minute.
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewAPIKey is a key to issue: a support key has no workspace.
type NewAPIKey struct {
	WorkspaceID string
	Name        string
	Scope       string
	// ExpiresAt, when set, ends the key; it must be in the future.
	ExpiresAt *time.Time
	// Actor is who issued it, for the audit trail.
	Actor string
}

// API key scopes.
const (
	ScopeAdmin   = "admin"
	ScopeSupport = "support"
)

// CreateWorkspace adds a workspace.
func (s *Store) CreateWorkspace(ctx context.Context, name string) (Workspace, error) {
	var w Workspace
	if strings.TrimSpace(name) == "" {
		return w, domain.Errorf(domain.EInvalid, "workspace name is required")
	}
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO workspaces (name) VALUES ($1) RETURNING id, name, created_at`, name).
			Scan(&w.ID, &w.Name, &w.CreatedAt)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: w.ID, Actor: "system", Action: "workspace.created",
			SubjectType: "workspace", SubjectID: w.ID, Details: map[string]any{"name": name}})
	})
	return w, err
}

// ListWorkspaces returns every workspace, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at FROM workspaces ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Workspace, error) {
		var w Workspace
		return w, r.Scan(&w.ID, &w.Name, &w.CreatedAt)
	})
}

const apiKeyPrefix = "hk_"

// newAPIKeySecret makes a key: the prefix and 24 random bytes.
func newAPIKeySecret() (string, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

func hashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateAPIKey issues a key and returns it in clear, once, audited.
func (s *Store) CreateAPIKey(ctx context.Context, nk NewAPIKey) (string, APIKey, error) {
	switch {
	case nk.Scope == ScopeAdmin && nk.WorkspaceID == "":
		return "", APIKey{}, domain.Errorf(domain.EInvalid, "an admin key belongs to a workspace")
	case nk.Scope == ScopeSupport && nk.WorkspaceID != "":
		return "", APIKey{}, domain.Errorf(domain.EInvalid, "a support key serves every workspace: it belongs to none")
	case nk.Scope != ScopeAdmin && nk.Scope != ScopeSupport:
		return "", APIKey{}, domain.Errorf(domain.EInvalid, "scope must be admin or support")
	case strings.TrimSpace(nk.Name) == "" || len(nk.Name) > 200:
		return "", APIKey{}, domain.Errorf(domain.EInvalid, "name is required, at most 200 characters")
	case nk.ExpiresAt != nil && !nk.ExpiresAt.After(s.now()):
		return "", APIKey{}, domain.Errorf(domain.EInvalid, "expires_at must be in the future")
	}
	secret, err := newAPIKeySecret()
	if err != nil {
		return "", APIKey{}, err
	}
	var k APIKey
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (workspace_id, name, prefix, hash, scope, expires_at)
			VALUES (nullif($1, '')::uuid, $2, $3, $4, $5, $6) RETURNING `+apiKeyColumns,
			nk.WorkspaceID, nk.Name, secret[:len(apiKeyPrefix)+6], hashAPIKey(secret), nk.Scope, nk.ExpiresAt).
			Scan(apiKeyFields(&k)...)
		if err != nil {
			return notFound(err, "workspace")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: nk.WorkspaceID, Actor: nk.Actor, Action: "api_key.created",
			SubjectType: "api_key", SubjectID: k.ID, Details: map[string]any{"name": k.Name, "prefix": k.Prefix, "scope": k.Scope,
				"expires_at": k.ExpiresAt}})
	})
	if err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

const apiKeyColumns = `id, coalesce(workspace_id::text, ''), name, prefix, scope, created_at, expires_at, last_used_at, revoked_at`

func apiKeyFields(k *APIKey) []any {
	return []any{&k.ID, &k.WorkspaceID, &k.Name, &k.Prefix, &k.Scope, &k.CreatedAt, &k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt}
}

// ListAPIKeys lists a workspace's keys, revoked ones included, newest
// first; with workspaceID "", every key (the operator's view).
func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE $1 = '' OR workspace_id::text = $1 ORDER BY created_at DESC, id`, workspaceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) {
		var k APIKey
		return k, r.Scan(apiKeyFields(&k)...)
	})
}

// RevokeAPIKey ends a live key of a workspace (any key when workspaceID
// is "", for the operator), audited; a key already revoked is not found.
func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, id, actor string) (APIKey, error) {
	var k APIKey
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE id::text = $2 AND revoked_at IS NULL
				AND ($1 = '' OR workspace_id::text = $1) RETURNING `+apiKeyColumns, workspaceID, id, s.now()).
			Scan(apiKeyFields(&k)...)
		if err != nil {
			return notFound(err, "API key")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: k.WorkspaceID, Actor: actor, Action: "api_key.revoked",
			SubjectType: "api_key", SubjectID: k.ID, Details: map[string]any{"name": k.Name, "prefix": k.Prefix}})
	})
	return k, err
}

// lastUsedEvery bounds how often a key's last use is written.
const lastUsedEvery = time.Minute

// AuthenticateAPIKey finds the live, unexpired key matching secret and
// notes its use.
func (s *Store) AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error) {
	var k APIKey
	if !strings.HasPrefix(secret, apiKeyPrefix) {
		return k, domain.Errorf(domain.EUnauthorized, "API key is not valid")
	}
	err := s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hashAPIKey(secret)).
		Scan(apiKeyFields(&k)...)
	if isNoRows(err) {
		return k, domain.Errorf(domain.EUnauthorized, "API key is not valid")
	}
	if err != nil {
		return k, err
	}
	now := s.now()
	if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
		return k, domain.Errorf(domain.EUnauthorized, "API key %s… expired at %s", k.Prefix, k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedEvery {
		if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, k.ID, now); err != nil {
			return k, err
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

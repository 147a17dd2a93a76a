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

// APIKey identifies a caller; the secret part is only ever shown once.
type APIKey struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Name        string `json:"name"`
	Prefix      string `json:"prefix"`
	// Scope is admin (everything in its workspace) or support (approving
	// dedicated apps in every workspace, nothing else).
	Scope string `json:"scope"`
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

// CreateAPIKey issues a key for a workspace and returns it in clear, once;
// only its hash is stored.
func (s *Store) CreateAPIKey(ctx context.Context, workspaceID, name string) (string, APIKey, error) {
	secret, err := newAPIKeySecret()
	if err != nil {
		return "", APIKey{}, err
	}
	k := APIKey{WorkspaceID: workspaceID, Name: name, Prefix: secret[:len(apiKeyPrefix)+6], Scope: ScopeAdmin}
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (workspace_id, name, prefix, hash) VALUES ($1, $2, $3, $4) RETURNING id`,
			workspaceID, name, k.Prefix, hashAPIKey(secret)).Scan(&k.ID)
		if err != nil {
			return notFound(err, "workspace")
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: "system", Action: "api_key.created",
			SubjectType: "api_key", SubjectID: k.ID, Details: map[string]any{"name": name, "prefix": k.Prefix}})
	})
	if err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

// CreateSupportKey issues a support key, which belongs to no workspace and
// may only approve dedicated apps; it is returned in clear, once.
func (s *Store) CreateSupportKey(ctx context.Context, name string) (string, APIKey, error) {
	secret, err := newAPIKeySecret()
	if err != nil {
		return "", APIKey{}, err
	}
	k := APIKey{Name: name, Prefix: secret[:len(apiKeyPrefix)+6], Scope: ScopeSupport}
	err = s.pool.QueryRow(ctx, `INSERT INTO api_keys (name, prefix, hash, scope) VALUES ($1, $2, $3, 'support') RETURNING id`,
		name, k.Prefix, hashAPIKey(secret)).Scan(&k.ID)
	if err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

// AuthenticateAPIKey finds the live key matching secret.
func (s *Store) AuthenticateAPIKey(ctx context.Context, secret string) (APIKey, error) {
	var k APIKey
	if !strings.HasPrefix(secret, apiKeyPrefix) {
		return k, domain.Errorf(domain.EUnauthorized, "API key is not valid")
	}
	err := s.pool.QueryRow(ctx, `SELECT id, coalesce(workspace_id::text, ''), name, prefix, scope
		FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hashAPIKey(secret)).Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Prefix, &k.Scope)
	if isNoRows(err) {
		return k, domain.Errorf(domain.EUnauthorized, "API key is not valid")
	}
	return k, err
}

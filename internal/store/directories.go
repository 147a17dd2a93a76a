package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/jackc/pgx/v5"
)

// Directory is a connected corporate directory. Its secret stays sealed in
// the credentials table and is opened only by DirectorySecret.
type Directory struct {
	ID           string                   `json:"id"`
	WorkspaceID  string                   `json:"workspace_id"`
	Type         domain.DirectoryType     `json:"type"`
	Name         string                   `json:"name"`
	Settings     domain.DirectorySettings `json:"settings"`
	CredentialID string                   `json:"-"`
	DeltaLink    string                   `json:"-"`
	// GroupsDeltaLink is where the next round of Entra's groups delta starts.
	GroupsDeltaLink string `json:"-"`
	// DeprovisionSafeguard is the largest share of its users an import may
	// deprovision before it halts for an admin to accept it.
	DeprovisionSafeguard float64                `json:"deprovision_safeguard"`
	Status               domain.DirectoryStatus `json:"status"`
	StatusMessage        string                 `json:"status_message,omitempty"`
	LastSyncedAt         *time.Time             `json:"last_synced_at"`
	CreatedAt            time.Time              `json:"created_at"`
	UpdatedAt            time.Time              `json:"updated_at"`
}

// NewDirectory is what CreateDirectory needs.
type NewDirectory struct {
	WorkspaceID string
	Type        domain.DirectoryType
	Name        string
	Settings    domain.DirectorySettings
	Secret      []byte // Okta API token or Entra client secret
	// DeprovisionSafeguard is the share of users an import may deprovision (0: the default, 10%).
	DeprovisionSafeguard float64
	Actor                string
}

const directoryColumns = `id, workspace_id, type, name, settings, coalesce(credential_id::text, ''), coalesce(delta_link, ''),
	coalesce(groups_delta_link, ''), deprovision_safeguard, status,
	status_message, last_synced_at, created_at, updated_at`

// scanDirectory reads directoryColumns, then any extra columns into extra.
func scanDirectory(r pgx.Row, extra ...any) (Directory, error) {
	var d Directory
	err := r.Scan(append([]any{&d.ID, &d.WorkspaceID, &d.Type, &d.Name, &d.Settings, &d.CredentialID, &d.DeltaLink, &d.GroupsDeltaLink, &d.DeprovisionSafeguard,
		&d.Status, &d.StatusMessage, &d.LastSyncedAt, &d.CreatedAt, &d.UpdatedAt}, extra...)...)
	return d, err
}

// sealCredential stores secret encrypted, bound to its own row id.
func (s *Store) sealCredential(ctx context.Context, tx pgx.Tx, workspaceID, ownerID, kind string, secret []byte) (string, error) {
	id := uuid.NewString()
	sealed, keyID, err := s.keys.Seal(secrets.AtRest, secret, []byte(id))
	if err != nil {
		return "", err
	}
	_, err = tx.Exec(ctx, `INSERT INTO credentials (id, workspace_id, owner_id, kind, key_id, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, workspaceID, ownerID, kind, keyID, sealed)
	return id, err
}

// OpenCredential decrypts a stored credential of a workspace.
func (s *Store) OpenCredential(ctx context.Context, workspaceID, id string) ([]byte, error) {
	var keyID string
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT key_id, ciphertext FROM credentials WHERE workspace_id = $1 AND id = $2`, workspaceID, id).
		Scan(&keyID, &sealed)
	if err != nil {
		return nil, notFound(err, "credential")
	}
	return s.keys.Open(secrets.AtRest, keyID, sealed, []byte(id))
}

// CreateDirectory stores a directory with its sealed secret, an audit
// event, and the start of its daily Schedule, owed until the caller makes it.
func (s *Store) CreateDirectory(ctx context.Context, nd NewDirectory) (Directory, WorkflowStart, error) {
	var d Directory
	var start WorkflowStart
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		id := uuid.NewString()
		credID, err := s.sealCredential(ctx, tx, nd.WorkspaceID, id, string(nd.Type)+"_secret", nd.Secret)
		if err != nil {
			return err
		}
		d, err = scanDirectory(tx.QueryRow(ctx, `INSERT INTO directories (id, workspace_id, type, name, settings, credential_id, deprovision_safeguard)
			VALUES ($1, $2, $3, $4, $5, $6, coalesce(nullif($7::real, 0), 0.1)) RETURNING `+directoryColumns,
			id, nd.WorkspaceID, nd.Type, nd.Name, nd.Settings, credID, nd.DeprovisionSafeguard))
		if err != nil {
			return err
		}
		err = insertAudit(ctx, tx, AuditEvent{WorkspaceID: nd.WorkspaceID, Actor: nd.Actor, Action: "directory.created",
			SubjectType: "directory", SubjectID: d.ID, Details: map[string]any{"type": nd.Type, "name": nd.Name}})
		if err != nil {
			return err
		}
		start, err = owe(ctx, tx, StartDirectorySchedule, d.ID, false)
		return err
	})
	return d, start, err
}

// Directory returns one directory of a workspace.
func (s *Store) Directory(ctx context.Context, workspaceID, id string) (Directory, error) {
	d, err := scanDirectory(s.pool.QueryRow(ctx, `SELECT `+directoryColumns+` FROM directories WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return d, notFound(err, "directory")
}

// DirectoryByID returns a directory of any workspace, for operators.
func (s *Store) DirectoryByID(ctx context.Context, id string) (Directory, error) {
	d, err := scanDirectory(s.pool.QueryRow(ctx, `SELECT `+directoryColumns+` FROM directories WHERE id = $1`, id))
	return d, notFound(err, "directory")
}

// ListDirectories lists a workspace's directories in id order.
func (s *Store) ListDirectories(ctx context.Context, workspaceID string, p Page) ([]Directory, string, error) {
	after := ""
	if p.Cursor != "" {
		if err := decodeIDCursor(p.Cursor, &after, func() string { return after }); err != nil {
			return nil, "", err
		}
	}
	limit := p.limit()
	rows, err := s.pool.Query(ctx, `SELECT `+directoryColumns+` FROM directories
		WHERE workspace_id = $1 AND ($2 = '' OR id > $2::uuid) ORDER BY id LIMIT $3`, workspaceID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	dirs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Directory, error) { return scanDirectory(r) })
	if err != nil {
		return nil, "", notFound(err, "directory")
	}
	next := ""
	if len(dirs) > limit {
		dirs = dirs[:limit]
		next = encodeCursor(dirs[limit-1].ID)
	}
	return dirs, next, nil
}

// MarkDirectoryNeedsReauth flags a directory whose credential the provider
// rejected, with the reason and an audit event.
func (s *Store) MarkDirectoryNeedsReauth(ctx context.Context, d Directory, message, workflowID, runID string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE directories SET status = 'needs_reauth', status_message = $2, updated_at = now() WHERE id = $1`, d.ID, message)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: d.WorkspaceID, Actor: "system", Action: "directory.needs_reauth",
			SubjectType: "directory", SubjectID: d.ID, WorkflowID: workflowID, RunID: runID, Details: map[string]any{"message": message}})
	})
}

// ReplaceDirectorySecret seals a new API token or client secret for a
// directory with an audit event; the next successful import sets it ok again.
func (s *Store) ReplaceDirectorySecret(ctx context.Context, workspaceID, directoryID, actor string, secret []byte) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var dirType string
		err := tx.QueryRow(ctx, `SELECT type FROM directories WHERE workspace_id = $1 AND id = $2`, workspaceID, directoryID).Scan(&dirType)
		if err != nil {
			return notFound(err, "directory")
		}
		if domain.DirectoryType(dirType).Pushed() {
			return domain.Errorf(domain.EConflict, "a SCIM directory has no secret of ours: its IdP calls with a SCIM token "+
				"(POST /v1/directories/{id}/scim-token gives a new one)")
		}
		credID, err := s.sealCredential(ctx, tx, workspaceID, directoryID, dirType+"_secret", secret)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE directories SET credential_id = $2, updated_at = now() WHERE id = $1`, directoryID, credID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "directory.secret_replaced",
			SubjectType: "directory", SubjectID: directoryID})
	})
}

package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// scimTokenPrefix marks a SCIM bearer token, so that one pasted in the
// wrong place is recognisable.
const scimTokenPrefix = "hks_"

// SCIMResource is a user or group an IdP pushed: its id here and its
// attributes as stored. A group's attributes hold its members.
type SCIMResource struct {
	ID         string
	Attributes map[string]any
	Created    time.Time
	Modified   time.Time
}

// SCIMQuery narrows a directory's users or groups to those a filter can
// match; the caller applies the filter itself. Set fields are and-ed.
type SCIMQuery struct {
	ID         string
	ExternalID string
	// UserName and DisplayName compare case-insensitively.
	UserName    string
	DisplayName string
	// Email is any of a user's addresses.
	Email string
}

func newSCIMToken() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, err
	}
	token := scimTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(token))
	return token, h[:], nil
}

// CreateSCIMDirectory stores a directory its IdP pushes to, with an audit
// event, and returns its bearer token in clear, once; only its hash stays.
// It has no secret of ours and no import Schedule.
func (s *Store) CreateSCIMDirectory(ctx context.Context, nd NewDirectory) (Directory, string, error) {
	token, hash, err := newSCIMToken()
	if err != nil {
		return Directory{}, "", err
	}
	var d Directory
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		d, err = scanDirectory(tx.QueryRow(ctx, `INSERT INTO directories (workspace_id, type, name, scim_token_hash, deprovision_safeguard)
			VALUES ($1, 'scim', $2, $3, coalesce(nullif($4::real, 0), 0.1)) RETURNING `+directoryColumns,
			nd.WorkspaceID, nd.Name, hash, nd.DeprovisionSafeguard))
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: nd.WorkspaceID, Actor: nd.Actor, Action: "directory.created",
			SubjectType: "directory", SubjectID: d.ID, Details: map[string]any{"type": domain.DirectorySCIM, "name": nd.Name}})
	})
	return d, token, err
}

// RotateSCIMToken gives a SCIM directory a new bearer token, returned once;
// the old one stops working at once.
func (s *Store) RotateSCIMToken(ctx context.Context, workspaceID, directoryID, actor string) (string, error) {
	token, hash, err := newSCIMToken()
	if err != nil {
		return "", err
	}
	err = s.WithTx(ctx, func(tx pgx.Tx) error {
		var kind domain.DirectoryType
		err := tx.QueryRow(ctx, `SELECT type FROM directories WHERE workspace_id = $1 AND id = $2 FOR UPDATE`, workspaceID, directoryID).Scan(&kind)
		if err != nil {
			return notFound(err, "directory")
		}
		if !kind.Pushed() {
			return domain.Errorf(domain.EConflict, "only a SCIM directory has a SCIM token; this one is %s", kind)
		}
		if _, err := tx.Exec(ctx, `UPDATE directories SET scim_token_hash = $2, updated_at = now() WHERE id = $1`, directoryID, hash); err != nil {
			return err
		}
		return insertAudit(ctx, tx, AuditEvent{WorkspaceID: workspaceID, Actor: actor, Action: "directory.scim_token_rotated",
			SubjectType: "directory", SubjectID: directoryID})
	})
	return token, err
}

// AuthenticateSCIM returns the SCIM directory whose bearer token this is.
func (s *Store) AuthenticateSCIM(ctx context.Context, directoryID, token string) (Directory, error) {
	refused := domain.Errorf(domain.EUnauthorized, "the bearer token is not this directory's SCIM token")
	var stored []byte
	d, err := scanDirectory(s.pool.QueryRow(ctx, `SELECT `+directoryColumns+`, scim_token_hash FROM directories WHERE id = $1 AND type = 'scim'`,
		directoryID), &stored)
	if isNoRows(err) || isBadUUID(err) {
		return Directory{}, refused
	}
	if err != nil {
		return Directory{}, err
	}
	h := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(h[:], stored) != 1 {
		return Directory{}, refused
	}
	return d, nil
}

// pushed notes a push to a SCIM directory: its last change is its last sync.
func pushed(ctx context.Context, tx pgx.Tx, directoryID string) error {
	_, err := tx.Exec(ctx, `UPDATE directories SET last_synced_at = now() WHERE id = $1`, directoryID)
	return err
}

// scimUserConflict turns a duplicate userName into the SCIM uniqueness error.
func scimUserConflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return domain.Errorf(domain.EConflict, "a user with this userName exists")
	}
	return err
}

const scimUserColumns = `external_id, scim, first_seen_at, updated_at`

func scanSCIMResource(r pgx.Row) (SCIMResource, error) {
	var res SCIMResource
	err := r.Scan(&res.ID, &res.Attributes, &res.Created, &res.Modified)
	return res, err
}

// CreateSCIMUser stores a pushed user under a new id: its attributes, and
// what Hubkeeper matches and reports on (u; its ExternalID is ignored).
func (s *Store) CreateSCIMUser(ctx context.Context, d Directory, u domain.DirectoryUser, attrs map[string]any) (SCIMResource, error) {
	var res SCIMResource
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var err error
		res, err = scanSCIMResource(tx.QueryRow(ctx, `INSERT INTO directory_users (directory_id, external_id, email, aliases, display_name,
				given_name, family_name, status, provider_status, scim)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+scimUserColumns,
			d.ID, uuid.NewString(), u.Email, u.Aliases, u.DisplayName, u.GivenName, u.FamilyName, u.Status, u.ProviderStatus, attrs))
		if err != nil {
			return scimUserConflict(err)
		}
		if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: d.WorkspaceID, Actor: "scim", Action: "directory.user_pushed",
			SubjectType: "directory", SubjectID: d.ID, Details: map[string]any{"user_id": res.ID, "status": u.Status}}); err != nil {
			return err
		}
		return pushed(ctx, tx, d.ID)
	})
	return res, err
}

// SCIMUser returns one of a directory's pushed users that is not deleted.
func (s *Store) SCIMUser(ctx context.Context, directoryID, id string) (SCIMResource, error) {
	res, err := scanSCIMResource(s.pool.QueryRow(ctx, `SELECT `+scimUserColumns+` FROM directory_users
		WHERE directory_id = $1 AND external_id = $2 AND scim IS NOT NULL AND removed_at IS NULL`, directoryID, id))
	return res, notFound(err, "user")
}

// SCIMUsers returns the pushed users q can match, at most limit of them.
func (s *Store) SCIMUsers(ctx context.Context, directoryID string, q SCIMQuery, limit int) ([]SCIMResource, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scimUserColumns+` FROM directory_users
		WHERE directory_id = $1 AND scim IS NOT NULL AND removed_at IS NULL
			AND ($2 = '' OR external_id = $2)
			AND ($3 = '' OR lower(scim->>'userName') = lower($3))
			AND ($4 = '' OR scim->>'externalId' = $4)
			AND ($5 = '' OR email = lower($5) OR lower($5) = ANY (aliases))
		ORDER BY first_seen_at, external_id LIMIT $6`, directoryID, q.ID, q.UserName, q.ExternalID, q.Email, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (SCIMResource, error) { return scanSCIMResource(r) })
}

// SCIMUserPage returns count pushed users from offset, in the order they
// came, and how many there are.
func (s *Store) SCIMUserPage(ctx context.Context, directoryID string, offset, count int) ([]SCIMResource, int, error) {
	var total int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM directory_users WHERE directory_id = $1 AND scim IS NOT NULL AND removed_at IS NULL`,
		directoryID).Scan(&total)
	if err != nil || count == 0 {
		return nil, total, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+scimUserColumns+` FROM directory_users
		WHERE directory_id = $1 AND scim IS NOT NULL AND removed_at IS NULL
		ORDER BY first_seen_at, external_id OFFSET $2 LIMIT $3`, directoryID, offset, count)
	if err != nil {
		return nil, 0, err
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SCIMResource, error) { return scanSCIMResource(r) })
	return users, total, err
}

// SCIMUserChange turns a user's stored attributes into new ones and what
// Hubkeeper matches and reports on.
type SCIMUserChange func(attrs map[string]any) (domain.DirectoryUser, map[string]any, error)

// ChangeSCIMUser replaces or patches a pushed user under its row lock, so
// concurrent pushes apply one after the other.
func (s *Store) ChangeSCIMUser(ctx context.Context, d Directory, id string, change SCIMUserChange) (SCIMResource, error) {
	var res SCIMResource
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		var was domain.UserStatus
		var attrs map[string]any
		err := tx.QueryRow(ctx, `SELECT status, scim FROM directory_users
			WHERE directory_id = $1 AND external_id = $2 AND scim IS NOT NULL AND removed_at IS NULL FOR UPDATE`, d.ID, id).Scan(&was, &attrs)
		if err != nil {
			return notFound(err, "user")
		}
		u, attrs, err := change(attrs)
		if err != nil {
			return err
		}
		res, err = scanSCIMResource(tx.QueryRow(ctx, `UPDATE directory_users SET email = $3, aliases = $4, display_name = $5,
				given_name = $6, family_name = $7, status = $8, provider_status = $9, scim = $10, updated_at = now(),
				status_changed_at = CASE WHEN status = $8 THEN status_changed_at ELSE now() END
			WHERE directory_id = $1 AND external_id = $2 RETURNING `+scimUserColumns,
			d.ID, id, u.Email, u.Aliases, u.DisplayName, u.GivenName, u.FamilyName, u.Status, u.ProviderStatus, attrs))
		if err != nil {
			return scimUserConflict(err)
		}
		if u.Status != was {
			if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: d.WorkspaceID, Actor: "scim", Action: "directory.user_status_pushed",
				SubjectType: "directory", SubjectID: d.ID, Details: map[string]any{"user_id": id, "from": was, "to": u.Status}}); err != nil {
				return err
			}
		}
		return pushed(ctx, tx, d.ID)
	})
	return res, err
}

// DeleteSCIMUser deprovisions a pushed user the IdP deleted. The row stays,
// so that the next check reports the person's access; SCIM no longer
// finds it, and its userName is free again.
func (s *Store) DeleteSCIMUser(ctx context.Context, d Directory, id string) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		var was domain.UserStatus
		err := tx.QueryRow(ctx, `SELECT status FROM directory_users
			WHERE directory_id = $1 AND external_id = $2 AND scim IS NOT NULL AND removed_at IS NULL FOR UPDATE`, d.ID, id).Scan(&was)
		if err != nil {
			return notFound(err, "user")
		}
		if _, err := tx.Exec(ctx, `UPDATE directory_users SET removed_at = now(), updated_at = now(), provider_status = 'deleted',
				status = 'deprovisioned', status_changed_at = CASE WHEN status = 'deprovisioned' THEN status_changed_at ELSE now() END
			WHERE directory_id = $1 AND external_id = $2`, d.ID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM directory_group_members WHERE directory_id = $1 AND user_id = $2`, d.ID, id); err != nil {
			return err
		}
		if err := insertAudit(ctx, tx, AuditEvent{WorkspaceID: d.WorkspaceID, Actor: "scim", Action: "directory.user_deleted_pushed",
			SubjectType: "directory", SubjectID: d.ID, Details: map[string]any{"user_id": id, "from": was}}); err != nil {
			return err
		}
		return pushed(ctx, tx, d.ID)
	})
}

// Package store keeps Hubkeeper's state in Postgres: workspaces, API keys,
// encrypted credentials, directories and their users, sync runs and the audit log.
package store

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded, numbered SQL migrations.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// Migrate applies every pending migration, under tern's advisory lock, each in its own transaction.
func Migrate(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect for migrations: %w", err)
	}
	defer conn.Close(ctx)
	return MigrateConn(ctx, conn)
}

// MigrateConn applies the migrations over an open connection.
func MigrateConn(ctx context.Context, conn *pgx.Conn) error {
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		return fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(Migrations()); err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Store is the Postgres-backed state. Its methods take the context first.
type Store struct {
	pool *pgxpool.Pool
	keys *secrets.Keyring
	now  domain.Clock
}

// DefaultMaxConns bounds a process's Postgres connections unless
// DATABASE_URL sets pool_max_conns. pgx's own default, one per CPU (at
// least 4), starves a worker running 20 activities beside an API.
const DefaultMaxConns = 20

// Open connects to Postgres. keys seals and opens stored credentials.
func Open(ctx context.Context, databaseURL string, keys *secrets.Keyring) (*Store, error) {
	if keys == nil {
		return nil, errors.New("store: a keyring is required")
	}
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{pool: pool, keys: keys, now: time.Now}, nil
}

// Close releases the connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that Postgres answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// WithTx runs fn in a transaction, committing if fn returns nil. The deferred
// rollback is a no-op after a commit and cleans up on every other path.
func (s *Store) WithTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Page asks for one page of a list: at most Limit items after Cursor.
type Page struct {
	Limit  int
	Cursor string
	// Only restricts the list to the item with this id.
	Only string
}

// Page size bounds shared by every list.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

func (p Page) limit() int {
	if p.Limit <= 0 {
		return DefaultLimit
	}
	return min(p.Limit, MaxLimit)
}

// encodeCursor turns the sort key of the last item into an opaque cursor.
func encodeCursor(key any) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor string, key any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, key)
	}
	if err != nil {
		return domain.Errorf(domain.EInvalid, "cursor is not one this API returned")
	}
	return nil
}

// decodeIDCursor decodes a cursor whose key (or its ID field) is a uuid.
func decodeIDCursor(cursor string, key any, id func() string) error {
	if err := decodeCursor(cursor, key); err != nil {
		return err
	}
	if _, err := uuid.Parse(id()); err != nil {
		return domain.Errorf(domain.EInvalid, "cursor is not one this API returned")
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// isBadUUID reports whether Postgres rejected a value as a malformed uuid.
func isBadUUID(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "22P02"
}

// notFound maps "no row" and malformed ids to a not_found domain error.
func notFound(err error, what string) error {
	if isNoRows(err) || isBadUUID(err) {
		return domain.Errorf(domain.ENotFound, "%s not found", what)
	}
	return err
}

// likePattern escapes LIKE wildcards in a user's search term.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

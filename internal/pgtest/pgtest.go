// Package pgtest gives each test its own migrated Postgres database, cloned
// from a template (pgtestdb). The cluster is $HUBKEEPER_TEST_DATABASE_URL when
// set, otherwise a throwaway one this package starts once per test binary.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/pgserver"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver used by pgtestdb
	"github.com/peterldowns/pgtestdb"
)

var (
	once       sync.Once
	clusterURL string
	clusterErr error
	server     *pgserver.Server
	tmpDir     string
)

// Main runs a package's tests and stops the throwaway cluster afterwards.
// Use it from TestMain: func TestMain(m *testing.M) { pgtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

func cluster() (string, error) {
	once.Do(func() {
		if u := os.Getenv("HUBKEEPER_TEST_DATABASE_URL"); u != "" {
			clusterURL = u
			return
		}
		tmpDir, clusterErr = os.MkdirTemp("", "hubkeeper-pg-")
		if clusterErr != nil {
			return
		}
		server, clusterErr = pgserver.Start(context.Background(), pgserver.Options{Dir: tmpDir + "/data"})
		if clusterErr == nil {
			clusterURL = server.URL
		}
	})
	return clusterURL, clusterErr
}

// URL returns the connection URL of a fresh, migrated database for t.
func URL(t testing.TB) string {
	t.Helper()
	base, err := cluster()
	if err != nil {
		t.Fatalf("no Postgres for tests (set HUBKEEPER_TEST_DATABASE_URL or install PostgreSQL server binaries): %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad HUBKEEPER_TEST_DATABASE_URL: %v", err)
	}
	pw, _ := u.User.Password()
	conf := pgtestdb.Config{
		DriverName: "pgx", Host: u.Hostname(), Port: u.Port(), User: u.User.Username(), Password: pw,
		Database: u.Path[1:], Options: "sslmode=disable",
	}
	return pgtestdb.Custom(t, conf, migrator{}).URL()
}

// migrator applies the store's migrations to pgtestdb's template database.
type migrator struct{}

func (migrator) Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.Migrations(), path)
		fmt.Fprintf(h, "%s\n%s\n", path, b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	conn, err := pgx.Connect(ctx, conf.URL())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return store.MigrateConn(ctx, conn)
}

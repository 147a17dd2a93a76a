package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// Purge removes what is kept only for a while, and nothing that is in use
// or younger than the retention.
func TestPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := f.db.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Two superseded directory secrets: one old, one fresh; the live one stays.
	for range 2 {
		if err := f.st.ReplaceDirectorySecret(ctx, f.ws.ID, f.dir.ID, "test", []byte("00-new-secret")); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE credentials SET created_at = now() - interval '30 days'
		WHERE id <> (SELECT credential_id FROM directories WHERE id = $1)
		AND id = (SELECT id FROM credentials WHERE owner_id = $1 ORDER BY created_at LIMIT 1)`, f.dir.ID)
	exec(`UPDATE credentials SET created_at = now() - interval '30 days' WHERE id = (SELECT credential_id FROM directories WHERE id = $1)`, f.dir.ID)

	// Report links: used long ago, expired long ago, and one still open.
	ig, _, err := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderMeta, Label: "Meta",
		BusinessID: "123", LoginMethod: "sso", Secret: []byte("EAAtoken"), RemovalSafeguard: 0.2, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var reportID string
	if err := f.db.QueryRow(ctx, `INSERT INTO deprovision_reports (workspace_id, integration_id) VALUES ($1, $2) RETURNING id`,
		f.ws.ID, ig.ID).Scan(&reportID); err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO report_tokens (hash, report_id, recipient, expires_at, used_at) VALUES
		('\x01', $1, 'it@acme.test', now() + interval '1 day', now() - interval '30 days'),
		('\x02', $1, 'it@acme.test', now() - interval '30 days', NULL),
		('\x03', $1, 'it@acme.test', now() + interval '1 day', NULL)`, reportID)

	// Staging, each import of its own directory: one that failed, one still
	// running, one halted and one "running" for longer than the retention.
	stage := func(name string) (dirID, runID string) {
		t.Helper()
		d, _, err := f.st.CreateDirectory(ctx, store.NewDirectory{WorkspaceID: f.ws.ID, Type: domain.DirectoryOkta, Name: name,
			Settings: domain.DirectorySettings{BaseURL: "https://acme.okta.com"}, Secret: []byte("00-token"), Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		run, err := f.st.StartSyncRun(ctx, d.ID, "test", "directory-sync/"+d.ID, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.StagePage(ctx, run.ID, []domain.DirectoryUser{user(name, name+"@acme.test", name, domain.UserActive)}, 1); err != nil {
			t.Fatal(err)
		}
		return d.ID, run.ID
	}
	_, failed := stage("failed")
	exec(`UPDATE sync_runs SET status = 'failed' WHERE id = $1`, failed)
	_, running := stage("running")
	haltedDir, halted := stage("halted")
	exec(`UPDATE sync_runs SET status = 'failed', halted = true, started_at = now() - interval '30 days' WHERE id = $1`, halted)
	_, abandoned := stage("abandoned")
	exec(`UPDATE sync_runs SET started_at = now() - interval '30 days' WHERE id = $1`, abandoned)

	// The console's client secret, old but in use, stays; an ended session goes.
	if err := f.st.SetConsoleIdP(ctx, f.ws.ID, "test", store.ConsoleIdP{Issuer: "https://acme.okta.com", ClientID: "0oa1"}, []byte("s")); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE credentials SET created_at = now() - interval '30 days' WHERE id = (SELECT console_secret_id FROM workspaces WHERE id = $1)`, f.ws.ID)
	exec(`INSERT INTO console_sessions (hash, workspace_id, email, role, csrf, expires_at) VALUES
		('\x01', $1, 'ann@acme.test', 'admin', 'c', now() - interval '1 hour'), ('\x02', $1, 'ann@acme.test', 'admin', 'c', now() + interval '1 hour')`, f.ws.ID)

	if _, err := f.st.Purge(ctx, time.Minute); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("a retention under an hour: %v", err)
	}
	purged, err := f.st.Purge(ctx, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if purged != (store.Purged{Credentials: 1, ReportTokens: 2, StagingRows: 3, ConsoleSignIns: 1}) {
		t.Fatalf("purged %+v", purged)
	}
	if _, _, err := f.st.ConsoleIdP(ctx, f.ws.ID); err != nil {
		t.Fatalf("the console's client secret was purged: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, f.dir.ID); n != 2 {
		t.Errorf("%d directory credentials left, want the live one and the fresh superseded one", n)
	}
	if n := f.count(t, `SELECT count(*) FROM report_tokens WHERE hash = '\x03'`); n != 1 {
		t.Error("the open report link was purged")
	}
	if n := f.count(t, `SELECT count(*) FROM directory_user_staging WHERE sync_run_id = $1`, running); n != 1 {
		t.Error("a running import's staging was purged")
	}
	if _, err := f.st.AcceptImport(ctx, f.ws.ID, haltedDir, halted, "test"); domain.ErrorCode(err) != domain.EConflict {
		t.Errorf("an expired halted import could still be accepted: %v", err)
	}
	if run, _ := f.st.SyncRun(ctx, abandoned); run.Status != domain.SyncFailed {
		t.Errorf("an abandoned run is %s, want failed", run.Status)
	}
	if again, err := f.st.Purge(ctx, 7*24*time.Hour); err != nil || again != (store.Purged{}) {
		t.Fatalf("a second purge: %+v, %v", again, err)
	}
}

// An integration removed while a check reconciles leaves none of its
// grants behind, whichever commits first: grants have no foreign key, so
// the reconcile holds the integration's row instead (for real, 8 rounds).
func TestDeleteIntegrationDuringReconcile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var members []domain.BusinessMember
	var grants []domain.Grant
	assets := []domain.Asset{}
	for i := range 40 {
		assets = append(assets, domain.Asset{ExternalID: fmt.Sprintf("p%02d", i), Type: "page", Ownership: "owned", Name: "Page"})
	}
	for i := range 500 {
		id := fmt.Sprintf("m%04d", i)
		members = append(members, person(id, id+"@agency.example"))
		for _, a := range assets[:10] {
			grants = append(grants, domain.Grant{AssetID: a.ExternalID, MemberID: id, Tasks: []string{"MANAGE"}})
		}
	}
	for round := range 8 {
		ig := f.integration(t)
		// The members are known; the check brings new grants only.
		f.check(t, ig, fmt.Sprintf("r%d-0", round), snapshot{members: members, assets: assets})
		run := f.stage(t, ig, fmt.Sprintf("r%d-1", round), snapshot{members: members, assets: assets, grants: grants})
		done := make(chan error, 1)
		go func() {
			_, err := f.st.Reconcile(ctx, run)
			done <- err
		}()
		time.Sleep(time.Duration(round) * 5 * time.Millisecond)
		if err := f.st.DeleteIntegration(ctx, f.ws.ID, ig.ID, "api_key:test"); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil && domain.ErrorCode(err) != domain.ENotFound {
			t.Fatalf("round %d: reconcile: %v", round, err)
		}
		if n := f.count(t, `SELECT count(*) FROM asset_grants WHERE integration_id = $1`, ig.ID); n != 0 {
			t.Fatalf("round %d: %d grants of the removed integration left", round, n)
		}
	}
}

package store_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pgtest"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type fixture struct {
	st  *store.Store
	db  *pgx.Conn
	ws  store.Workspace
	dir store.Directory
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	url := pgtest.URL(t)
	spec, _ := secrets.NewKeySpec("test")
	keys, err := secrets.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url, keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	ws, err := st.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	dir, _, err := st.CreateDirectory(ctx, store.NewDirectory{WorkspaceID: ws.ID, Type: domain.DirectoryOkta, Name: "Okta",
		Settings: domain.DirectorySettings{BaseURL: "https://acme.okta.com"}, Secret: []byte("00-okta-secret-token"), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, db: db, ws: ws, dir: dir}
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAPIKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	secret, key, err := f.st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: f.ws.ID, Name: "ci", Scope: store.ScopeAdmin, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.st.AuthenticateAPIKey(ctx, secret)
	if err != nil || got.ID != key.ID || got.WorkspaceID != f.ws.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if n := f.count(t, `SELECT count(*) FROM api_keys WHERE position($1::bytea in hash) > 0`, []byte(secret)); n != 0 {
		t.Fatal("API key stored in clear")
	}
	for name, bad := range map[string]string{"ErrWrongKey": secret + "x", "ErrNoPrefix": "abc", "ErrEmpty": ""} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.st.AuthenticateAPIKey(ctx, bad); domain.ErrorCode(err) != domain.EUnauthorized {
				t.Fatalf("err = %v, want unauthorized", err)
			}
		})
	}
}

// Keys expire, note their last use at most once a minute, are listed
// without their secret and revoked once; each event is audited.
func TestAPIKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	soon := time.Now().Add(time.Hour)
	secret, key, err := f.st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: f.ws.ID, Name: "ci", Scope: store.ScopeAdmin,
		ExpiresAt: &soon, Actor: "api_key:first"})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	for name, nk := range map[string]store.NewAPIKey{
		"ErrExpiresInThePast": {WorkspaceID: f.ws.ID, Name: "x", Scope: store.ScopeAdmin, ExpiresAt: &past},
		"ErrNoName":           {WorkspaceID: f.ws.ID, Name: " ", Scope: store.ScopeAdmin},
		"ErrAdminNoWorkspace": {Name: "x", Scope: store.ScopeAdmin},
		"ErrSupportWorkspace": {WorkspaceID: f.ws.ID, Name: "x", Scope: store.ScopeSupport},
		"ErrScope":            {WorkspaceID: f.ws.ID, Name: "x", Scope: "root"},
	} {
		if _, _, err := f.st.CreateAPIKey(ctx, nk); domain.ErrorCode(err) != domain.EInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}

	lastUsed := func() time.Time {
		var at time.Time
		if err := f.db.QueryRow(ctx, `SELECT last_used_at FROM api_keys WHERE id = $1`, key.ID).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if _, err := f.st.AuthenticateAPIKey(ctx, secret); err != nil {
		t.Fatal(err)
	}
	first := lastUsed()
	if _, err := f.st.AuthenticateAPIKey(ctx, secret); err != nil || !lastUsed().Equal(first) {
		t.Fatalf("a second use within the minute wrote last_used_at again: %v", err)
	}
	f.db.Exec(ctx, `UPDATE api_keys SET last_used_at = last_used_at - interval '2 minutes' WHERE id = $1`, key.ID)
	if _, err := f.st.AuthenticateAPIKey(ctx, secret); err != nil || !lastUsed().After(first.Add(-time.Second)) {
		t.Fatalf("a use after a minute did not note the time: %v", err)
	}

	keys, err := f.st.ListAPIKeys(ctx, f.ws.ID)
	if err != nil || len(keys) != 1 || keys[0].ID != key.ID || keys[0].ExpiresAt == nil || keys[0].LastUsedAt == nil {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}

	f.db.Exec(ctx, `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, key.ID)
	if _, err := f.st.AuthenticateAPIKey(ctx, secret); domain.ErrorCode(err) != domain.EUnauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired key: %v", err)
	}

	if _, err := f.st.RevokeAPIKey(ctx, f.ws.ID, key.ID, "api_key:first"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RevokeAPIKey(ctx, f.ws.ID, key.ID, "api_key:first"); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("second revoke: %v", err)
	}
	other, _ := f.st.CreateWorkspace(ctx, "Other")
	_, otherKey, _ := f.st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: other.ID, Name: "o", Scope: store.ScopeAdmin, Actor: "test"})
	if _, err := f.st.RevokeAPIKey(ctx, f.ws.ID, otherKey.ID, "api_key:first"); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("revoked another workspace's key: %v", err)
	}
	_, support, err := f.st.CreateAPIKey(ctx, store.NewAPIKey{Name: "desk", Scope: store.ScopeSupport, Actor: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.RevokeAPIKey(ctx, "", support.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]int{"api_key.created": 3, "api_key.revoked": 2} {
		if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = $1 AND subject_id IN ($2, $3, $4)`, action, key.ID,
			otherKey.ID, support.ID); n != want {
			t.Errorf("%d %s events, want %d", n, action, want)
		}
	}
}

func TestDirectorySecretSealed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var sealed []byte
	if err := f.db.QueryRow(ctx, `SELECT ciphertext FROM credentials WHERE id = $1`, f.dir.CredentialID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("okta-secret")) {
		t.Fatal("secret stored in clear")
	}
	got, err := f.st.OpenCredential(ctx, f.ws.ID, f.dir.CredentialID)
	if err != nil || string(got) != "00-okta-secret-token" {
		t.Fatalf("OpenCredential = %q, %v", got, err)
	}
	t.Run("ErrOtherWorkspace", func(t *testing.T) {
		other, _ := f.st.CreateWorkspace(ctx, "Other")
		if _, err := f.st.OpenCredential(ctx, other.ID, f.dir.CredentialID); domain.ErrorCode(err) != domain.ENotFound {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ScheduleOwedWithTheRow", func(t *testing.T) {
		d, start, err := f.st.CreateDirectory(ctx, store.NewDirectory{WorkspaceID: f.ws.ID, Type: domain.DirectoryOkta, Name: "X",
			Secret: []byte("s")})
		if err != nil || start.Kind != store.StartDirectorySchedule || start.SubjectID != d.ID {
			t.Fatalf("start %+v, %v", start, err)
		}
		owed, _ := f.st.OwedStarts(ctx, 10)
		if !slices.ContainsFunc(owed, func(st store.WorkflowStart) bool { return st.ID == start.ID }) {
			t.Fatalf("the start is not owed: %+v", owed)
		}
		if err := f.st.StartDone(ctx, start.ID); err != nil {
			t.Fatal(err)
		}
		if owed, _ := f.st.OwedStarts(ctx, 10); slices.ContainsFunc(owed, func(st store.WorkflowStart) bool { return st.ID == start.ID }) {
			t.Fatal("a start done is still owed")
		}
	})
}

func user(id, email, name string, status domain.UserStatus) domain.DirectoryUser {
	return domain.DirectoryUser{ExternalID: id, Email: email, DisplayName: name, Status: status,
		ProviderStatus: string(status), Aliases: []string{}}
}

// importRun stages users in two pages (the second page twice, as a retried
// activity would) and applies them.
func (f *fixture) importRun(t *testing.T, runID string, full bool, users []domain.DirectoryUser) domain.SyncCounts {
	t.Helper()
	ctx := context.Background()
	id := f.stageImport(t, runID, full, users)
	counts, err := f.st.ApplyImport(ctx, id)
	if err != nil || counts.Halted {
		t.Fatalf("apply: %+v, %v", counts, err)
	}
	again, err := f.st.ApplyImport(ctx, id)
	if err != nil || again != counts {
		t.Fatalf("second apply = %+v, %v; want %+v", again, err, counts)
	}
	stored, _ := f.st.SyncRun(ctx, id)
	if stored.Status != domain.SyncSucceeded || stored.SyncCounts != counts.SyncCounts {
		t.Fatalf("stored run = %+v", stored)
	}
	return counts.SyncCounts
}

// stageImport starts an import and stages its users in two pages (the
// second twice, as a retried activity would); it returns the run's id.
func (f *fixture) stageImport(t *testing.T, runID string, full bool, users []domain.DirectoryUser) string {
	t.Helper()
	ctx := context.Background()
	run, err := f.st.StartSyncRun(ctx, f.dir.ID, "test", "directory-sync/"+f.dir.ID, runID)
	if err != nil {
		t.Fatal(err)
	}
	half := len(users) / 2
	for _, page := range [][]domain.DirectoryUser{users[:half], users[half:], users[half:]} {
		if err := f.st.StagePage(ctx, run.ID, page, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.FinishFetch(ctx, run.ID, full, "", 3); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

func (f *fixture) userVersions(t *testing.T) string {
	t.Helper()
	var v string
	err := f.db.QueryRow(context.Background(), `SELECT coalesce(string_agg(external_id || ':' || xmin::text, ',' ORDER BY external_id), '')
		FROM directory_users WHERE directory_id = $1`, f.dir.ID).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) statusOf(t *testing.T, id string) (string, bool) {
	t.Helper()
	var status string
	var removed bool
	err := f.db.QueryRow(context.Background(), `SELECT status, removed_at IS NOT NULL FROM directory_users WHERE directory_id = $1 AND external_id = $2`,
		f.dir.ID, id).Scan(&status, &removed)
	if err != nil {
		t.Fatalf("user %s: %v", id, err)
	}
	return status, removed
}

func TestApplyImport(t *testing.T) {
	f := newFixture(t)
	base := []domain.DirectoryUser{
		user("a", "ada@acme.test", "Ada", domain.UserActive),
		user("b", "bob@acme.test", "Bob", domain.UserSuspended),
		user("c", "cy@acme.test", "Cy", domain.UserDeprovisioned),
		user("d", "dee@acme.test", "Dee", domain.UserActive),
	}
	if got := f.importRun(t, "r1", true, base); got != (domain.SyncCounts{Added: 4}) {
		t.Fatalf("first import = %+v", got)
	}

	t.Run("NoChangesWritesNothing", func(t *testing.T) {
		before := f.userVersions(t)
		if got := f.importRun(t, "r2", true, base); got != (domain.SyncCounts{Unchanged: 4}) {
			t.Fatalf("counts = %+v", got)
		}
		if after := f.userVersions(t); after != before {
			t.Fatalf("rows rewritten:\n%s\n%s", before, after)
		}
	})

	t.Run("ChangesAndMissingUsers", func(t *testing.T) {
		next := []domain.DirectoryUser{
			user("a", "ada@acme.test", "Ada Lovelace", domain.UserActive), // changed
			user("b", "bob@acme.test", "Bob", domain.UserDeprovisioned),   // deprovisioned
			user("e", "eve@acme.test", "Eve", domain.UserActive),          // added
			// c (already deprovisioned) and d (active) are no longer listed.
		}
		got := f.importRun(t, "r3", true, next)
		want := domain.SyncCounts{Added: 1, Changed: 2, Deprovisioned: 2}
		if got != want {
			t.Fatalf("counts = %+v, want %+v", got, want)
		}
		if s, removed := f.statusOf(t, "d"); s != "deprovisioned" || !removed {
			t.Fatalf("d = %s removed=%v", s, removed)
		}
	})

	t.Run("DeltaDoesNotSweep", func(t *testing.T) {
		removedA := domain.DirectoryUser{ExternalID: "a", Removed: true}
		got := f.importRun(t, "r4", false, []domain.DirectoryUser{removedA, user("f", "fay@acme.test", "Fay", domain.UserActive)})
		if got != (domain.SyncCounts{Added: 1, Deprovisioned: 1}) {
			t.Fatalf("counts = %+v", got)
		}
		if s, _ := f.statusOf(t, "e"); s != "active" {
			t.Fatalf("e swept by a delta run: %s", s)
		}
	})

	t.Run("ReturningUserIsActiveAgain", func(t *testing.T) {
		got := f.importRun(t, "r5", false, []domain.DirectoryUser{user("d", "dee@acme.test", "Dee", domain.UserActive)})
		if got != (domain.SyncCounts{Changed: 1}) {
			t.Fatalf("counts = %+v", got)
		}
		if s, removed := f.statusOf(t, "d"); s != "active" || removed {
			t.Fatalf("d = %s removed=%v", s, removed)
		}
	})

	if n := f.count(t, `SELECT count(*) FROM directory_user_staging`); n != 0 {
		t.Fatalf("%d staging rows left", n)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'directory.synced'`); n != 5 {
		t.Fatalf("%d directory.synced audit events, want 5", n)
	}
}

func TestListDirectoryUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var users []domain.DirectoryUser
	for _, id := range []string{"u1", "u2", "u3", "u4", "u5"} {
		users = append(users, user(id, id+"@acme.test", "User "+id, domain.UserActive))
	}
	users[4].Status = domain.UserDeprovisioned
	users[3].Aliases = []string{"alias_4@acme.test"}
	f.importRun(t, "r1", true, users)

	var all []string
	cursor := ""
	for pages := 0; ; pages++ {
		got, next, err := f.st.ListDirectoryUsers(ctx, f.ws.ID, f.dir.ID, store.UserFilter{}, store.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range got {
			all = append(all, u.ExternalID)
			if u.LastSeenAt == nil {
				t.Fatalf("%s has no last_seen_at", u.ExternalID)
			}
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	if len(all) != 5 {
		t.Fatalf("paged %v", all)
	}
	for _, tc := range []struct {
		name   string
		filter store.UserFilter
		want   int
	}{
		{"Status", store.UserFilter{Status: domain.UserDeprovisioned}, 1},
		{"QueryEmail", store.UserFilter{Query: "U2@ACME"}, 1},
		{"QueryAlias", store.UserFilter{Query: "alias_4"}, 1},
		{"QueryWildcardIsLiteral", store.UserFilter{Query: "%"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := f.st.ListDirectoryUsers(ctx, f.ws.ID, f.dir.ID, tc.filter, store.Page{})
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %d users, %v; want %d", len(got), err, tc.want)
			}
		})
	}
	t.Run("ErrBadCursor", func(t *testing.T) {
		_, _, err := f.st.ListDirectoryUsers(ctx, f.ws.ID, f.dir.ID, store.UserFilter{}, store.Page{Cursor: "!!"})
		if domain.ErrorCode(err) != domain.EInvalid {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OtherWorkspaceSeesNothing", func(t *testing.T) {
		other, _ := f.st.CreateWorkspace(ctx, "Other")
		got, _, err := f.st.ListDirectoryUsers(ctx, other.ID, f.dir.ID, store.UserFilter{}, store.Page{})
		if err != nil || len(got) != 0 {
			t.Fatalf("got %d, %v", len(got), err)
		}
	})
}

// An import that would deprovision more than the directory's safeguard
// share (and at least 5 people) applies nothing and halts until an admin
// accepts it; a newer import makes the halted one unacceptable.
func TestDeprovisionSafeguard(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var all []domain.DirectoryUser
	for i := range 40 {
		all = append(all, user(fmt.Sprintf("u-%02d", i), fmt.Sprintf("p%02d@acme.test", i), "P", domain.UserActive))
	}
	f.importRun(t, "full", true, all)
	// Four leave (10%): under the floor of five, applied.
	if c := f.importRun(t, "four", true, all[4:]); c.Deprovisioned != 4 {
		t.Fatalf("four leavers: %+v", c)
	}
	// Ten more vanish from the listing (28% of 36): halted, nothing applied.
	before := f.userVersions(t)
	run := f.stageImport(t, "ten", true, all[14:])
	res, err := f.st.ApplyImport(ctx, run)
	if err != nil || !res.Halted || !strings.Contains(res.HaltReason, "10 of 36 users") || !strings.Contains(res.HaltReason, "/accept") {
		t.Fatalf("halt: %+v, %v", res, err)
	}
	if again, err := f.st.ApplyImport(ctx, run); err != nil || !again.Halted {
		t.Fatalf("applying the halted run again: %+v, %v", again, err)
	}
	if f.userVersions(t) != before {
		t.Fatal("a halted import changed users")
	}
	stored, _ := f.st.SyncRun(ctx, run)
	if !stored.Halted || stored.Status != domain.SyncFailed || stored.Stage != "halted" {
		t.Fatalf("halted run %+v", stored)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'directory.import_halted'`); n != 1 {
		t.Fatalf("%d halt audit events", n)
	}
	// An admin accepts: the ten are deprovisioned.
	accepted, err := f.st.AcceptImport(ctx, f.ws.ID, f.dir.ID, run, "api_key:k1")
	if err != nil || accepted.Halted || accepted.Deprovisioned != 10 {
		t.Fatalf("accept: %+v, %v", accepted, err)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'directory.synced' AND actor = 'api_key:k1'`); n != 1 {
		t.Fatalf("%d accepted-import audit events", n)
	}
	if again, err := f.st.AcceptImport(ctx, f.ws.ID, f.dir.ID, run, "api_key:k1"); err != nil || again != accepted ||
		f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'directory.synced' AND actor = 'api_key:k1'`) != 1 {
		t.Fatalf("accepting again: %+v, %v; want the same result and nothing new", again, err)
	}
	// A halted import that a newer one followed cannot be accepted.
	halted := f.stageImport(t, "all-gone", true, all[:1])
	if res, _ := f.st.ApplyImport(ctx, halted); !res.Halted {
		t.Fatal("not halted")
	}
	f.stageImport(t, "newer", true, all[14:])
	if _, err := f.st.AcceptImport(ctx, f.ws.ID, f.dir.ID, halted, "api_key:k1"); domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("accepting an older halted import: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM directory_user_staging WHERE sync_run_id = $1`, halted); n != 0 {
		t.Fatalf("the older halted import keeps %d staged users", n)
	}
}

// A run's finished_at is when its import committed, not when it began to
// apply: 20,000 users take long enough to tell them apart.
func TestImportFinishedAtCommit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	users := make([]domain.DirectoryUser, 20000)
	for i := range users {
		users[i] = user(fmt.Sprintf("00u%06d", i), fmt.Sprintf("p%d@acme.test", i), "P", domain.UserActive)
	}
	id := f.stageImport(t, "big", true, users)
	began := time.Now()
	if _, err := f.st.ApplyImport(ctx, id); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	run, err := f.st.SyncRun(ctx, id)
	if err != nil || run.FinishedAt == nil {
		t.Fatalf("run %+v, %v", run, err)
	}
	if half := began.Add(committed.Sub(began) / 2); run.FinishedAt.Before(half) {
		t.Fatalf("finished_at %v is nearer the apply's start (%v) than its commit (%v)", run.FinishedAt, began, committed)
	}
}

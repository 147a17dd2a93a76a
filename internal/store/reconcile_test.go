package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

type snapshot struct {
	members []domain.BusinessMember
	assets  []domain.Asset
	grants  []domain.Grant
}

func person(id, email string) domain.BusinessMember {
	return domain.BusinessMember{ExternalID: id, Kind: domain.MemberUser, Email: email, Name: id, Role: "EMPLOYEE", Tasks: []string{}}
}

func (f *fixture) integration(t *testing.T) store.Integration {
	t.Helper()
	ig, _, err := f.st.CreateIntegration(context.Background(), store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderMeta,
		Label: "Acme Meta", BusinessID: "9001", LoginMethod: "sso", Secret: []byte("EAAtoken"), RemovalSafeguard: 0.2, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ig
}

// check stages a snapshot in pages (the last page twice, as a retry would) and reconciles it.
func (f *fixture) check(t *testing.T, ig store.Integration, runID string, snap snapshot) store.ReconcileResult {
	t.Helper()
	return f.reconcile(t, f.stage(t, ig, runID, snap))
}

// stage starts a check and stages its snapshot; it returns the sync run's id.
func (f *fixture) stage(t *testing.T, ig store.Integration, runID string, snap snapshot) string {
	t.Helper()
	ctx := context.Background()
	run, err := f.st.StartIntegrationSyncRun(ctx, ig.ID, "test", "sync/"+ig.ID, runID)
	if err != nil {
		t.Fatal(err)
	}
	half := len(snap.members) / 2
	for _, page := range [][]domain.BusinessMember{snap.members[:half], snap.members[half:], snap.members[half:]} {
		if err := f.st.StageMembers(ctx, run.ID, page, 1); err != nil {
			t.Fatal(err)
		}
	}
	assets := make([]store.StagedAsset, len(snap.assets))
	for i, a := range snap.assets {
		assets[i] = store.StagedAsset{Asset: a}
	}
	if err := f.st.StageAssets(ctx, run.ID, assets, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.st.StageGrants(ctx, run.ID, snap.grants, 1); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// reconcile applies a staged run, twice, as a retried activity would.
func (f *fixture) reconcile(t *testing.T, runID string) store.ReconcileResult {
	t.Helper()
	ctx := context.Background()
	res, err := f.st.Reconcile(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.st.Reconcile(ctx, runID)
	if err != nil || again.Added != res.Added || again.Removed != res.Removed || again.Halted != res.Halted {
		t.Fatalf("second reconcile = %+v, %v; first %+v", again, err, res)
	}
	return res
}

type memberRow struct {
	state, match, matched string
	hubRole               *string
}

func (f *fixture) member(t *testing.T, ig store.Integration, id string) memberRow {
	t.Helper()
	var m memberRow
	var matched *string
	err := f.db.QueryRow(context.Background(), `SELECT state, match, matched_email, hub_role FROM members WHERE integration_id = $1 AND external_id = $2`,
		ig.ID, id).Scan(&m.state, &m.match, &matched, &m.hubRole)
	if err != nil {
		t.Fatalf("member %s: %v", id, err)
	}
	if matched != nil {
		m.matched = *matched
	}
	return m
}

func (f *fixture) versions(t *testing.T, table, igID string) string {
	t.Helper()
	var v string
	err := f.db.QueryRow(context.Background(), `SELECT coalesce(string_agg(xmin::text, ',' ORDER BY xmin::text), '') FROM `+table+
		` WHERE integration_id = $1`, igID).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReconcile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dirUsers := []domain.DirectoryUser{
		user("u-ada", "ada@acme.test", "Ada", domain.UserActive),
		user("u-bob", "bob@acme.test", "Bob", domain.UserDeprovisioned),
		user("u-cy", "cy@acme.test", "Cy", domain.UserActive),
		user("u-dee", "dee@acme.test", "Dee", domain.UserActive),
	}
	dirUsers[0].Aliases = []string{"a.lovelace@acme.test"}
	dirUsers[2].Aliases = []string{"social@acme.test"}
	dirUsers[3].Aliases = []string{"social@acme.test"}
	f.importRun(t, "dir-run", true, dirUsers)
	ig := f.integration(t)

	base := snapshot{
		members: []domain.BusinessMember{
			person("m-exact", "ada@acme.test"),
			person("m-alias", "a.lovelace@acme.test"),
			person("m-departed", "bob@acme.test"),
			person("m-agency", "x@agency.example"),
			person("m-shared", "social@acme.test"),
			{ExternalID: "inv-1", Kind: domain.MemberInvitation, Email: "new@acme.test", Tasks: []string{}, InvitationStatus: "PENDING"},
			{ExternalID: "su-1", Kind: domain.MemberSystemUser, Name: "Automation", Role: "ADMIN", Tasks: []string{}},
		},
		assets: []domain.Asset{{ExternalID: "p1", Type: "page", Ownership: "owned", Name: "Page"},
			{ExternalID: "act_1", Type: "ad_account", Ownership: "client", Name: "Ads"}},
		grants: []domain.Grant{{AssetID: "p1", MemberID: "m-exact", Tasks: []string{"MANAGE"}},
			{AssetID: "p1", MemberID: "m-departed", Tasks: []string{"MANAGE"}},
			{AssetID: "act_1", MemberID: "m-agency", Tasks: []string{"ANALYZE"}}},
	}
	for i := range 10 {
		base.members = append(base.members, person(fmt.Sprintf("m-filler-%d", i), fmt.Sprintf("filler%d@agency.example", i)))
	}
	res := f.check(t, ig, "r1", base)
	if res.Added != len(base.members) || res.Halted || res.AssetRows != 2 || res.GrantRows != 3 {
		t.Fatalf("first check = %+v", res)
	}
	// Bob left the company: his member is reported, once.
	if res.ReportID == "" || res.Reported != 1 {
		t.Fatalf("deprovision report: %q with %d members, want 1", res.ReportID, res.Reported)
	}
	reportID := res.ReportID

	for _, tc := range []struct {
		id   string
		want memberRow
	}{
		{"m-exact", memberRow{state: "onboarded", match: "one", matched: "ada@acme.test"}},
		{"m-alias", memberRow{state: "onboarded", match: "one", matched: "ada@acme.test"}},
		{"m-departed", memberRow{state: "onboarded", match: "one", matched: "bob@acme.test"}},
		{"m-agency", memberRow{state: "unmatched", match: "none"}},
		{"m-shared", memberRow{state: "unmatched", match: "several"}},
		{"inv-1", memberRow{state: "pending", match: "none"}},
		{"su-1", memberRow{state: "system", match: "none"}},
	} {
		t.Run("Match_"+tc.id, func(t *testing.T) {
			got := f.member(t, ig, tc.id)
			if got.state != tc.want.state || got.match != tc.want.match || got.matched != tc.want.matched {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if (got.state == "onboarded") != (got.hubRole != nil && *got.hubRole == "collaborator") {
				t.Fatalf("hub role %v for state %s", got.hubRole, got.state)
			}
		})
	}

	t.Run("UnchangedResyncWritesNothing", func(t *testing.T) {
		members, assets, grants := f.versions(t, "members", ig.ID), f.versions(t, "assets", ig.ID), f.versions(t, "asset_grants", ig.ID)
		res := f.check(t, ig, "r2", base)
		if res.Unchanged != len(base.members) || res.Added+res.Changed+res.Removed+res.AssetRows+res.GrantRows != 0 {
			t.Fatalf("re-sync = %+v", res)
		}
		if f.versions(t, "members", ig.ID) != members || f.versions(t, "assets", ig.ID) != assets || f.versions(t, "asset_grants", ig.ID) != grants {
			t.Fatal("an unchanged re-sync rewrote rows")
		}
		if res.Reported != 0 || f.count(t, `SELECT count(*) FROM report_members WHERE report_id = $1`, reportID) != 1 {
			t.Fatalf("the re-sync reported again: %+v", res)
		}
	})

	t.Run("ExemptedNeverReported", func(t *testing.T) {
		if _, err := f.db.Exec(ctx, `UPDATE members SET state = 'exempted', exempt_reason = 'kept on purpose' WHERE external_id = 'm-exact'`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.Exec(ctx, `UPDATE directory_users SET status = 'deprovisioned' WHERE external_id = 'u-ada'`); err != nil {
			t.Fatal(err)
		}
		res := f.check(t, ig, "r2b", base)
		// m-alias is Ada too and onboarded: reported; m-exact is exempted: not.
		if res.Reported != 1 || f.count(t, `SELECT count(*) FROM report_members WHERE member_id = 'm-exact'`) != 0 {
			t.Fatalf("reported %d, exempted m-exact in report: %d", res.Reported,
				f.count(t, `SELECT count(*) FROM report_members WHERE member_id = 'm-exact'`))
		}
		if _, err := f.db.Exec(ctx, `UPDATE members SET state = 'onboarded', exempt_reason = '' WHERE external_id = 'm-exact'`); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ExemptedStaysExempted", func(t *testing.T) {
		if _, err := f.db.Exec(ctx, `UPDATE members SET state = 'exempted', exempt_reason = 'agency on retainer' WHERE external_id = 'm-agency'`); err != nil {
			t.Fatal(err)
		}
		f.check(t, ig, "r3", base)
		if got := f.member(t, ig, "m-agency"); got.state != "exempted" {
			t.Fatalf("exempted member became %s", got.state)
		}
	})

	t.Run("GoneFromBusinessIsRemoved", func(t *testing.T) {
		next := base
		next.members = append([]domain.BusinessMember{}, base.members[:2]...)
		next.members = append(next.members, base.members[3:]...) // m-departed left
		next.grants = []domain.Grant{base.grants[0], base.grants[2]}
		res := f.check(t, ig, "r4", next)
		if res.Removed != 1 || res.GrantRows != 1 {
			t.Fatalf("removal = %+v", res)
		}
		if got := f.member(t, ig, "m-departed"); got.state != "removed" {
			t.Fatalf("m-departed = %+v", got)
		}
	})

	t.Run("SafeguardHalts", func(t *testing.T) {
		before := f.versions(t, "members", ig.ID)
		tiny := snapshot{members: base.members[:2], assets: base.assets}
		res := f.check(t, ig, "r5", tiny)
		if !res.Halted || res.Removed < 10 || res.HaltReason == "" {
			t.Fatalf("safeguard = %+v", res)
		}
		if f.versions(t, "members", ig.ID) != before {
			t.Fatal("a halted reconcile changed members")
		}
		runs, _, _ := f.st.ListSyncRuns(ctx, f.ws.ID, ig.ID, store.Page{Limit: 1})
		if !runs[0].Halted || runs[0].Status != domain.SyncFailed || runs[0].Error == "" {
			t.Fatalf("halted run = %+v", runs[0])
		}
		if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'integration.sync_halted'`); n != 1 {
			t.Fatalf("%d halt audit events", n)
		}
	})

	if n := f.count(t, `SELECT count(*) FROM member_staging`) + f.count(t, `SELECT count(*) FROM grant_staging`); n != 0 {
		t.Fatalf("%d staging rows left", n)
	}
}

// A second integration of a business is a conflict, and owes no start: a
// failed transaction leaves nothing to start.
func TestIntegrationConflict(t *testing.T) {
	f := newFixture(t)
	f.integration(t)
	before := f.count(t, `SELECT count(*) FROM workflow_starts`)
	_, _, err := f.st.CreateIntegration(context.Background(), store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderMeta,
		Label: "Again", BusinessID: "9001", LoginMethod: "sso", Secret: []byte("x"), RemovalSafeguard: 0.2})
	if domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("err = %v", err)
	}
	if after := f.count(t, `SELECT count(*) FROM workflow_starts`); after != before {
		t.Fatalf("a refused integration owes %d starts", after-before)
	}
}

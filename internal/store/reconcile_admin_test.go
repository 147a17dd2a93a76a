package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// adminFixture is a checked business: ada (onboarded, EMPLOYEE, MANAGE on
// p1), bob (onboarded), an agency member (unmatched), and dee, a directory
// person not in the business.
func adminFixture(t *testing.T) (*fixture, store.Integration, snapshot) {
	t.Helper()
	f := newFixture(t)
	f.importRun(t, "dir", true, []domain.DirectoryUser{
		user("u-ada", "ada@acme.test", "Ada", domain.UserActive),
		user("u-bob", "bob@acme.test", "Bob", domain.UserActive),
		user("u-dee", "dee@acme.test", "Dee", domain.UserActive),
	})
	ig := f.integration(t)
	snap := snapshot{
		members: []domain.BusinessMember{person("m-ada", "ada@acme.test"), person("m-bob", "bob@acme.test"),
			person("m-agency", "x@agency.example")},
		assets: []domain.Asset{{ExternalID: "p1", Type: "page", Ownership: "owned", Name: "Page"}},
		grants: []domain.Grant{{AssetID: "p1", MemberID: "m-ada", Tasks: []string{"MANAGE"}}},
	}
	f.check(t, ig, "r0", snap)
	return f, ig, snap
}

func (f *fixture) apply(t *testing.T, ig store.Integration, ch store.MemberChange) {
	t.Helper()
	ch.WorkspaceID, ch.IntegrationID, ch.Actor = f.ws.ID, ig.ID, "api_key:test"
	if err := f.st.ApplyMemberChange(context.Background(), ch); err != nil {
		t.Fatalf("%s %s: %v", ch.Action, ch.MemberID, err)
	}
}

// What an admin did after a check's snapshot began stays as they left it:
// the check, applying its older snapshot, changes none of it.
func TestCheckKeepsAdminChangesMadeDuringIt(t *testing.T) {
	f, ig, snap := adminFixture(t)
	ctx := context.Background()
	run := f.stage(t, ig, "r1", snap) // the provider as it was when the check began
	f.apply(t, ig, store.MemberChange{MemberID: "m-bob", Action: store.ActionRemove})
	f.apply(t, ig, store.MemberChange{MemberID: "m-ada", Action: store.ActionRole, Role: "ADMIN",
		Assets: []store.AssetTasks{{AssetID: "p1", Tasks: []string{"ADVERTISE", "ANALYZE"}}}})
	f.apply(t, ig, store.MemberChange{MemberID: "m-agency", Action: store.ActionExempt, Reason: "agency on retainer"})
	f.apply(t, ig, store.MemberChange{MemberID: "inv-dee", Action: store.ActionInvite, Email: "dee@acme.test", Role: "EMPLOYEE"})
	res := f.reconcile(t, run)
	if res.Halted {
		t.Fatalf("halted: %s", res.HaltReason)
	}
	if got := f.member(t, ig, "m-bob"); got.state != "removed" {
		t.Fatalf("the removed member came back %s", got.state)
	}
	if got := f.member(t, ig, "m-agency"); got.state != "exempted" {
		t.Fatalf("the exempted member is %s", got.state)
	}
	if got := f.member(t, ig, "inv-dee"); got.state != "pending" {
		t.Fatalf("the new invitation is %s", got.state)
	}
	m, err := f.st.Member(ctx, f.ws.ID, ig.ID, "m-ada")
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != "ADMIN" || len(m.Assets) != 1 || !slices.Equal(m.Assets[0].Tasks, []string{"ADVERTISE", "ANALYZE"}) {
		t.Fatalf("the role change was reverted: %s %+v", m.Role, m.Assets)
	}

	// The next check, whose snapshot has the provider's later state, is
	// consistent with it and changes nothing the admin did.
	later := snapshot{
		members: []domain.BusinessMember{{ExternalID: "m-ada", Kind: domain.MemberUser, Email: "ada@acme.test", Name: "m-ada", Role: "ADMIN",
			Tasks: []string{}}, person("m-agency", "x@agency.example"),
			{ExternalID: "inv-dee", Kind: domain.MemberInvitation, Email: "dee@acme.test", Name: "dee@acme.test", Role: "EMPLOYEE",
				Tasks: []string{}, InvitationStatus: "PENDING"}},
		assets: snap.assets,
		grants: []domain.Grant{{AssetID: "p1", MemberID: "m-ada", Tasks: []string{"ADVERTISE", "ANALYZE"}}},
	}
	if res := f.check(t, ig, "r2", later); res.Removed != 0 || f.member(t, ig, "m-bob").state != "removed" ||
		f.member(t, ig, "m-agency").state != "exempted" || f.member(t, ig, "inv-dee").state != "pending" {
		t.Fatalf("the next check: %+v", res)
	}
}

// A cancelled invitation stays cancelled through a check whose snapshot
// still lists it, and the next check drops it.
func TestCheckKeepsCancelledInvitation(t *testing.T) {
	f, ig, snap := adminFixture(t)
	invite := domain.BusinessMember{ExternalID: "inv-1", Kind: domain.MemberInvitation, Email: "dee@acme.test", Tasks: []string{},
		InvitationStatus: "PENDING"}
	snap.members = append(snap.members, invite)
	f.check(t, ig, "r1", snap)
	run := f.stage(t, ig, "r2", snap)
	f.apply(t, ig, store.MemberChange{MemberID: "inv-1", Action: store.ActionCancel})
	f.reconcile(t, run)
	if got := f.member(t, ig, "inv-1"); got.state != "removed" {
		t.Fatalf("the cancelled invitation is %s", got.state)
	}
	snap.members = snap.members[:len(snap.members)-1]
	f.check(t, ig, "r3", snap)
	if n := f.count(t, `SELECT count(*) FROM members WHERE external_id = 'inv-1'`); n != 0 {
		t.Fatal("the next check kept the cancelled invitation")
	}
}

// An admin's removal racing a check's reconcile (both for real, on their
// own connections) is never undone, whichever commits first.
func TestAdminRemovalRacingReconcile(t *testing.T) {
	f, ig, snap := adminFixture(t)
	for i := range 20 {
		member := fmt.Sprintf("m-race-%d", i)
		snap.members = append(snap.members, person(member, member+"@agency.example"))
		f.check(t, ig, fmt.Sprintf("seed-%d", i), snap)
		run := f.stage(t, ig, fmt.Sprintf("race-%d", i), snap)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := f.st.Reconcile(context.Background(), run); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			ch := store.MemberChange{WorkspaceID: f.ws.ID, IntegrationID: ig.ID, MemberID: member, Action: store.ActionRemove, Actor: "api_key:test"}
			if err := f.st.ApplyMemberChange(context.Background(), ch); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if got := f.member(t, ig, member); got.state != "removed" {
			t.Fatalf("round %d: the removal raced by a check left the member %s", i, got.state)
		}
		snap.members = snap.members[:len(snap.members)-1]
		f.check(t, ig, fmt.Sprintf("after-%d", i), snap)
	}
}

// A Page's access token is staged sealed, never in clear, and opened for the
// grants fetch; a Page that came without one keeps its grants.
func TestStagedPageTokens(t *testing.T) {
	f, ig, snap := adminFixture(t)
	ctx := context.Background()
	run, err := f.st.StartIntegrationSyncRun(ctx, ig.ID, "test", "sync/"+ig.ID, "tokens")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "EAAPage-secret-token-Zq8"
	unread := domain.Asset{ExternalID: "p1", Type: "page", Ownership: "owned", Name: "Page"}
	read := domain.Asset{ExternalID: "p2", Type: "page", Ownership: "owned", Name: "Other"}
	if err := f.st.StageAssets(ctx, run.ID, []store.StagedAsset{{Asset: unread, Unreadable: true}, {Asset: read, PageToken: secret}}, 1); err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM asset_staging WHERE position($1::bytea in sealed_token) > 0 OR token_key_id = $2`,
		[]byte(secret), secret); n != 0 {
		t.Fatal("a page token is stored in clear")
	}
	staged, err := f.st.StagedAssets(ctx, run.ID)
	if err != nil || len(staged) != 2 || !staged[0].Unreadable || staged[0].PageToken != "" || staged[1].PageToken != secret {
		t.Fatalf("staged %+v, %v", staged, err)
	}
	if err := f.st.StageMembers(ctx, run.ID, snap.members, 1); err != nil {
		t.Fatal(err)
	}
	res := f.reconcile(t, run.ID)
	if res.Halted {
		t.Fatal(res.HaltReason)
	}
	// p1's holders could not be read: ada keeps her MANAGE there.
	m, _ := f.st.Member(ctx, f.ws.ID, ig.ID, "m-ada")
	if len(m.Assets) != 1 || m.Assets[0].AssetID != "p1" {
		t.Fatalf("ada's grants after a check that could not read p1: %+v", m.Assets)
	}
	if n := f.count(t, `SELECT count(*) FROM asset_staging`); n != 0 {
		t.Fatalf("%d staged assets (with their tokens) left after the reconcile", n)
	}
}

// A member list page carries each member's assets (in asset order) and the
// directory users they are matched to, also when two members are one
// person; members without either get empty lists; another workspace sees
// nothing.
func TestListMembersDetails(t *testing.T) {
	f, ig, snap := adminFixture(t)
	ctx := context.Background()
	snap.members = append(snap.members, person("m-ada-2", "ada@acme.test"))
	snap.assets = append(snap.assets, domain.Asset{ExternalID: "a0", Type: "ad_account", Ownership: "owned", Name: "Ads"})
	snap.grants = append(snap.grants, domain.Grant{AssetID: "a0", MemberID: "m-ada", Tasks: []string{"ANALYZE"}})
	f.check(t, ig, "r1", snap)
	members, next, err := f.st.ListMembers(ctx, f.ws.ID, ig.ID, store.MemberFilter{}, store.Page{Limit: 3})
	if err != nil || next == "" || len(members) != 3 {
		t.Fatalf("%d members, next %q, %v", len(members), next, err)
	}
	got := map[string]store.Member{}
	for _, m := range members {
		got[m.ExternalID] = m
	}
	ada, twin, agency := got["m-ada"], got["m-ada-2"], got["m-agency"]
	if len(ada.Assets) != 2 || ada.Assets[0].AssetID != "a0" || ada.Assets[0].Type != "ad_account" || ada.Assets[1].AssetID != "p1" ||
		!slices.Equal(ada.Assets[1].Tasks, []string{"MANAGE"}) {
		t.Fatalf("ada's assets %+v", ada.Assets)
	}
	for _, m := range []store.Member{ada, twin} {
		if len(m.DirectoryUsers) != 1 || m.DirectoryUsers[0].ExternalID != "u-ada" || m.DirectoryUsers[0].DirectoryID != f.dir.ID {
			t.Fatalf("%s's directory users %+v", m.ExternalID, m.DirectoryUsers)
		}
	}
	if agency.Assets == nil || len(agency.Assets) != 0 || agency.DirectoryUsers == nil || len(agency.DirectoryUsers) != 0 {
		t.Fatalf("the agency member's assets %#v, directory users %#v", agency.Assets, agency.DirectoryUsers)
	}
	other, err := f.st.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	if members, _, err := f.st.ListMembers(ctx, other.ID, ig.ID, store.MemberFilter{}, store.Page{}); err != nil || len(members) != 0 {
		t.Fatalf("another workspace lists %d members (%v)", len(members), err)
	}
}

// A member list sorted by name, e-mail or role pages through every member
// once, in that order (ties by id); an unknown sort is refused.
func TestListMembersSorted(t *testing.T) {
	f, ig, snap := adminFixture(t)
	ctx := context.Background()
	for i, name := range []string{"zoe", "ann", "mia", "ann", "bob"} {
		m := person(fmt.Sprintf("m-%d", 9-i), fmt.Sprintf("%c%d@acme.test", 'a'+i, i))
		m.Name = name
		if i%2 == 0 {
			m.Role = "ADMIN"
		}
		snap.members = append(snap.members, m)
	}
	f.check(t, ig, "r1", snap)
	key := map[string]func(store.Member) string{"name": func(m store.Member) string { return m.Name },
		"email": func(m store.Member) string { return m.Email }, "role": func(m store.Member) string { return m.Role }}
	for sort, of := range key {
		var seen []store.Member
		cursor := ""
		for {
			page, next, err := f.st.ListMembers(ctx, f.ws.ID, ig.ID, store.MemberFilter{Sort: sort}, store.Page{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, page...)
			if cursor = next; cursor == "" {
				break
			}
		}
		if len(seen) != len(snap.members) {
			t.Fatalf("sorted by %s: %d of %d members", sort, len(seen), len(snap.members))
		}
		for i := 1; i < len(seen); i++ {
			a, b := seen[i-1], seen[i]
			if of(a) > of(b) || of(a) == of(b) && a.ExternalID >= b.ExternalID {
				t.Fatalf("sorted by %s: %s (%q) before %s (%q)", sort, a.ExternalID, of(a), b.ExternalID, of(b))
			}
		}
	}
	if _, _, err := f.st.ListMembers(ctx, f.ws.ID, ig.ID, store.MemberFilter{Sort: "password"}, store.Page{}); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("an unknown sort: %v", err)
	}
}

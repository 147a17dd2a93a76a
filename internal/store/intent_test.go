package store_test

import (
	"context"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// A queued action acts only on the member the admin saw: any change since
// (exempted, removed, re-matched, moved tab, role changed, the person back
// in the directory) calls it off with a reason that names no address.
func TestMemberIntent(t *testing.T) {
	f, ig, reportID := reported(t)
	ctx := context.Background()
	base := store.MemberChange{WorkspaceID: f.ws.ID, IntegrationID: ig.ID, Actor: "test"}
	change := func(member, action string) store.MemberChange {
		ch := base
		ch.MemberID, ch.Action = member, action
		return ch
	}
	asked := func(t *testing.T, ch store.MemberChange) store.MemberChange {
		t.Helper()
		snap, err := f.st.CheckMemberChange(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		ch.Expect = &snap
		return ch
	}
	intent := func(t *testing.T, ch store.MemberChange) store.Intent {
		t.Helper()
		in, err := f.st.MemberIntent(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		if in.Provider != domain.ProviderMeta {
			t.Fatalf("provider %q", in.Provider)
		}
		return in
	}
	apply := func(t *testing.T, ch store.MemberChange) {
		t.Helper()
		if err := f.st.ApplyMemberChange(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		if in := intent(t, asked(t, change("m-dee", store.ActionRemove))); in.Cancel != "" || in.Done {
			t.Fatalf("unchanged member: %+v", in)
		}
	})
	t.Run("ExemptedMeanwhile", func(t *testing.T) {
		removal := asked(t, change("m-dee", store.ActionRemove))
		// The check put m-dee in onboarded; exempting starts from unmatched, so unmatch by hand first.
		if _, err := f.db.Exec(ctx, `UPDATE members SET state = 'unmatched' WHERE integration_id = $1 AND external_id = 'm-dee'`, ig.ID); err != nil {
			t.Fatal(err)
		}
		ex := change("m-dee", store.ActionExempt)
		ex.Reason = "agency"
		apply(t, ex)
		if in := intent(t, removal); in.Cancel != "the member was exempted meanwhile" {
			t.Fatalf("exempted: %+v", in)
		}
		un := change("m-dee", store.ActionUnexempt)
		apply(t, un)
		if in := intent(t, removal); in.Cancel != "the member moved from the onboarded tab to the unmatched tab meanwhile" {
			t.Fatalf("moved: %+v", in)
		}
	})
	t.Run("RoleChangedMeanwhile", func(t *testing.T) {
		ch := change("m-cy", store.ActionRole)
		ch.Role = "ADMIN"
		role := asked(t, ch)
		if _, err := f.db.Exec(ctx, `UPDATE members SET role = 'ADMIN' WHERE integration_id = $1 AND external_id = 'm-cy'`, ig.ID); err != nil {
			t.Fatal(err)
		}
		if in := intent(t, role); in.Cancel != "the member's role changed from EMPLOYEE to ADMIN meanwhile" {
			t.Fatalf("role: %+v", in)
		}
	})
	t.Run("ReportRemovalRematched", func(t *testing.T) {
		removal := change("m-bob", store.ActionRemove)
		removal.ReportID = reportID
		if in := intent(t, removal); in.Cancel != "" {
			t.Fatalf("reported member: %+v", in)
		}
		re := change("m-bob", store.ActionReassign)
		re.MatchedEmail = "dee@acme.test"
		apply(t, re)
		if in := intent(t, removal); in.Cancel != "the member was matched to another directory person meanwhile" {
			t.Fatalf("re-matched: %+v", in)
		}
	})
	t.Run("ReportRemovalPersonBack", func(t *testing.T) {
		removal := change("m-cy", store.ActionRemove)
		removal.ReportID = reportID
		if _, err := f.db.Exec(ctx, `UPDATE members SET role = 'EMPLOYEE' WHERE integration_id = $1 AND external_id = 'm-cy'`, ig.ID); err != nil {
			t.Fatal(err)
		}
		f.importRun(t, "dir2", true, []domain.DirectoryUser{
			user("u-bob", "bob@acme.test", "Bob", domain.UserDeprovisioned),
			user("u-cy", "cy@acme.test", "Cy", domain.UserActive),
			user("u-dee", "dee@acme.test", "Dee", domain.UserActive),
		})
		if in := intent(t, removal); in.Cancel != "the person is no longer deprovisioned in the directory" {
			t.Fatalf("person back: %+v", in)
		}
	})
	t.Run("AlreadyRemoved", func(t *testing.T) {
		removal := asked(t, change("m-cy", store.ActionRemove))
		apply(t, removal)
		if in := intent(t, removal); !in.Done || in.Cancel != "" {
			t.Fatalf("removed: %+v", in)
		}
		ch := change("m-cy", store.ActionRole)
		ch.Role, ch.Expect = "ADMIN", removal.Expect
		if in := intent(t, ch); in.Cancel != "the member was removed meanwhile" {
			t.Fatalf("role of a removed member: %+v", in)
		}
	})
	t.Run("Invite", func(t *testing.T) {
		inv := base
		inv.Action, inv.Email, inv.Role = store.ActionInvite, "dee@acme.test", "EMPLOYEE"
		if in := intent(t, inv); in.Cancel != "the address is already in the business or invited" {
			t.Fatalf("invite of a member: %+v", in)
		}
		inv.Email = "nobody@acme.test"
		if in := intent(t, inv); in.Cancel != "the address is no longer a directory person of this workspace" {
			t.Fatalf("invite of a stranger: %+v", in)
		}
	})
	t.Run("CancelGoneInvitation", func(t *testing.T) {
		if in := intent(t, change("inv-unknown", store.ActionCancel)); !in.Done {
			t.Fatalf("cancel of a dropped invitation: %+v", in)
		}
	})
}

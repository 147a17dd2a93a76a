package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// reported builds a workspace whose Meta business has two departed people
// (reported) and returns the open report.
func reported(t *testing.T) (*fixture, store.Integration, string) {
	t.Helper()
	f := newFixture(t)
	f.importRun(t, "dir", true, []domain.DirectoryUser{
		user("u-bob", "bob@acme.test", "Bob", domain.UserDeprovisioned),
		user("u-cy", "cy@acme.test", "Cy", domain.UserDeprovisioned),
		user("u-dee", "dee@acme.test", "Dee", domain.UserActive),
	})
	if err := f.st.SetWorkspaceSettings(context.Background(), f.ws.ID, "test", store.WorkspaceSettings{
		AdminEmails: []string{"it@acme.test", "cto@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	ig := f.integration(t)
	res := f.check(t, ig, "r1", snapshot{members: []domain.BusinessMember{
		person("m-bob", "bob@acme.test"), person("m-cy", "cy@acme.test"), person("m-dee", "dee@acme.test")}})
	if res.Reported != 2 {
		t.Fatalf("reported %d, want 2", res.Reported)
	}
	return f, ig, res.ReportID
}

func TestReportLinks(t *testing.T) {
	f, _, reportID := reported(t)
	ctx := context.Background()
	links, err := f.st.IssueReportLinks(ctx, reportID, "mail-1", time.Now().Add(time.Hour))
	if err != nil || len(links) != 2 {
		t.Fatalf("links: %d, %v", len(links), err)
	}
	var stored [][]byte
	rows, _ := f.db.Query(ctx, `SELECT hash FROM report_tokens`)
	for rows.Next() {
		var h []byte
		_ = rows.Scan(&h)
		stored = append(stored, h)
	}
	for _, l := range links {
		for _, h := range stored {
			if bytes.Contains(h, []byte(l.Token)) {
				t.Fatal("a token is stored in clear")
			}
		}
	}
	r, st, err := f.st.ReportByLink(ctx, links[0].Token)
	if err != nil || r.ID != reportID || st.Expired || st.UsedAt != nil || len(r.Members) != 2 {
		t.Fatalf("by link: %+v %+v %v", r, st, err)
	}

	other, _, otherReport := reported(t)
	_ = other
	for name, d := range map[string]store.Decision{
		"ErrForged":         {ReportID: reportID, Token: "forged-token-value", Confirm: true, Version: 1},
		"ErrOtherReport":    {ReportID: otherReport, Token: links[0].Token, Confirm: true, Version: 1},
		"ErrUnknownLeftOut": {ReportID: reportID, Token: links[0].Token, Confirm: true, Exclude: []string{"m-nobody"}, Version: 1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.st.DecideReport(ctx, d); err == nil {
				t.Fatal("decided")
			}
			if r, _ := f.st.Report(ctx, "", reportID); r.Status != "pending" {
				t.Fatalf("report is %s after a refused decision", r.Status)
			}
		})
	}

	decided, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[0].Token, Confirm: true, Version: 1, Exclude: []string{"m-cy"}})
	if err != nil || decided.Status != "confirmed" || decided.DecidedBy != links[0].Recipient {
		t.Fatalf("decide: %+v, %v", decided, err)
	}
	for _, m := range decided.Members {
		if m.Included != (m.MemberID == "m-bob") {
			t.Fatalf("member %s included=%v", m.MemberID, m.Included)
		}
	}
	t.Run("ErrReplayed", func(t *testing.T) {
		if _, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[0].Token, Confirm: false, Version: 1}); domain.ErrorCode(err) != domain.EConflict {
			t.Fatalf("err = %v", err)
		}
		if _, st, _ := f.st.ReportByLink(ctx, links[0].Token); st.UsedAt == nil {
			t.Fatal("the used link is not marked used")
		}
	})
	t.Run("ErrOtherAdminAfterDecision", func(t *testing.T) {
		if _, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[1].Token, Confirm: false, Version: 1}); domain.ErrorCode(err) != domain.EConflict {
			t.Fatalf("err = %v", err)
		}
	})
	done, err := f.st.FinishReport(ctx, reportID, "wf", map[string]store.RemovalResult{
		"m-bob": {Result: store.ResultFailed, Outcome: "not removed: Meta refused: (#10) permission"}})
	if err != nil || done.Status != "partially_applied" {
		t.Fatalf("finish: %s, %v", done.Status, err)
	}
	for _, m := range done.Members {
		if m.MemberID == "m-bob" && (m.Result != store.ResultFailed || m.Outcome != "not removed: Meta refused: (#10) permission") {
			t.Fatalf("bob: %s %q", m.Result, m.Outcome)
		}
	}
}

func TestReportExpiryAndAPIDecision(t *testing.T) {
	f, _, reportID := reported(t)
	ctx := context.Background()
	links, _ := f.st.IssueReportLinks(ctx, reportID, "mail-1", time.Now().Add(-time.Second))
	if _, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[0].Token, Confirm: true, Version: 1}); domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("expired link: %v", err)
	}
	if _, st, _ := f.st.ReportByLink(ctx, links[0].Token); !st.Expired {
		t.Fatal("link not shown expired")
	}
	if err := f.st.ExpireReport(ctx, reportID, "wf"); err != nil {
		t.Fatal(err)
	}
	r, _ := f.st.Report(ctx, "", reportID)
	if r.Status != "expired" || r.Members[0].Outcome != "kept" {
		t.Fatalf("expired report = %+v", r)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'report.expired'`); n != 1 {
		t.Fatalf("%d expiry audit events", n)
	}
	// A later finding opens a new report, which an API key can decide.
	g, _, second := reported(t)
	got, err := g.st.DecideReport(ctx, store.Decision{ReportID: second, Actor: "api_key:k1", Confirm: false, Version: 1})
	if err != nil || got.Status != "rejected" || got.DecidedBy != "api_key:k1" {
		t.Fatalf("API decision: %+v, %v", got, err)
	}
}

func TestSuspendedReportedByPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.importRun(t, "dir", true, []domain.DirectoryUser{user("u-sue", "sue@acme.test", "Sue", domain.UserSuspended)})
	ig := f.integration(t)
	if res := f.check(t, ig, "r1", snapshot{members: []domain.BusinessMember{person("m-sue", "sue@acme.test")}}); res.Reported != 0 {
		t.Fatalf("a suspended person was reported without the policy")
	}
	if err := f.st.SetWorkspaceSettings(ctx, f.ws.ID, "test", store.WorkspaceSettings{ReportSuspended: true}); err != nil {
		t.Fatal(err)
	}
	if res := f.check(t, ig, "r2", snapshot{members: []domain.BusinessMember{person("m-sue", "sue@acme.test")}}); res.Reported != 1 {
		t.Fatalf("reported %d with the policy, want 1", res.Reported)
	}
}

// Confirming without leaving anyone out removes everyone (it once failed on
// the missing list).
func TestReportConfirmedWithoutExclusions(t *testing.T) {
	f, _, reportID := reported(t)
	r, err := f.st.DecideReport(context.Background(), store.Decision{ReportID: reportID, Actor: "api_key:k1", Confirm: true, Version: 1})
	if err != nil || r.Status != "confirmed" {
		t.Fatalf("confirm: %+v, %v", r, err)
	}
	for _, m := range r.Members {
		if !m.Included || m.Result != "" {
			t.Fatalf("member %s: included=%v result=%q", m.MemberID, m.Included, m.Result)
		}
	}
}

// A decision names the version the admin saw: a report people joined since
// is not decided, and nobody added is removed unseen.
func TestReportDecisionNamesItsVersion(t *testing.T) {
	f, ig, reportID := reported(t)
	ctx := context.Background()
	shown, _ := f.st.Report(ctx, "", reportID)
	links, _ := f.st.IssueReportLinks(ctx, reportID, "mail-1", time.Now().Add(time.Hour))
	// Dee leaves while the admin looks at the report; a check adds her.
	f.importRun(t, "dir2", true, []domain.DirectoryUser{
		user("u-bob", "bob@acme.test", "Bob", domain.UserDeprovisioned),
		user("u-cy", "cy@acme.test", "Cy", domain.UserDeprovisioned),
		user("u-dee", "dee@acme.test", "Dee", domain.UserDeprovisioned),
	})
	res := f.check(t, ig, "r2", snapshot{members: []domain.BusinessMember{
		person("m-bob", "bob@acme.test"), person("m-cy", "cy@acme.test"), person("m-dee", "dee@acme.test")}})
	if res.ReportID != reportID || res.Reported != 1 {
		t.Fatalf("the check added %d to %s", res.Reported, res.ReportID)
	}
	_, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[0].Token, Confirm: true, Version: shown.Version})
	if domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("deciding the version shown before Dee joined: %v", err)
	}
	if r, st, _ := f.st.ReportByLink(ctx, links[0].Token); r.Status != "pending" || st.UsedAt != nil || r.Version != shown.Version+1 {
		t.Fatalf("after the refused decision: %s, link used %v, version %d", r.Status, st.UsedAt != nil, r.Version)
	}
	now, _ := f.st.Report(ctx, "", reportID)
	if r, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Token: links[0].Token, Confirm: true, Version: now.Version}); err != nil ||
		len(r.Members) != 3 {
		t.Fatalf("deciding the version shown now: %v", err)
	}
}

// Kept people (a rejected report, or left out of a confirmed one) and people
// whose confirmed removal is still under way are not reported by later
// checks, until their directory status changes again; an admin can undo the keep.
func TestKeptPeopleStayKept(t *testing.T) {
	f, ig, reportID := reported(t)
	ctx := context.Background()
	snap := snapshot{members: []domain.BusinessMember{person("m-bob", "bob@acme.test"), person("m-cy", "cy@acme.test"),
		person("m-dee", "dee@acme.test")}}
	if _, err := f.st.DecideReport(ctx, store.Decision{ReportID: reportID, Actor: "api_key:k1", Confirm: true, Exclude: []string{"m-bob"},
		Version: 1}); err != nil {
		t.Fatal(err)
	}
	m, _ := f.st.Member(ctx, f.ws.ID, ig.ID, "m-bob")
	if m.KeptBy == nil || *m.KeptBy != "api_key:k1" || m.KeptAt == nil {
		t.Fatalf("bob kept by %v at %v", m.KeptBy, m.KeptAt)
	}
	// Cy's removal is confirmed but not done yet; Bob is kept: nobody is reported.
	for i := range 2 {
		if res := f.check(t, ig, "again-"+string(rune('a'+i)), snap); res.Reported != 0 {
			t.Fatalf("day %d: reported %d again", i+1, res.Reported)
		}
	}
	// Bob comes back, then leaves again: he is reported again, and no longer kept.
	for _, status := range []domain.UserStatus{domain.UserActive, domain.UserDeprovisioned} {
		f.importRun(t, "dir-"+string(status), true, []domain.DirectoryUser{
			user("u-bob", "bob@acme.test", "Bob", status),
			user("u-cy", "cy@acme.test", "Cy", domain.UserDeprovisioned),
			user("u-dee", "dee@acme.test", "Dee", domain.UserActive),
		})
	}
	res := f.check(t, ig, "after-return", snap)
	if res.Reported != 1 || f.count(t, `SELECT count(*) FROM report_members WHERE report_id = $1 AND member_id = 'm-bob'`, res.ReportID) != 1 {
		t.Fatalf("after leaving again: reported %d", res.Reported)
	}
	if m, _ := f.st.Member(ctx, f.ws.ID, ig.ID, "m-bob"); m.KeptBy != nil {
		t.Fatal("bob is still kept after being reported again")
	}
	// Rejected this time; an admin undoes the keep and the next check reports him.
	r, _ := f.st.Report(ctx, "", res.ReportID)
	if _, err := f.st.DecideReport(ctx, store.Decision{ReportID: r.ID, Actor: "api_key:k1", Version: r.Version}); err != nil {
		t.Fatal(err)
	}
	if res := f.check(t, ig, "after-reject", snap); res.Reported != 0 {
		t.Fatalf("a rejected report came back with %d", res.Reported)
	}
	f.apply(t, ig, store.MemberChange{MemberID: "m-bob", Action: store.ActionUnkeep})
	if res := f.check(t, ig, "after-unkeep", snap); res.Reported != 1 {
		t.Fatalf("after the keep was undone: reported %d", res.Reported)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events WHERE action = 'member.unkeep'`); n != 1 {
		t.Fatalf("%d unkeep audit events", n)
	}
}

// A retried report e-mail goes only to the admins who have not had it.
func TestReportMailOncePerAdmin(t *testing.T) {
	f, _, reportID := reported(t)
	ctx := context.Background()
	expires := time.Now().Add(time.Hour)
	first, err := f.st.IssueReportLinks(ctx, reportID, "run/5", expires)
	if err != nil || len(first) != 2 {
		t.Fatalf("links: %d, %v", len(first), err)
	}
	if err := f.st.NoteReportMailSent(ctx, reportID, "run/5", first[0].Recipient); err != nil {
		t.Fatal(err)
	}
	retry, err := f.st.IssueReportLinks(ctx, reportID, "run/5", expires)
	if err != nil || len(retry) != 1 || retry[0].Recipient != first[1].Recipient {
		t.Fatalf("retry links: %+v, %v", retry, err)
	}
	if reminder, _ := f.st.IssueReportLinks(ctx, reportID, "run/9", expires); len(reminder) != 2 {
		t.Fatalf("another e-mail goes to %d admins, want 2", len(reminder))
	}
	if admins, _ := f.st.ReportAdmins(ctx, reportID, "run/5"); len(admins) != 1 || admins[0] != first[1].Recipient {
		t.Fatalf("admins not yet mailed: %v", admins)
	}
}

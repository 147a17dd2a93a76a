package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// addUsers adds active users to the fixture's directory.
func addUsers(t *testing.T, f *fixture, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := f.db.Exec(context.Background(), `INSERT INTO directory_users (directory_id, external_id, email, status)
			VALUES ($1, $2, $2 || '@acme.test', 'active')`, f.dir.ID, id); err != nil {
			t.Fatal(err)
		}
	}
}

// An import's groups replace the stored ones: added, renamed, deleted,
// members added and removed; the same listing again writes nothing, and a
// member who is not a user of the directory is left out.
func TestReplaceDirectoryGroups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	addUsers(t, f, "u1", "u2", "u3")
	members := func() map[string][]string {
		t.Helper()
		rows, err := f.db.Query(ctx, `SELECT g.display_name, coalesce(array_agg(m.user_id ORDER BY m.user_id) FILTER (WHERE m.user_id IS NOT NULL), '{}')
			FROM directory_groups g LEFT JOIN directory_group_members m ON m.directory_id = g.directory_id AND m.group_id = g.external_id
			WHERE g.directory_id = $1 GROUP BY g.display_name`, f.dir.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for rows.Next() {
			var name string
			var ids []string
			if err := rows.Scan(&name, &ids); err != nil {
				t.Fatal(err)
			}
			out[name] = ids
		}
		return out
	}
	replace := func(groups ...domain.DirectoryGroup) store.GroupCounts {
		t.Helper()
		c, err := f.st.ReplaceDirectoryGroups(ctx, f.dir.ID, groups)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := []domain.DirectoryGroup{{ExternalID: "g1", Name: "Marketing", Members: []string{"u1", "u2"}},
		{ExternalID: "g2", Name: "Agencies", Members: []string{"u3", "not-a-user"}}}
	if c := replace(first...); c != (store.GroupCounts{Groups: 2, GroupsAdded: 2, MembersAdded: 3}) {
		t.Fatalf("first: %+v", c)
	}
	if c := replace(first...); c != (store.GroupCounts{Groups: 2}) {
		t.Fatalf("unchanged: %+v", c)
	}
	c := replace(domain.DirectoryGroup{ExternalID: "g1", Name: "Marketing EMEA", Members: []string{"u1", "u3"}},
		domain.DirectoryGroup{ExternalID: "g3", Name: "New", Members: []string{}})
	got := members()
	if c.GroupsAdded != 1 || c.GroupsRemoved != 1 || !slices.Equal(got["Marketing EMEA"], []string{"u1", "u3"}) || len(got) != 2 ||
		got["New"] == nil || got["Agencies"] != nil {
		t.Fatalf("after the change: %+v %v", c, got)
	}
	groups, _, err := f.st.ListDirectoryGroups(ctx, f.ws.ID, f.dir.ID, "emea", store.Page{})
	if err != nil || len(groups) != 1 || groups[0].MemberCount != 2 {
		t.Fatalf("listed %+v %v", groups, err)
	}
}

// A round of changes adds and renames groups, keeps a group's name when an
// item carries only members, adds joiners, drops leavers and deleted
// groups, and keeps the next delta link.
func TestApplyGroupChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	addUsers(t, f, "u1", "u2", "u3")
	if _, err := f.st.ApplyGroupImport(ctx, f.dir.ID, domain.GroupImport{Full: true, DeltaLink: "https://graph/d1", Groups: []domain.DirectoryGroup{
		{ExternalID: "g1", Name: "Marketing", Members: []string{"u1"}}, {ExternalID: "g2", Name: "Agencies", Members: []string{"u3"}}}}); err != nil {
		t.Fatal(err)
	}
	c, err := f.st.ApplyGroupImport(ctx, f.dir.ID, domain.GroupImport{DeltaLink: "https://graph/d2",
		Groups:  []domain.DirectoryGroup{{ExternalID: "g1", Members: []string{"u2"}}, {ExternalID: "g4", Name: "New", Members: []string{"u3"}}},
		Left:    map[string][]string{"g1": {"u1"}},
		Removed: []string{"g2"}})
	if err != nil {
		t.Fatal(err)
	}
	if c != (store.GroupCounts{Groups: 2, GroupsAdded: 1, GroupsRemoved: 1, MembersAdded: 2, MembersRemoved: 1}) {
		t.Fatalf("counts %+v", c)
	}
	groups, _, err := f.st.ListDirectoryGroups(ctx, f.ws.ID, f.dir.ID, "", store.Page{})
	if err != nil || len(groups) != 2 || groups[0].Name != "Marketing" || groups[0].MemberCount != 1 || groups[1].Name != "New" {
		t.Fatalf("groups %+v %v", groups, err)
	}
	d, err := f.st.DirectoryByID(ctx, f.dir.ID)
	if err != nil || d.GroupsDeltaLink != "https://graph/d2" {
		t.Fatalf("delta link %q %v", d.GroupsDeltaLink, err)
	}
}

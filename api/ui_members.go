package api

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/labstack/echo/v4"
)

// The console's Members pages: the tabs, a member's page and its dialogs,
// invitations and bulk actions.

// memberTabs are the Members page's tabs, in order.
var memberTabs = []domain.MemberState{domain.StateOnboarded, domain.StateUnmatched, domain.StateExempted, domain.StatePending,
	domain.StateRemoved, domain.StateSystem}

func (s *Server) uiMembers(c echo.Context) error { return s.membersPage(c, http.StatusOK, "") }

// membersPage shows a tab of members, searched, 50 a page; admins tick
// members for a bulk action, whose refusal formError says.
func (s *Server) membersPage(c echo.Context, status int, formError string) error {
	sess, ctx := uiSession(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	tab := domain.MemberState(c.QueryParam("tab"))
	if tab == "" {
		tab = domain.StateOnboarded
	}
	if !tab.Valid() {
		return domain.Errorf(domain.EInvalid, "there is no tab %q", tab)
	}
	q := c.QueryParam("q")
	if len(q) > 200 {
		return domain.Errorf(domain.EInvalid, "the search is longer than 200 characters")
	}
	sort := c.QueryParam("sort")
	members, next, err := s.Store.ListMembers(ctx, sess.WorkspaceID, ig.ID, store.MemberFilter{State: tab, Query: q, Sort: sort},
		store.Page{Limit: 50, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	counts, err := s.Store.MemberCounts(ctx, ig.ID)
	if err != nil {
		return err
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	return s.uiRender(c, status, "members.html", map[string]any{"App": ig, "Tab": tab, "Tabs": memberTabs, "Counts": counts,
		"Members": members, "Next": next, "Query": q, "CanInvite": d.Can(connector.Invite), "Notice": c.QueryParam("notice"),
		"Error": formError, "Bulk": bulkChoices[tab], "Roles": d.Roles, "Sort": sort})
}

// bulkChoices are the bulk actions each tab offers.
var bulkChoices = map[domain.MemberState][]string{
	domain.StateOnboarded: {store.ActionRemove, store.ActionRole},
	domain.StateUnmatched: {store.ActionRemove, store.ActionExempt, store.ActionRole},
	domain.StateExempted:  {store.ActionUnexempt},
}

// uiBulk starts a bulk action on the ticked members and shows its
// progress; a refusal is shown on the members page, and nothing starts.
func (s *Server) uiBulk(c echo.Context) error {
	sess := uiSession(c)
	form, err := c.FormParams()
	if err != nil {
		return s.membersPage(c, http.StatusBadRequest, "The form could not be read. Nothing was changed.")
	}
	if len(form["member"]) == 0 {
		return s.membersPage(c, http.StatusBadRequest, "Tick the members to act on. Nothing was changed.")
	}
	b, _, err := s.startBulkAction(c.Request().Context(), store.BulkAction{WorkspaceID: sess.WorkspaceID, IntegrationID: c.Param("id"),
		Action: form.Get("action"), Actor: "console:" + sess.Email, Reason: strings.TrimSpace(form.Get("reason")), Role: form.Get("role"),
		MemberIDs: form["member"]})
	if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
		return s.membersPage(c, statusOf[code], messageOf(err)+". Nothing was changed.")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps/"+b.IntegrationID+"/bulk/"+b.ID)
}

// uiBulkProgress follows a bulk action until every member has an outcome.
func (s *Server) uiBulkProgress(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	b, err := s.Store.BulkAction(ctx, sess.WorkspaceID, c.Param("bulk"))
	if err != nil {
		return err
	}
	if b.IntegrationID != c.Param("id") {
		return domain.Errorf(domain.ENotFound, "bulk action not found")
	}
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, b.IntegrationID)
	if err != nil {
		return err
	}
	names, err := s.Store.MemberNames(ctx, ig.ID, b.MemberIDs)
	if err != nil {
		return err
	}
	return s.uiRender(c, http.StatusOK, "bulk.html", map[string]any{"App": ig, "Bulk": b, "Names": names, "Refresh": b.FinishedAt == nil})
}

// uiMember shows one member, its recent actions and, for admins, the
// actions its tab allows.
func (s *Server) uiMember(c echo.Context) error {
	return s.memberPage(c, http.StatusOK, noticeOf(c), "", nil)
}

func (s *Server) memberPage(c echo.Context, status int, notice, formError string, form map[string]string) error {
	sess, ctx := uiSession(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	m, err := s.Store.Member(ctx, sess.WorkspaceID, ig.ID, c.Param("member"))
	if err != nil {
		return err
	}
	actions, err := s.Store.MemberActions(ctx, sess.WorkspaceID, ig.ID, m.ExternalID)
	if err != nil {
		return err
	}
	if form == nil {
		form = map[string]string{}
	}
	base := "/ui/apps/" + ig.ID + "/members/" + m.ExternalID
	people := peopleForm{Title: "Re-assign", Intro: "Give this account to someone else of the directory.", SearchURL: base,
		PostURL: base + "/" + store.ActionReassign, Button: "Re-assign to"}
	if m.State == domain.StateUnmatched {
		people = peopleForm{Title: "Match user", Intro: "Whose account is this? Find them in the directory.", SearchURL: base,
			PostURL: base + "/" + store.ActionMatch, Button: "Match to", RoleField: "hub_role", Roles: hubRoles}
	}
	if err := s.findPeople(c, &people); err != nil {
		return err
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	// The role form: the tasks on each asset the member holds, and one
	// more asset to give tasks on.
	var held []assetChoice
	var others []domain.Asset
	var taskTypes []taskType
	if d.Can(connector.SetAssetTasks) {
		assets, err := s.Store.AssetsOf(ctx, sess.WorkspaceID, ig.ID, store.MaxLimit)
		if err != nil {
			return err
		}
		for _, a := range m.Assets {
			choice := assetChoice{MemberAsset: a}
			for _, task := range d.Tasks[a.Type] {
				choice.Tasks = append(choice.Tasks, taskChoice{Name: task, Held: slices.Contains(a.Tasks, task)})
			}
			held = append(held, choice)
		}
		for _, a := range assets {
			if !slices.ContainsFunc(m.Assets, func(h store.MemberAsset) bool { return h.AssetID == a.ExternalID }) {
				others = append(others, a)
			}
		}
		for _, t := range slices.Sorted(maps.Keys(d.Tasks)) {
			taskTypes = append(taskTypes, taskType{Type: t, Tasks: d.Tasks[t]})
		}
	}
	return s.uiRender(c, status, "member.html", map[string]any{"App": ig, "Member": m, "Actions": actions, "Notice": notice,
		"Error": formError, "Form": form, "Roles": d.Roles, "CanSetRole": d.Can(connector.SetRole), "Held": held, "Others": others,
		"TaskTypes": taskTypes, "People": people})
}

// peopleForm is a directory search whose results each get a button:
// match, re-assign or invite that person.
type peopleForm struct {
	Title, Intro, SearchURL, PostURL, Button string
	// RoleField, when set, is the role select each result's form sends.
	RoleField string
	Roles     []connector.Role
	CSRF      string
	// Person is the search, Found whom it found.
	Person string
	Found  []store.Person
}

// hubRoles are what a matched person is to their account.
var hubRoles = []connector.Role{{Name: "owner", Label: "owner"}, {Name: "collaborator", Label: "collaborator"}}

// findPeople runs the request's directory search (?person=) into f.
func (s *Server) findPeople(c echo.Context, f *peopleForm) error {
	sess := uiSession(c)
	f.CSRF, f.Person = sess.CSRF, strings.TrimSpace(c.QueryParam("person"))
	if len(f.Person) > 200 {
		return domain.Errorf(domain.EInvalid, "the search is longer than 200 characters")
	}
	if f.Person == "" {
		return nil
	}
	var err error
	f.Found, err = s.Store.SearchPeople(c.Request().Context(), sess.WorkspaceID, f.Person, 10)
	return err
}

// assetChoice is an asset the member holds, in the role form: each task
// its type takes, ticked when held.
type assetChoice struct {
	store.MemberAsset
	Tasks []taskChoice
}

type taskChoice struct {
	Name string
	Held bool
}

// taskType is an asset type and the tasks it takes.
type taskType struct {
	Type  string
	Tasks []string
}

// roleChange reads the role form: the role if it changes, and the assets
// whose ticked tasks differ from what the member holds.
func roleChange(c echo.Context, m store.Member) (string, []store.AssetTasks, error) {
	form, err := c.FormParams()
	if err != nil {
		return "", nil, domain.Errorf(domain.EInvalid, "the form could not be read")
	}
	role := form.Get("role")
	if role == m.Role {
		role = ""
	}
	held := map[string][]string{}
	for _, a := range m.Assets {
		held[a.AssetID] = a.Tasks
	}
	var assets []store.AssetTasks
	for _, id := range form["asset"] {
		ticked := form["task:"+id]
		slices.Sort(ticked)
		was := slices.Sorted(slices.Values(held[id]))
		if !slices.Equal(ticked, was) {
			assets = append(assets, store.AssetTasks{AssetID: id, Tasks: append([]string{}, ticked...)})
		}
	}
	// Another asset, as "type/id", takes the ticked tasks of its type.
	if kind, id, ok := strings.Cut(form.Get("add_asset"), "/"); ok && held[id] == nil {
		ticked := form["add_task:"+kind]
		if len(ticked) == 0 {
			return "", nil, domain.Errorf(domain.EInvalid, "tick the tasks to give on the other asset")
		}
		assets = append(assets, store.AssetTasks{AssetID: id, Tasks: slices.Sorted(slices.Values(ticked))})
	}
	if role == "" && len(assets) == 0 {
		return "", nil, domain.Errorf(domain.EInvalid, "nothing would change: choose another role or tick other tasks")
	}
	return role, assets, nil
}

// uiMemberAction starts an action from the member page's form; bad input
// is shown in the form, and nothing starts.
func (s *Server) uiMemberAction(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := uiSession(c)
		ch := store.MemberChange{WorkspaceID: sess.WorkspaceID, IntegrationID: c.Param("id"), MemberID: c.Param("member"),
			Action: action, Actor: "console:" + sess.Email}
		form := map[string]string{"email": c.FormValue("email"), "reason": c.FormValue("reason")}
		switch action {
		case store.ActionMatch, store.ActionReassign:
			ch.MatchedEmail, ch.HubRole = domain.NormalizeEmail(form["email"]), c.FormValue("hub_role")
			if ch.MatchedEmail == "" {
				return s.memberPage(c, http.StatusBadRequest, "", "Choose the directory person.", form)
			}
		case store.ActionExempt:
			ch.Reason = strings.TrimSpace(form["reason"])
		case store.ActionRole:
			m, err := s.Store.Member(c.Request().Context(), sess.WorkspaceID, ch.IntegrationID, ch.MemberID)
			if err != nil {
				return err
			}
			if ch.Role, ch.Assets, err = roleChange(c, m); err != nil {
				return s.memberPage(c, http.StatusBadRequest, "", messageOf(err)+".", form)
			}
		}
		if _, err := s.startMemberChange(c.Request().Context(), ch); err != nil {
			if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
				return s.memberPage(c, statusOf[code], "", messageOf(err), form)
			}
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/ui/apps/"+ch.IntegrationID+"/members/"+ch.MemberID+"?notice="+action)
	}
}

// uiInvite shows the Invite page: a directory search whose results each
// get an invitation with a role.
func (s *Server) uiInvite(c echo.Context) error { return s.invitePage(c, http.StatusOK, "") }

func (s *Server) invitePage(c echo.Context, status int, formError string) error {
	ig, err := s.Store.Integration(c.Request().Context(), uiSession(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if err := supported(ig, connector.Invite); err != nil {
		return err
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	base := "/ui/apps/" + ig.ID + "/invite"
	f := peopleForm{Title: "Invite", Intro: "Invite someone of the directory to " + ig.Label + ".", SearchURL: base, PostURL: base,
		Button: "Invite", RoleField: "role", Roles: d.Roles}
	if err := s.findPeople(c, &f); err != nil {
		return err
	}
	return s.uiRender(c, status, "invite.html", map[string]any{"App": ig, "People": f, "Error": formError})
}

// uiSendInvite invites the chosen person; bad input is shown on the page,
// and nothing starts.
func (s *Server) uiSendInvite(c echo.Context) error {
	sess := uiSession(c)
	ch := store.MemberChange{WorkspaceID: sess.WorkspaceID, IntegrationID: c.Param("id"), Action: store.ActionInvite,
		Actor: "console:" + sess.Email, Email: domain.NormalizeEmail(c.FormValue("email")), Role: c.FormValue("role")}
	if ch.Email == "" {
		return s.invitePage(c, http.StatusBadRequest, "Choose the person to invite.")
	}
	if _, err := s.startMemberChange(c.Request().Context(), ch); err != nil {
		if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
			return s.invitePage(c, statusOf[code], messageOf(err)+". Nobody was invited.")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps/"+ch.IntegrationID+"/members?tab=pending&notice=invited")
}

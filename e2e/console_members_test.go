package e2e

import (
	"strings"
	"testing"

	"github.com/go-rod/rod"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// TestConsoleMemberActions drives the member dialogs in real Chromium,
// each checked at the Meta sandbox or in the store: Match user and
// Re-assign through the directory search as you type, a task given on an
// ad account, an invitation, and bulk exempt, remove and role with progress;
// bad input shows its error and changes nothing.
func TestConsoleMemberActions(t *testing.T) {
	s, admin, page := consoleAdmin(t, 120)
	people := s.people
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	memberPage := func(m store.Member) {
		page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members/" + m.ExternalID).MustWaitLoad()
	}
	// search types into the directory search and waits for htmx to show
	// the person's button, without leaving the page.
	search := func(typed, email, button string) *rod.Element {
		t.Helper()
		url := page.MustInfo().URL
		page.MustElement("#person").MustInput(typed)
		found := page.MustElement(`#people button[aria-label="` + button + ` ` + email + `"]`)
		if page.MustInfo().URL != url {
			t.Fatalf("the search left the page for %s", page.MustInfo().URL)
		}
		return found
	}
	inBusiness := map[string]bool{}
	for _, m := range s.members(s.apiKey, ig.ID, "") {
		inBusiness[m.Email] = true
		if m.MatchedEmail != nil {
			inBusiness[*m.MatchedEmail] = true
		}
	}
	var outsiders []seed.Person
	for _, p := range people {
		if p.Status == domain.UserActive && !inBusiness[p.Email] {
			outsiders = append(outsiders, p)
		}
	}
	if len(outsiders) < 3 {
		t.Fatalf("only %d directory people are outside the business", len(outsiders))
	}

	// Match user: an unmatched member matched to a person found by name.
	unmatched := s.firstOf(ig.ID, domain.StateUnmatched, "")
	memberPage(unmatched)
	person := outsiders[0]
	submitIn(page, search(person.DisplayName(), person.Email, "Match to"))
	if !strings.Contains(page.MustElement("#notice").MustText(), "match started") {
		t.Fatal("no notice after matching")
	}
	waitFor(t, "the match", func() bool {
		m := s.member(ig.ID, unmatched.ExternalID)
		return m.State == domain.StateOnboarded && m.MatchedEmail != nil && *m.MatchedEmail == person.Email
	})
	screenshot(t, page, "member-matched")

	// Re-assign: the same account given to someone else.
	memberPage(unmatched)
	other := outsiders[1]
	submitIn(page, search(other.Email[:strings.IndexByte(other.Email, '@')], other.Email, "Re-assign to"))
	waitFor(t, "the re-assignment", func() bool {
		m := s.member(ig.ID, unmatched.ExternalID)
		return m.MatchedEmail != nil && *m.MatchedEmail == other.Email
	})

	// Tasks: nothing changed is refused; ANALYZE on an ad account is given at Meta.
	employee := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	memberPage(employee)
	submit(page, "#set-role")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "nothing would change") {
		t.Fatalf("an unchanged role form: %q", text)
	}
	var ad string
	for id, a := range s.meta.Business(metaBusinessID).Assets {
		if a.Kind == "ad_account" && a.Holders[employee.ExternalID] == nil && (ad == "" || id < ad) {
			ad = id
		}
	}
	pick := page.MustElement("#add-asset")
	pick.MustParents("details").First().MustElement("summary").MustClick()
	if err := pick.Select([]string{`option[value="ad_account/` + ad + `"]`}, true, rod.SelectorTypeCSSSector); err != nil {
		t.Fatal(err)
	}
	page.MustElement(`input[name="add_task:ad_account"][value="ANALYZE"]`).MustClick()
	screenshot(t, page, "member-tasks")
	submit(page, "#set-role")
	waitFor(t, "the task at Meta", func() bool {
		tasks := s.meta.Business(metaBusinessID).Assets[ad].Holders[employee.ExternalID]
		return len(tasks) == 1 && tasks[0] == "ANALYZE"
	})

	// Invite: someone of the directory, as an employee.
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members").MustWaitLoad()
	submit(page, "#invite")
	invitee := outsiders[2]
	button := search(invitee.Email, invitee.Email, "Invite")
	button.MustParent().MustElement(`select[name="role"]`).MustSelect("Partial access")
	screenshot(t, page, "invite")
	submitIn(page, button)
	if !strings.Contains(page.MustElement("#notice").MustText(), "invitation is on its way") {
		t.Fatal("no notice after inviting")
	}
	waitFor(t, "the invitation at Meta", func() bool {
		for _, p := range s.meta.Business(metaBusinessID).Pending {
			if p.Email == invitee.Email && p.Role == "EMPLOYEE" {
				return true
			}
		}
		return false
	})

	// Bulk exempt: without a reason refused, changing nothing; with one, done.
	var ticked []store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateUnmatched)) {
		if m.Kind == domain.MemberUser && len(ticked) < 2 {
			ticked = append(ticked, m)
		}
	}
	tickAll := func() {
		for _, m := range ticked {
			page.MustElement("#tick-" + m.ExternalID).MustClick()
		}
	}
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members?tab=unmatched").MustWaitLoad()
	tickAll()
	page.MustElement("#bulk-action").MustSelect("exempt")
	submit(page, "#bulk-apply")
	if text := page.MustElement("#form-error").MustText(); !strings.Contains(text, "reason is required") ||
		s.member(ig.ID, ticked[0].ExternalID).State != domain.StateUnmatched {
		t.Fatalf("a bulk exempt without a reason: %q", text)
	}
	tickAll()
	page.MustElement("#bulk-action").MustSelect("exempt")
	page.MustElement("#bulk-reason").MustInput("Agency seats, reviewed quarterly")
	submit(page, "#bulk-apply")
	waitFor(t, "the bulk exempt's page to finish", func() bool {
		page.MustReload().MustWaitLoad()
		return strings.Contains(page.MustElement("#progress").MustText(), "2 of 2 members: 2 done")
	})
	if text := page.MustElement("#outcomes").MustText(); !strings.Contains(text, ticked[0].Name) || !strings.Contains(text, ticked[1].Name) {
		t.Fatalf("the bulk page's members: %q", text)
	}
	screenshot(t, page, "bulk")
	for _, m := range ticked {
		if got := s.member(ig.ID, m.ExternalID); got.State != domain.StateExempted || got.ExemptReason != "Agency seats, reviewed quarterly" {
			t.Fatalf("after the bulk exempt: %s %s", got.State, got.ExemptReason)
		}
	}

	// Bulk remove of two onboarded members of the first page: gone at Meta.
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members?tab=onboarded").MustWaitLoad()
	var gone []string
	for _, box := range page.MustElements(`input[name="member"]`) {
		id := box.MustProperty("value").String()
		m := s.member(ig.ID, id)
		if id != employee.ExternalID && id != unmatched.ExternalID && m.Email != admin.Email && m.Kind == domain.MemberUser && len(gone) < 2 {
			box.MustClick()
			gone = append(gone, id)
		}
	}
	page.MustElement("#bulk-action").MustSelect("remove")
	submit(page, "#bulk-apply")
	waitFor(t, "the bulk removal at Meta", func() bool {
		b := s.meta.Business(metaBusinessID)
		return len(gone) == 2 && b.Users[gone[0]] == nil && b.Users[gone[1]] == nil
	})

	// Bulk role: two employees of the first page made admins at Meta.
	page.MustNavigate(s.api.URL + "/ui/apps/" + ig.ID + "/members?tab=onboarded").MustWaitLoad()
	var promoted []string
	for _, box := range page.MustElements(`input[name="member"]`) {
		id := box.MustProperty("value").String()
		if m := s.member(ig.ID, id); m.Kind == domain.MemberUser && m.Role == "EMPLOYEE" && len(promoted) < 2 {
			box.MustClick()
			promoted = append(promoted, id)
		}
	}
	page.MustElement("#bulk-action").MustSelect("role")
	page.MustElement("#bulk-role").MustSelect("Full control")
	submit(page, "#bulk-apply")
	waitFor(t, "the bulk role change at Meta", func() bool {
		b := s.meta.Business(metaBusinessID)
		return len(promoted) == 2 && b.Users[promoted[0]].Role == "ADMIN" && b.Users[promoted[1]].Role == "ADMIN"
	})
}

package metasandbox

import (
	"fmt"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// Shape sizes a generated business.
type Shape struct {
	// Members is the number of business users (people, agency staff, personal addresses).
	Members    int
	Pages      int
	AdAccounts int
	// HoldersPerAsset is how many members hold tasks on each asset.
	HoldersPerAsset int
	// Invitations is the number of pending invitations.
	Invitations int
}

// DemoShape is the dev stack's business.
var DemoShape = Shape{Members: 240, Pages: 24, AdAccounts: 16, HoldersPerAsset: 6, Invitations: 5}

// AgencyDomain and PersonalDomain are addresses no directory knows.
const (
	AgencyDomain   = "agency.example"
	PersonalDomain = "example.net"
)

var pageTasks = [][]string{{"MANAGE", "CREATE_CONTENT", "MODERATE", "ADVERTISE", "ANALYZE"}, {"CREATE_CONTENT", "MODERATE", "ANALYZE"}, {"ANALYZE"}}
var adTasks = [][]string{{"MANAGE", "ADVERTISE", "ANALYZE"}, {"ADVERTISE", "ANALYZE"}, {"ANALYZE"}, {"DRAFT", "ANALYZE"}}

// NewBusiness builds business id from the company's people, deterministically.
// Members cover every matching case: most use their work address, some an
// alias, one the team mailbox two people share, departed people are still
// there, and agency staff and personal addresses match nobody.
func NewBusiness(id, emailDomain string, people []seed.Person, shape Shape, now time.Time) *Business {
	b := &Business{ID: id, Name: "Acme Marketing", TwoFactorType: "none", Users: map[string]*BusinessUser{}, Pending: map[string]*PendingUser{},
		SystemUsers: map[string]*SystemUser{}, Assets: map[string]*Asset{}}
	var memberIDs []string
	add := func(email, first, last string) {
		n := len(memberIDs)
		u := &BusinessUser{ID: fmt.Sprintf("%d", 10000000000000+n*7+1), Email: email, FirstName: first, LastName: last,
			Name: first + " " + last, Role: "EMPLOYEE", Tasks: []string{}, UserType: "BUSINESS_USER", TwoFactor: "enabled"}
		if n%3 == 2 {
			u.TwoFactor = "disabled"
		}
		if n%5 == 0 {
			u.Role, u.Tasks = "ADMIN", []string{"MANAGE"}
		}
		b.Users[u.ID] = u
		memberIDs = append(memberIDs, u.ID)
	}
	add(seed.SharedAlias(emailDomain), "Social", "Team")
	used := map[string]bool{}
	for i, p := range people {
		if len(memberIDs) >= shape.Members {
			break
		}
		switch {
		case len(memberIDs)%25 == 24:
			add(strings.ToLower(p.GivenName+"."+p.FamilyName)+fmt.Sprint(i)+"@"+AgencyDomain, p.GivenName, p.FamilyName)
		case len(memberIDs)%40 == 39:
			add(strings.ToLower(p.GivenName)+fmt.Sprint(i)+"@"+PersonalDomain, p.GivenName, p.FamilyName)
		case p.Alias != "" && !p.AliasShared && i%2 == 0:
			add(p.Alias, p.GivenName, p.FamilyName)
			used[p.Key] = true
		default:
			add(p.Email, p.GivenName, p.FamilyName)
			used[p.Key] = true
		}
	}
	for n := 0; len(memberIDs) < shape.Members; n++ {
		add(fmt.Sprintf("contractor%d@%s", n, AgencyDomain), "Contractor", fmt.Sprint(n))
	}
	for _, p := range people {
		if len(b.Pending) >= shape.Invitations {
			break
		}
		if !used[p.Key] && p.Status == domain.UserActive {
			id := fmt.Sprintf("%d", 20000000000000+len(b.Pending)*3+1)
			b.Pending[id] = &PendingUser{ID: id, Email: p.Email, Role: "EMPLOYEE", Tasks: []string{}, Status: "PENDING",
				CreatedTime:    now.Add(-48 * time.Hour).Format("2006-01-02T15:04:05-0700"),
				ExpirationTime: now.Add(28 * 24 * time.Hour).Format("2006-01-02T15:04:05-0700")}
		}
	}
	admin := &SystemUser{ID: "30000000000001", Name: "Hubkeeper automation", Role: "ADMIN",
		CreatedTime: now.Add(-10 * 24 * time.Hour).Format("2006-01-02T15:04:05-0700")}
	b.SystemUsers[admin.ID] = admin
	b.SystemUsers["30000000000002"] = &SystemUser{ID: "30000000000002", Name: "Reporting integration", Role: "EMPLOYEE",
		CreatedTime: now.Add(-400 * 24 * time.Hour).Format("2006-01-02T15:04:05-0700")}

	// Two agencies work on some of the assets; the business works for a client.
	b.Agencies = []Partner{{ID: "70000000000001", Name: "Brightside Media"}, {ID: "70000000000002", Name: "Northwind Performance"}}
	b.Clients = []Partner{{ID: "70000000000011", Name: "Acme Retail Europe"}}
	addAsset := func(n int, kind string) {
		a := &Asset{Kind: kind, Ownership: "owned", Holders: map[string][]string{admin.ID: {"MANAGE"}}, Partners: map[string][]string{}}
		if n%3 == 0 {
			a.Partners[b.Agencies[0].ID] = []string{"ADVERTISE", "ANALYZE"}
		}
		if n%7 == 0 {
			a.Partners[b.Agencies[1].ID] = []string{"ANALYZE"}
		}
		tasks := pageTasks
		if kind == "page" {
			a.ID, a.Name = fmt.Sprintf("%d", 40000000000000+n*13+1), fmt.Sprintf("Acme Page %d", n+1)
		} else {
			a.ID, a.Name, tasks = fmt.Sprintf("act_%d", 50000000000000+n*17+1), fmt.Sprintf("Acme Ads %d", n+1), adTasks
		}
		if n%5 == 4 {
			a.Ownership = "client"
		}
		for h := range shape.HoldersPerAsset {
			m := memberIDs[(n*shape.HoldersPerAsset+h*7)%len(memberIDs)]
			a.Holders[m] = tasks[(n+h)%len(tasks)]
		}
		b.Assets[a.ID] = a
	}
	for n := range shape.Pages {
		addAsset(n, "page")
	}
	for n := range shape.AdAccounts {
		addAsset(n, "ad_account")
	}
	return b
}

// FirstAsset returns the lowest id among the business's assets of kind
// ("page" or "ad_account"), for tests that need one of each.
func (b *Business) FirstAsset(kind string) string {
	first := ""
	for id, a := range b.Assets {
		if a.Kind == kind && (first == "" || id < first) {
			first = id
		}
	}
	return first
}

package pinsandbox

import (
	"fmt"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// NewDemoBusiness builds a business from directory people: the automation
// account (a Manager), then up to members people, every tenth a Manager,
// every fifteenth with a personal address (unmatched in Hubkeeper), every
// twentieth a Partner from an agency, and ad accounts whose holders have
// permissions.
func NewDemoBusiness(id, name, automationEmail string, people []seed.Person, members, adAccounts int) *Business {
	b := NewBusiness(id, name)
	add := func(n int, name, email, role string) string {
		mid := fmt.Sprintf("%d", 549755813000+n)
		b.Members[mid] = &Member{ID: mid, Name: name, Email: strings.ToLower(email), Role: role}
		return mid
	}
	automation := add(0, "Hubkeeper automation", automationEmail, RoleManager)
	var ids []string
	for i, p := range people {
		if len(ids) == members {
			break
		}
		email, role := p.Email, RoleEmployee
		switch {
		case (i+1)%20 == 0:
			email, role = strings.ToLower(p.GivenName)+"@agency.example", RolePartner
		case (i+1)%15 == 0:
			email = strings.ToLower(p.GivenName+"."+p.FamilyName) + "@gmail.example"
		case (i+1)%10 == 0:
			role = RoleManager
		}
		ids = append(ids, add(i+1, p.DisplayName(), email, role))
	}
	permissions := []string{"ADMIN", "ANALYST", "CAMPAIGN_MANAGER", "FINANCE_MANAGER"}
	for n := range adAccounts {
		aid := fmt.Sprintf("%d", 549755900000+n)
		a := &AdAccount{ID: aid, Name: fmt.Sprintf("%s Ads %d", name, n+1), Holders: map[string]string{automation: "ADMIN"}}
		for k := n; k < len(ids); k += max(adAccounts, 1) * 3 {
			a.Holders[ids[k]] = permissions[k%len(permissions)]
		}
		b.AdAccounts[aid] = a
	}
	return b
}

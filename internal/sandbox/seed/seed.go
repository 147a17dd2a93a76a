// Package seed generates a realistic, deterministic company for the sandbox
// providers: employees with names, work e-mails, some aliases, and a share
// of suspended and departed (deprovisioned) people.
package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Person is one employee, as every sandbox provider knows them.
type Person struct {
	Key        string // stable key, e.g. "p0042"
	GivenName  string
	FamilyName string
	Email      string
	// Alias is a second address some people have ("" if none).
	Alias string
	// AliasShared marks a team mailbox that two people both have as alias.
	AliasShared bool
	Status      domain.UserStatus
}

// SharedAlias is the team mailbox the first two active people share.
func SharedAlias(emailDomain string) string { return "social@" + emailDomain }

// DisplayName is "Given Family".
func (p Person) DisplayName() string { return p.GivenName + " " + p.FamilyName }

var given = []string{"Ada", "Alan", "Amara", "Ana", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dana", "David",
	"Diego", "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana", "Jonas",
	"Julia", "Kai", "Kenji", "Laila", "Leo", "Lina", "Lucas", "Maria", "Mateo", "Maya", "Mei", "Mohammed", "Nadia", "Nia",
	"Noah", "Olga", "Omar", "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Uma", "Victor", "Yara", "Zoe"}

var family = []string{"Abbott", "Adeyemi", "Almeida", "Andersen", "Baker", "Bauer", "Chen", "Costa", "Dubois", "Evans",
	"Fischer", "Garcia", "Gupta", "Haddad", "Hansen", "Ito", "Jensen", "Kim", "Kowalski", "Larsen", "Lee", "Lopez", "Martin",
	"Meyer", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Pereira", "Quinn", "Rossi", "Sato",
	"Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thomas", "Ueda", "Wagner", "Wang", "Weber",
	"Williams", "Yamamoto", "Zhang"}

// Company returns n people at emailDomain, the same for the same arguments.
// About 3% are suspended and 6% deprovisioned; about 15% have an alias,
// and the first two active people share a team mailbox (SharedAlias).
// Addresses are unique: a repeated name gets a number.
func Company(emailDomain string, n int, rngSeed uint64) []Person {
	rng := rand.New(rand.NewPCG(rngSeed, 0x9e3779b97f4a7c15))
	used := map[string]int{}
	people := make([]Person, n)
	for i := range people {
		g, f := given[rng.IntN(len(given))], family[rng.IntN(len(family))]
		local := strings.ToLower(g + "." + f)
		used[local]++
		if used[local] > 1 {
			local = fmt.Sprintf("%s%d", local, used[local])
		}
		p := Person{Key: fmt.Sprintf("p%05d", i), GivenName: g, FamilyName: f, Email: local + "@" + emailDomain,
			Status: domain.UserActive}
		switch r := rng.IntN(100); {
		case r < 3:
			p.Status = domain.UserSuspended
		case r < 9:
			p.Status = domain.UserDeprovisioned
		}
		if rng.IntN(100) < 15 {
			p.Alias = fmt.Sprintf("%s%s%d@%s", strings.ToLower(g[:1]), strings.ToLower(f), i, emailDomain)
		}
		people[i] = p
	}
	shared := 0
	for i := range people {
		if shared < 2 && people[i].Status == domain.UserActive {
			people[i].Alias, people[i].AliasShared = SharedAlias(emailDomain), true
			shared++
		}
	}
	return people
}

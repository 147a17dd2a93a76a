package domain

import (
	"fmt"
	"slices"
	"strings"
)

// MetaRoles are the business roles Hubkeeper assigns in Meta Business
// Manager: the UI's "Full control" (ADMIN) and "Partial access" (EMPLOYEE).
var MetaRoles = []string{"ADMIN", "EMPLOYEE"}

// PinterestRoles are the business roles Hubkeeper assigns in Pinterest
// Business Manager: the UI's "Manager" (BIZ_ADMIN) and "Employee".
var PinterestRoles = []string{"BIZ_ADMIN", "EMPLOYEE"}

// CheckRole says whether role is one Hubkeeper assigns in a provider's business.
func CheckRole(p Provider, role string) error {
	switch {
	case p == ProviderPinterest && !slices.Contains(PinterestRoles, role):
		return Errorf(EInvalid, "role must be BIZ_ADMIN (Manager) or EMPLOYEE (Employee)")
	case p != ProviderPinterest && !slices.Contains(MetaRoles, role):
		return Errorf(EInvalid, "role must be ADMIN (Full control) or EMPLOYEE (Partial access)")
	}
	return nil
}

// Task sets Meta accepts on an asset, by asset type. Each set is what the
// Business Manager UI offers; any other combination is answered with
// error 100/1752129 for ad accounts (and refused alike for Pages).
var taskSets = map[string][][]string{
	"page": {
		{"MANAGE", "CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"},
		{"CREATE_CONTENT", "MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"},
		{"MODERATE", "MESSAGING", "ADVERTISE", "ANALYZE"},
		{"ADVERTISE", "ANALYZE"},
		{"ANALYZE"},
	},
	"ad_account": {
		{"MANAGE", "ADVERTISE", "ANALYZE"},
		{"ADVERTISE", "ANALYZE"},
		{"DRAFT", "ANALYZE"},
		{"ANALYZE"},
	},
}

// ValidMetaTasks checks Meta tasks for an asset type; an empty list means "no access".
func ValidMetaTasks(assetType string, tasks []string) error {
	sets, ok := taskSets[assetType]
	if !ok {
		return fmt.Errorf("assets of type %q take no tasks", assetType)
	}
	if len(tasks) == 0 {
		return nil
	}
	got := slices.Clone(tasks)
	slices.Sort(got)
	for _, set := range sets {
		want := slices.Clone(set)
		slices.Sort(want)
		if slices.Equal(got, want) {
			return nil
		}
	}
	var allowed []string
	for _, set := range sets {
		allowed = append(allowed, "["+strings.Join(set, ",")+"]")
	}
	return fmt.Errorf("tasks [%s] are not a combination Meta allows on a %s; use one of %s",
		strings.Join(tasks, ","), strings.ReplaceAll(assetType, "_", " "), strings.Join(allowed, " "))
}

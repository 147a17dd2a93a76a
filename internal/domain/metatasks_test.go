package domain

import "testing"

// Every task set Meta's enums allow is accepted, single tasks included;
// unknown tasks and a task twice are not.
func TestValidMetaTasks(t *testing.T) {
	for _, ok := range []struct {
		asset string
		tasks []string
	}{
		{"page", []string{"MANAGE"}}, {"page", []string{"ANALYZE"}}, {"page", []string{"PROFILE_PLUS_FULL_CONTROL", "MESSAGING"}},
		{"ad_account", []string{"MANAGE"}}, {"ad_account", []string{"AA_ANALYZE"}}, {"ad_account", []string{"DRAFT", "ANALYZE"}},
		{"ad_account", nil},
	} {
		if err := ValidMetaTasks(ok.asset, ok.tasks); err != nil {
			t.Errorf("%s %v: %v", ok.asset, ok.tasks, err)
		}
	}
	for _, bad := range []struct {
		asset string
		tasks []string
	}{
		{"page", []string{"DRAFT"}}, {"ad_account", []string{"MODERATE"}}, {"ad_account", []string{"ANALYZE", "ANALYZE"}},
		{"catalog", []string{"MANAGE"}},
	} {
		if err := ValidMetaTasks(bad.asset, bad.tasks); err == nil {
			t.Errorf("%s %v was accepted", bad.asset, bad.tasks)
		}
	}
}

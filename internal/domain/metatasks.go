package domain

import (
	"fmt"
	"slices"
	"strings"
)

// MetaTasks are the tasks Meta takes on an asset, by asset type: the enums
// of the assigned_users edges (pageassigned_users_tasks_enum_param,
// adaccountassigned_users_tasks_enum_param). Any set of them is a valid
// request; Meta itself refuses combinations it does not allow (error
// 100/1752129 on ad accounts), and Hubkeeper shows its answer.
var MetaTasks = map[string][]string{
	"page": {"ADVERTISE", "ANALYZE", "CASHIER_ROLE", "CREATE_CONTENT", "GLOBAL_STRUCTURE_MANAGEMENT", "MANAGE", "MANAGE_JOBS",
		"MANAGE_LEADS", "MESSAGING", "MODERATE", "MODERATE_COMMUNITY", "PAGES_MESSAGING", "PAGES_MESSAGING_SUBSCRIPTIONS",
		"PROFILE_PLUS_ADVERTISE", "PROFILE_PLUS_ANALYZE", "PROFILE_PLUS_CREATE_CONTENT", "PROFILE_PLUS_FACEBOOK_ACCESS",
		"PROFILE_PLUS_FULL_CONTROL", "PROFILE_PLUS_GLOBAL_STRUCTURE_MANAGEMENT", "PROFILE_PLUS_MANAGE", "PROFILE_PLUS_MANAGE_LEADS",
		"PROFILE_PLUS_MESSAGING", "PROFILE_PLUS_MODERATE", "PROFILE_PLUS_MODERATE_DELEGATE_COMMUNITY", "PROFILE_PLUS_REVENUE",
		"READ_PAGE_MAILBOXES", "VIEW_MONETIZATION_INSIGHTS"},
	"ad_account": {"AA_ANALYZE", "ADVERTISE", "ANALYZE", "DRAFT", "MANAGE"},
}

// ValidMetaTasks checks tasks for an asset type against Meta's enum, each
// at most once; an empty list means "no access".
func ValidMetaTasks(assetType string, tasks []string) error {
	return ValidTasks("Meta", MetaTasks, assetType, tasks)
}

// ValidTasks checks tasks for an asset type against what provider (its
// name) takes on each asset type, each at most once.
func ValidTasks(provider string, known map[string][]string, assetType string, tasks []string) error {
	takes, ok := known[assetType]
	if !ok {
		return fmt.Errorf("assets of type %q take no tasks", assetType)
	}
	for i, task := range tasks {
		if !slices.Contains(takes, task) {
			return fmt.Errorf("%q is not a task %s knows on a %s; use %s", task, provider, strings.ReplaceAll(assetType, "_", " "),
				strings.Join(takes, ", "))
		}
		if slices.Contains(tasks[:i], task) {
			return fmt.Errorf("task %s is listed twice", task)
		}
	}
	return nil
}

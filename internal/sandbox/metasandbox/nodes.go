package metasandbox

import (
	"fmt"
	"slices"
	"strings"
)

// nodeFields are the fields Graph documents for each node type the sandbox
// serves (specs/meta-business-graph.json). A field outside them is refused.
var nodeFields = map[string][]string{
	"Business":            {"created_time", "id", "name", "primary_page", "two_factor_type", "verification_status"},
	"Page":                {"access_token", "business", "id", "is_owned", "name", "verification_status"},
	"AdAccount":           {"account_id", "account_status", "business", "id", "name", "owner", "user_tasks"},
	"Application":         {"app_type", "id", "name", "owner_business"},
	"BusinessUser":        {"business", "business_role_request", "email", "finance_permission", "first_name", "id", "ip_permission", "last_name", "marked_for_removal", "name", "pending_email", "role", "tasks", "title", "two_fac_status"},
	"BusinessRoleRequest": {"created_by", "created_time", "email", "expiration_time", "expiry_time", "finance_role", "id", "invite_link", "invited_user_type", "ip_role", "owner", "role", "status", "tasks", "updated_by", "updated_time"},
	"SystemUser":          {"created_by", "created_time", "finance_permission", "id", "ip_permission", "name"},
	"AssignedUser":        {"business", "id", "name", "user_type"},
}

// businessEdgeFields and assetEdgeFields are what an edge adds to the nodes
// it lists: a system user's role on a business's system_users; a holder's
// tasks on an asset's assigned_users, a partner's permitted_tasks on an
// asset's agencies (not on the business's).
var (
	businessEdgeFields = map[string][]string{"system_users": {"role"}}
	assetEdgeFields    = map[string][]string{"assigned_users": {"tasks"}, "agencies": {"permitted_tasks"}}
)

// edgeNodes is the node type each edge lists.
var edgeNodes = map[string]string{
	"business_users": "BusinessUser", "pending_users": "BusinessRoleRequest", "system_users": "SystemUser",
	"owned_pages": "Page", "client_pages": "Page", "owned_ad_accounts": "AdAccount", "client_ad_accounts": "AdAccount",
	"owned_apps": "Application", "assigned_users": "AssignedUser", "agencies": "Business", "clients": "Business",
}

// businessUserRoles is businessbusiness_users_role_enum_param: the roles a
// business user may be given.
var businessUserRoles = []string{"ADMIN", "ADS_RIGHTS_REVIEWER", "DEFAULT", "DEVELOPER", "EMPLOYEE", "FINANCE_ANALYST",
	"FINANCE_EDIT", "FINANCE_EDITOR", "FINANCE_VIEW", "MANAGE", "PARTNER_CENTER_ADMIN", "PARTNER_CENTER_ANALYST",
	"PARTNER_CENTER_EDUCATION", "PARTNER_CENTER_MARKETING", "PARTNER_CENTER_OPERATIONS"}

// badRole is Graph's answer to a role outside the enum.
func badRole(role string) Fault {
	return Fault{400, 100, 0, fmt.Sprintf("(#100) Param role must be one of {%s} - got %q", strings.Join(businessUserRoles, ", "), role)}
}

// unknownField refuses, as Graph does, a requested field that node type
// node does not have (extra are the edge's own fields).
func unknownField(node string, extra []string, fields string) *Fault {
	if fields == "" {
		return nil
	}
	for _, f := range topLevel(fields) {
		if !slices.Contains(nodeFields[node], f) && !slices.Contains(extra, f) {
			return &Fault{400, 100, 0, fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", f, node)}
		}
	}
	return nil
}

// project keeps the requested fields; without fields Graph returns id and
// name. A field may ask for subfields (owner_business{id,name}); they are
// not narrowed.
func project(item map[string]any, fields string) map[string]any {
	want := []string{"id", "name"}
	if fields != "" {
		want = append(topLevel(fields), "id")
	}
	out := map[string]any{}
	for _, f := range want {
		if v, ok := item[f]; ok {
			out[f] = v
		}
	}
	return out
}

// topLevel splits a fields parameter at its top-level commas and drops
// each field's {subfields}.
func topLevel(fields string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range fields + "," {
		switch {
		case r == '{':
			depth++
		case r == '}':
			depth--
		case r == ',' && depth == 0:
			name, _, _ := strings.Cut(fields[start:min(i, len(fields))], "{")
			out = append(out, strings.TrimSpace(name))
			start = i + 1
		}
	}
	return out
}

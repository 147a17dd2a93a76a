package pinterest

// Every selector of the Pinterest Business Manager web UI lives in this
// file. The UI has changed over time: where it did, each generation is
// listed (the older "Employees" pages, the newer "People" pages) and the
// automation uses whichever the page has.

// loginUI is the login form and its verification step.
var loginUI = struct {
	Email, Password, Submit, Error         string
	VerifyCode, VerifySubmit, VerifyError  string
	AccessDenied                           string
	LoginPath, VerifyPath, BusinessAppPath string
}{
	Email:           `input#email, input[name="id"], input[type="email"]`,
	Password:        `input#password, input[name="password"], input[type="password"]`,
	Submit:          `button[type="submit"]`,
	Error:           `[data-test-id="login-error"], form [role="alert"]`,
	VerifyCode:      `input#code, input[name="code"], input[autocomplete="one-time-code"]`,
	VerifySubmit:    `button[type="submit"]`,
	VerifyError:     `[data-test-id="verification-error"], form [role="alert"]`,
	AccessDenied:    `[data-test-id="access-denied"]`,
	LoginPath:       "/login/",
	VerifyPath:      "/login/verify/",
	BusinessAppPath: "/business/business-access/",
}

// memberTable is one generation of the members list: where its rows are
// and, inside a row, the member's id attribute, name, e-mail and role.
type memberTable struct {
	Table  string `json:"table"`
	Row    string `json:"row"`
	IDAttr string `json:"idAttr"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Next   string `json:"next"`
}

// memberTables are the members lists the UI has had, newest first.
var memberTables = []memberTable{
	{Table: `[role="table"][aria-label="People"]`, Row: `[role="row"][data-member-id]`, IDAttr: "data-member-id",
		Name: `[data-test-id="person-name"]`, Email: `[data-test-id="person-email"]`, Role: `[data-test-id="person-role"]`,
		Next: `a[aria-label="Next page"]`},
	{Table: `table[data-test-id="employees-table"]`, Row: `tr[data-test-id="employee-row"]`, IDAttr: "data-member-id",
		Name: `[data-test-id="employee-name"]`, Email: `[data-test-id="employee-email"]`, Role: `[data-test-id="employee-role"]`,
		Next: `a[data-test-id="pagination-next"]`},
}

// roleNames maps the role a members list shows to the API's role.
var roleNames = map[string]string{"Employee": "EMPLOYEE", "Manager": "BIZ_ADMIN", "Admin": "BIZ_ADMIN", "Partner": "PARTNER"}

// manageUI is adding, editing and removing members, invitations and ad accounts.
var manageUI = struct {
	AddLink, EmailsField, RoleSelect, RoleRadio, AddSubmit, FormError string
	MemberPage, MemberDetail, NotFoundText, RoleSave                  string
	RemoveButton, RemoveButtonText                                    string
	InvitesPage, InviteRow, InviteIDAttr, InviteEmail, InviteRole     string
	AdAccountsPage, AdAccountRow, AdAccountIDAttr, AdAccountName      string
	AdAccountPerson, AdAccountPersonIDAttr, AdAccountPermission       string
}{
	// "Add employee" (older) or "Invite people" (newer) on the members list.
	AddLink:     `a[data-test-id="add-employee-button"], a[aria-label="Invite people"]`,
	EmailsField: `textarea[name="emails"], input[name="emails"]`,
	// The role is radio buttons (older) or a select (newer).
	RoleSelect:   `select[name="role"]`,
	RoleRadio:    `input[type="radio"][name="role"][value="%s"]`,
	AddSubmit:    `form button[type="submit"]`,
	FormError:    `form [role="alert"]`,
	MemberPage:   "members/%s/",
	MemberDetail: `[data-test-id="member-detail"]`,
	// NotFoundText is what a page of a member no longer in the business says
	// (a JavaScript regular expression, as rod matches it in the page).
	NotFoundText: `/(404|not found|couldn't find)/i`,
	RoleSave:     `form[action$="/role/"] button[type="submit"]`,
	RemoveButton: `[data-test-id="remove-member"]`,
	// RemoveButtonText finds the button by its words when the test id is gone.
	RemoveButtonText: `^Remove (employee|from business)$`,
	InvitesPage:      "invites/",
	InviteRow:        `[data-test-id="invite-row"]`,
	InviteIDAttr:     "data-invite-id",
	InviteEmail:      `[data-test-id="invite-email"]`,
	InviteRole:       `[data-test-id="invite-role"]`,
	AdAccountsPage:   "ad-accounts/",
	AdAccountRow:     `[data-test-id="ad-account-row"]`,
	AdAccountIDAttr:  "data-ad-account-id",
	AdAccountName:    `a`,
	AdAccountPerson:  `[data-test-id="ad-account-person"]`,
	// AdAccountPersonIDAttr names the member on an ad account's people list.
	AdAccountPersonIDAttr: "data-member-id",
	AdAccountPermission:   `[data-test-id="ad-account-permission"]`,
}

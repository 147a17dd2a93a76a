// Package domain holds Hubkeeper's core types, shared by every other package.
// It imports nothing of ours.
package domain

import (
	"regexp"
	"strings"
	"time"
)

// DirectoryType names a corporate directory provider.
type DirectoryType string

// Supported directory types.
const (
	DirectoryOkta  DirectoryType = "okta"
	DirectoryEntra DirectoryType = "entra"
	// DirectorySCIM is pushed to: its IdP calls Hubkeeper's SCIM 2.0 endpoint.
	DirectorySCIM DirectoryType = "scim"
)

// Valid reports whether t is a supported directory type.
func (t DirectoryType) Valid() bool {
	return t == DirectoryOkta || t == DirectoryEntra || t == DirectorySCIM
}

// Pushed reports whether the directory's IdP pushes its changes (SCIM)
// rather than Hubkeeper importing them.
func (t DirectoryType) Pushed() bool { return t == DirectorySCIM }

// UserStatus is a directory user's lifecycle state as Hubkeeper sees it.
type UserStatus string

// Directory user states.
const (
	UserActive        UserStatus = "active"
	UserSuspended     UserStatus = "suspended"
	UserDeprovisioned UserStatus = "deprovisioned"
)

// Valid reports whether s is a known user status.
func (s UserStatus) Valid() bool {
	return s == UserActive || s == UserSuspended || s == UserDeprovisioned
}

// DirectoryUser is one employee as read from a directory provider.
type DirectoryUser struct {
	ExternalID     string     `json:"external_id"`
	Email          string     `json:"email"`
	Aliases        []string   `json:"aliases"`
	DisplayName    string     `json:"display_name"`
	GivenName      string     `json:"given_name"`
	FamilyName     string     `json:"family_name"`
	Status         UserStatus `json:"status"`
	ProviderStatus string     `json:"provider_status"`
	// Guest marks someone from outside the company (Entra's userType
	// Guest), known by their own addresses only.
	Guest bool `json:"guest,omitempty"`
	// Removed marks a user the directory reported as deleted (Entra delta @removed).
	Removed bool `json:"removed,omitempty"`
}

// DirectoryGroup is a group as read from a directory provider, with its
// members' external ids.
type DirectoryGroup struct {
	ExternalID string   `json:"external_id"`
	Name       string   `json:"name"`
	Members    []string `json:"members"`
}

// GroupImport is what a directory listed of its groups: every group with
// all its members (Full), or the changes since the last listing.
type GroupImport struct {
	Full bool
	// Groups are every group (Full), else the groups added or renamed,
	// each with the members who joined.
	Groups []DirectoryGroup
	// Removed are the groups deleted, and Left the members who left each
	// group (changes only).
	Removed []string
	Left    map[string][]string
	// DeltaLink is where the next listing of changes starts ("": none).
	DeltaLink string
}

// NormalizeEmail lower-cases and trims an e-mail address so that addresses
// from different systems compare equal. It returns "" for anything that is
// not shaped like an address.
func NormalizeEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return s
}

var emailAddress = regexp.MustCompile("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+")

// WithoutEmails replaces every e-mail address in a text bound for logs or
// workflow history with "<e-mail>".
func WithoutEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailAddress.ReplaceAllString(s, "<e-mail>")
}

// NormalizeAliases normalises addresses, drops empties, the primary address
// and duplicates, and keeps the first-seen order.
func NormalizeAliases(primary string, aliases ...string) []string {
	seen := map[string]bool{primary: true, "": true}
	out := []string{}
	for _, a := range aliases {
		n := NormalizeEmail(a)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// SyncCounts summarises what one directory import changed.
type SyncCounts struct {
	Added         int `json:"added"`
	Changed       int `json:"changed"`
	Deprovisioned int `json:"deprovisioned"`
	Unchanged     int `json:"unchanged"`
}

// SyncRunStatus is the outcome of a sync run.
type SyncRunStatus string

// Sync run states.
const (
	SyncRunning   SyncRunStatus = "running"
	SyncSucceeded SyncRunStatus = "succeeded"
	SyncFailed    SyncRunStatus = "failed"
)

// DirectoryStatus is the health of a directory connection.
type DirectoryStatus string

// Directory connection states.
const (
	DirectoryOK          DirectoryStatus = "ok"
	DirectoryNeedsReauth DirectoryStatus = "needs_reauth"
)

// Clock returns the current time; tests replace it.
type Clock func() time.Time

// DirectorySettings are the non-secret connection details of a directory.
// Base URLs are settings so the same clients reach the real services or the sandbox.
type DirectorySettings struct {
	// Okta: the org URL, e.g. https://acme.okta.com.
	BaseURL string `json:"base_url,omitempty"`
	// ClientID is the Entra app registration, or the Okta service app (an
	// Okta directory without one uses an SSWS API token).
	ClientID string `json:"client_id,omitempty"`
	// KeyID is the kid of an Okta service app's key ("": none given).
	KeyID string `json:"key_id,omitempty"`
	// Entra ID: tenant, plus overridable endpoints.
	TenantID     string `json:"tenant_id,omitempty"`
	GraphBaseURL string `json:"graph_base_url,omitempty"`
	LoginBaseURL string `json:"login_base_url,omitempty"`
}

// Default Entra endpoints.
const (
	EntraGraphBaseURL = "https://graph.microsoft.com"
	EntraLoginBaseURL = "https://login.microsoftonline.com"
)

// PageFunc receives one page of users from a directory import, with the
// cursor from which the import resumes after this page.
type PageFunc func(users []DirectoryUser, resume string) error

// ImportResult says how a directory import ended.
type ImportResult struct {
	// FullListing: every user was listed, so users not seen are gone.
	FullListing bool
	// DeltaLink is the provider's cursor for the next import ("" if none).
	DeltaLink string
	// Requests is how many HTTP requests the import made.
	Requests int
}

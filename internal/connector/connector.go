// Package connector says what each provider's connector can do. The API's
// refusals, the store's checks and the workflows' branches ask it, never a
// provider's name; the activities hold the connectors themselves, one
// small interface per capability (activities/connectors.go). Descriptions
// are static, so workflows may read them deterministically.
package connector

import (
	"context"
	"slices"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Capability is a change a connector can make at its provider.
type Capability string

// Capabilities.
const (
	Invite           Capability = "invite"
	CancelInvitation Capability = "cancel_invitation"
	Remove           Capability = "remove"
	SetRole          Capability = "set_role"
	// SetAssetTasks changes what a member holds on each asset.
	SetAssetTasks Capability = "set_asset_tasks"
	// Bulk runs removals and role changes for many members in the
	// provider's own batches.
	Bulk Capability = "bulk"
)

// Channel says how a connector reaches its provider.
type Channel string

// Channels.
const (
	// ChannelGraph is Meta's Graph API: a check reads members, and
	// meanwhile assets then grants and partners, in parallel heartbeating
	// activities.
	ChannelGraph Channel = "graph"
	// ChannelBrowser is the provider's web app in headless Chromium: a
	// check reads everything in one logged-in session, and so does each
	// change.
	ChannelBrowser Channel = "browser"
	// ChannelAPI is the provider's REST API with an OAuth token: a check
	// reads everything in one activity (as through the browser, which
	// workflows, knowing the provider but not the mode, rely on).
	ChannelAPI Channel = "api"
)

// Onboarding says how an integration is connected.
type Onboarding string

// Onboardings.
const (
	// OnboardMetaApp requests and claims a dedicated Facebook app, then a
	// system-user token (the MetaOnboarding workflow).
	OnboardMetaApp Onboarding = "meta_app"
	// OnboardAutomationLogin logs the automation account in, with a
	// verification code if asked (the PinterestOnboarding workflow).
	OnboardAutomationLogin Onboarding = "automation_login"
	// OnboardOAuth sends an admin to the provider's consent page; its
	// callback stores the tokens and the integration is connected.
	OnboardOAuth Onboarding = "oauth"
)

// Description is what a provider's connector does.
type Description struct {
	Provider domain.Provider
	// Mode tells a provider's connectors apart ("" for a provider's only one).
	Mode string
	// Name is the business center as people know it.
	Name         string
	Capabilities []Capability
	Channel      Channel
	Onboarding   Onboarding
	// Roles are the business roles Hubkeeper assigns, each with the UI's
	// name for it; Tasks what a member may hold on each asset type.
	Roles []Role
	Tasks map[string][]string
	// SecretKind is the kind of the integration's stored credential.
	SecretKind string
	// Restricted: the provider restricts member management for a while
	// after a system user is created (Meta's restriction window).
	Restricted bool
}

// Role is a business role and what the provider's UI calls it.
type Role struct{ Name, Label string }

// descriptions are each provider's connectors; the first is its default.
var descriptions = map[domain.Provider][]Description{
	domain.ProviderMeta: {{Provider: domain.ProviderMeta, Name: "Meta",
		Capabilities: []Capability{Invite, CancelInvitation, Remove, SetRole, SetAssetTasks, Bulk},
		Channel:      ChannelGraph, Onboarding: OnboardMetaApp, SecretKind: "meta_token", Restricted: true,
		Roles: []Role{{"ADMIN", "Full control"}, {"EMPLOYEE", "Partial access"}}, Tasks: domain.MetaTasks}},
	domain.ProviderPinterest: {
		{Provider: domain.ProviderPinterest, Mode: ModeBrowser, Name: "Pinterest Business Manager",
			Capabilities: []Capability{Invite, Remove, SetRole},
			Channel:      ChannelBrowser, Onboarding: OnboardAutomationLogin, SecretKind: "pinterest_password", Roles: pinterestRoles},
		{Provider: domain.ProviderPinterest, Mode: ModeAPI, Name: "Pinterest Business Manager",
			Capabilities: []Capability{Invite, CancelInvitation, Remove, SetRole, SetAssetTasks, Bulk},
			Channel:      ChannelAPI, Onboarding: OnboardOAuth, SecretKind: "pinterest_oauth", Roles: pinterestRoles,
			// The ad-account permissions of the API's Permissions enum.
			Tasks: map[string][]string{"ad_account": {"ADMIN", "ANALYST", "FINANCE_MANAGER", "AUDIENCE_MANAGER", "CAMPAIGN_MANAGER",
				"CATALOGS_MANAGER"}}},
	},
}

// Pinterest's modes.
const (
	ModeBrowser = "browser"
	ModeAPI     = "api"
)

var pinterestRoles = []Role{{"BIZ_ADMIN", "Manager"}, {"EMPLOYEE", "Employee"}}

// Providers lists the providers with a connector, in a fixed order.
func Providers() []domain.Provider {
	return []domain.Provider{domain.ProviderMeta, domain.ProviderPinterest}
}

// Modes lists a provider's connectors' modes, its default first.
func Modes(p domain.Provider) []string {
	var modes []string
	for _, d := range descriptions[p] {
		modes = append(modes, d.Mode)
	}
	return modes
}

// Describe returns the connector of p in mode ("": p's default); ok is
// false for a provider or mode without one.
func Describe(p domain.Provider, mode string) (d Description, ok bool) {
	for i, d := range descriptions[p] {
		if d.Mode == mode || (mode == "" && i == 0) {
			return d, true
		}
	}
	return Description{}, false
}

// Can says whether the connector makes change c.
func (d Description) Can(c Capability) bool { return slices.Contains(d.Capabilities, c) }

// CheckRole says whether role is one Hubkeeper assigns through d.
func (d Description) CheckRole(role string) error {
	if slices.ContainsFunc(d.Roles, func(r Role) bool { return r.Name == role }) {
		return nil
	}
	msg := "role must be "
	for i, r := range d.Roles {
		if i > 0 {
			msg += " or "
		}
		msg += r.Name + " (" + r.Label + ")"
	}
	return domain.Errorf(domain.EInvalid, "%s", msg)
}

// CheckTasks says whether a member may be given tasks on an asset of
// assetType through d.
func (d Description) CheckTasks(assetType string, tasks []string) error {
	return domain.ValidTasks(d.Name, d.Tasks, assetType, tasks)
}

// Refuse is the error for a change d does not make, saying where to make
// it instead.
func (d Description) Refuse(c Capability) error {
	if c == Bulk {
		return domain.Errorf(domain.EInvalid, "Hubkeeper makes no bulk changes in %s; act on its members one by one", d.Name)
	}
	return domain.Errorf(domain.EInvalid, "Hubkeeper cannot %s in %s; do it in %s itself", doing[c], d.Name, d.Name)
}

var doing = map[Capability]string{Invite: "invite people", CancelInvitation: "cancel invitations", Remove: "remove members",
	SetRole: "change roles", SetAssetTasks: "change what members hold on assets"}

// Change is what a change at the provider did.
type Change struct {
	// TraceID is the provider's trace id of the call that made the change.
	TraceID string
	// InvitationID is the provider's id of a sent invitation.
	InvitationID string
	// AlreadyDone: the provider already was as asked (the member gone, the
	// address invited, the invitation gone), so nothing was sent.
	AlreadyDone bool
}

// AssetTasks are the tasks a member is to hold on one asset; none takes
// the asset away.
type AssetTasks struct {
	AssetID string   `json:"asset_id"`
	Tasks   []string `json:"tasks"`
}

// One interface per capability; a connector implements those of its
// Description (a test holds each to it). Each change is idempotent: a
// change already in place answers AlreadyDone, or changes nothing.

// Inviter invites an address with a business role.
type Inviter interface {
	Invite(ctx context.Context, email, role string) (Change, error)
}

// InvitationCanceller cancels a pending invitation.
type InvitationCanceller interface {
	CancelInvitation(ctx context.Context, invitationID string) (Change, error)
}

// Remover removes a member from the business.
type Remover interface {
	Remove(ctx context.Context, memberID string) (Change, error)
}

// RoleSetter sets a member's business role.
type RoleSetter interface {
	SetRole(ctx context.Context, memberID, role string) (Change, error)
}

// AssetTasksSetter sets what a member holds on assets.
type AssetTasksSetter interface {
	SetAssetTasks(ctx context.Context, memberID string, assets []AssetTasks) (Change, error)
}

// Part is a piece of a business's snapshot, staged as it comes: members
// and invitations, assets, and who holds what.
type Part struct {
	Members []domain.BusinessMember
	Assets  []domain.Asset
	Grants  []domain.Grant
	// Requests is how many requests (or pages) it took.
	Requests int
}

// SnapshotReader reads a business a part at a time, for the connectors
// whose check reads in one activity (every channel but the Graph API,
// whose check splits members, assets and grants across parallel
// activities). ReadPart starts at cursor ("": the beginning) and says where
// the next part starts ("": that was the last); the check heartbeats it,
// so a retry resumes there.
type SnapshotReader interface {
	ReadPart(ctx context.Context, cursor string) (part Part, next string, err error)
}

// BulkChanger removes many members, or sets their role, in the provider's
// own batches (Bulk): one error per member, nil when done (a member
// already gone counts as removed).
type BulkChanger interface {
	RemoveMany(ctx context.Context, memberIDs []string) ([]error, error)
	SetRoles(ctx context.Context, memberIDs []string, role string) ([]error, error)
}

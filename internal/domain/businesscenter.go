package domain

// Provider names a business center.
type Provider string

// Supported business centers.
const (
	ProviderMeta      Provider = "meta"
	ProviderPinterest Provider = "pinterest"
)

// MemberKind says what a business-center member is.
type MemberKind string

// Member kinds.
const (
	MemberUser       MemberKind = "user"
	MemberInvitation MemberKind = "invitation"
	MemberSystemUser MemberKind = "system_user"
)

// MemberState is the tab a member shows in.
type MemberState string

// Member states. System users are listed apart and never managed.
const (
	StateOnboarded MemberState = "onboarded"
	StateUnmatched MemberState = "unmatched"
	StateExempted  MemberState = "exempted"
	StatePending   MemberState = "pending"
	StateRemoved   MemberState = "removed"
	StateSystem    MemberState = "system"
)

// Valid reports whether s is a member state.
func (s MemberState) Valid() bool {
	switch s {
	case StateOnboarded, StateUnmatched, StateExempted, StatePending, StateRemoved, StateSystem:
		return true
	}
	return false
}

// BusinessMember is a person, invitation or system user of a business center.
type BusinessMember struct {
	ExternalID string     `json:"external_id"`
	Kind       MemberKind `json:"kind"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Role       string     `json:"role"`
	Tasks      []string   `json:"tasks"`
	// InvitationStatus is set for invitations (PENDING, EXPIRED, …).
	InvitationStatus string `json:"invitation_status,omitempty"`
	// TwoFactor is whether a Meta business user uses two-factor
	// authentication: Meta's two_fac_status ("enabled" when they do);
	// empty where the provider does not say.
	TwoFactor string `json:"two_fac_status,omitempty"`
}

// Asset is a Page, ad account or profile of a business center.
type Asset struct {
	ExternalID string `json:"external_id"`
	Type       string `json:"type"`      // page, ad_account, profile
	Ownership  string `json:"ownership"` // owned, client
	Name       string `json:"name"`
}

// Partner is another business a business center works with: an agency
// working on its assets, or a client it works for.
type Partner struct {
	ExternalID string `json:"partner_id"`
	Relation   string `json:"relation"` // agency, client
	Name       string `json:"name"`
}

// PartnerAccess is the tasks a partner business is permitted on an asset.
type PartnerAccess struct {
	AssetID   string   `json:"asset_id"`
	PartnerID string   `json:"partner_id"`
	Name      string   `json:"name"`
	Tasks     []string `json:"tasks"`
}

// Grant is the tasks a member holds on an asset.
type Grant struct {
	AssetID  string   `json:"asset_id"`
	MemberID string   `json:"member_id"`
	Tasks    []string `json:"tasks"`
}

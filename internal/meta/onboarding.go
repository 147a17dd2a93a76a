package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// RequiredPermissions are what a Hubkeeper system-user token must be granted.
var RequiredPermissions = []string{"business_management", "pages_show_list", "catalog_management", "pages_read_engagement",
	"pages_manage_metadata", "ads_management"}

// AppOwner returns the id of the business that owns the app ("" while no
// business has claimed it). The client holds the app's own token, which
// reads its app's fields and nothing of any business.
//
// API: GET /{app-id}?fields=owner_business
func (c *Client) AppOwner(ctx context.Context, appID string) (string, error) {
	raw, _, err := c.do(ctx, http.MethodGet, appID, url.Values{"fields": {"owner_business"}})
	if err != nil {
		return "", err
	}
	var app struct {
		OwnerBusiness *struct {
			ID string `json:"id"`
		} `json:"owner_business"`
	}
	if err := json.Unmarshal(raw, &app); err != nil {
		return "", &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "app answer is not JSON"}
	}
	if app.OwnerBusiness == nil {
		return "", nil
	}
	return app.OwnerBusiness.ID, nil
}

// TokenCheck is what a system-user token is and lacks.
type TokenCheck struct {
	SystemUserID string
	// CreatedTime is when the system user was created (Meta may restrict
	// user management for days after).
	CreatedTime time.Time
	// Problems says, in words, why the token cannot be used; empty if it can.
	Problems []string
}

// CheckToken finds out whether the client's token belongs to an admin
// system user of the business and has every required permission.
//
// API: GET /me, GET /me/permissions, GET /{business-id}/system_users
func (c *Client) CheckToken(ctx context.Context, businessID string) (TokenCheck, error) {
	var check TokenCheck
	raw, _, err := c.do(ctx, http.MethodGet, "me", url.Values{"fields": {"id,name"}})
	if err != nil {
		return check, err
	}
	var me struct{ ID string }
	if err := json.Unmarshal(raw, &me); err != nil || me.ID == "" {
		return check, fmt.Errorf("meta: /me answered without an id")
	}
	check.SystemUserID = me.ID
	raw, _, err = c.do(ctx, http.MethodGet, "me/permissions", nil)
	if err != nil {
		return check, err
	}
	var perms struct {
		Data []struct{ Permission, Status string }
	}
	if err := json.Unmarshal(raw, &perms); err != nil {
		return check, fmt.Errorf("meta: /me/permissions: %w", err)
	}
	granted := map[string]bool{}
	for _, p := range perms.Data {
		granted[p.Permission] = p.Status == "granted"
	}
	var missing []string
	for _, p := range RequiredPermissions {
		if !granted[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		check.Problems = append(check.Problems, "the token lacks the permissions "+strings.Join(missing, ", "))
	}
	after, found := "", false
	for !found {
		page, err := c.List(ctx, businessID+"/system_users", systemUserFields, nil, after)
		if err != nil {
			return check, err
		}
		for _, raw := range page.Data {
			var su struct {
				ID          string `json:"id"`
				Role        string `json:"role"`
				CreatedTime string `json:"created_time"`
			}
			if err := json.Unmarshal(raw, &su); err != nil || su.ID != me.ID {
				continue
			}
			found = true
			if su.Role != "ADMIN" {
				check.Problems = append(check.Problems, "the system user has the "+su.Role+" role; it needs Admin (Full control)")
			}
			if t, err := time.Parse("2006-01-02T15:04:05-0700", su.CreatedTime); err == nil {
				check.CreatedTime = t
			}
		}
		if page.After == "" {
			break
		}
		after = page.After
	}
	if !found {
		check.Problems = append(check.Problems, "the token does not belong to a system user of business "+businessID)
	}
	slices.Sort(check.Problems)
	return check, nil
}

// MemberRole returns the business role of a person (business user id or
// e-mail), or "" when they are not in the business.
func (c *Client) MemberRole(ctx context.Context, businessID, idOrEmail string) (string, error) {
	m, err := c.findBusinessUser(ctx, businessID, func(m domain.BusinessMember) bool {
		return m.ExternalID == idOrEmail || (m.Email != "" && strings.EqualFold(m.Email, idOrEmail))
	})
	return m.Role, err
}

// TokenInfo is what Meta says of the client's token.
type TokenInfo struct {
	Valid bool
	// ExpiresAt and DataAccessExpiresAt are zero when the token, or its
	// data access, does not expire.
	ExpiresAt, DataAccessExpiresAt time.Time
}

// Expiry is when the token stops working: the earlier of its expiry and
// its data access expiry; zero when neither comes.
func (t TokenInfo) Expiry() time.Time {
	switch {
	case t.ExpiresAt.IsZero():
		return t.DataAccessExpiresAt
	case t.DataAccessExpiresAt.IsZero() || t.ExpiresAt.Before(t.DataAccessExpiresAt):
		return t.ExpiresAt
	}
	return t.DataAccessExpiresAt
}

// DebugToken asks Meta about the client's own token.
//
// API: GET /debug_token?input_token=…
func (c *Client) DebugToken(ctx context.Context) (TokenInfo, error) {
	raw, _, err := c.do(ctx, http.MethodGet, "debug_token", url.Values{"input_token": {c.token}})
	if err != nil {
		return TokenInfo{}, err
	}
	var body struct {
		Data struct {
			IsValid             bool  `json:"is_valid"`
			ExpiresAt           int64 `json:"expires_at"`
			DataAccessExpiresAt int64 `json:"data_access_expires_at"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return TokenInfo{}, &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "debug_token answer is not JSON"}
	}
	at := func(unix int64) time.Time {
		if unix == 0 {
			return time.Time{}
		}
		return time.Unix(unix, 0).UTC()
	}
	return TokenInfo{Valid: body.Data.IsValid, ExpiresAt: at(body.Data.ExpiresAt), DataAccessExpiresAt: at(body.Data.DataAccessExpiresAt)}, nil
}

// TwoFactorType returns who the business requires to use two-factor
// authentication: admin_required, all_required or none.
//
// API: GET /{business-id}?fields=two_factor_type
func (c *Client) TwoFactorType(ctx context.Context, businessID string) (string, error) {
	raw, _, err := c.do(ctx, http.MethodGet, businessID, url.Values{"fields": {"two_factor_type"}})
	if err != nil {
		return "", err
	}
	var b struct {
		TwoFactorType string `json:"two_factor_type"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return "", &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "business answer is not JSON"}
	}
	return b.TwoFactorType, nil
}

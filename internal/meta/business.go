package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"golang.org/x/sync/errgroup"
)

// Fields asked of each edge.
const (
	businessUserFields = "id,name,email,first_name,last_name,role,tasks,title,two_fac_status"
	pendingUserFields  = "id,email,role,tasks,status,created_time,expiration_time"
	systemUserFields   = "id,name,role,created_time"
	adAccountFields    = "id,name"
	pageFields         = "id,name,access_token"
	holderFields       = "id,name,user_type,tasks"
)

// MemberEdges are the member lists of a business, in fetch order.
var MemberEdges = []string{"business_users", "pending_users", "system_users"}

// AssetEdges are the asset lists of a business, in fetch order.
var AssetEdges = []string{"owned_pages", "client_pages", "owned_ad_accounts", "client_ad_accounts"}

type rawMember struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Email  string   `json:"email"`
	Role   string   `json:"role"`
	Tasks  []string `json:"tasks"`
	Status string   `json:"status"`
	// TwoFactor is two_fac_status, a business user's.
	TwoFactor string `json:"two_fac_status"`
}

// Members fetches one page of a member edge of the business.
func (c *Client) Members(ctx context.Context, businessID, edge, after string) ([]domain.BusinessMember, string, error) {
	kind, fields := map[string]domain.MemberKind{"business_users": domain.MemberUser, "pending_users": domain.MemberInvitation,
		"system_users": domain.MemberSystemUser}[edge], map[string]string{"business_users": businessUserFields,
		"pending_users": pendingUserFields, "system_users": systemUserFields}[edge]
	if kind == "" {
		return nil, "", fmt.Errorf("meta: %q is not a member edge", edge)
	}
	page, err := c.List(ctx, businessID+"/"+edge, fields, nil, after)
	if err != nil {
		return nil, "", err
	}
	out := make([]domain.BusinessMember, 0, len(page.Data))
	for _, raw := range page.Data {
		var m rawMember
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", fmt.Errorf("meta: %s item: %w", edge, err)
		}
		bm := domain.BusinessMember{ExternalID: m.ID, Kind: kind, Email: domain.NormalizeEmail(m.Email), Name: m.Name,
			Role: m.Role, Tasks: m.Tasks, TwoFactor: strings.ToLower(m.TwoFactor)}
		if kind == domain.MemberInvitation {
			bm.InvitationStatus = strings.ToUpper(m.Status) // PENDING, ACCEPTED, DECLINED, EXPIRED
			bm.Name = m.Email
		}
		if bm.Tasks == nil {
			bm.Tasks = []string{}
		}
		out = append(out, bm)
	}
	return out, page.After, nil
}

// ListedAsset is an asset as its business lists it, with a Page's access
// token: a secret, which Page edges need ("" for ad accounts, and for a
// Page the token's user does not manage).
type ListedAsset struct {
	domain.Asset
	PageToken string
}

// Assets fetches one page of an asset edge of the business; Pages come
// with their access tokens.
func (c *Client) Assets(ctx context.Context, businessID, edge, after string) ([]ListedAsset, string, error) {
	ownership, kind, ok := strings.Cut(edge, "_")
	kind = map[string]string{"pages": "page", "ad_accounts": "ad_account"}[kind]
	if !ok || kind == "" {
		return nil, "", fmt.Errorf("meta: %q is not an asset edge", edge)
	}
	fields := adAccountFields
	if kind == "page" {
		fields = pageFields
	}
	page, err := c.List(ctx, businessID+"/"+edge, fields, nil, after)
	if err != nil {
		return nil, "", err
	}
	out := make([]ListedAsset, 0, len(page.Data))
	for _, raw := range page.Data {
		var a struct {
			ID, Name    string
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, "", fmt.Errorf("meta: %s item: %w", edge, err)
		}
		out = append(out, ListedAsset{Asset: domain.Asset{ExternalID: a.ID, Type: kind, Ownership: ownership, Name: a.Name},
			PageToken: a.AccessToken})
	}
	return out, page.After, nil
}

// GrantTarget is an asset whose holders to read, with the access token its
// edges need: a Page's own; "" for an ad account (the client's token).
type GrantTarget struct {
	AssetID   string
	PageToken string
}

type rawHolder struct {
	ID    string   `json:"id"`
	Tasks []string `json:"tasks"`
}

// Grants fetches who holds each of the assets (at most MaxBatch of them),
// each with its own token, with one batch request plus one request per
// further page of holders.
func (c *Client) Grants(ctx context.Context, businessID string, targets []GrantTarget) ([]domain.Grant, error) {
	ops := make([]BatchRequest, len(targets))
	for i, t := range targets {
		q := url.Values{"business": {businessID}, "fields": {holderFields}, "limit": {fmt.Sprint(PageSize)}}
		if t.PageToken != "" {
			q.Set("access_token", t.PageToken)
		}
		ops[i] = BatchRequest{Method: "GET", RelativeURL: t.AssetID + "/assigned_users?" + q.Encode()}
	}
	bodies, err := c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	var grants []domain.Grant
	for i, body := range bodies {
		page, err := parsePage(body)
		if err != nil {
			return nil, err
		}
		held, err := c.holders(ctx, businessID, targets[i], page)
		if err != nil {
			return nil, err
		}
		grants = append(grants, held...)
	}
	return grants, nil
}

// holders reads the rest of an asset's holders after its first page; if
// Graph refuses a cursor (a holder left meanwhile) it reads them all again.
func (c *Client) holders(ctx context.Context, businessID string, t GrantTarget, page Page) ([]domain.Grant, error) {
	more := url.Values{"business": {businessID}}
	if t.PageToken != "" {
		more.Set("access_token", t.PageToken)
	}
	var grants []domain.Grant
	for {
		for _, raw := range page.Data {
			var h rawHolder
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, fmt.Errorf("meta: assigned_users item: %w", err)
			}
			if h.Tasks == nil {
				h.Tasks = []string{}
			}
			grants = append(grants, domain.Grant{AssetID: t.AssetID, MemberID: h.ID, Tasks: h.Tasks})
		}
		if page.After == "" {
			return grants, nil
		}
		next, err := c.List(ctx, t.AssetID+"/assigned_users", holderFields, more, page.After)
		if CursorRejected(err) {
			grants = nil
			next, err = c.List(ctx, t.AssetID+"/assigned_users", holderFields, more, "")
		}
		if err != nil {
			return nil, err
		}
		page = next
	}
}

// GrantsConcurrently fetches the holders of many assets with up to
// concurrency batch requests in flight, calling onChunk (serialised) for
// each chunk of MaxBatch assets as it completes, with the chunk's index.
func (c *Client) GrantsConcurrently(ctx context.Context, businessID string, targets []GrantTarget, concurrency int,
	onChunk func(index int, grants []domain.Grant) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	var mu sync.Mutex
	for i := 0; i*MaxBatch < len(targets); i++ {
		chunk := targets[i*MaxBatch : min((i+1)*MaxBatch, len(targets))]
		g.Go(func() error {
			grants, err := c.Grants(ctx, businessID, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			return onChunk(i, grants)
		})
	}
	return g.Wait()
}

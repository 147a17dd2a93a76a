package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
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
	partnerFields      = "id,name"
	assetPartnerFields = "id,name,permitted_tasks"
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
	fields := map[string]string{"business_users": businessUserFields, "pending_users": pendingUserFields,
		"system_users": systemUserFields}[edge]
	if fields == "" {
		return nil, "", fmt.Errorf("meta: %q is not a member edge", edge)
	}
	page, err := c.List(ctx, businessID+"/"+edge, fields, nil, after)
	if err != nil {
		return nil, "", err
	}
	members, err := parseMembers(edge, page.Data)
	return members, page.After, err
}

// parseMembers reads the items of a member edge.
func parseMembers(edge string, items []json.RawMessage) ([]domain.BusinessMember, error) {
	kind := map[string]domain.MemberKind{"business_users": domain.MemberUser, "pending_users": domain.MemberInvitation,
		"system_users": domain.MemberSystemUser}[edge]
	out := make([]domain.BusinessMember, 0, len(items))
	for _, raw := range items {
		var m rawMember
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("meta: %s item: %w", edge, err)
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
	return out, nil
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

// Partners reads the business's partner businesses, agencies then clients.
//
// API: GET /{business-id}/agencies, GET /{business-id}/clients
func (c *Client) Partners(ctx context.Context, businessID string) ([]domain.Partner, error) {
	var out []domain.Partner
	for _, e := range []struct{ edge, relation string }{{"agencies", "agency"}, {"clients", "client"}} {
		edge, relation := e.edge, e.relation
		items, err := c.all(ctx, businessID+"/"+edge, partnerFields, nil)
		if err != nil {
			return nil, err
		}
		for _, raw := range items {
			var p struct{ ID, Name string }
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("meta: %s item: %w", edge, err)
			}
			out = append(out, domain.Partner{ExternalID: p.ID, Relation: relation, Name: p.Name})
		}
	}
	return out, nil
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
	items, err := c.perAsset(ctx, targets, "assigned_users", holderFields, url.Values{"business": {businessID}})
	if err != nil {
		return nil, err
	}
	var grants []domain.Grant
	for i, held := range items {
		for _, raw := range held {
			var h rawHolder
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, fmt.Errorf("meta: assigned_users item: %w", err)
			}
			if h.Tasks == nil {
				h.Tasks = []string{}
			}
			grants = append(grants, domain.Grant{AssetID: targets[i].AssetID, MemberID: h.ID, Tasks: h.Tasks})
		}
	}
	return grants, nil
}

// PartnerAccess fetches which partner businesses hold each of the assets
// (at most MaxBatch of them) and the tasks they are permitted.
//
// API: GET /{asset-id}/agencies
func (c *Client) PartnerAccess(ctx context.Context, targets []GrantTarget) ([]domain.PartnerAccess, error) {
	items, err := c.perAsset(ctx, targets, "agencies", assetPartnerFields, url.Values{})
	if err != nil {
		return nil, err
	}
	var access []domain.PartnerAccess
	for i, partners := range items {
		for _, raw := range partners {
			var p struct {
				ID    string   `json:"id"`
				Name  string   `json:"name"`
				Tasks []string `json:"permitted_tasks"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("meta: agencies item: %w", err)
			}
			if p.Tasks == nil {
				p.Tasks = []string{}
			}
			access = append(access, domain.PartnerAccess{AssetID: targets[i].AssetID, PartnerID: p.ID, Name: p.Name, Tasks: p.Tasks})
		}
	}
	return access, nil
}

// perAsset reads an edge of each of the assets (at most MaxBatch), each
// with its own token: one batch request for the first pages, then one
// request per further page. It returns each asset's items.
func (c *Client) perAsset(ctx context.Context, targets []GrantTarget, edge, fields string, params url.Values) ([][]json.RawMessage, error) {
	ops := make([]BatchRequest, len(targets))
	for i, t := range targets {
		q := maps.Clone(params)
		q.Set("fields", fields)
		q.Set("limit", fmt.Sprint(PageSize))
		if t.PageToken != "" {
			q.Set("access_token", t.PageToken)
		}
		ops[i] = BatchRequest{Method: "GET", RelativeURL: t.AssetID + "/" + edge + "?" + q.Encode()}
	}
	bodies, err := c.Batch(ctx, ops)
	if err != nil {
		return nil, err
	}
	items := make([][]json.RawMessage, len(targets))
	for i, body := range bodies {
		page, err := parsePage(body)
		if err != nil {
			return nil, err
		}
		more := maps.Clone(params)
		if targets[i].PageToken != "" {
			more.Set("access_token", targets[i].PageToken)
		}
		if items[i], err = c.rest(ctx, targets[i].AssetID+"/"+edge, fields, more, page); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// Concurrently reads many assets in chunks of MaxBatch with up to
// concurrency chunks in flight, calling onChunk (serialised) for each
// chunk as it completes, with the chunk's index.
func Concurrently[T any](ctx context.Context, targets []GrantTarget, concurrency int,
	read func(ctx context.Context, chunk []GrantTarget) ([]T, error), onChunk func(index int, items []T) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(concurrency)
	var mu sync.Mutex
	for i := 0; i*MaxBatch < len(targets); i++ {
		chunk := targets[i*MaxBatch : min((i+1)*MaxBatch, len(targets))]
		g.Go(func() error {
			items, err := read(ctx, chunk)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			return onChunk(i, items)
		})
	}
	return g.Wait()
}

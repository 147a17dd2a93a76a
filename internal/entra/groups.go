package entra

import (
	"context"
	"net/url"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

const (
	groupDeltaPath = "/v1.0/groups/delta"
	// GroupSelectFields are the group properties imported; members comes
	// as members@delta. Changing it needs stored group delta links cleared.
	GroupSelectFields = "id,displayName,members"
	userType          = "#microsoft.graph.user"
)

// groupItem is a group in a delta page: a change to it, or its removal.
type groupItem struct {
	ID string `json:"id"`
	// DisplayName is "" on an item that carries only membership changes.
	DisplayName  string `json:"displayName"`
	MembersDelta []struct {
		Type    string `json:"@odata.type"`
		ID      string `json:"id"`
		Removed *struct {
			Reason string `json:"reason"`
		} `json:"@removed"`
	} `json:"members@delta"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
}

type groupPage struct {
	Groups    []groupItem `json:"value"`
	NextLink  string      `json:"@odata.nextLink"`
	DeltaLink string      `json:"@odata.deltaLink"`
}

// ImportGroups runs one round of the groups delta query: from deltaLink
// (changes since the last round) or, when deltaLink is "" or Graph no
// longer knows it, a full round of every group and all its members. Graph
// may split a group's members over several pages, repeating the group;
// members that are not users (nested groups, devices) are left out.
func (c *Client) ImportGroups(ctx context.Context, deltaLink string) (domain.GroupImport, error) {
	full := deltaLink == ""
	for {
		res, err := c.groupRound(ctx, deltaLink, full)
		if pe, ok := domain.AsProviderError(err); ok && !full && deltaExpired(pe) {
			deltaLink, full = "", true // Graph forgot the sync state: start a full round.
			continue
		}
		return res, err
	}
}

func (c *Client) groupRound(ctx context.Context, link string, full bool) (domain.GroupImport, error) {
	res := domain.GroupImport{Full: full, Left: map[string][]string{}}
	index := map[string]int{} // group id → its place in res.Groups
	removed := map[string]bool{}
	target := c.graph.String() + groupDeltaPath + "?" + url.Values{"$select": {GroupSelectFields}}.Encode()
	if link != "" {
		target = link
	}
	for {
		if !providerhttp.SameOrigin(c.graph, target) {
			return res, &domain.ProviderError{Provider: "entra", Kind: domain.Permanent,
				Message: "groups delta link points outside Microsoft Graph; refusing to follow it"}
		}
		var page groupPage
		if err := c.getJSON(ctx, target, &page); err != nil {
			return res, err
		}
		for _, g := range page.Groups {
			if g.Removed != nil {
				removed[g.ID] = true
				continue
			}
			i, seen := index[g.ID]
			if !seen {
				i = len(res.Groups)
				index[g.ID] = i
				res.Groups = append(res.Groups, domain.DirectoryGroup{ExternalID: g.ID, Members: []string{}})
			}
			if g.DisplayName != "" {
				res.Groups[i].Name = g.DisplayName
			}
			for _, m := range g.MembersDelta {
				switch {
				case m.Type != "" && !strings.EqualFold(m.Type, userType):
				case m.Removed != nil:
					res.Left[g.ID] = append(res.Left[g.ID], m.ID)
				default:
					res.Groups[i].Members = append(res.Groups[i].Members, m.ID)
				}
			}
		}
		switch {
		case page.NextLink != "":
			target = page.NextLink
		case page.DeltaLink != "":
			res.DeltaLink = page.DeltaLink
			for id := range removed {
				if _, ok := index[id]; !ok {
					res.Removed = append(res.Removed, id)
				}
			}
			return res, nil
		default:
			return res, &domain.ProviderError{Provider: "entra", Kind: domain.Transient,
				Message: "groups delta page has neither @odata.nextLink nor @odata.deltaLink"}
		}
	}
}

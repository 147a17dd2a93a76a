package entra_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/entrasandbox"
)

// graphCall sends a Graph request with an app token, as an admin's tool would.
func graphCall(t *testing.T, base, method, path, body string) int {
	t.Helper()
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", map[string][]string{"client_id": {client}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return r.StatusCode
}

// The groups delta query: a first round is every group with all its user
// members (others left out); a round from its deltaLink is what changed:
// members who joined, members who left, groups added and deleted; an
// expired delta token starts a full round again.
func TestImportGroupsDelta(t *testing.T) {
	sb, base, people := setup(t, 40)
	var ids []string
	for _, p := range people {
		if p.Status != domain.UserDeprovisioned {
			ids = append(ids, entrasandbox.EntraID(p.Key))
		}
	}
	sb.AddGroup("g-marketing", "Marketing", ids[:5]...)
	sb.AddGroup("g-agencies", "Agencies", ids[5:7]...)
	c := newClient(t, base, secret)
	first, err := c.ImportGroups(context.Background(), "")
	if err != nil || !first.Full || len(first.Groups) != 2 || first.DeltaLink == "" {
		t.Fatalf("first round %+v %v", first, err)
	}
	byID := func(imp domain.GroupImport) map[string]domain.DirectoryGroup {
		out := map[string]domain.DirectoryGroup{}
		for _, g := range imp.Groups {
			out[g.ExternalID] = g
		}
		return out
	}
	if g := byID(first)["g-marketing"]; g.Name != "Marketing" || !slices.Equal(g.Members, ids[:5]) {
		t.Fatalf("marketing %+v", g)
	}

	if err := sb.SetMembership("g-marketing", ids[0], false); err != nil {
		t.Fatal(err)
	}
	if code := graphCall(t, base, "POST", "/v1.0/groups/g-marketing/members/$ref",
		`{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/`+ids[10]+`"}`); code != 204 {
		t.Fatalf("add member: %d", code)
	}
	if code := graphCall(t, base, "DELETE", "/v1.0/groups/g-agencies", ""); code != 204 {
		t.Fatalf("delete group: %d", code)
	}
	sb.AddGroup("g-new", "New hires", ids[20])
	second, err := c.ImportGroups(context.Background(), first.DeltaLink)
	if err != nil || second.Full {
		t.Fatalf("second round %+v %v", second, err)
	}
	got := byID(second)
	if !slices.Equal(got["g-marketing"].Members, []string{ids[10]}) || !slices.Equal(second.Left["g-marketing"], []string{ids[0]}) ||
		!slices.Equal(second.Removed, []string{"g-agencies"}) || got["g-new"].Name != "New hires" || len(got) != 2 {
		t.Fatalf("changes %+v", second)
	}
	third, err := c.ImportGroups(context.Background(), second.DeltaLink)
	if err != nil || third.Full || len(third.Groups)+len(third.Removed)+len(third.Left) != 0 {
		t.Fatalf("nothing changed, yet %+v %v", third, err)
	}
	sb.ExpireDeltaTokens()
	again, err := c.ImportGroups(context.Background(), third.DeltaLink)
	if err != nil || !again.Full || len(again.Groups) != 2 {
		t.Fatalf("after the delta token expired %+v %v", again, err)
	}
}

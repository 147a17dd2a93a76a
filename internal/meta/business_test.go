package meta_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
)

// The client reads the business's agencies and clients, and which partners
// hold each asset with their permitted tasks, a Page's with its own token.
func TestPartners(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 10, Pages: 8, AdAccounts: 7, HoldersPerAsset: 1})
	ctx := context.Background()
	partners, err := c.Partners(ctx, businessID)
	if err != nil {
		t.Fatal(err)
	}
	if len(partners) != len(b.Agencies)+len(b.Clients) || partners[0].Relation != "agency" || partners[len(partners)-1].Relation != "client" ||
		partners[0].Name == "" {
		t.Fatalf("partners %+v", partners)
	}
	var targets []meta.GrantTarget
	for _, edge := range meta.AssetEdges {
		assets, _, err := c.Assets(ctx, businessID, edge, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range assets {
			targets = append(targets, meta.GrantTarget{AssetID: a.ExternalID, PageToken: a.PageToken})
		}
	}
	before, _ := sb.Requests()
	access, err := c.PartnerAccess(ctx, targets)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := sb.Requests(); after-before != 1 {
		t.Fatalf("%d requests for %d assets, want one batch", after-before, len(targets))
	}
	want := 0
	for _, a := range b.Assets {
		want += len(a.Partners)
	}
	if len(access) != want || want == 0 {
		t.Fatalf("%d partner holdings, want %d", len(access), want)
	}
	for _, pa := range access {
		if tasks := b.Assets[pa.AssetID].Partners[pa.PartnerID]; !slices.Equal(tasks, pa.Tasks) || pa.Name == "" {
			t.Fatalf("%+v, want tasks %v", pa, tasks)
		}
	}
}

package activities

import (
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/connector"
)

// Each provider's connector implements exactly the capability interfaces
// its Description claims, so withConnector's assertions cannot fail and
// nothing the connector can do is refused; those checked in one activity
// read snapshots.
func TestConnectorsImplementTheirCapabilities(t *testing.T) {
	implemented := map[connector.Channel]any{connector.ChannelGraph: metaConnector{}, connector.ChannelBrowser: pinterestBrowser{},
		connector.ChannelAPI: pinterestAPI{}}
	for _, p := range connector.Providers() {
		for _, mode := range connector.Modes(p) {
			d, _ := connector.Describe(p, mode)
			testConnector(t, d, implemented[d.Channel])
		}
	}
}

func testConnector(t *testing.T, d connector.Description, conn any) {
	t.Helper()
	name := string(d.Provider) + "/" + d.Mode
	if conn == nil {
		t.Fatalf("%s: no connector", name)
	}
	has := map[connector.Capability]bool{}
	if _, ok := conn.(connector.Inviter); ok {
		has[connector.Invite] = true
	}
	if _, ok := conn.(connector.InvitationCanceller); ok {
		has[connector.CancelInvitation] = true
	}
	if _, ok := conn.(connector.Remover); ok {
		has[connector.Remove] = true
	}
	if _, ok := conn.(connector.RoleSetter); ok {
		has[connector.SetRole] = true
	}
	if _, ok := conn.(connector.AssetTasksSetter); ok {
		has[connector.SetAssetTasks] = true
	}
	if _, ok := conn.(connector.BulkChanger); ok {
		has[connector.Bulk] = true
	}
	// Checks through one activity read through the connector.
	if _, reads := conn.(connector.SnapshotReader); reads != (d.Channel != connector.ChannelGraph) {
		t.Errorf("%s: reads snapshots %v on channel %s", name, reads, d.Channel)
	}
	for _, c := range []connector.Capability{connector.Invite, connector.CancelInvitation, connector.Remove, connector.SetRole,
		connector.SetAssetTasks, connector.Bulk} {
		if d.Can(c) != has[c] {
			t.Errorf("%s: the description says %s is %v, the connector %v", name, c, d.Can(c), has[c])
		}
	}
}

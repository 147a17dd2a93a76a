package activities

import (
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Each provider's connector implements exactly the capability interfaces
// its Description claims, so withConnector's assertions cannot fail and
// nothing the connector can do is refused.
func TestConnectorsImplementTheirCapabilities(t *testing.T) {
	implemented := map[domain.Provider]any{domain.ProviderMeta: metaConnector{}, domain.ProviderPinterest: pinterestBrowser{}}
	for _, p := range connector.Providers() {
		d, ok := connector.Describe(p)
		conn := implemented[p]
		if !ok || conn == nil {
			t.Fatalf("%s: description %v, connector %T", p, ok, conn)
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
		for _, c := range []connector.Capability{connector.Invite, connector.CancelInvitation, connector.Remove, connector.SetRole,
			connector.SetAssetTasks} {
			if d.Can(c) != has[c] {
				t.Errorf("%s: the description says %s is %v, the connector %v", p, c, d.Can(c), has[c])
			}
		}
	}
}

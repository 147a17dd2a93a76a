package connector

import (
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

func TestDescriptions(t *testing.T) {
	for _, p := range Providers() {
		for _, mode := range Modes(p) {
			testDescription(t, p, mode)
		}
		if d, _ := Describe(p, ""); d.Mode != Modes(p)[0] {
			t.Fatalf("%s: no mode is %q, not the first", p, d.Mode)
		}
	}
	if _, ok := Describe("tiktok", ""); ok {
		t.Fatal("a provider without a connector is described")
	}
	if _, ok := Describe(domain.ProviderPinterest, "fax"); ok {
		t.Fatal("an unknown mode is described")
	}
	meta, _ := Describe(domain.ProviderMeta, "")
	if meta.CheckRole("ADMIN") != nil || meta.CheckRole("BIZ_ADMIN") == nil {
		t.Fatal("Meta's roles")
	}
	pin, _ := Describe(domain.ProviderPinterest, ModeBrowser)
	if err := pin.CheckRole("ADMIN"); err == nil || err.Error() != "invalid: role must be BIZ_ADMIN (Manager) or EMPLOYEE (Employee)" {
		t.Fatalf("Pinterest refuses ADMIN with %v", err)
	}
	if pin.Can(CancelInvitation) || pin.Can(Bulk) || pin.Can(SetAssetTasks) || !meta.Can(Bulk) {
		t.Fatal("capabilities changed")
	}
	api, _ := Describe(domain.ProviderPinterest, ModeAPI)
	if !api.Can(CancelInvitation) || !api.Can(SetAssetTasks) || api.Channel != ChannelAPI || api.Onboarding != OnboardOAuth {
		t.Fatalf("the Pinterest API connector: %+v", api)
	}
}

func testDescription(t *testing.T, p domain.Provider, mode string) {
	t.Helper()
	d, ok := Describe(p, mode)
	if !ok || d.Provider != p || d.Mode != mode || d.Name == "" || d.Channel == "" || d.Onboarding == "" || d.SecretKind == "" || len(d.Roles) == 0 {
		t.Fatalf("%s %s: incomplete description %+v", p, mode, d)
	}
	for _, c := range []Capability{Invite, CancelInvitation, Remove, SetRole, SetAssetTasks, Bulk} {
		if !d.Can(c) && !strings.Contains(d.Refuse(c).Error(), d.Name) {
			t.Errorf("%s %s: refusal of %s does not say where: %v", p, mode, c, d.Refuse(c))
		}
	}
}

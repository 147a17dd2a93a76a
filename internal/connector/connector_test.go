package connector

import (
	"strings"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

func TestDescriptions(t *testing.T) {
	for _, p := range Providers() {
		d, ok := Describe(p)
		if !ok || d.Provider != p || d.Name == "" || d.Channel == "" || d.Onboarding == "" || d.SecretKind == "" || len(d.Roles) == 0 {
			t.Fatalf("%s: incomplete description %+v", p, d)
		}
		for _, c := range []Capability{Invite, CancelInvitation, Remove, SetRole, SetAssetTasks, Bulk} {
			if !d.Can(c) && !strings.Contains(d.Refuse(c).Error(), d.Name) {
				t.Errorf("%s: refusal of %s does not say where: %v", p, c, d.Refuse(c))
			}
		}
	}
	if _, ok := Describe("tiktok"); ok {
		t.Fatal("a provider without a connector is described")
	}
	meta, _ := Describe(domain.ProviderMeta)
	if meta.CheckRole("ADMIN") != nil || meta.CheckRole("BIZ_ADMIN") == nil {
		t.Fatal("Meta's roles")
	}
	pin, _ := Describe(domain.ProviderPinterest)
	if err := pin.CheckRole("ADMIN"); err == nil || err.Error() != "invalid: role must be BIZ_ADMIN (Manager) or EMPLOYEE (Employee)" {
		t.Fatalf("Pinterest refuses ADMIN with %v", err)
	}
	if pin.Can(CancelInvitation) || pin.Can(Bulk) || pin.Can(SetAssetTasks) || !meta.Can(Bulk) {
		t.Fatal("capabilities changed")
	}
}

package meta_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
)

func TestOnboardingChecks(t *testing.T) {
	sb, c, b, base := setupURL(t, metasandbox.Shape{Members: 20})
	ctx := context.Background()

	t.Run("OwnsApp", func(t *testing.T) {
		if owns, err := c.OwnsApp(ctx, businessID, "1234567890"); err != nil || owns {
			t.Fatalf("before the claim: %v, %v", owns, err)
		}
		b.OwnedApps = []string{"1234567890"}
		if owns, err := c.OwnsApp(ctx, businessID, "1234567890"); err != nil || !owns {
			t.Fatalf("after the claim: %v, %v", owns, err)
		}
	})

	t.Run("GoodToken", func(t *testing.T) {
		check, err := c.CheckToken(ctx, businessID)
		if err != nil || len(check.Problems) != 0 || check.SystemUserID != "30000000000001" ||
			time.Since(check.CreatedTime) < 9*24*time.Hour {
			t.Fatalf("check = %+v, %v", check, err)
		}
	})

	t.Run("MissingPermissionsAndRole", func(t *testing.T) {
		sb.AddToken(businessID, "EAAweak", "30000000000002", []string{"business_management", "pages_show_list"})
		weak, _ := meta.New(base, "v25.0", "EAAweak", meta.WithBackoff(fast))
		check, err := weak.CheckToken(ctx, businessID)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(check.Problems, "; ")
		for _, want := range []string{"catalog_management", "pages_read_engagement", "pages_manage_metadata", "ads_management", "EMPLOYEE role"} {
			if !strings.Contains(all, want) {
				t.Fatalf("problems %q do not mention %s", all, want)
			}
		}
		if strings.Contains(all, "business_management") {
			t.Fatalf("a granted permission is reported missing: %q", all)
		}
	})

	t.Run("FullControlMember", func(t *testing.T) {
		var admin, employee string
		for id, u := range b.Users {
			if u.Role == "ADMIN" && admin == "" {
				admin = u.Email
			}
			if u.Role == "EMPLOYEE" && employee == "" {
				employee = id
			}
		}
		if ok, err := c.FullControlMember(ctx, businessID, strings.ToUpper(admin)); err != nil || !ok {
			t.Fatalf("admin %s: %v, %v", admin, ok, err)
		}
		if ok, _ := c.FullControlMember(ctx, businessID, employee); ok {
			t.Fatal("an employee counted as Full control")
		}
		if ok, _ := c.FullControlMember(ctx, businessID, "nobody@nowhere.test"); ok {
			t.Fatal("a stranger counted as Full control")
		}
	})
}

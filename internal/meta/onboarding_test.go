package meta_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
)

func TestOnboardingChecks(t *testing.T) {
	sb, c, b, base := setupURL(t, metasandbox.Shape{Members: 20})
	ctx := context.Background()

	t.Run("AppOwnerWithAppToken", func(t *testing.T) {
		// What support and the admin do by hand goes through the sandbox's controls.
		var app struct{ ID, Secret string }
		post(t, base+"/_sandbox/apps", "", http.StatusCreated, &app)
		appClient, _ := meta.New(base, "v25.0", app.ID+"|"+app.Secret, meta.WithBackoff(fast))
		if owner, err := appClient.AppOwner(ctx, app.ID); err != nil || owner != "" {
			t.Fatalf("before the claim: %q, %v", owner, err)
		}
		post(t, base+"/_sandbox/businesses/"+businessID+"/owned_apps", `{"app_id":"`+app.ID+`"}`, http.StatusNoContent, nil)
		if owner, err := appClient.AppOwner(ctx, app.ID); err != nil || owner != businessID {
			t.Fatalf("after the claim: %q, %v", owner, err)
		}
		// An app token reads nothing of the business.
		if _, _, err := appClient.Members(ctx, businessID, "business_users", ""); err == nil {
			t.Fatal("an app token listed business users")
		}
		wrong, _ := meta.New(base, "v25.0", app.ID+"|wrong", meta.WithBackoff(fast))
		if _, err := wrong.AppOwner(ctx, app.ID); err == nil || !strings.Contains(err.Error(), "190") {
			t.Fatalf("a wrong app secret: %v, want a 190", err)
		}
	})

	t.Run("NewSystemUserToken", func(t *testing.T) {
		var su struct {
			ID          string `json:"id"`
			CreatedTime string `json:"created_time"`
			AccessToken string `json:"access_token"`
		}
		post(t, base+"/_sandbox/businesses/"+businessID+"/system_users",
			`{"name":"Hubkeeper","role":"ADMIN","permissions":["business_management","pages_show_list","catalog_management","pages_read_engagement","pages_manage_metadata","ads_management"]}`,
			http.StatusCreated, &su)
		fresh, _ := meta.New(base, "v25.0", su.AccessToken, meta.WithBackoff(fast))
		check, err := fresh.CheckToken(ctx, businessID)
		if err != nil || len(check.Problems) != 0 || check.SystemUserID != su.ID || time.Since(check.CreatedTime) > time.Minute {
			t.Fatalf("check = %+v, %v", check, err)
		}
		post(t, base+"/_sandbox/businesses/"+businessID+"/system_users", `{"name":"x","role":"OWNER"}`, http.StatusBadRequest, nil)
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

	t.Run("MemberRole", func(t *testing.T) {
		var admin, employee string
		for id, u := range b.Users {
			if u.Role == "ADMIN" && admin == "" {
				admin = u.Email
			}
			if u.Role == "EMPLOYEE" && employee == "" {
				employee = id
			}
		}
		if role, err := c.MemberRole(ctx, businessID, strings.ToUpper(admin)); err != nil || role != "ADMIN" {
			t.Fatalf("admin %s: %v, %v", admin, role, err)
		}
		if role, _ := c.MemberRole(ctx, businessID, employee); role != "EMPLOYEE" {
			t.Fatal("an employee was not reported as EMPLOYEE")
		}
		if role, _ := c.MemberRole(ctx, businessID, "nobody@nowhere.test"); role != "" {
			t.Fatal("a stranger has a role")
		}
	})
}

// post calls a sandbox control and decodes its answer into out (if not nil).
func post(t *testing.T, url, body string, want int, out any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d, want %d", url, resp.StatusCode, want)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// The client reads its token's expiry and the business's two-factor rule;
// each business user comes with whether they use two-factor.
func TestTokenExpiryAndTwoFactor(t *testing.T) {
	sb, c, b := setup(t, metasandbox.Shape{Members: 12})
	ctx := context.Background()
	info, err := c.DebugToken(ctx)
	if err != nil || !info.Valid || !info.Expiry().IsZero() {
		t.Fatalf("a token that never expires: %+v, %v", info, err)
	}
	expires, dataAccess := time.Now().Add(72*time.Hour).Truncate(time.Second), time.Now().Add(48*time.Hour).Truncate(time.Second)
	sb.SetTokenExpiry(token, expires, dataAccess)
	info, err = c.DebugToken(ctx)
	if err != nil || !info.ExpiresAt.Equal(expires) || !info.DataAccessExpiresAt.Equal(dataAccess) || !info.Expiry().Equal(dataAccess) {
		t.Fatalf("a token expiring: %+v, %v", info, err)
	}
	if got, err := c.TwoFactorType(ctx, businessID); err != nil || got != "none" {
		t.Fatalf("two_factor_type %q, %v", got, err)
	}
	members, _, err := c.Members(ctx, businessID, "business_users", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if want := b.Users[m.ExternalID].TwoFactor; m.TwoFactor != want || want == "" {
			t.Fatalf("%s: two_fac_status %q, want %q", m.ExternalID, m.TwoFactor, want)
		}
	}
	sb.SetTokenExpiry(token, time.Now().Add(-time.Second), time.Time{})
	if _, err := c.DebugToken(ctx); err == nil || !strings.Contains(err.Error(), "190/463") {
		t.Fatalf("an expired token: %v", err)
	}
}

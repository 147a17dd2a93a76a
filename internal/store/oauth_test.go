package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// A consent's state is good once and only for its integration; the
// tokens it brings are sealed and connect the integration, owing its
// Schedule; renewals race for real and only one renews.
func TestOAuthConsentAndRenewal(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ig, start, err := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderPinterest, Mode: "api",
		Label: "Pinterest", BusinessID: "549755813888", LoginMethod: "sso", RemovalSafeguard: 0.2, Actor: "test"})
	if err != nil || ig.Status != "onboarding" || ig.Mode != "api" || start.ID != 0 {
		t.Fatalf("created %+v, start %+v, %v", ig, start, err)
	}
	browser, _, err := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderPinterest,
		Label: "Pinterest", BusinessID: "549755813889", LoginMethod: "password", Secret: []byte("pw"), RemovalSafeguard: 0.2, Actor: "test"})
	if err != nil || browser.Mode != "browser" {
		t.Fatalf("default mode: %+v %v", browser, err)
	}
	if _, err := f.st.BeginOAuth(ctx, f.ws.ID, browser.ID, "api_key:k"); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("consent for a browser integration: %v", err)
	}
	if _, _, err := f.st.CreateIntegration(ctx, store.NewIntegration{WorkspaceID: f.ws.ID, Provider: domain.ProviderPinterest, Mode: "fax",
		BusinessID: "1", Actor: "test"}); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("an unknown mode: %v", err)
	}
	state, err := f.st.BeginOAuth(ctx, f.ws.ID, ig.ID, "api_key:k")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.st.OAuthIntegration(ctx, state); err != nil || got.ID != ig.ID {
		t.Fatalf("state's integration %+v %v", got, err)
	}
	if _, err := f.st.OAuthIntegration(ctx, "forged"); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("a forged state: %v", err)
	}
	connected, start, err := f.st.CompleteOAuth(ctx, state, []byte(`{"Access":"pina.1","Refresh":"pinr.1"}`))
	if err != nil || connected.Status != "connected" || connected.CredentialID == "" || start.Kind != store.StartIntegrationSchedule {
		t.Fatalf("completed %+v %+v %v", connected, start, err)
	}
	if _, _, err := f.st.CompleteOAuth(ctx, state, []byte(`{}`)); domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("a state used twice: %v", err)
	}
	if n := f.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1 AND kind = 'pinterest_oauth'`, ig.ID); n != 1 {
		t.Fatalf("%d sealed tokens", n)
	}

	// Eight workers find the token stale at once: one renews, the others use its result.
	var mu sync.Mutex
	renewals := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := f.st.RenewCredential(ctx, ig.ID, func(current []byte) ([]byte, error) {
				if string(current) != `{"Access":"pina.1","Refresh":"pinr.1"}` {
					return nil, nil
				}
				mu.Lock()
				renewals++
				mu.Unlock()
				return []byte(`{"Access":"pina.2","Refresh":"pinr.2"}`), nil
			})
			if err != nil || string(got) != `{"Access":"pina.2","Refresh":"pinr.2"}` {
				t.Errorf("renewal: %s %v", got, err)
			}
		}()
	}
	wg.Wait()
	if renewals != 1 {
		t.Fatalf("%d renewals, want 1", renewals)
	}
}

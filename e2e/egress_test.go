package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/testsuite"
)

// TestTenantURLsReachOnlyAllowedHosts sends base URLs naming the machine's
// neighbours to an API whose operator allows one sandbox: each is a 400
// that says which setting allows it, and no row changes.
func TestTenantURLsReachOnlyAllowedHosts(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 5, 4))
	hosts, err := egress.Parse(strings.TrimPrefix(s.oktaURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	narrow := httptest.NewServer(api.New(api.Options{Store: s.store, Temporal: s.temporal, TaskQueue: taskQueue, SyncEvery: 24 * time.Hour,
		ProviderHosts: hosts}))
	defer narrow.Close()
	wide := s.api
	s.api = narrow // expectErrors sends to s.api
	defer func() { s.api = wide }()

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.oktaURL, "http://"))
	okta := func(url string) string {
		return `{"type":"okta","name":"Okta","okta":{"base_url":"` + url + `","api_token":"t"}}`
	}
	entra := func(field, url string) string {
		return `{"type":"entra","name":"E","entra":{"tenant_id":"t","client_id":"c","client_secret":"s","` + field + `":"` + url + `"}}`
	}
	meta := func(url string) string {
		return `{"provider":"meta","label":"L","business_id":"123","login_method":"sso","access_token":"EAAx","graph_base_url":"` + url + `"}`
	}
	pinterest := `{"provider":"pinterest","label":"P","business_id":"123","login_method":"password",` +
		`"automation":{"email":"bot@acme.test","password":"p"},"web_base_url":"http://10.0.0.1"}`
	var cases []badRequest
	for name, url := range map[string]string{
		"Metadata":           "http://169.254.169.254",
		"MetricsListener":    "http://127.0.0.1:9464",
		"SandboxOtherScheme": "https://" + strings.TrimPrefix(s.metaURL, "http://"),
		"LocalhostName":      "http://localhost:" + port,
		"DecimalLoopback":    "http://2130706433:" + port,
		"ShortLoopback":      "http://127.1:" + port,
		"IPv6Loopback":       "http://[::1]:" + port,
		"Private":            "http://10.0.0.1",
		"PublicElsewhere":    "https://evil.example",
		"VendorOverHTTP":     "http://graph.facebook.com",
		"VendorOtherPort":    "https://graph.facebook.com:8443",
		"VendorLookalike":    "https://graph.facebook.com.evil.example",
	} {
		cases = append(cases, badRequest{"Meta" + name, "POST", "/v1/integrations", s.apiKey, meta(url), 400})
	}
	cases = append(cases,
		badRequest{"OktaMetadata", "POST", "/v1/directories", s.apiKey, okta("http://169.254.169.254/latest"), 400},
		badRequest{"OktaMetricsListener", "POST", "/v1/directories", s.apiKey, okta("http://127.0.0.1:9464"), 400},
		badRequest{"OktaLookalike", "POST", "/v1/directories", s.apiKey, okta("https://acme.okta.com.evil.example"), 400},
		badRequest{"OktaOtherVendor", "POST", "/v1/directories", s.apiKey, okta("https://graph.microsoft.com"), 400},
		badRequest{"EntraGraphPrivate", "POST", "/v1/directories", s.apiKey, entra("graph_base_url", "http://192.168.0.1"), 400},
		badRequest{"EntraLoginLoopback", "POST", "/v1/directories", s.apiKey, entra("login_base_url", "http://127.0.0.1:9464"), 400},
		badRequest{"PinterestPrivate", "POST", "/v1/integrations", s.apiKey, pinterest, 400},
	)
	s.expectErrors(t, cases, func(tc badRequest, message string) bool {
		return strings.Contains(message, egress.Setting) && strings.Contains(message, "https://")
	})

	// The allowed sandbox is accepted.
	var dir store.Directory
	if code := s.call("POST", "/v1/directories", s.apiKey, s.oktaDirectoryBody(oktaToken), &dir); code != http.StatusCreated {
		t.Fatalf("allowed host: %d", code)
	}
}

// TestImportRefusesAStoredLocalURL runs an import of a directory whose
// stored base URL names a local listener (stored before the operator's
// policy, or written around the API): the worker refuses it without a
// single connection.
func TestImportRefusesAStoredLocalURL(t *testing.T) {
	s := newStack(t, nil)
	hits := 0
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer listener.Close()
	d, _, err := s.store.CreateDirectory(context.Background(), store.NewDirectory{WorkspaceID: s.ws.ID, Type: domain.DirectoryOkta,
		Name: "Stored", Settings: domain.DirectorySettings{BaseURL: listener.URL}, Secret: []byte("t"), Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.store.StartSyncRun(context.Background(), d.ID, "test", "wf", "run")
	if err != nil {
		t.Fatal(err)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	hosts := egress.Policy{}
	env.RegisterActivity(&activities.Activities{Store: s.store, HTTP: hosts.Client(5 * time.Second), ProviderHosts: hosts})
	_, err = env.ExecuteActivity((&activities.Activities{}).FetchDirectoryUsers, run.ID)
	if err == nil || !strings.Contains(err.Error(), egress.Setting) {
		t.Fatalf("import of a local URL: %v", err)
	}
	if hits != 0 {
		t.Fatalf("the listener was called %d times", hits)
	}
	t.Logf("refused: %v", err)
}

// Package e2e drives the whole system — real Postgres, the Temporal dev
// server, the worker, the HTTP API and the sandbox providers — through the
// HTTP API, as a client would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/pgtest"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/entrasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	"github.com/hubkeeper/hubkeeper/worker"
	"github.com/hubkeeper/hubkeeper/workflows"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Sandbox credentials. The tests check that they never show up in history or logs.
const (
	oktaToken   = "00SANDBOX-okta-token-e2e-Zx81"
	entraTenant = "6a1e9c40-1111-4222-8333-944455556666"
	entraClient = "b0c1d2e3-aaaa-4bbb-8ccc-dddddddddddd"
	entraSecret = "SANDBOX~entra~secret~e2e~Qw77"
	taskQueue   = "hubkeeper-e2e"
	emailDomain = "acme.test"
	metaToken   = "EAAsandboxMetaSystemUserToken-e2e-Lm55"
	// codecToken admits the tests to the codec endpoint.
	codecToken = "codec-e2e-token-Tq3v9"
	// metaBusinessID is the sandbox Business Manager of the tests.
	metaBusinessID = "901234567890123"
)

// sandboxHosts lets tenants' base URLs name the sandboxes, which listen on
// 127.0.0.1 at ports chosen per test.
var sandboxHosts = egress.Policy{Allowed: []string{"127.0.0.1"}}

// onboardingTimings run a whole Meta onboarding in seconds.
var onboardingTimings = activities.OnboardingTimings{RemindEvery: 4 * time.Second, ApprovalDeadline: 5 * time.Minute,
	StepDeadline: 5 * time.Minute, ClaimPollEvery: time.Second, RestrictionWindow: 12 * time.Second}

const supportEmail = "support@hubkeeper.test"

// metaShape is the sandbox business of the end-to-end tests.
var metaShape = metasandbox.Shape{Members: 120, Pages: 10, AdAccounts: 6, HoldersPerAsset: 4, Invitations: 3}

// lockedBuffer collects logs from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type stack struct {
	t     testing.TB
	dbURL string
	store *store.Store
	// temporalAddr is the dev server's frontend, for worker processes.
	temporalAddr string
	temporal     client.Client
	api          *httptest.Server
	server       *api.Server
	okta         *oktasandbox.Server
	oktaURL      string
	entra        *entrasandbox.Server
	entraURL     string
	meta         *metasandbox.Server
	metaURL      string
	// pin serves Pinterest's web app and API for integrations in API mode.
	pin     *pinsandbox.Server
	pinURL  string
	mail    *mail.Catcher
	browser *browser.Shared
	people  []seed.Person
	ws      store.Workspace
	apiKey  string
	logs    *lockedBuffer
}

// newStack starts everything for one test. The worker runs in-process on a
// dev server of its own.
func newStack(t testing.TB, people []seed.Person) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{t: t, people: people, logs: &lockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	keys, err := secrets.ParseKeyring(temporaltest.KeySpec)
	if err != nil {
		t.Fatal(err)
	}
	s.dbURL = pgtest.URL(t)
	if s.store, err = store.Open(ctx, s.dbURL, keys); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.store.Close)

	s.okta = oktasandbox.New(oktaToken, people)
	oktaSrv := httptest.NewServer(s.okta.Handler())
	t.Cleanup(oktaSrv.Close)
	s.oktaURL = oktaSrv.URL
	s.entra = entrasandbox.New(entraTenant, entraClient, entraSecret, people)
	entraSrv := httptest.NewServer(s.entra.Handler())
	t.Cleanup(entraSrv.Close)
	s.entraURL = entraSrv.URL

	s.meta = metasandbox.New()
	s.meta.AddBusiness(metasandbox.NewBusiness(metaBusinessID, emailDomain, people, metaShape, time.Now()), metaToken)
	metaSrv := httptest.NewServer(s.meta)
	t.Cleanup(metaSrv.Close)
	s.metaURL = metaSrv.URL

	s.pin = pinsandbox.New()
	s.pin.AddBusiness(pinsandbox.NewDemoBusiness(pinBusinessID, "Acme", pinAutomation, people, min(len(people), 90), 4))
	s.pin.AddAccount(pinAutomation, pinPassword)
	pinSrv := httptest.NewServer(s.pin)
	t.Cleanup(pinSrv.Close)
	s.pinURL = pinSrv.URL
	pinterestApp := &pinterestapi.App{ClientID: pinClientID, Secret: pinClientSecret, APIBase: s.pinURL, ConsentURL: s.pinURL + "/oauth/",
		HTTP: sandboxHosts.Client(30 * time.Second)}

	s.temporalAddr = temporaltest.DevServer(t)
	if s.temporal, err = temporalclient.Dial(ctx, temporalclient.Options{HostPort: s.temporalAddr, Namespace: "default", Keys: keys,
		Logger: logger}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.temporal.Close)
	if s.mail, err = mail.StartCatcher("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.mail.Close() })
	mailer, err := mail.New(mail.Config{Addr: s.mail.Addr, From: "hubkeeper@acme.test", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Store: s.store, HTTP: sandboxHosts.Client(30 * time.Second), ProviderHosts: sandboxHosts,
		Backoff: providerhttp.Policy{Attempts: 4, MaxWait: 5 * time.Second, Base: 50 * time.Millisecond},
		Mailer:  mailer, Reports: activities.ReportTimings{RemindEvery: time.Hour, ExpireAfter: 24 * time.Hour},
		TokenNotice:        14 * 24 * time.Hour,
		Onboarding:         onboardingTimings,
		SupportEmail:       supportEmail,
		EnsureSyncSchedule: worker.SyncScheduler(s.temporal, taskQueue, 24*time.Hour),
		// Chromium starts only for the tests that drive Pinterest.
		Browser: &browser.Shared{Options: browser.Options{Sessions: 2, PageTimeout: 20 * time.Second, CaptureDir: t.TempDir(),
			Hosts: sandboxHosts}},
		Pinterest: activities.PinterestTimings{CodeWait: 30 * time.Second}, Retention: 7 * 24 * time.Hour, Slots: slotLimits,
		PinterestApp: pinterestApp}
	t.Cleanup(acts.Browser.Close)
	s.browser = acts.Browser
	w := worker.New(s.temporal, taskQueue, acts, 10)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	s.server = api.New(api.Options{Store: s.store, Temporal: s.temporal, TaskQueue: taskQueue, SyncEvery: 24 * time.Hour,
		ProviderHosts: sandboxHosts, KeyRequestsPerMinute: 1_000_000, ConfirmRequestsPerMinute: 1_000_000, Codec: temporalclient.CodecHandler(keys, []string{"http://localhost:8233"}, codecToken), Logger: logger,
		Pinterest: pinterestApp, TemporalUI: "http://localhost:8233", Namespace: "default"})
	s.api = httptest.NewServer(s.server)
	t.Cleanup(s.api.Close)
	acts.PublicURL, s.server.PublicURL = s.api.URL, s.api.URL
	s.pin.AddApp(pinClientID, pinClientSecret, s.api.URL+api.CallbackPath)

	if s.ws, err = s.store.CreateWorkspace(ctx, "Acme"); err != nil {
		t.Fatal(err)
	}
	if s.apiKey, _, err = s.store.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: s.ws.ID, Name: "e2e", Scope: store.ScopeAdmin, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return s
}

// importOkta connects the sandbox Okta directory and imports it.
func (s *stack) importOkta() store.Directory {
	s.t.Helper()
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	if _, err := s.sync(dir.ID); err != nil {
		s.t.Fatal(err)
	}
	return dir
}

// call sends a request to the API and decodes a JSON answer into out (if not nil).
func (s *stack) call(method, path, key string, body any, out any) int {
	s.t.Helper()
	return s.callAt(s.api.URL, method, path, key, body, out)
}

// callAt is call to the API at base.
func (s *stack) callAt(base, method, path, key string, body any, out any) int {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (s *stack) oktaDirectoryBody(token string) map[string]any {
	return map[string]any{"type": "okta", "name": "Okta", "okta": map[string]any{"base_url": s.oktaURL, "api_token": token}}
}

func (s *stack) entraDirectoryBody() map[string]any {
	return map[string]any{"type": "entra", "name": "Entra ID", "entra": map[string]any{"tenant_id": entraTenant,
		"client_id": entraClient, "client_secret": entraSecret, "graph_base_url": s.entraURL, "login_base_url": s.entraURL}}
}

func (s *stack) createDirectory(body map[string]any) store.Directory {
	s.t.Helper()
	var d store.Directory
	if code := s.call("POST", "/v1/directories", s.apiKey, body, &d); code != http.StatusCreated {
		s.t.Fatalf("create directory: %d", code)
	}
	return d
}

type syncStarted struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// sync triggers an import through the API and waits for its workflow.
func (s *stack) sync(dirID string) (syncStarted, error) {
	s.t.Helper()
	return s.syncAs(s.apiKey, dirID)
}

// syncAs triggers an import with another workspace's key and waits for it.
func (s *stack) syncAs(key, dirID string) (syncStarted, error) {
	s.t.Helper()
	var started syncStarted
	if code := s.call("POST", "/v1/directories/"+dirID+"/sync", key, nil, &started); code != http.StatusAccepted {
		s.t.Fatalf("sync: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return started, s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil)
}

type userPage struct {
	Items      []store.StoredUser `json:"items"`
	NextCursor string             `json:"next_cursor"`
}

// users lists every user of a directory through the API, page by page.
func (s *stack) users(dirID, query string) []store.StoredUser {
	s.t.Helper()
	var all []store.StoredUser
	cursor := ""
	for {
		var page userPage
		path := fmt.Sprintf("/v1/directories/%s/users?limit=500&cursor=%s%s", dirID, cursor, query)
		if code := s.call("GET", path, s.apiKey, nil, &page); code != http.StatusOK {
			s.t.Fatalf("list users: %d", code)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// recorder is a minimal http.ResponseWriter for handler-only checks.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{header: http.Header{}, code: 200} }
func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func syncInputFor(d store.Directory) workflows.DirectorySyncInput {
	return workflows.DirectorySyncInput{WorkspaceID: d.WorkspaceID, DirectoryID: d.ID, Provider: string(d.Type), Trigger: "test"}
}

func startSync(s *stack, queue string, in workflows.DirectorySyncInput) (client.WorkflowRun, error) {
	return workflows.StartDirectorySync(context.Background(), s.temporal, queue, in)
}

func startMemberAction(s *stack, queue string, ch store.MemberChange) (client.WorkflowRun, error) {
	return workflows.StartMemberAction(context.Background(), s.temporal, queue, ch)
}

// The operator's Pinterest app in the sandbox.
const (
	pinClientID     = "1487262"
	pinClientSecret = "pinterest-app-secret-e2e-7Hq"
)

// slotLimits are the workers' default concurrency bounds.
var slotLimits = store.SlotLimits{PerProvider: config.DefaultProviderConcurrency, PerWorkspace: 10, Lease: activities.SlotLease}

// crashableWorker starts a worker on queue that stops at once, as a
// crashed process would, and sends heartbeats every 100ms (production:
// worker.HeartbeatEvery), for tests that stop it mid-work.
func (s *stack) crashableWorker(t testing.TB, queue string) sdkworker.Worker {
	t.Helper()
	acts := &activities.Activities{Store: s.store, HTTP: sandboxHosts.Client(30 * time.Second), ProviderHosts: sandboxHosts, Backoff: providerhttp.Default,
		Browser: s.browser, Slots: slotLimits}
	w := sdkworker.New(s.temporal, queue, sdkworker.Options{WorkerStopTimeout: time.Millisecond,
		DefaultHeartbeatThrottleInterval: 100 * time.Millisecond, MaxHeartbeatThrottleInterval: 100 * time.Millisecond})
	worker.Register(w, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	return w
}

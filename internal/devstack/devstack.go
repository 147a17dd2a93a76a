// Package devstack brings the whole system up on one machine for a
// newcomer: Postgres under .data/ (unless DATABASE_URL is set), the Temporal
// dev server with its web UI, the sandbox providers, the worker and the API;
// then it seeds a demo workspace, imports its directories and prints where
// to look. Ctrl-C stops everything it started; a second run reuses .data/.
package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/pgserver"
	"github.com/hubkeeper/hubkeeper/internal/process"
	"github.com/hubkeeper/hubkeeper/internal/sandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/worker"
	"github.com/hubkeeper/hubkeeper/workflows"
	"go.temporal.io/sdk/client"
)

// Options say where the stack keeps its state and listens.
type Options struct {
	DataDir      string
	APIAddr      string
	TemporalPort int
	UIPort       int
	OktaAddr     string
	EntraAddr    string
	MetaAddr     string
	// PinterestAddr is the sandbox Pinterest Business web app.
	PinterestAddr string
	// MailAddr is the SMTP catcher; MailUIAddr shows what it caught.
	MailAddr   string
	MailUIAddr string
	// MetricsAddr serves Prometheus /metrics ("" disables it).
	MetricsAddr string
	// DatabaseURL, when set, is used instead of a local cluster.
	DatabaseURL string
}

// DefaultOptions are the README's.
func DefaultOptions() Options {
	return Options{DataDir: ".data", APIAddr: "127.0.0.1:8080", TemporalPort: 7233, UIPort: 8233,
		OktaAddr: "127.0.0.1:8091", EntraAddr: "127.0.0.1:8092", MetaAddr: "127.0.0.1:8093", PinterestAddr: "127.0.0.1:8094",
		MailAddr: "127.0.0.1:1025", MailUIAddr: "127.0.0.1:8025", MetricsAddr: "127.0.0.1:9464", DatabaseURL: os.Getenv("DATABASE_URL")}
}

const demoWorkspace = "Acme (demo)"

// demoAdmin receives the demo workspace's deprovision reports.
const demoAdmin = "it-admin@" + sandbox.DemoDomain

// Prerequisites checks, before anything starts, that this machine has what
// the stack needs, and says what to install for whatever is missing.
func Prerequisites(o Options) error {
	var missing []string
	if o.DatabaseURL == "" {
		if _, err := pgserver.BinDir(); err != nil {
			missing = append(missing, "the PostgreSQL server binaries: apt-get install postgresql (or set DATABASE_URL, or HUBKEEPER_PG_BIN)")
		}
	}
	if _, err := browser.FindChromium(); err != nil {
		missing = append(missing, "Chromium, which drives the Pinterest sandbox: apt-get install chromium (or set HUBKEEPER_CHROMIUM)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("this machine lacks\n  - %s", strings.Join(missing, "\n  - "))
	}
	return nil
}

// Run starts the stack and blocks until ctx ends.
func Run(ctx context.Context, o Options, out io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }
	if err := Prerequisites(o); err != nil {
		return err
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return err
	}
	state, err := loadEnvFile(filepath.Join(o.DataDir, "secrets.env"), map[string]func() (string, error){
		"HUBKEEPER_ENCRYPTION_KEYS":       func() (string, error) { return secrets.NewKeySpec("dev1") },
		"SANDBOX_OKTA_TOKEN":              func() (string, error) { return randomToken("00sbx") },
		"SANDBOX_ENTRA_SECRET":            func() (string, error) { return randomToken("sbx~") },
		"SANDBOX_META_TOKEN":              func() (string, error) { return randomToken("EAAsbx") },
		"SANDBOX_PINTEREST_PASSWORD":      func() (string, error) { return randomToken("pin-") },
		"SANDBOX_PINTEREST_CLIENT_SECRET": func() (string, error) { return randomToken("pinapp-") },
		"SANDBOX_CONSOLE_CLIENT_SECRET":   func() (string, error) { return randomToken("console-") },
		// The UI reaches the codec endpoint with it in the path.
		"HUBKEEPER_CODEC_ACCESS_TOKEN": func() (string, error) { return randomToken("codec-") },
	})
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(o.DataDir, "hubkeeper.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, nil))

	// Postgres.
	dbURL := o.DatabaseURL
	if dbURL == "" {
		say("starting Postgres in %s", filepath.Join(o.DataDir, "postgres"))
		pgLog, err := os.OpenFile(filepath.Join(o.DataDir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer pgLog.Close()
		pg, err := pgserver.Start(ctx, pgserver.Options{Dir: filepath.Join(o.DataDir, "postgres"), Durable: true, Log: pgLog})
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		defer pg.Stop()
		dbURL = pg.URL
	}

	// The API listens first, so the Temporal UI can be pointed at its codec endpoint.
	apiListener, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return fmt.Errorf("API address %s: %w (is another stack running?)", o.APIAddr, err)
	}
	apiURL := "http://" + apiListener.Addr().String()

	// Temporal dev server with the web UI.
	cli, err := temporalclient.FindCLI()
	if err != nil {
		return err
	}
	temporalPort, uiPort := freeOr(o.TemporalPort), freeOr(o.UIPort)
	uiURL := fmt.Sprintf("http://localhost:%d", uiPort)
	say("starting the Temporal dev server (UI %s)", uiURL)
	tLog, err := os.OpenFile(filepath.Join(o.DataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer tLog.Close()
	args := append([]string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(temporalPort),
		"--ui-port", strconv.Itoa(uiPort), "--db-filename", filepath.Join(o.DataDir, "temporal.db"),
		"--ui-codec-endpoint", apiURL + "/codec/" + state["HUBKEEPER_CODEC_ACCESS_TOKEN"], "--log-level", "warn"}, temporalclient.DevServerArgs()...)
	tcmd := exec.Command(cli, args...)
	tcmd.Stdout, tcmd.Stderr = tLog, tLog
	tcmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := tcmd.Start(); err != nil {
		return fmt.Errorf("temporal dev server: %w", err)
	}
	defer func() {
		_ = tcmd.Process.Signal(syscall.SIGINT)
		_ = tcmd.Wait()
	}()
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", temporalPort)

	// Sandbox providers.
	sb, err := sandbox.Start(ctx, sandbox.Options{OktaAddr: o.OktaAddr, EntraAddr: o.EntraAddr, MetaAddr: o.MetaAddr,
		PinterestAddr: o.PinterestAddr, OktaToken: state["SANDBOX_OKTA_TOKEN"], EntraSecret: state["SANDBOX_ENTRA_SECRET"],
		MetaToken: state["SANDBOX_META_TOKEN"], PinterestPassword: state["SANDBOX_PINTEREST_PASSWORD"],
		PinterestClientSecret: state["SANDBOX_PINTEREST_CLIENT_SECRET"], PinterestRedirectURI: apiURL + api.CallbackPath})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	defer sb.Close()
	say("sandbox Okta at %s, sandbox Entra ID at %s, sandbox Meta Graph API at %s, sandbox Pinterest at %s", sb.OktaURL, sb.EntraURL,
		sb.MetaURL, sb.PinterestURL)

	// Tenants' base URLs may name the sandboxes, and nothing else local.
	var sandboxes []string
	for _, u := range []string{sb.OktaURL, sb.EntraURL, sb.MetaURL, sb.PinterestURL} {
		sandboxes = append(sandboxes, strings.TrimPrefix(u, "http://"))
	}
	hosts, err := egress.Parse(strings.Join(sandboxes, ","))
	if err != nil {
		return err
	}
	cfg := config.API{Common: config.Common{DatabaseURL: dbURL, EncryptionKeys: state["HUBKEEPER_ENCRYPTION_KEYS"],
		TemporalAddress: temporalAddr, TemporalNamespace: "default", TaskQueue: "hubkeeper", SyncEvery: 24 * time.Hour,
		MetricsAddr: o.MetricsAddr, ProviderHosts: hosts,
		Pinterest: config.Pinterest{PinterestClientID: sandbox.DemoPinterestClientID, PinterestClientSecret: state["SANDBOX_PINTEREST_CLIENT_SECRET"],
			PinterestAPIURL: sb.PinterestURL, PinterestConsentURL: sb.PinterestURL + "/oauth/"}},
		TemporalUIURL: uiURL, CodecCORSOrigins: []string{uiURL, fmt.Sprintf("http://127.0.0.1:%d", uiPort)}, CodecAccessToken: state["HUBKEEPER_CODEC_ACCESS_TOKEN"],
		PublicURL: apiURL}
	deps, err := openWhenReady(ctx, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer deps.Close()

	catcher, err := mail.StartCatcher(o.MailAddr)
	if err != nil {
		return fmt.Errorf("mail catcher: %w", err)
	}
	defer catcher.Close()
	mailUI, err := net.Listen("tcp", o.MailUIAddr)
	if err != nil {
		return fmt.Errorf("mail page: %w", err)
	}
	mailURL := "http://" + mailUI.Addr().String()
	go func() { _ = api.Serve(ctx, mailUI, catcher) }()
	// Onboardings in the dev stack poll the sandbox often and keep Meta's
	// restriction window short, so a newcomer sees the whole path in minutes.
	acts, err := worker.NewActivities(deps, config.Worker{Common: cfg.Common, Retention: 7 * 24 * time.Hour, WorkspaceConcurrency: 10,
		Mail: config.Mail{SMTPAddr: catcher.Addr, SMTPTLS: "none", MailFrom: "hubkeeper@" + sandbox.DemoDomain,
			PublicURL: apiURL, ReportRemindEvery: 24 * time.Hour, ReportExpireAfter: 7 * 24 * time.Hour},
		Onboarding: config.Onboarding{SupportEmail: "support@" + sandbox.DemoDomain, OnboardingRemindEvery: time.Hour,
			OnboardingApprovalDeadline: 14 * 24 * time.Hour, OnboardingStepDeadline: 14 * 24 * time.Hour, OnboardingClaimPollEvery: 30 * time.Second,
			MetaRestrictionWindow: 2 * time.Minute},
		Browser: config.Browser{BrowserSessions: 2, BrowserPageTimeout: 30 * time.Second, PinterestCodeWait: 10 * time.Minute}})
	if err != nil {
		return err
	}
	defer acts.Browser.Close()
	if err := workflows.EnsureRetentionSchedule(ctx, deps.Temporal, cfg.TaskQueue, 24*time.Hour); err != nil {
		return err
	}
	w := worker.New(deps.Temporal, cfg.TaskQueue, acts, 20)
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	apiDone := make(chan error, 1)
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer func() { stopServing(); <-apiDone }()
	apiServer := api.NewFromDeps(deps, cfg)
	go apiServer.DrainStarts(serveCtx, api.StartDrainEvery)
	go func() { apiDone <- api.Serve(serveCtx, apiListener, apiServer) }()

	demo, err := seedDemo(ctx, deps.Store, apiURL, o.DataDir, sb, state)
	if err != nil {
		return fmt.Errorf("demo workspace: %w", err)
	}
	for _, dir := range demo.directories {
		say("importing %s through workflow directory-sync/%s", dir.name, dir.id)
		res, err := syncAndWait(ctx, deps.Temporal, apiURL, demo.apiKey, dir.id)
		if err != nil {
			return fmt.Errorf("import %s: %w", dir.name, err)
		}
		say("  %d added, %d changed, %d deprovisioned, %d unchanged", res.Added, res.Changed, res.Deprovisioned, res.Unchanged)
	}
	say("checking the Meta business for updates through workflow sync/%s", demo.integrationID)
	checked, err := checkAndWait(ctx, deps.Temporal, apiURL, demo.apiKey, demo.integrationID)
	if err != nil {
		return fmt.Errorf("check Meta business: %w", err)
	}
	say("  %d members (%d added, %d changed, %d removed), %d assets, %d grants",
		checked.Members, checked.Added, checked.Changed, checked.Removed, checked.Assets, checked.Grants)
	onboarding, err := deps.Store.OnboardingOf(ctx, demo.pinterestID)
	if err != nil {
		return err
	}
	if onboarding.Stage != store.OnboardDone {
		// A first run that was interrupted (or whose onboarding failed) goes on from where it stopped.
		say("onboarding the Pinterest business through workflow onboard/%s (login in headless Chromium, first import)", demo.pinterestID)
		onboarded, err := onboardPinterest(ctx, deps.Temporal, apiURL, demo.apiKey, demo.pinterestID, onboarding, say)
		if err != nil {
			return fmt.Errorf("onboard Pinterest business: %w", err)
		}
		checked = onboarded.Sync
	} else {
		say("checking the Pinterest business for updates through workflow sync/%s", demo.pinterestID)
		if checked, err = checkAndWait(ctx, deps.Temporal, apiURL, demo.apiKey, demo.pinterestID); err != nil {
			return fmt.Errorf("check Pinterest business: %w", err)
		}
	}
	say("  %d members (%d added, %d changed, %d removed), %d ad accounts, %d grants",
		checked.Members, checked.Added, checked.Changed, checked.Removed, checked.Assets, checked.Grants)
	if checked, err = connectPinterestAPI(ctx, deps, apiURL, demo, state, say); err != nil {
		return fmt.Errorf("Pinterest business through the API: %w", err)
	}
	say("  %d members (%d added, %d changed, %d removed), %d ad accounts, %d grants",
		checked.Members, checked.Added, checked.Changed, checked.Removed, checked.Assets, checked.Grants)
	env := map[string]string{"HUBKEEPER_API_URL": apiURL, "HUBKEEPER_API_KEY": demo.apiKey, "HUBKEEPER_SUPPORT_KEY": demo.supportKey,
		"TEMPORAL_UI_URL":  uiURL,
		"TEMPORAL_ADDRESS": temporalAddr, "DATABASE_URL": dbURL, "WORKSPACE_ID": demo.workspaceID,
		"META_INTEGRATION_ID": demo.integrationID, "PINTEREST_INTEGRATION_ID": demo.pinterestID,
		"PINTEREST_API_INTEGRATION_ID": demo.pinterestAPIID, "HUBKEEPER_SCIM_URL": demo.scim.BaseURL, "HUBKEEPER_SCIM_TOKEN": demo.scim.Token,
		"HUBKEEPER_CONSOLE_LOGIN_URL": demo.consoleLink}
	for _, dir := range demo.directories {
		env[strings.ToUpper(dir.key)+"_DIRECTORY_ID"] = dir.id
	}
	if err := writeEnvFile(filepath.Join(o.DataDir, "demo.env"), env); err != nil {
		return err
	}
	fmt.Fprintf(out, `
Hubkeeper is running. Ctrl-C stops everything.

  Console        %s   (signs %s in once; later: %s/ui/signin?workspace=%s)
  API            %s   (OpenAPI: %s/openapi.yaml)
  API key        %s
  Support key    %s   (approves dedicated apps in Meta onboardings; README "Meta onboarding")
  Temporal UI    %s   (payloads decoded through %s/codec)
  Temporal       %s
  Mail (dev)     %s   (reports to %s land here)
  Metrics        http://%s/metrics
  Postgres       %s
  Okta sandbox   %s
  Entra sandbox  %s
  Meta sandbox   %s
  Pinterest      %s   (sandbox web app and API; automation account %s)
                 integrations: %s through the browser, %s through the API (consented at start)
  SCIM           %s   (an IdP's base URL; its token is HUBKEEPER_SCIM_TOKEN in demo.env)
  Logs           %s/*.log
  These values   %s/demo.env

Try:
  curl -H "Authorization: Bearer %s" %s/v1/directories
  curl -H "Authorization: Bearer %s" "%s/v1/directories/%s/users?status=deprovisioned"
  curl -H "Authorization: Bearer %s" "%s/v1/integrations/%s/members?state=unmatched"
`, demo.consoleLink, demoAdmin, apiURL, demo.workspaceID, apiURL, apiURL, demo.apiKey, demo.supportKey, uiURL, apiURL, temporalAddr, mailURL, demoAdmin, o.MetricsAddr, redactURL(dbURL), sb.OktaURL, sb.EntraURL, sb.MetaURL, sb.PinterestURL, sandbox.DemoPinterestAutomation, demo.pinterestID, demo.pinterestAPIID, demo.scim.BaseURL, o.DataDir, o.DataDir,
		demo.apiKey, apiURL, demo.apiKey, apiURL, demo.directories[0].id, demo.apiKey, apiURL, demo.integrationID)

	select {
	case <-ctx.Done():
		say("stopping")
		return nil
	case err := <-apiDone:
		apiDone <- err
		return fmt.Errorf("API stopped: %w", err)
	}
}

// openWhenReady opens the process dependencies, waiting for the freshly
// started Temporal dev server to accept connections.
func openWhenReady(ctx context.Context, c config.Common, logger *slog.Logger) (*process.Deps, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := process.Open(ctx, c, logger)
		if err == nil {
			return d, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w (see the logs in .data/)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type demoDirectory struct{ key, name, id string }

type demoState struct {
	workspaceID string
	apiKey      string
	supportKey  string
	directories []demoDirectory
	scim        demoSCIM
	// consoleLink signs the demo admin in to the console, once.
	consoleLink   string
	integrationID string
	// pinterestID is the demo's Pinterest integration through the browser;
	// pinterestAPIID the one through the API.
	pinterestID, pinterestAPIID string
}

// demoSCIMName names the demo's SCIM directory, which IdPs push to.
const demoSCIMName = "SCIM (push)"

// seedSCIM makes sure the demo has a SCIM directory. Its token is shown
// once, so demo.env keeps it; one that no longer works is rotated.
func seedSCIM(ctx context.Context, st *store.Store, apiURL string, demo demoState, existing []store.Directory, prev map[string]string) (demoSCIM, error) {
	var endpoint struct {
		ID   string   `json:"id"`
		SCIM demoSCIM `json:"scim"`
	}
	for _, d := range existing {
		if d.Name == demoSCIMName && d.Type.Pushed() {
			endpoint.ID = d.ID
		}
	}
	if endpoint.ID == "" {
		err := callAPI(ctx, "POST", apiURL+"/v1/directories", demo.apiKey, map[string]any{"type": "scim", "name": demoSCIMName}, &endpoint)
		return endpoint.SCIM, err
	}
	if _, err := st.AuthenticateSCIM(ctx, endpoint.ID, prev["HUBKEEPER_SCIM_TOKEN"]); err == nil {
		return demoSCIM{BaseURL: prev["HUBKEEPER_SCIM_URL"], Token: prev["HUBKEEPER_SCIM_TOKEN"]}, nil
	}
	err := callAPI(ctx, "POST", apiURL+"/v1/directories/"+endpoint.ID+"/scim-token", demo.apiKey, nil, &endpoint.SCIM)
	return endpoint.SCIM, err
}

// seedConsole lets the demo workspace sign in to the console through the
// sandbox Okta (an OIDC web app back to the API's /ui/callback) and makes a
// one-time sign-in link for the demo admin, a new one each start.
func seedConsole(ctx context.Context, st *store.Store, apiURL string, demo demoState, sb *sandbox.Sandbox, state map[string]string) (string, error) {
	sb.Okta.RegisterWebApp(oktasandbox.WebApp{ClientID: sandbox.DemoConsoleClientID, ClientSecret: state["SANDBOX_CONSOLE_CLIENT_SECRET"],
		RedirectURIs: []string{apiURL + "/ui/callback"}})
	if err := callAPI(ctx, "PUT", apiURL+"/v1/workspace/console", demo.apiKey, map[string]any{"issuer": sb.OktaURL,
		"client_id": sandbox.DemoConsoleClientID, "client_secret": state["SANDBOX_CONSOLE_CLIENT_SECRET"]}, nil); err != nil {
		return "", err
	}
	token, err := st.CreateConsoleLink(ctx, demo.workspaceID, demoAdmin, 24*time.Hour, "dev stack")
	return apiURL + "/ui/link/" + token, err
}

// demoSCIM is where the demo's SCIM directory is pushed to.
type demoSCIM struct {
	BaseURL string `json:"base_url"`
	Token   string `json:"token"`
}

// seedDemo makes sure the demo workspace exists with an API key and its
// sandbox directories, created through the API as a client would.
func seedDemo(ctx context.Context, st *store.Store, apiURL, dataDir string, sb *sandbox.Sandbox, state map[string]string) (demoState, error) {
	var demo demoState
	prev, _ := readEnvFile(filepath.Join(dataDir, "demo.env"))
	all, err := st.ListWorkspaces(ctx)
	if err != nil {
		return demo, err
	}
	for _, ws := range all {
		if ws.Name == demoWorkspace {
			demo.workspaceID = ws.ID
		}
	}
	if demo.workspaceID == "" {
		ws, err := st.CreateWorkspace(ctx, demoWorkspace)
		if err != nil {
			return demo, err
		}
		demo.workspaceID = ws.ID
	}
	if key := prev["HUBKEEPER_API_KEY"]; key != "" && prev["WORKSPACE_ID"] == demo.workspaceID {
		if _, err := st.AuthenticateAPIKey(ctx, key); err == nil {
			demo.apiKey = key
		}
	}
	if demo.apiKey == "" {
		if demo.apiKey, _, err = st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: demo.workspaceID, Name: "dev stack", Scope: store.ScopeAdmin, Actor: "dev stack"}); err != nil {
			return demo, err
		}
	}
	if key := prev["HUBKEEPER_SUPPORT_KEY"]; key != "" {
		if k, err := st.AuthenticateAPIKey(ctx, key); err == nil && k.Scope == store.ScopeSupport {
			demo.supportKey = key
		}
	}
	if demo.supportKey == "" {
		if demo.supportKey, _, err = st.CreateAPIKey(ctx, store.NewAPIKey{Name: "dev stack support", Scope: store.ScopeSupport, Actor: "dev stack"}); err != nil {
			return demo, err
		}
	}
	if err := st.SetWorkspaceSettings(ctx, demo.workspaceID, "dev stack", store.WorkspaceSettings{AdminEmails: []string{demoAdmin}}); err != nil {
		return demo, err
	}
	existing, _, err := st.ListDirectories(ctx, demo.workspaceID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return demo, err
	}
	wanted := []struct {
		key, name string
		body      map[string]any
	}{
		{"okta", "Okta (sandbox)", map[string]any{"type": "okta", "name": "Okta (sandbox)",
			"okta": map[string]any{"base_url": sb.OktaURL, "api_token": state["SANDBOX_OKTA_TOKEN"]}}},
		{"entra", "Entra ID (sandbox)", map[string]any{"type": "entra", "name": "Entra ID (sandbox)",
			"entra": map[string]any{"tenant_id": sandbox.DemoEntraTenant, "client_id": sandbox.DemoEntraClient,
				"client_secret": state["SANDBOX_ENTRA_SECRET"], "graph_base_url": sb.EntraURL, "login_base_url": sb.EntraURL}}},
	}
	for _, want := range wanted {
		id := ""
		for _, d := range existing {
			if d.Name == want.name {
				id = d.ID
			}
		}
		if id == "" {
			var created store.Directory
			if err := callAPI(ctx, "POST", apiURL+"/v1/directories", demo.apiKey, want.body, &created); err != nil {
				return demo, err
			}
			id = created.ID
		}
		demo.directories = append(demo.directories, demoDirectory{key: want.key, name: want.name, id: id})
	}
	if demo.scim, err = seedSCIM(ctx, st, apiURL, demo, existing, prev); err != nil {
		return demo, err
	}
	if demo.consoleLink, err = seedConsole(ctx, st, apiURL, demo, sb, state); err != nil {
		return demo, err
	}
	integrations, _, err := st.ListIntegrations(ctx, demo.workspaceID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return demo, err
	}
	for _, ig := range integrations {
		switch {
		case ig.Provider == domain.ProviderMeta && ig.BusinessID == sandbox.DemoBusinessID:
			demo.integrationID = ig.ID
		case ig.Provider == domain.ProviderPinterest && ig.BusinessID == sandbox.DemoPinterestBusinessID:
			demo.pinterestID = ig.ID
		case ig.Provider == domain.ProviderPinterest && ig.BusinessID == sandbox.DemoPinterestAPIBusinessID:
			demo.pinterestAPIID = ig.ID
		}
	}
	if demo.pinterestAPIID == "" {
		var created store.Integration
		if err := callAPI(ctx, "POST", apiURL+"/v1/integrations", demo.apiKey, map[string]any{"provider": "pinterest", "mode": "api",
			"label": "Acme Studio Pinterest (sandbox API)", "business_id": sandbox.DemoPinterestAPIBusinessID, "login_method": "sso"},
			&created); err != nil {
			return demo, err
		}
		demo.pinterestAPIID = created.ID
	}
	if demo.pinterestID == "" {
		var created store.Integration
		if err := callAPI(ctx, "POST", apiURL+"/v1/integrations", demo.apiKey, map[string]any{"provider": "pinterest",
			"label": "Acme Pinterest (sandbox)", "business_id": sandbox.DemoPinterestBusinessID, "login_method": "password",
			"web_base_url": sb.PinterestURL, "automation": map[string]string{"label": "Hubkeeper bot", "email": sandbox.DemoPinterestAutomation,
				"password": state["SANDBOX_PINTEREST_PASSWORD"]}}, &created); err != nil {
			return demo, err
		}
		demo.pinterestID = created.ID
	}
	if demo.integrationID == "" {
		var created store.Integration
		if err := callAPI(ctx, "POST", apiURL+"/v1/integrations", demo.apiKey, map[string]any{"provider": "meta",
			"label": "Acme Meta (sandbox)", "business_id": sandbox.DemoBusinessID, "login_method": "sso",
			"access_token": state["SANDBOX_META_TOKEN"], "graph_base_url": sb.MetaURL}, &created); err != nil {
			return demo, err
		}
		demo.integrationID = created.ID
	}
	return demo, nil
}

// connectPinterestAPI connects the demo's Pinterest business through the
// API by consenting in the sandbox as its automation account would, which
// starts a check; it returns what the check did. Every start consents: the
// sandbox forgets the tokens it issued when it stops.
func connectPinterestAPI(ctx context.Context, deps *process.Deps, apiURL string, demo demoState, state map[string]string,
	say func(string, ...any)) (workflows.IntegrationSyncResult, error) {
	var res workflows.IntegrationSyncResult
	ig, err := deps.Store.IntegrationByID(ctx, demo.pinterestAPIID)
	if err != nil {
		return res, err
	}
	say("connecting the Pinterest business %s through its API: consenting as %s in the sandbox, then checking it (workflow sync/%s)",
		ig.BusinessID, sandbox.DemoPinterestAutomation, ig.ID)
	req, err := http.NewRequestWithContext(ctx, "GET", apiURL+"/v1/integrations/"+ig.ID+"/oauth/start", nil)
	if err != nil {
		return res, err
	}
	req.Header.Set("Authorization", "Bearer "+demo.apiKey)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return res, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return res, fmt.Errorf("oauth/start answered %d", resp.StatusCode)
	}
	back, err := pinsandbox.Consent(ctx, resp.Header.Get("Location"), sandbox.DemoPinterestAutomation, state["SANDBOX_PINTEREST_PASSWORD"], true)
	if err != nil {
		return res, err
	}
	callback, err := http.Get(back.String())
	if err != nil {
		return res, err
	}
	callback.Body.Close()
	if callback.StatusCode != http.StatusOK {
		return res, fmt.Errorf("the consent callback answered %d", callback.StatusCode)
	}
	err = deps.Temporal.GetWorkflow(ctx, workflows.IntegrationSyncID(ig.ID), "").Get(ctx, &res)
	return res, err
}

// onboardPinterest waits for the demo's Pinterest onboarding, restarting it
// through the API if it failed, and says why whenever a step is retried.
func onboardPinterest(ctx context.Context, c client.Client, apiURL, key, integrationID string, o store.Onboarding,
	say func(string, ...any)) (workflows.OnboardingResult, error) {
	var res workflows.OnboardingResult
	if o.Stage == store.OnboardFailed {
		say("  the last onboarding failed (%s); restarting it", o.Message)
		var restarted map[string]any
		if err := callAPI(ctx, "POST", apiURL+"/v1/integrations/"+integrationID+"/onboarding/restart", key, nil, &restarted); err != nil {
			return res, err
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.GetWorkflow(ctx, workflows.OnboardingID(integrationID), "").Get(ctx, &res) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	said := ""
	for {
		select {
		case err := <-done:
			return res, err
		case <-tick.C:
		}
		d, err := c.DescribeWorkflowExecution(ctx, workflows.OnboardingID(integrationID), "")
		if err != nil {
			continue
		}
		for _, a := range d.PendingActivities {
			if msg := a.GetLastFailure().GetMessage(); a.Attempt > 1 && msg != "" && msg != said {
				say("  %s is retried (attempt %d): %s", a.ActivityType.GetName(), a.Attempt, msg)
				said = msg
			}
		}
	}
}

// checkAndWait triggers a check for updates through the API and waits for its workflow.
func checkAndWait(ctx context.Context, c client.Client, apiURL, key, integrationID string) (workflows.IntegrationSyncResult, error) {
	var started struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	var res workflows.IntegrationSyncResult
	if err := callAPI(ctx, "POST", apiURL+"/v1/integrations/"+integrationID+"/sync", key, nil, &started); err != nil {
		return res, err
	}
	err := c.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, &res)
	return res, err
}

// syncAndWait triggers an import through the API and waits for its workflow.
func syncAndWait(ctx context.Context, c client.Client, apiURL, key, dirID string) (workflows.DirectorySyncResult, error) {
	var started struct {
		WorkflowID string `json:"workflow_id"`
		RunID      string `json:"run_id"`
	}
	var res workflows.DirectorySyncResult
	if err := callAPI(ctx, "POST", apiURL+"/v1/directories/"+dirID+"/sync", key, nil, &started); err != nil {
		return res, err
	}
	err := c.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, &res)
	return res, err
}

func callAPI(ctx context.Context, method, url, key string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s", method, url, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// freeOr returns port if nothing listens on it, else a free one.
func freeOr(port int) int {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return port
		}
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomToken(prefix string) (string, error) {
	spec, err := secrets.NewKeySpec("x")
	if err != nil {
		return "", err
	}
	return prefix + strings.NewReplacer("+", "", "/", "", "=", "").Replace(spec[2:30]), nil
}

func redactURL(u string) string {
	if i, j := strings.Index(u, "://"), strings.LastIndex(u, "@"); i >= 0 && j > i {
		if k := strings.Index(u[i+3:j], ":"); k >= 0 {
			return u[:i+3+k] + ":***" + u[j:]
		}
	}
	return u
}

// loadEnvFile reads KEY=VALUE lines, generating and saving missing keys.
func loadEnvFile(path string, generate map[string]func() (string, error)) (map[string]string, error) {
	env, err := readEnvFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	changed := false
	for k, gen := range generate {
		if env[k] == "" {
			if env[k], err = gen(); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if changed {
		return env, writeEnvFile(path, env)
	}
	return env, nil
}

func readEnvFile(path string) (map[string]string, error) {
	env := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return env, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	return env, sc.Err()
}

func writeEnvFile(path string, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by `hubkeeper dev`. Keep private: it holds keys and tokens.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

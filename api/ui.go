package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// The admin console under /ui/: server-rendered pages for a workspace's
// admins and viewers, signed in through the workspace's IdP.

//go:embed ui
var uiFiles embed.FS

var uiPages = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if t != nil {
				return t.UTC().Format("2006-01-02 15:04 UTC")
			}
		}
		return "never"
	},
	"tabLabel": func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	// sortLabels are the Members page's sorts.
	"sortLabels": func() map[string]string {
		return map[string]string{"": "provider id", "name": "name", "email": "e-mail", "role": "role"}
	},
	// hasOutcome: a bulk action's member has an outcome ("" is done).
	"hasOutcome": func(outcomes map[string]string, id string) bool { _, ok := outcomes[id]; return ok },
}).ParseFS(uiFiles, "ui/*.html"))

// Console cookies.
const (
	sessionCookie = "hk_session"
	// workspaceCookie remembers which workspace's IdP to sign in with.
	workspaceCookie = "hk_workspace"
	// verifierCookie carries a sign-in's PKCE verifier, in the browser only.
	verifierCookie = "hk_pkce"
	// uiCallbackPath is where the IdP sends the browser back.
	uiCallbackPath = "/ui/callback"
)

// uiSession is the signed-in person of a console request.
func uiSession(c echo.Context) store.ConsoleSession {
	s, _ := c.Get("ui_session").(store.ConsoleSession)
	return s
}

func (s *Server) uiRoutes(e *echo.Echo) {
	e.GET("/ui/static/console.css", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "max-age=3600")
		return c.Blob(http.StatusOK, "text/css; charset=utf-8", mustRead("ui/console.css"))
	})
	e.GET("/ui/static/htmx.min.js", func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "max-age=86400")
		return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", mustRead("ui/vendor/htmx.min.js"))
	})
	e.GET("/ui/signin", s.uiSignIn, s.limitPages)
	e.GET(uiCallbackPath, s.uiCallback, s.limitPages)
	e.GET("/ui/link/:token", s.uiLinkPage, s.limitPages)
	e.POST("/ui/link/:token", s.uiUseLink, s.limitPages)
	e.POST("/ui/signout", s.uiSignOut, s.uiAuth(false))
	e.GET("/ui/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/ui/apps") }, s.uiAuth(false))
	e.GET("/ui/apps", s.uiApps, s.uiAuth(false))
	e.POST("/ui/apps/:id/check", s.uiCheck, s.uiAuth(true))
	e.POST("/ui/apps/:id/credential", s.uiCredential, s.uiAuth(true))
	e.GET("/ui/apps/new", s.uiConnect, s.uiAuth(true))
	e.POST("/ui/apps/new", s.uiConnectApp, s.uiAuth(true))
	e.GET("/ui/apps/:id/consent", s.uiConsent, s.uiAuth(true))
	e.GET("/ui/apps/:id/onboarding", s.uiOnboarding, s.uiAuth(false))
	for _, step := range onboardingSteps {
		e.POST("/ui/apps/:id/onboarding/"+step, s.uiOnboardingStep(step), s.uiAuth(true))
	}
	e.GET("/ui/apps/:id/remove", s.uiRemovePage, s.uiAuth(true))
	e.POST("/ui/apps/:id/remove", s.uiRemoveApp, s.uiAuth(true))
	e.GET("/ui/apps/:id/members", s.uiMembers, s.uiAuth(false))
	e.GET("/ui/apps/:id/members/:member", s.uiMember, s.uiAuth(false))
	e.POST("/ui/apps/:id/bulk", s.uiBulk, s.uiAuth(true))
	e.GET("/ui/apps/:id/bulk/:bulk", s.uiBulkProgress, s.uiAuth(false))
	e.GET("/ui/apps/:id/invite", s.uiInvite, s.uiAuth(true))
	e.POST("/ui/apps/:id/invite", s.uiSendInvite, s.uiAuth(true))
	e.GET("/ui/directories", s.uiDirectories, s.uiAuth(false))
	e.GET("/ui/directories/:id", s.uiDirectory, s.uiAuth(false))
	e.GET("/ui/reports", s.uiReports, s.uiAuth(false))
	e.GET("/ui/reports/:id", s.uiReport, s.uiAuth(false))
	e.POST("/ui/reports/:id/decision", s.uiDecide, s.uiAuth(true))
	e.GET("/ui/settings", s.uiSettings, s.uiAuth(false))
	e.POST("/ui/settings/reports", s.uiSaveSettings, s.uiAuth(true))
	e.POST("/ui/settings/api-keys", s.uiCreateKey, s.uiAuth(true))
	e.POST("/ui/settings/api-keys/:key/revoke", s.uiRevokeKey, s.uiAuth(true))
	e.GET("/ui/automation", s.uiAutomation, s.uiAuth(false))
	e.GET("/ui/audit", s.uiAudit, s.uiAuth(false))
	e.GET("/ui/audit.csv", s.uiAuditCSV, s.uiAuth(false))
	for _, action := range memberFormActions {
		e.POST("/ui/apps/:id/members/:member/"+action, s.uiMemberAction(action), s.uiAuth(true))
	}
}

func mustRead(name string) []byte {
	b, err := uiFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// secureCookies: cookies are Secure when the console is reached over https.
func (s *Server) secureCookies() bool { return strings.HasPrefix(s.PublicURL, "https://") }

func (s *Server) setCookie(c echo.Context, name, value, path string, maxAge time.Duration) {
	c.SetCookie(&http.Cookie{Name: name, Value: value, Path: path, MaxAge: int(maxAge.Seconds()), HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode})
}

// uiAuth admits requests with a live session; acting needs the admin
// role, and every form post its session's CSRF token.
func (s *Server) uiAuth(acting bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			cookie, err := c.Cookie(sessionCookie)
			if err != nil || cookie.Value == "" {
				return s.uiSignedOut(c)
			}
			sess, err := s.Store.ConsoleSessionByToken(c.Request().Context(), cookie.Value)
			if domain.ErrorCode(err) == domain.EUnauthorized {
				return s.uiSignedOut(c)
			}
			if err != nil {
				return err
			}
			if c.Request().Method == http.MethodPost {
				if subtle.ConstantTimeCompare([]byte(c.FormValue("csrf")), []byte(sess.CSRF)) != 1 {
					return domain.Errorf(domain.EForbidden, "this form has expired or did not come from the console: reload the page and try again")
				}
				if err := checkForm(c); err != nil {
					return err
				}
			}
			if acting && sess.Role != store.RoleAdmin {
				return domain.Errorf(domain.EForbidden, "viewers may look but not change anything: ask a workspace admin")
			}
			if err := s.keyLimit.limit(c, "console:"+sess.Email, "this console session"); err != nil {
				return err
			}
			c.Set("ui_session", sess)
			return next(c)
		}
	}
}

// checkForm refuses a posted form with a field that is not text (a NUL,
// invalid UTF-8), before any handler reads it.
func checkForm(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return domain.Errorf(domain.EInvalid, "the form could not be read")
	}
	for _, name := range slices.Sorted(maps.Keys(form)) {
		for _, v := range append(form[name], name) {
			if err := checkText("form field "+strconv.Quote(name), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// uiSignedOut sends a browser without a session to sign in.
func (s *Server) uiSignedOut(c echo.Context) error {
	ws, err := c.Cookie(workspaceCookie)
	if err == nil && ws.Value != "" && c.Request().Method == http.MethodGet {
		return c.Redirect(http.StatusSeeOther, "/ui/signin?workspace="+ws.Value)
	}
	return s.uiRender(c, http.StatusUnauthorized, "signedout.html", nil)
}

// providers caches each issuer's discovered OIDC provider.
var providers sync.Map

// oidcClient is the workspace's IdP as an OAuth 2.0 client and the ID
// token verifier. Discovery goes only to hosts the egress policy allows.
func (s *Server) oidcClient(ctx context.Context, workspaceID string) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	idp, secret, err := s.Store.ConsoleIdP(ctx, workspaceID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.ProviderHosts.CheckBaseURL(egress.ConsoleIdP, "issuer", idp.Issuer); err != nil {
		return nil, nil, domain.Errorf(domain.EInvalid, "%v", err)
	}
	p, ok := providers.Load(idp.Issuer)
	if !ok {
		discover := oidc.ClientContext(ctx, s.ProviderHosts.Client(15*time.Second))
		np, err := oidc.NewProvider(discover, idp.Issuer)
		if err != nil {
			s.Logger.Warn("console sign-in: IdP discovery failed", "workspace", workspaceID, "error", err)
			return nil, nil, domain.Errorf(domain.EUnavailable, "the workspace's IdP did not answer; try again")
		}
		p, _ = providers.LoadOrStore(idp.Issuer, np)
	}
	provider := p.(*oidc.Provider)
	conf := &oauth2.Config{ClientID: idp.ClientID, ClientSecret: string(secret), Endpoint: provider.Endpoint(),
		RedirectURL: strings.TrimRight(s.PublicURL, "/") + uiCallbackPath, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	return conf, provider.Verifier(&oidc.Config{ClientID: idp.ClientID}), nil
}

// uiSignIn sends the browser to the workspace's IdP, with a state and a
// nonce kept here and a PKCE verifier kept in the browser.
func (s *Server) uiSignIn(c echo.Context) error {
	workspaceID := c.QueryParam("workspace")
	if workspaceID == "" {
		return s.uiRender(c, http.StatusBadRequest, "signedout.html", map[string]any{"Error": "The sign-in address names no workspace."})
	}
	ctx := c.Request().Context()
	conf, _, err := s.oidcClient(ctx, workspaceID)
	if err != nil {
		return err
	}
	nonce, err := randomString()
	if err != nil {
		return err
	}
	state, err := s.Store.BeginConsoleSignIn(ctx, workspaceID, nonce)
	if err != nil {
		return err
	}
	verifier := oauth2.GenerateVerifier()
	s.setCookie(c, verifierCookie, verifier, uiCallbackPath, store.SignInLifetime)
	s.setCookie(c, workspaceCookie, workspaceID, "/ui/", 365*24*time.Hour)
	return c.Redirect(http.StatusFound, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// uiCallback finishes a sign-in: the state once, the code for an ID token
// whose nonce matches, and a session for the e-mail it names.
func (s *Server) uiCallback(c echo.Context) error {
	q := c.QueryParams()
	if e := q.Get("error"); e != "" {
		return s.uiRender(c, http.StatusUnauthorized, "signedout.html", map[string]any{"Error": "The IdP did not sign you in: " + e})
	}
	ctx := c.Request().Context()
	workspaceID, nonce, err := s.Store.FinishConsoleSignIn(ctx, q.Get("state"))
	if err != nil {
		return err
	}
	verifier, err := c.Cookie(verifierCookie)
	if err != nil || verifier.Value == "" {
		return domain.Errorf(domain.EUnauthorized, "this sign-in began in another browser: start again")
	}
	conf, verify, err := s.oidcClient(ctx, workspaceID)
	if err != nil {
		return err
	}
	exchange := oidc.ClientContext(ctx, s.ProviderHosts.Client(15*time.Second))
	tok, err := conf.Exchange(exchange, q.Get("code"), oauth2.VerifierOption(verifier.Value))
	if err != nil {
		return domain.Errorf(domain.EUnauthorized, "the IdP refused the sign-in: start again")
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := verify.Verify(ctx, raw)
	if err != nil || subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		return domain.Errorf(domain.EUnauthorized, "the IdP's answer did not check out: start again")
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
	}
	if err := idToken.Claims(&claims); err != nil || claims.Email == "" || claims.EmailVerified != nil && !*claims.EmailVerified {
		return domain.Errorf(domain.EUnauthorized, "the IdP named no verified e-mail address")
	}
	s.setCookie(c, verifierCookie, "", uiCallbackPath, -time.Second)
	return s.startSession(c, workspaceID, claims.Email)
}

func (s *Server) startSession(c echo.Context, workspaceID, email string) error {
	token, _, err := s.Store.StartConsoleSession(c.Request().Context(), workspaceID, email)
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token, "/ui/", store.SessionLifetime)
	s.setCookie(c, workspaceCookie, workspaceID, "/ui/", 365*24*time.Hour)
	return c.Redirect(http.StatusSeeOther, "/ui/apps")
}

// uiLinkPage shows a one-time sign-in link's button: following a link
// (a mail scanner, a preview) signs nobody in; only the button does.
func (s *Server) uiLinkPage(c echo.Context) error {
	return s.uiRender(c, http.StatusOK, "link.html", map[string]any{"Token": c.Param("token")})
}

func (s *Server) uiUseLink(c echo.Context) error {
	token, sess, err := s.Store.UseConsoleLink(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	s.setCookie(c, sessionCookie, token, "/ui/", store.SessionLifetime)
	s.setCookie(c, workspaceCookie, sess.WorkspaceID, "/ui/", 365*24*time.Hour)
	return c.Redirect(http.StatusSeeOther, "/ui/apps")
}

func (s *Server) uiSignOut(c echo.Context) error {
	if cookie, err := c.Cookie(sessionCookie); err == nil {
		if err := s.Store.EndConsoleSession(c.Request().Context(), cookie.Value); err != nil {
			return err
		}
	}
	s.setCookie(c, sessionCookie, "", "/ui/", -time.Second)
	return s.uiRender(c, http.StatusOK, "signedout.html", map[string]any{"SignedOut": true,
		"Workspace": uiSession(c).WorkspaceID})
}

// appCard is an integration as the Apps page shows it.
type appCard struct {
	store.Integration
	Tabs    map[domain.MemberState]int
	LastRun *store.SyncRun
	// Running: a check is under way; the page refreshes until it ends.
	Running bool
	// Credential is the kind of secret its connector keeps (SecretKind).
	Credential string
}

func (s *Server) uiApps(c echo.Context) error { return s.appsPage(c, http.StatusOK, "", "") }

// appsPage shows the cards; formError is the refusal of appID's form.
func (s *Server) appsPage(c echo.Context, status int, appID, formError string) error {
	sess, ctx := uiSession(c), c.Request().Context()
	igs, _, err := s.Store.ListIntegrations(ctx, sess.WorkspaceID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	cards := make([]appCard, 0, len(igs))
	running := false
	for _, ig := range igs {
		d, _ := connector.Describe(ig.Provider, ig.Mode)
		card := appCard{Integration: ig, Credential: d.SecretKind}
		if card.Tabs, err = s.Store.MemberCounts(ctx, ig.ID); err != nil {
			return err
		}
		runs, _, err := s.Store.ListSyncRuns(ctx, sess.WorkspaceID, ig.ID, store.Page{Limit: 1})
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			card.LastRun = &runs[0]
			card.Running = runs[0].Status == domain.SyncRunning
			running = running || card.Running
		}
		cards = append(cards, card)
	}
	return s.uiRender(c, status, "apps.html", map[string]any{"Apps": cards, "Refresh": running && formError == "",
		"Notice": c.QueryParam("notice"), "TabOrder": memberTabs, "ErrorApp": appID, "Error": formError})
}

// uiCredential replaces an app's credential from its card: the Meta
// token or the Pinterest automation account's password it needs again.
func (s *Server) uiCredential(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	secret := c.FormValue("secret")
	if err := required("the new credential", secret); err != nil {
		return s.appsPage(c, http.StatusBadRequest, ig.ID, messageOf(err)+".")
	}
	if d, _ := connector.Describe(ig.Provider, ig.Mode); d.SecretKind != "meta_token" && d.SecretKind != "pinterest_password" {
		return s.appsPage(c, http.StatusBadRequest, ig.ID, "This app is connected by consent: follow “Consent at Pinterest”.")
	}
	err = s.replaceCredential(ctx, ig, "console:"+sess.Email, []byte(strings.TrimSpace(secret)))
	if code := domain.ErrorCode(err); code == domain.EInvalid || code == domain.EConflict {
		return s.appsPage(c, statusOf[code], ig.ID, messageOf(err)+".")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps?notice=credential#app-"+ig.ID)
}

// uiCheck starts a check for updates and goes back to the Apps page,
// which shows its progress.
func (s *Server) uiCheck(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if err := connected(ig); err != nil {
		return err
	}
	if _, err := workflows.StartIntegrationSync(ctx, s.Temporal, s.TaskQueue, integrationInput(ig, "console")); err != nil {
		s.Logger.Error("starting a check from the console", "integration", ig.ID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	return c.Redirect(http.StatusSeeOther, "/ui/apps?notice=checking#app-"+ig.ID)
}

func (s *Server) uiDirectories(c echo.Context) error {
	dirs, _, err := s.Store.ListDirectories(c.Request().Context(), uiSession(c).WorkspaceID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	return s.uiRender(c, http.StatusOK, "directories.html", map[string]any{"Directories": dirs})
}

// uiDirectory shows a directory's users, by status and search, and its groups.
func (s *Server) uiDirectory(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	d, err := s.Store.Directory(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	f, err := userFilter(c)
	if err != nil {
		return err
	}
	users, next, err := s.Store.ListDirectoryUsers(ctx, sess.WorkspaceID, d.ID, f, store.Page{Limit: 50, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	groups, _, err := s.Store.ListDirectoryGroups(ctx, sess.WorkspaceID, d.ID, "", store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	return s.uiRender(c, http.StatusOK, "directory.html", map[string]any{"Directory": d, "Users": users, "Next": next, "Groups": groups,
		"Status": string(f.Status), "Query": f.Query,
		"Statuses": []domain.UserStatus{domain.UserActive, domain.UserSuspended, domain.UserDeprovisioned}})
}

func (s *Server) uiReports(c echo.Context) error {
	reports, next, err := s.Store.ListReports(c.Request().Context(), uiSession(c).WorkspaceID, store.Page{Limit: 50, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	return s.uiRender(c, http.StatusOK, "reports.html", map[string]any{"Reports": reports, "Next": next})
}

func (s *Server) uiReport(c echo.Context) error {
	return s.reportPage(c, http.StatusOK, noticeOf(c))
}

func (s *Server) reportPage(c echo.Context, status int, message string) error {
	r, err := s.Store.Report(c.Request().Context(), uiSession(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.uiRender(c, status, "report.html", map[string]any{"Report": r, "Message": message})
}

// uiDecide decides a report as its e-mailed page does: the ticked people
// are removed, or everyone is kept; a report that changed since the page
// was shown is shown again, undecided.
func (s *Server) uiDecide(c echo.Context) error {
	sess, ctx := uiSession(c), c.Request().Context()
	r, err := s.Store.Report(ctx, sess.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	decision := c.FormValue("decision")
	version, verr := strconv.Atoi(c.FormValue("version"))
	if decision != "confirm" && decision != "reject" || verr != nil {
		return s.reportPage(c, http.StatusBadRequest, "Choose to remove the ticked people or to keep everyone. Nothing was changed.")
	}
	form, err := c.FormParams()
	if err != nil {
		return s.reportPage(c, http.StatusBadRequest, "The form could not be read. Nothing was changed.")
	}
	_, err = s.decide(c, store.Decision{ReportID: r.ID, Actor: "console:" + sess.Email, Confirm: decision == "confirm",
		Exclude: unticked(r, form["keep_in_removal"]),
		Version: version})
	if code := domain.ErrorCode(err); err != nil && (code == domain.EConflict || code == domain.EInvalid) {
		return s.reportPage(c, statusOf[code], messageOf(err)+". Nothing was changed; look again and decide.")
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/reports/"+r.ID+"?notice="+decision)
}

// notices are what a page says after a form's success, by the code its
// address carries: a page never shows text from its address.
var notices = map[string]string{
	"confirm": "The ticked people are being removed.",
	"reject":  "Nobody will be removed.",
	"saved":   "Saved.",
	"revoked": "The key was revoked.",
}

// memberFormActions are the actions a member's page posts.
var memberFormActions = []string{store.ActionMatch, store.ActionReassign, store.ActionExempt, store.ActionUnexempt, store.ActionRemove,
	store.ActionRole}

func init() {
	for _, action := range memberFormActions {
		notices[action] = action + " started: its state is under Recent actions."
	}
}

// noticeOf is the sentence of the request's notice code, if it is one.
func noticeOf(c echo.Context) string { return notices[c.QueryParam("notice")] }

// uiRender writes a page with the layout's data: the session and its CSRF token.
func (s *Server) uiRender(c echo.Context, status int, page string, data map[string]any) error {
	if data == nil {
		data = map[string]any{}
	}
	data["Session"] = uiSession(c)
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	var b strings.Builder
	if err := uiPages.ExecuteTemplate(&b, page, data); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// uiError renders a failed console request as a page.
func (s *Server) uiError(c echo.Context, status int, message string) error {
	return s.uiRender(c, status, "error.html", map[string]any{"Status": status, "Message": message})
}

// messageOf is a domain error's message, safe to show.
func messageOf(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return "that did not work"
}

func isUI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/ui/") }

func randomString() (string, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// consoleRequest is a workspace's IdP for the console.
type consoleRequest struct {
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Viewers      []string `json:"viewers"`
}

// putConsoleIdP sets how the workspace's people sign in to the console:
// an OpenID Connect web app of its Okta org or Entra tenant, whose
// redirect URI is PUBLIC_URL/ui/callback. Admins are the workspace's
// admin e-mails; viewers are listed here.
func (s *Server) putConsoleIdP(c echo.Context) error {
	var req consoleRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := firstErr(required("issuer", req.Issuer), checkURL(s.ProviderHosts, egress.ConsoleIdP, "issuer", req.Issuer),
		required("client_id", req.ClientID), required("client_secret", req.ClientSecret)); err != nil {
		return err
	}
	idp := store.ConsoleIdP{Issuer: strings.TrimRight(req.Issuer, "/"), ClientID: req.ClientID}
	for _, v := range req.Viewers {
		email := domain.NormalizeEmail(v)
		if email == "" {
			return domain.Errorf(domain.EInvalid, "viewers must be e-mail addresses")
		}
		idp.Viewers = append(idp.Viewers, email)
	}
	key := apiKey(c)
	if err := s.Store.SetConsoleIdP(c.Request().Context(), key.WorkspaceID, "api_key:"+key.ID, idp, []byte(req.ClientSecret)); err != nil {
		return err
	}
	providers.Delete(idp.Issuer)
	return c.NoContent(http.StatusNoContent)
}

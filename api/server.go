// Package api is Hubkeeper's HTTP API: it reads Postgres, starts workflows
// and serves the Temporal UI's codec endpoint. Every error is JSON
// {"error":{"code","message"}}; nothing a client sends causes a 500.
package api

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/process"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"
)

//go:embed openapi.yaml
var openAPI []byte

// Options are the server's dependencies.
type Options struct {
	Store    *store.Store
	Temporal client.Client
	// TaskQueue is where workflows are started.
	TaskQueue string
	// SyncEvery is the interval of the daily Schedules of directories and integrations.
	SyncEvery time.Duration
	// ProviderHosts is the operator's part of where tenants' base URLs may point.
	ProviderHosts egress.Policy
	// Codec serves /codec/encode and /codec/decode for the Temporal web UI.
	Codec  http.Handler
	Logger *slog.Logger
	// KeyRequestsPerMinute bounds each API key's requests, and
	// ConfirmRequestsPerMinute each client address's confirmation pages
	// (0: 600 and 30).
	KeyRequestsPerMinute, ConfirmRequestsPerMinute int
	// TrustedProxies are the networks whose X-Forwarded-For names the
	// client; without them the client is the connection's peer.
	TrustedProxies []*net.IPNet
	// Pinterest is the operator's Pinterest app (nil: none), and PublicURL
	// where admins' browsers reach the API (consents come back there).
	Pinterest *pinterestapi.App
	PublicURL string
	// TemporalUI and Namespace make the console's links to runs in the
	// Temporal web UI (empty TemporalUI: no links).
	TemporalUI, Namespace string
}

// Server is the HTTP API.
type Server struct {
	Options
	echo                *echo.Echo
	keyLimit, pageLimit *limiter
}

// New builds the API and its routes.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{Options: o, echo: echo.New(), keyLimit: newLimiter(cmp.Or(o.KeyRequestsPerMinute, 600)),
		pageLimit: newLimiter(cmp.Or(o.ConfirmRequestsPerMinute, 30))}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = echo.ExtractIPDirect()
	if len(o.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range o.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(s.logRequests)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("1M"))
	e.Use(rejectBadText)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })
	codec := echo.WrapHandler(o.Codec)
	for _, path := range []string{"/codec/encode", "/codec/decode", "/codec/:token/encode", "/codec/:token/decode"} {
		e.POST(path, codec)
		e.OPTIONS(path, codec)
	}

	// Authentication is per route: group middleware would add catch-all
	// routes that answer 404 where 405 is right.
	v1 := e.Group("/v1")
	v1.GET("/directories", s.listDirectories, s.authenticate)
	v1.POST("/directories", s.createDirectory, s.authenticate)
	v1.GET("/directories/:id", s.getDirectory, s.authenticate)
	v1.DELETE("/directories/:id", s.deleteDirectory, s.authenticate)
	v1.POST("/directories/:id/sync", s.syncDirectory, s.authenticate)
	v1.GET("/directories/:id/users", s.listDirectoryUsers, s.authenticate)
	v1.GET("/directories/:id/groups", s.listDirectoryGroups, s.authenticate)
	v1.GET("/directories/:id/sync-runs", s.listSyncRuns, s.authenticate)
	v1.POST("/directories/:id/sync-runs/:run/accept", s.acceptImport, s.authenticate)
	v1.PUT("/directories/:id/credentials", s.putSecret, s.authenticate)
	v1.GET("/integrations", s.listIntegrations, s.authenticate)
	v1.POST("/integrations", s.createIntegration, s.authenticate)
	v1.GET("/integrations/:id", s.getIntegration, s.authenticate)
	v1.DELETE("/integrations/:id", s.deleteIntegration, s.authenticate)
	v1.POST("/integrations/:id/sync", s.syncIntegration, s.authenticate)
	v1.GET("/integrations/:id/members", s.listMembers, s.authenticate)
	v1.GET("/integrations/:id/assets", s.listAssets, s.authenticate)
	v1.GET("/integrations/:id/partners", s.listPartners, s.authenticate)
	v1.GET("/integrations/:id/sync-runs", s.listIntegrationSyncRuns, s.authenticate)
	v1.PUT("/integrations/:id/token", s.putToken, s.authenticate)
	v1.PUT("/integrations/:id/password", s.putPassword, s.authenticate)
	v1.GET("/integrations/:id/oauth/start", s.oauthStart, s.authenticate)
	v1.PUT("/integrations/:id/mode", s.putMode, s.authenticate)
	v1.POST("/integrations/:id/onboarding/app-approved", s.approveApp, s.authenticateSupport)
	v1.POST("/integrations/:id/onboarding/claimed", s.reportClaimed, s.authenticate)
	v1.POST("/integrations/:id/onboarding/token", s.submitOnboardingToken, s.authenticate)
	v1.POST("/integrations/:id/onboarding/profile", s.connectProfile, s.authenticate)
	v1.POST("/integrations/:id/onboarding/restart", s.restartOnboarding, s.authenticate)
	v1.POST("/integrations/:id/onboarding/verification", s.submitVerificationCode, s.authenticate)
	v1.GET("/integrations/:id/members/:member", s.getMember, s.authenticate)
	for _, action := range []string{store.ActionMatch, store.ActionExempt, store.ActionUnexempt, store.ActionReassign, store.ActionRemove,
		store.ActionRole, store.ActionUnkeep} {
		v1.POST("/integrations/:id/members/:member/"+action, s.memberAction(action), s.authenticate)
	}
	v1.POST("/integrations/:id/members/bulk", s.startBulk, s.authenticate)
	v1.GET("/integrations/:id/bulk/:bulk", s.getBulk, s.authenticate)
	v1.POST("/integrations/:id/invitations", s.memberAction(store.ActionInvite), s.authenticate)
	v1.DELETE("/integrations/:id/invitations/:invitation", s.memberAction(store.ActionCancel), s.authenticate)
	v1.GET("/integrations/:id/rules", s.listRules, s.authenticate)
	v1.POST("/integrations/:id/rules", s.createRule, s.authenticate)
	v1.POST("/integrations/:id/rules/preview", s.previewRule, s.authenticate)
	v1.GET("/integrations/:id/rules/:rule", s.getRule, s.authenticate)
	v1.DELETE("/integrations/:id/rules/:rule", s.deleteRule, s.authenticate)
	v1.GET("/audit", s.listAudit, s.authenticate)
	v1.GET("/workspace/settings", s.getSettings, s.authenticate)
	v1.PUT("/workspace/settings", s.putSettings, s.authenticate)
	v1.GET("/reports", s.listReports, s.authenticate)
	v1.GET("/reports/:id", s.getReport, s.authenticate)
	v1.POST("/reports/:id/decision", s.postDecision, s.authenticate)
	v1.GET("/api-keys", s.listAPIKeys, s.authenticate)
	v1.POST("/api-keys", s.createAPIKey, s.authenticate)
	v1.DELETE("/api-keys/:id", s.revokeAPIKey, s.authenticate)
	v1.POST("/directories/:id/scim-token", s.rotateSCIMToken, s.authenticate)
	v1.PUT("/workspace/console", s.putConsoleIdP, s.authenticate)
	s.scimRoutes(e)
	s.uiRoutes(e)
	// Confirmation links from report e-mails: GET only shows, POST decides.
	e.GET("/confirm/:token", s.getConfirm, s.limitPages)
	e.POST("/confirm/:token", s.postConfirm, s.limitPages)
	// Admins' browsers come back from Pinterest's consent without a key.
	e.GET(CallbackPath, s.oauthCallback, s.limitPages)
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.echo.ServeHTTP(w, r) }

// Routes lists method and path of every route, for the OpenAPI check.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }

// errorBody is the one error shape of the API.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var statusOf = map[string]int{
	domain.EInvalid:      http.StatusBadRequest,
	domain.ENotFound:     http.StatusNotFound,
	domain.EConflict:     http.StatusConflict,
	domain.EUnauthorized: http.StatusUnauthorized,
	domain.EForbidden:    http.StatusForbidden,
	domain.EUnavailable:  http.StatusServiceUnavailable,
}

// handleError maps errors to statuses once: domain errors by code, echo's
// own (unknown route, wrong method, body too large) by status; anything
// else is our fault, logged with the request id and answered without detail.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var body errorBody
	status := http.StatusInternalServerError
	var de *domain.Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &de):
		status, body.Error.Code, body.Error.Message = statusOf[de.Code], de.Code, de.Message
		if status == 0 {
			status = http.StatusInternalServerError
		}
	case errors.As(err, &he):
		status = he.Code
		body.Error.Code = map[int]string{404: domain.ENotFound, 405: "method_not_allowed", 413: "too_large",
			401: domain.EUnauthorized, 400: domain.EInvalid, 429: "rate_limited"}[status]
		if body.Error.Code == "" {
			body.Error.Code = http.StatusText(status)
		}
		body.Error.Message, _ = he.Message.(string)
		if body.Error.Message == "" {
			body.Error.Message = http.StatusText(status)
		}
	case errors.Is(err, context.Canceled):
		status, body.Error.Code, body.Error.Message = 499, "canceled", "request canceled"
	}
	if status >= 500 && body.Error.Code == "" {
		s.Logger.Error("request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "error", err)
		body.Error.Code, body.Error.Message = domain.EInternal, "internal error; see the server log for request "+
			c.Response().Header().Get(echo.HeaderXRequestID)
	}
	write := func() error { return c.JSON(status, body) }
	switch {
	case isSCIM(c):
		write = func() error { return writeSCIMError(c, status, body.Error.Message) }
	case isUI(c):
		write = func() error { return s.uiError(c, status, body.Error.Message) }
	}
	if err := write(); err != nil {
		s.Logger.Warn("writing error response", "error", err)
	}
}

// logRequests logs one line per request: method, route, status, duration,
// request id. Query strings are left out: they can hold search terms.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		s.Logger.Info("http", "method", c.Request().Method, "route", c.Path(), "status", c.Response().Status,
			"duration", time.Since(start).Round(time.Microsecond), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether Postgres and Temporal answer.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	status := http.StatusOK
	if err := s.Store.Ping(ctx); err != nil {
		checks["postgres"], status = "unreachable", http.StatusServiceUnavailable
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		checks["temporal"], status = "unreachable", http.StatusServiceUnavailable
	}
	return c.JSON(status, map[string]any{"checks": checks})
}

// rejectBadText answers 400 for a query string that does not decode
// (instead of silently dropping the parameters it garbles), and for a query
// value or path segment that is not UTF-8 or holds a NUL.
func rejectBadText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		query, err := url.ParseQuery(c.Request().URL.RawQuery)
		if err != nil {
			return domain.Errorf(domain.EInvalid, "query string is not valid URL encoding")
		}
		for _, name := range slices.Sorted(maps.Keys(query)) {
			if err := checkText("a query parameter name", name); err != nil {
				return err
			}
			for _, v := range query[name] {
				if err := checkText("query parameter "+strconv.Quote(name), v); err != nil {
					return err
				}
			}
		}
		route := strings.Split(c.Path(), "/")
		for i, segment := range strings.Split(c.Request().URL.Path, "/") {
			where := fmt.Sprintf("path segment %d", i)
			if i < len(route) && strings.HasPrefix(route[i], ":") {
				where = "path parameter " + strconv.Quote(route[i][1:])
			}
			if err := checkText(where, segment); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// authenticate accepts "Authorization: Bearer <key>" and scopes the request to the key's workspace.
// authenticate admits admin keys, which act in their own workspace.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return s.authenticateScope(store.ScopeAdmin, next)
}

// authenticateSupport admits support keys, which approve dedicated apps in
// every workspace and do nothing else.
func (s *Server) authenticateSupport(next echo.HandlerFunc) echo.HandlerFunc {
	return s.authenticateScope(store.ScopeSupport, next)
}

var scopeRefusals = map[string]string{
	store.ScopeAdmin:   "this API key has the support scope: it may only approve dedicated apps (POST /v1/integrations/{id}/onboarding/app-approved)",
	store.ScopeSupport: "approving a dedicated app takes a support key (hubkeeper apikey create --scope support)",
}

func (s *Server) authenticateScope(scope string, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		const prefix = "Bearer "
		if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hubkeeper"`)
			return domain.Errorf(domain.EUnauthorized, "send an API key as Authorization: Bearer <key>")
		}
		key, err := s.Store.AuthenticateAPIKey(c.Request().Context(), h[len(prefix):])
		if err != nil {
			return err
		}
		if err := s.keyLimit.limit(c, key.ID, "this API key"); err != nil {
			return err
		}
		if key.Scope != scope {
			return domain.Errorf(domain.EForbidden, "%s", scopeRefusals[scope])
		}
		c.Set("api_key", key)
		return next(c)
	}
}

// limitPages bounds the confirmation pages a client address may load.
func (s *Server) limitPages(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.pageLimit.limit(c, c.RealIP(), "this address"); err != nil {
			return err
		}
		return next(c)
	}
}

func apiKey(c echo.Context) store.APIKey { return c.Get("api_key").(store.APIKey) }

// list is the shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func newList[T any](items []T, next string) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, NextCursor: next}
}

// Run serves the API until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.API) error {
	logger := cfg.Logger()
	logger.Info("api starting", "config", config.Redacted(&cfg))
	d, err := process.Open(ctx, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("api listening", "url", "http://"+l.Addr().String())
	srv := NewFromDeps(d, cfg)
	go srv.DrainStarts(ctx, StartDrainEvery)
	return Serve(ctx, l, srv)
}

// StartDrainEvery is how often the API makes the workflow starts still owed.
const StartDrainEvery = 30 * time.Second

// NewFromDeps builds the API over a process's dependencies.
func NewFromDeps(d *process.Deps, cfg config.API) *Server {
	return New(Options{Store: d.Store, Temporal: d.Temporal, TaskQueue: cfg.TaskQueue, SyncEvery: cfg.SyncEvery, ProviderHosts: cfg.ProviderHosts,
		KeyRequestsPerMinute: cfg.KeyRequestsPerMinute, ConfirmRequestsPerMinute: cfg.ConfirmRequestsPerMinute, TrustedProxies: cfg.Proxies(),
		Codec: temporalclient.CodecHandler(d.Keys, cfg.CodecCORSOrigins, cfg.CodecAccessToken), Logger: d.Logger,
		Pinterest: cfg.PinterestApp(cfg.ProviderHosts.Client(30 * time.Second)), PublicURL: cfg.PublicURL,
		TemporalUI: cfg.TemporalUIURL, Namespace: cfg.TemporalNamespace})
}

// Serve serves h on l until ctx ends, then gives requests ten seconds to finish.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

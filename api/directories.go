package api

import (
	"net/http"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

type createDirectoryRequest struct {
	Type  string         `json:"type"`
	Name  string         `json:"name"`
	Okta  *oktaSettings  `json:"okta"`
	Entra *entraSettings `json:"entra"`
	// DeprovisionSafeguard is the share of users an import may deprovision before it halts (default 0.1).
	DeprovisionSafeguard *float64 `json:"deprovision_safeguard"`
}

// oktaSettings reach an org with an SSWS API token, or as a service app
// (client_id and private_key, optionally key_id).
type oktaSettings struct {
	BaseURL    string `json:"base_url"`
	APIToken   string `json:"api_token"`
	ClientID   string `json:"client_id"`
	PrivateKey string `json:"private_key"`
	KeyID      string `json:"key_id"`
}

// validate checks how the settings authenticate and returns the secret to seal.
func (o oktaSettings) validate() (domain.DirectorySettings, []byte, error) {
	settings := domain.DirectorySettings{BaseURL: o.BaseURL}
	switch {
	case o.APIToken != "" && (o.ClientID != "" || o.PrivateKey != ""):
		return settings, nil, domain.Errorf(domain.EInvalid, "okta takes api_token or a service app (client_id, private_key), not both")
	case o.APIToken != "":
		return settings, []byte(o.APIToken), nil
	case o.ClientID == "" && o.PrivateKey == "":
		return settings, nil, domain.Errorf(domain.EInvalid, "okta needs api_token, or client_id and private_key of a service app")
	}
	if _, err := okta.ParseServiceApp(okta.ServiceApp{ClientID: o.ClientID, PrivateKey: o.PrivateKey, KeyID: o.KeyID}); err != nil {
		return settings, nil, domain.Errorf(domain.EInvalid, "%s", strings.TrimPrefix(err.Error(), "okta: "))
	}
	settings.ClientID, settings.KeyID = o.ClientID, o.KeyID
	return settings, []byte(o.PrivateKey), nil
}

type entraSettings struct {
	TenantID     string `json:"tenant_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	GraphBaseURL string `json:"graph_base_url"`
	LoginBaseURL string `json:"login_base_url"`
}

// validate checks the request and returns the directory to store.
func (r createDirectoryRequest) validate(hosts egress.Policy) (store.NewDirectory, error) {
	nd := store.NewDirectory{Type: domain.DirectoryType(r.Type), Name: r.Name}
	if err := required("name", r.Name); err != nil {
		return nd, err
	}
	if g := r.DeprovisionSafeguard; g != nil {
		if *g <= 0 || *g > 1 {
			return nd, domain.Errorf(domain.EInvalid, "deprovision_safeguard must be a share above 0 and at most 1 (0.1 = 10%%)")
		}
		nd.DeprovisionSafeguard = *g
	}
	switch nd.Type {
	case domain.DirectoryOkta:
		if r.Okta == nil || r.Entra != nil {
			return nd, domain.Errorf(domain.EInvalid, `a directory of type "okta" needs an "okta" object and no "entra" object`)
		}
		if err := firstErr(required("okta.base_url", r.Okta.BaseURL), checkURL(hosts, egress.Okta, "okta.base_url", r.Okta.BaseURL)); err != nil {
			return nd, err
		}
		var err error
		if nd.Settings, nd.Secret, err = r.Okta.validate(); err != nil {
			return nd, err
		}
	case domain.DirectoryEntra:
		if r.Entra == nil || r.Okta != nil {
			return nd, domain.Errorf(domain.EInvalid, `a directory of type "entra" needs an "entra" object and no "okta" object`)
		}
		e := r.Entra
		if err := firstErr(required("entra.tenant_id", e.TenantID), required("entra.client_id", e.ClientID),
			required("entra.client_secret", e.ClientSecret)); err != nil {
			return nd, err
		}
		for _, u := range []struct {
			service  egress.Service
			field, v string
		}{{egress.EntraGraph, "entra.graph_base_url", e.GraphBaseURL}, {egress.EntraLogin, "entra.login_base_url", e.LoginBaseURL}} {
			if u.v != "" {
				if err := checkURL(hosts, u.service, u.field, u.v); err != nil {
					return nd, err
				}
			}
		}
		nd.Settings = domain.DirectorySettings{TenantID: e.TenantID, ClientID: e.ClientID, GraphBaseURL: e.GraphBaseURL, LoginBaseURL: e.LoginBaseURL}
		nd.Secret = []byte(e.ClientSecret)
	case domain.DirectorySCIM:
		if r.Okta != nil || r.Entra != nil {
			return nd, domain.Errorf(domain.EInvalid, `a directory of type "scim" is pushed to by its IdP: it takes no "okta" or "entra" object`)
		}
	case "":
		return nd, domain.Errorf(domain.EInvalid, `type is required: "okta", "entra" or "scim"`)
	default:
		return nd, domain.Errorf(domain.EInvalid, `type %q is not supported: use "okta", "entra" or "scim"`, r.Type)
	}
	return nd, nil
}

func syncInput(d store.Directory, trigger string) workflows.DirectorySyncInput {
	return workflows.DirectorySyncInput{WorkspaceID: d.WorkspaceID, DirectoryID: d.ID, Provider: string(d.Type), Trigger: trigger}
}

// createDirectory stores a directory, then creates its daily Schedule
// (later, if Temporal cannot take it now).
func (s *Server) createDirectory(c echo.Context) error {
	var req createDirectoryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	nd, err := req.validate(s.ProviderHosts)
	if err != nil {
		return err
	}
	key := apiKey(c)
	nd.WorkspaceID, nd.Actor = key.WorkspaceID, "api_key:"+key.ID
	if nd.Type.Pushed() {
		d, token, err := s.Store.CreateSCIMDirectory(c.Request().Context(), nd)
		if err != nil {
			return err
		}
		v := s.view(d)
		v.SCIM.Token = token
		return c.JSON(http.StatusCreated, v)
	}
	d, start, err := s.Store.CreateDirectory(c.Request().Context(), nd)
	if err != nil {
		return err
	}
	_ = s.start(c.Request().Context(), start)
	return c.JSON(http.StatusCreated, s.view(d))
}

func (s *Server) listDirectories(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	dirs, next, err := s.Store.ListDirectories(c.Request().Context(), apiKey(c).WorkspaceID, p)
	if err != nil {
		return err
	}
	views := make([]directoryView, len(dirs))
	for i, d := range dirs {
		views[i] = s.view(d)
	}
	return c.JSON(http.StatusOK, newList(views, next))
}

func (s *Server) getDirectory(c echo.Context) error {
	d, err := s.Store.Directory(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.view(d))
}

type syncStarted struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
}

// syncDirectory starts an import, or returns the one already running.
func (s *Server) syncDirectory(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	d, err := s.Store.Directory(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if d.Type.Pushed() {
		return domain.Errorf(domain.EConflict, "a SCIM directory is pushed to by its IdP: there is nothing to import")
	}
	run, err := workflows.StartDirectorySync(c.Request().Context(), s.Temporal, s.TaskQueue, syncInput(d, "api"))
	if err != nil {
		s.Logger.Error("starting directory sync", "directory", d.ID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	return c.JSON(http.StatusAccepted, syncStarted{WorkflowID: run.GetID(), RunID: run.GetRunID()})
}

// directoryPage loads the path's directory of the caller's workspace and the paging parameters.
func (s *Server) directoryPage(c echo.Context) (store.Directory, store.Page, error) {
	d, err := s.Store.Directory(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return d, store.Page{}, err
	}
	p, err := page(c)
	return d, p, err
}

// userFilter reads a directory user list's status and q parameters.
func userFilter(c echo.Context) (store.UserFilter, error) {
	f := store.UserFilter{Status: domain.UserStatus(c.QueryParam("status")), Query: c.QueryParam("q")}
	if f.Status != "" && !f.Status.Valid() {
		return f, domain.Errorf(domain.EInvalid, "status must be active, suspended or deprovisioned")
	}
	if len(f.Query) > 200 {
		return f, domain.Errorf(domain.EInvalid, "q is longer than 200 characters")
	}
	return f, nil
}

func (s *Server) listDirectoryUsers(c echo.Context) error {
	d, p, err := s.directoryPage(c)
	if err != nil {
		return err
	}
	f, err := userFilter(c)
	if err != nil {
		return err
	}
	users, next, err := s.Store.ListDirectoryUsers(c.Request().Context(), d.WorkspaceID, d.ID, f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(users, next))
}

// listDirectoryGroups lists a directory's groups (imported or pushed) by
// name, with member counts; q narrows by name.
func (s *Server) listDirectoryGroups(c echo.Context) error {
	d, p, err := s.directoryPage(c)
	if err != nil {
		return err
	}
	q := c.QueryParam("q")
	if len(q) > 200 {
		return domain.Errorf(domain.EInvalid, "q is longer than 200 characters")
	}
	groups, next, err := s.Store.ListDirectoryGroups(c.Request().Context(), d.WorkspaceID, d.ID, q, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(groups, next))
}

func (s *Server) listSyncRuns(c echo.Context) error {
	d, p, err := s.directoryPage(c)
	if err != nil {
		return err
	}
	runs, next, err := s.Store.ListSyncRuns(c.Request().Context(), d.WorkspaceID, d.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(runs, next))
}

type secretRequest struct {
	// Secret is the Okta API token, an Okta service app's private key, or
	// the Entra client secret.
	Secret string `json:"secret"`
}

// putSecret replaces a directory's API token or client secret.
func (s *Server) putSecret(c echo.Context) error {
	var req secretRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := required("secret", req.Secret); err != nil {
		return err
	}
	key := apiKey(c)
	d, err := s.Store.Directory(c.Request().Context(), key.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if d.Type == domain.DirectoryOkta && d.Settings.ClientID != "" {
		app := okta.ServiceApp{ClientID: d.Settings.ClientID, PrivateKey: req.Secret, KeyID: d.Settings.KeyID}
		if _, err := okta.ParseServiceApp(app); err != nil {
			return domain.Errorf(domain.EInvalid, "secret: %s", strings.TrimPrefix(err.Error(), "okta: "))
		}
	}
	if err := s.Store.ReplaceDirectorySecret(c.Request().Context(), key.WorkspaceID, c.Param("id"), "api_key:"+key.ID, []byte(req.Secret)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// acceptImport applies an import the deprovision safeguard halted: the
// admin says the people really left.
func (s *Server) acceptImport(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	key, ctx := apiKey(c), c.Request().Context()
	d, err := s.Store.Directory(ctx, key.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	run, err := s.Store.SyncRun(ctx, c.Param("run"))
	if err != nil || run.DirectoryID != d.ID {
		return domain.Errorf(domain.ENotFound, "sync run not found")
	}
	if _, err := s.Store.AcceptImport(ctx, key.WorkspaceID, d.ID, run.ID, "api_key:"+key.ID); err != nil {
		return err
	}
	run, err = s.Store.SyncRun(ctx, run.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

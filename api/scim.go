package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/scimserver"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/labstack/echo/v4"
)

// scimPrefix is where SCIM directories' endpoints live: an IdP is given
// PublicURL/scim/{directory}/v2 as its base URL.
const scimPrefix = "/scim/"

// scimPaths are the SCIM endpoints under a directory's base URL.
var scimPaths = map[string][]string{
	"/Users":                 {http.MethodGet, http.MethodPost},
	"/Users/:resource":       {http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete},
	"/Groups":                {http.MethodGet, http.MethodPost},
	"/Groups/:resource":      {http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete},
	"/ServiceProviderConfig": {http.MethodGet},
	"/ResourceTypes":         {http.MethodGet},
	"/ResourceTypes/:name":   {http.MethodGet},
	"/Schemas":               {http.MethodGet},
	"/Schemas/:name":         {http.MethodGet},
}

func (s *Server) scimRoutes(e *echo.Echo) {
	for path, methods := range scimPaths {
		for _, m := range methods {
			e.Add(m, scimPrefix+":directory/v2"+path, s.serveSCIM)
		}
	}
}

// scimBaseURL is the base URL a directory's IdP pushes to.
func (s *Server) scimBaseURL(directoryID string) string {
	return strings.TrimRight(s.PublicURL, "/") + scimPrefix + directoryID + "/v2"
}

// serveSCIM authenticates the directory's bearer token, bounds its
// requests, and hands the request to the SCIM server.
func (s *Server) serveSCIM(c echo.Context) error {
	h := c.Request().Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hubkeeper-scim"`)
		return domain.Errorf(domain.EUnauthorized, "send the directory's SCIM token as Authorization: Bearer <token>")
	}
	id := c.Param("directory")
	d, err := s.Store.AuthenticateSCIM(c.Request().Context(), id, token)
	if err != nil {
		return err
	}
	if err := s.keyLimit.limit(c, "scim:"+d.ID, "this directory's IdP"); err != nil {
		return err
	}
	srv, err := scimserver.New(s.Store, d, s.scimBaseURL(d.ID), s.Logger)
	if err != nil {
		return err
	}
	r := c.Request()
	if r.ContentLength != 0 {
		raw, err := readJSONAs(c, "application/scim+json", "application/json")
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	r.URL.Path = strings.TrimPrefix(r.URL.Path, scimPrefix+id)
	r.URL.RawPath = ""
	srv.ServeHTTP(c.Response(), r)
	return nil
}

// writeSCIMError answers a request to a SCIM endpoint that failed before
// the SCIM server saw it (token, rate limit, bad text) as SCIM says.
func writeSCIMError(c echo.Context, status int, message string) error {
	body := scimerrors.ScimError{Status: status, Detail: message}
	if status == http.StatusBadRequest {
		body.ScimType = scimerrors.ScimTypeInvalidValue
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/scim+json")
	return c.JSON(status, body)
}

func isSCIM(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, scimPrefix) }

// scimEndpoint is where a SCIM directory's IdP pushes; the token only in
// the answer that made it.
type scimEndpoint struct {
	BaseURL string `json:"base_url"`
	Token   string `json:"token,omitempty"`
}

// directoryView is a directory as the API shows it: a SCIM directory with
// its endpoint.
type directoryView struct {
	store.Directory
	SCIM *scimEndpoint `json:"scim,omitempty"`
}

func (s *Server) view(d store.Directory) directoryView {
	v := directoryView{Directory: d}
	if d.Type.Pushed() {
		v.SCIM = &scimEndpoint{BaseURL: s.scimBaseURL(d.ID)}
	}
	return v
}

// rotateSCIMToken gives a SCIM directory a new token, shown once; the old
// one stops working.
func (s *Server) rotateSCIMToken(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	key := apiKey(c)
	token, err := s.Store.RotateSCIMToken(c.Request().Context(), key.WorkspaceID, c.Param("id"), "api_key:"+key.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, scimEndpoint{BaseURL: s.scimBaseURL(c.Param("id")), Token: token})
}

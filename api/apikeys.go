package api

import (
	"net/http"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/labstack/echo/v4"
)

type createAPIKeyRequest struct {
	Name string `json:"name"`
	// ExpiresAt, optional, ends the key (RFC 3339).
	ExpiresAt *time.Time `json:"expires_at"`
}

// createdAPIKey carries the key in clear, this once.
type createdAPIKey struct {
	Key    string       `json:"key"`
	APIKey store.APIKey `json:"api_key"`
}

// listAPIKeys lists the workspace's keys, revoked ones included; no key
// is ever shown again, only its prefix.
func (s *Server) listAPIKeys(c echo.Context) error {
	keys, err := s.Store.ListAPIKeys(c.Request().Context(), apiKey(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(keys, ""))
}

// createAPIKey issues another admin key of the caller's workspace.
func (s *Server) createAPIKey(c echo.Context) error {
	var req createAPIKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key := apiKey(c)
	secret, k, err := s.Store.CreateAPIKey(c.Request().Context(), store.NewAPIKey{WorkspaceID: key.WorkspaceID, Name: req.Name,
		Scope: store.ScopeAdmin, ExpiresAt: req.ExpiresAt, Actor: "api_key:" + key.ID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdAPIKey{Key: secret, APIKey: k})
}

// revokeAPIKey ends a key of the caller's workspace (the caller's own too).
func (s *Server) revokeAPIKey(c echo.Context) error {
	key := apiKey(c)
	if _, err := s.Store.RevokeAPIKey(c.Request().Context(), key.WorkspaceID, c.Param("id"), "api_key:"+key.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package api

import (
	"context"
	"net/http"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// deleteIntegration removes an App: its Schedule and running workflows
// stop, then it goes with everything it holds and every secret it had;
// the audit trail stays. Temporal unreachable: 503, and nothing is gone.
func (s *Server) deleteIntegration(c echo.Context) error {
	key := apiKey(c)
	if err := s.removeIntegration(c.Request().Context(), key.WorkspaceID, c.Param("id"), "api_key:"+key.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// removeIntegration removes an integration of a workspace, the API's and
// the console's alike.
func (s *Server) removeIntegration(ctx context.Context, workspaceID, id, actor string) error {
	ig, err := s.Store.Integration(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	reports, err := s.Store.ReportIDs(ctx, ig.ID)
	if err != nil {
		return err
	}
	if err := workflows.StopIntegration(ctx, s.Temporal, ig.ID, reports); err != nil {
		s.Logger.Error("stopping an integration's workflows", "integration", ig.ID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable, so the integration's workflows could not be stopped; nothing was deleted, try again")
	}
	return s.Store.DeleteIntegration(ctx, workspaceID, ig.ID, actor)
}

// deleteDirectory removes a directory the same way: its Schedule and
// imports stop, then it goes with its users and secret.
func (s *Server) deleteDirectory(c echo.Context) error {
	key, ctx := apiKey(c), c.Request().Context()
	d, err := s.Store.Directory(ctx, key.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if err := workflows.StopDirectory(ctx, s.Temporal, d.ID); err != nil {
		s.Logger.Error("stopping a directory's workflows", "directory", d.ID, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal is unavailable, so the directory's imports could not be stopped; nothing was deleted, try again")
	}
	if err := s.Store.DeleteDirectory(ctx, key.WorkspaceID, d.ID, "api_key:"+key.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// Bodies of the member actions.
type (
	matchRequest struct {
		// Email is the directory person's primary e-mail.
		Email   string `json:"email"`
		HubRole string `json:"hub_role"`
	}
	exemptRequest struct {
		Reason string `json:"reason"`
	}
	reassignRequest struct {
		Email string `json:"email"`
	}
	roleRequest struct {
		// Role is ADMIN (Full control) or EMPLOYEE (Partial access); empty keeps it.
		Role   string             `json:"role"`
		Assets []store.AssetTasks `json:"assets"`
	}
	inviteRequest struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	emptyRequest struct{}
)

// memberActionStarted answers an action: its workflow, and whether it waits for Meta's restriction window.
type memberActionStarted struct {
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	Status       string     `json:"status"`
	WaitingUntil *time.Time `json:"waiting_until,omitempty"`
}

// memberAction returns the handler of one action: it reads the body,
// checks the member and inputs without changing anything, then starts the
// action's workflow.
func (s *Server) memberAction(action string) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := apiKey(c)
		ch := store.MemberChange{WorkspaceID: key.WorkspaceID, IntegrationID: c.Param("id"), MemberID: c.Param("member"),
			Action: action, Actor: "api_key:" + key.ID}
		if action == store.ActionCancel {
			ch.MemberID = c.Param("invitation")
		}
		if hasBody(c) {
			var err error
			switch action {
			case store.ActionMatch:
				var req matchRequest
				err = decodeJSON(c, &req)
				ch.MatchedEmail, ch.HubRole = domain.NormalizeEmail(req.Email), req.HubRole
				if err == nil && ch.MatchedEmail == "" {
					err = domain.Errorf(domain.EInvalid, "email must be the directory person's e-mail address")
				}
			case store.ActionReassign:
				var req reassignRequest
				err = decodeJSON(c, &req)
				ch.MatchedEmail = domain.NormalizeEmail(req.Email)
				if err == nil && ch.MatchedEmail == "" {
					err = domain.Errorf(domain.EInvalid, "email must be the directory person's e-mail address")
				}
			case store.ActionExempt:
				var req exemptRequest
				err = decodeJSON(c, &req)
				ch.Reason = req.Reason
			case store.ActionRole:
				var req roleRequest
				err = decodeJSON(c, &req)
				ch.Role, ch.Assets = req.Role, req.Assets
				for i := range ch.Assets {
					if ch.Assets[i].Tasks == nil {
						ch.Assets[i].Tasks = []string{}
					}
				}
			case store.ActionInvite:
				var req inviteRequest
				err = decodeJSON(c, &req)
				ch.Email, ch.Role = domain.NormalizeEmail(req.Email), req.Role
				if err == nil && ch.Email == "" {
					err = domain.Errorf(domain.EInvalid, "email must be the directory person's e-mail address")
				}
			default:
				err = decodeJSON(c, &emptyRequest{})
			}
			if err != nil {
				return err
			}
		} else if action == store.ActionMatch || action == store.ActionReassign || action == store.ActionExempt ||
			action == store.ActionRole || action == store.ActionInvite {
			return domain.Errorf(domain.EInvalid, "request body is empty; send a JSON object")
		}
		answer, err := s.startMemberChange(c.Request().Context(), ch)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, answer)
	}
}

// startMemberChange checks a change of a workspace's integration's member
// without changing anything, then starts its member action, the API's and
// the console's alike.
func (s *Server) startMemberChange(ctx context.Context, ch store.MemberChange) (memberActionStarted, error) {
	var answer memberActionStarted
	ig, err := s.Store.Integration(ctx, ch.WorkspaceID, ch.IntegrationID)
	if err != nil {
		return answer, err
	}
	if err := connected(ig); err != nil {
		return answer, err
	}
	ch.Provider = ig.Provider
	if err := supported(ig, needs[ch.Action]); err != nil {
		return answer, err
	}
	snap, err := s.Store.CheckMemberChange(ctx, ch)
	if err != nil {
		return answer, err
	}
	if ch.Action != store.ActionInvite {
		ch.Expect = &snap
	}
	answer.Status = "running"
	if slices.Contains(store.ProviderActions, ch.Action) && ig.RestrictedUntil != nil && ig.RestrictedUntil.After(time.Now()) {
		answer.Status, answer.WaitingUntil = "waiting", ig.RestrictedUntil
	}
	run, err := workflows.StartMemberAction(ctx, s.Temporal, s.TaskQueue, ch)
	if domain.ErrorCode(err) == domain.EConflict {
		return answer, err
	}
	if err != nil {
		s.Logger.Error("starting member action", "integration", ig.ID, "action", ch.Action, "error", err)
		return answer, domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	answer.WorkflowID, answer.RunID = run.GetID(), run.GetRunID()
	return answer, nil
}

// memberView is a member with its recent actions.
type memberView struct {
	store.Member
	Actions []store.MemberAction `json:"actions"`
}

func (s *Server) getMember(c echo.Context) error {
	key, ctx := apiKey(c), c.Request().Context()
	m, err := s.Store.Member(ctx, key.WorkspaceID, c.Param("id"), c.Param("member"))
	if err != nil {
		return err
	}
	actions, err := s.Store.MemberActions(ctx, key.WorkspaceID, c.Param("id"), c.Param("member"))
	if err != nil {
		return err
	}
	if actions == nil {
		actions = []store.MemberAction{}
	}
	return c.JSON(http.StatusOK, memberView{Member: m, Actions: actions})
}

func (s *Server) listAudit(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	events, next, err := s.Store.ListAuditEvents(c.Request().Context(), apiKey(c).WorkspaceID, f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(events, next))
}

// auditFilter reads the audit trail's filters from the query: action,
// subject_id and actor, the API's and the console's alike.
func auditFilter(c echo.Context) (store.AuditFilter, error) {
	f := store.AuditFilter{Action: c.QueryParam("action"), SubjectID: c.QueryParam("subject_id"), Actor: c.QueryParam("actor")}
	if len(f.Action) > 100 || len(f.SubjectID) > 300 || len(f.Actor) > 400 {
		return f, domain.Errorf(domain.EInvalid, "action, subject_id or actor is too long")
	}
	return f, nil
}

type bulkRequest struct {
	Action  string   `json:"action"`
	Members []string `json:"members"`
	Reason  string   `json:"reason"`
	Role    string   `json:"role"`
}

type bulkStarted struct {
	BulkID     string `json:"bulk_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Total      int    `json:"total"`
}

// bulkActions are the actions bulk takes.
var bulkActions = []string{store.ActionRemove, store.ActionExempt, store.ActionUnexempt, store.ActionRole}

// startBulk checks every member, stores the action and starts its workflow.
func (s *Server) startBulk(c echo.Context) error {
	var req bulkRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	key := apiKey(c)
	b, runID, err := s.startBulkAction(c.Request().Context(), store.BulkAction{WorkspaceID: key.WorkspaceID, IntegrationID: c.Param("id"),
		Action: req.Action, Actor: "api_key:" + key.ID, Reason: req.Reason, Role: req.Role, MemberIDs: req.Members})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, bulkStarted{BulkID: b.ID, WorkflowID: b.WorkflowID, RunID: runID, Total: len(b.MemberIDs)})
}

// startBulkAction checks a bulk action, stores it and starts its
// workflow, the API's and the console's alike; it returns the stored
// action and its run.
func (s *Server) startBulkAction(ctx context.Context, req store.BulkAction) (store.BulkAction, string, error) {
	if !slices.Contains(bulkActions, req.Action) {
		return req, "", domain.Errorf(domain.EInvalid, "action must be one of %v", bulkActions)
	}
	if len(req.MemberIDs) == 0 || len(req.MemberIDs) > store.BulkLimit {
		return req, "", domain.Errorf(domain.EInvalid, "members must list 1 to %d member ids", store.BulkLimit)
	}
	seen := map[string]bool{}
	for _, id := range req.MemberIDs {
		if seen[id] {
			return req, "", domain.Errorf(domain.EInvalid, "member %s is listed twice", id)
		}
		seen[id] = true
	}
	if req.Action == store.ActionRole && req.Role == "" {
		return req, "", domain.Errorf(domain.EInvalid, "role is required for a bulk role change")
	}
	ig, err := s.Store.Integration(ctx, req.WorkspaceID, req.IntegrationID)
	if err != nil {
		return req, "", err
	}
	if err := connected(ig); err != nil {
		return req, "", err
	}
	if slices.Contains(store.ProviderActions, req.Action) {
		if err := supported(ig, connector.Bulk); err != nil {
			return req, "", err
		}
	}
	b, err := s.Store.CreateBulkAction(ctx, req)
	if err != nil {
		return req, "", err
	}
	run, err := workflows.StartBulkAction(ctx, s.Temporal, s.TaskQueue, workflows.BulkInput{BulkID: b.ID, WorkspaceID: b.WorkspaceID,
		IntegrationID: ig.ID, Action: b.Action, Chunks: (len(b.MemberIDs) + meta.MaxBatch - 1) / meta.MaxBatch})
	if err != nil {
		s.Logger.Error("starting bulk action", "integration", ig.ID, "error", err)
		return req, "", domain.Errorf(domain.EUnavailable, "Temporal is unavailable; try again")
	}
	b.WorkflowID = run.GetID()
	return b, run.GetRunID(), nil
}

func (s *Server) getBulk(c echo.Context) error {
	b, err := s.Store.BulkAction(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("bulk"))
	if err != nil {
		return err
	}
	if b.IntegrationID != c.Param("id") {
		return domain.Errorf(domain.ENotFound, "bulk action not found")
	}
	return c.JSON(http.StatusOK, b)
}

// needs names the capability each action that changes the provider needs
// (a role change's assets need connector.SetAssetTasks too, which the
// store checks).
var needs = map[string]connector.Capability{store.ActionRemove: connector.Remove, store.ActionRole: connector.SetRole,
	store.ActionInvite: connector.Invite, store.ActionCancel: connector.CancelInvitation}

// supported refuses a change ig's connector does not make; "" needs none.
func supported(ig store.Integration, c connector.Capability) error {
	d, ok := connector.Describe(ig.Provider, ig.Mode)
	switch {
	case !ok:
		return domain.Errorf(domain.EInvalid, "provider %q has no connector", ig.Provider)
	case c != "" && !d.Can(c):
		return d.Refuse(c)
	}
	return nil
}

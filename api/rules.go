package api

import (
	"net/http"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// ruleRequest is a group rule: members of the directory's group get role
// (and tasks on assets) in the integration.
type ruleRequest struct {
	DirectoryID string             `json:"directory_id"`
	GroupID     string             `json:"group_id"`
	Role        string             `json:"role"`
	Assets      []store.AssetTasks `json:"assets"`
}

// rule reads and checks a rule for the path's integration.
func (s *Server) rule(c echo.Context) (store.GroupRule, error) {
	var req ruleRequest
	if err := decodeJSON(c, &req); err != nil {
		return store.GroupRule{}, err
	}
	if err := firstErr(required("directory_id", req.DirectoryID), required("group_id", req.GroupID), required("role", req.Role)); err != nil {
		return store.GroupRule{}, err
	}
	for i := range req.Assets {
		if req.Assets[i].Tasks == nil {
			req.Assets[i].Tasks = []string{}
		}
	}
	key, ctx := apiKey(c), c.Request().Context()
	ig, err := s.Store.Integration(ctx, key.WorkspaceID, c.Param("id"))
	if err != nil {
		return store.GroupRule{}, err
	}
	if err := connected(ig); err != nil {
		return store.GroupRule{}, err
	}
	r := store.GroupRule{WorkspaceID: key.WorkspaceID, IntegrationID: ig.ID, DirectoryID: req.DirectoryID, GroupID: req.GroupID,
		Role: req.Role, Assets: req.Assets, Actor: "api_key:" + key.ID}
	return r, s.Store.CheckGroupRule(ctx, r)
}

// previewRule answers what a rule would do if saved now; it changes nothing.
func (s *Server) previewRule(c echo.Context) error {
	r, err := s.rule(c)
	if err != nil {
		return err
	}
	plan, err := s.Store.PlanGroupRule(c.Request().Context(), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, plan)
}

type ruleStarted struct {
	Rule       store.GroupRule `json:"rule"`
	WorkflowID string          `json:"workflow_id,omitempty"`
	RunID      string          `json:"run_id,omitempty"`
}

// createRule saves a rule and runs it at once; if Temporal cannot take the
// run now, the integration's next check runs it.
func (s *Server) createRule(c echo.Context) error {
	r, err := s.rule(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if r, err = s.Store.CreateGroupRule(ctx, r); err != nil {
		return err
	}
	answer := ruleStarted{Rule: r}
	run, err := workflows.StartGroupRule(ctx, s.Temporal, s.TaskQueue, workflows.GroupRuleInput{RuleID: r.ID, WorkspaceID: r.WorkspaceID,
		IntegrationID: r.IntegrationID})
	if err != nil {
		s.Logger.Error("starting a group rule", "rule", r.ID, "error", err)
	} else {
		answer.WorkflowID, answer.RunID = run.GetID(), run.GetRunID()
	}
	return c.JSON(http.StatusCreated, answer)
}

func (s *Server) listRules(c echo.Context) error {
	key := apiKey(c)
	if _, err := s.Store.Integration(c.Request().Context(), key.WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	rules, err := s.Store.GroupRules(c.Request().Context(), key.WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	if rules == nil {
		rules = []store.GroupRule{}
	}
	return c.JSON(http.StatusOK, newList(rules, ""))
}

type ruleView struct {
	store.GroupRule
	// Plan is what the rule would do now.
	Plan store.RulePlan `json:"plan"`
}

// getRule shows a rule and what it would do now, leavers included.
func (s *Server) getRule(c echo.Context) error {
	key, ctx := apiKey(c), c.Request().Context()
	r, err := s.Store.GroupRule(ctx, key.WorkspaceID, c.Param("rule"))
	if err != nil || r.IntegrationID != c.Param("id") {
		return domain.Errorf(domain.ENotFound, "group rule not found")
	}
	plan, err := s.Store.PlanGroupRule(ctx, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ruleView{GroupRule: r, Plan: plan})
}

// deleteRule deletes a rule; what it did stays.
func (s *Server) deleteRule(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	key := apiKey(c)
	if err := s.Store.DeleteGroupRule(c.Request().Context(), key.WorkspaceID, c.Param("id"), c.Param("rule"), "api_key:"+key.ID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package api

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

// The console's workspace pages: Settings (who gets reports, API keys),
// Audit (filters, CSV export) and Automation (the runs in Temporal).

func (s *Server) uiSettings(c echo.Context) error {
	return s.settingsPage(c, http.StatusOK, map[string]any{"Notice": noticeOf(c)})
}

// settingsPage renders Settings with data's notice, error or new key.
func (s *Server) settingsPage(c echo.Context, status int, data map[string]any) error {
	ctx, ws := c.Request().Context(), uiSession(c).WorkspaceID
	set, err := s.Store.WorkspaceSettings(ctx, ws)
	if err != nil {
		return err
	}
	keys, err := s.Store.ListAPIKeys(ctx, ws)
	if err != nil {
		return err
	}
	if _, ok := data["AdminEmails"]; !ok {
		data["AdminEmails"] = strings.Join(set.AdminEmails, "\n")
	}
	data["Settings"], data["Keys"], data["Now"] = set, keys, time.Now()
	return s.uiRender(c, status, "settings.html", data)
}

// uiSaveSettings sets who gets reports (and administers the console);
// an admin cannot take away their own role here.
func (s *Server) uiSaveSettings(c echo.Context) error {
	sess := uiSession(c)
	typed := c.FormValue("admin_emails")
	set := store.WorkspaceSettings{ReportSuspended: c.FormValue("report_suspended") == "on"}
	for _, e := range strings.FieldsFunc(typed, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ' ' }) {
		set.AdminEmails = append(set.AdminEmails, e)
	}
	refuse := func(message string) error {
		return s.settingsPage(c, http.StatusBadRequest, map[string]any{"Error": message, "AdminEmails": typed})
	}
	if err := normalizeSettings(&set); err != nil {
		return refuse(strings.Replace(messageOf(err), "admin_emails", "line ", 1) + ". Nothing was changed.")
	}
	if !slices.Contains(set.AdminEmails, sess.Email) {
		return refuse("Your own address must stay on the list: another admin can take you off. Nothing was changed.")
	}
	if err := s.Store.SetWorkspaceSettings(c.Request().Context(), sess.WorkspaceID, "console:"+sess.Email, set); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/settings?notice=saved")
}

// uiCreateKey issues an API key and shows it this once.
func (s *Server) uiCreateKey(c echo.Context) error {
	sess := uiSession(c)
	nk := store.NewAPIKey{WorkspaceID: sess.WorkspaceID, Name: strings.TrimSpace(c.FormValue("name")), Scope: store.ScopeAdmin,
		Actor: "console:" + sess.Email}
	refuse := func(message string) error {
		return s.settingsPage(c, http.StatusBadRequest, map[string]any{"KeyError": message, "KeyName": c.FormValue("name")})
	}
	if err := required("the name", nk.Name); err != nil {
		return refuse(messageOf(err) + ".")
	}
	if day := c.FormValue("expires"); day != "" {
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return refuse("The expiry date must be a day such as 2027-06-30.")
		}
		nk.ExpiresAt = &t
	}
	secret, k, err := s.Store.CreateAPIKey(c.Request().Context(), nk)
	if domain.ErrorCode(err) == domain.EInvalid {
		return refuse(messageOf(err) + ".")
	}
	if err != nil {
		return err
	}
	return s.settingsPage(c, http.StatusCreated, map[string]any{"NewKey": secret, "NewKeyName": k.Name})
}

func (s *Server) uiRevokeKey(c echo.Context) error {
	sess := uiSession(c)
	if _, err := s.Store.RevokeAPIKey(c.Request().Context(), sess.WorkspaceID, c.Param("key"), "console:"+sess.Email); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/ui/settings?notice=revoked")
}

// auditPage is how many events the Audit page shows at once.
const auditPage = 50

func (s *Server) uiAudit(c echo.Context) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	events, next, err := s.Store.ListAuditEvents(c.Request().Context(), uiSession(c).WorkspaceID, f,
		store.Page{Limit: auditPage, Cursor: c.QueryParam("cursor")})
	if err != nil {
		return err
	}
	return s.uiRender(c, http.StatusOK, "audit.html", map[string]any{"Events": events, "Next": next, "Filter": f})
}

// uiAuditCSV writes every event the filters select as CSV, newest first.
func (s *Server) uiAuditCSV(c echo.Context) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	ctx, ws := c.Request().Context(), uiSession(c).WorkspaceID
	events, next, err := s.Store.ListAuditEvents(ctx, ws, f, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="hubkeeper-audit-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write([]string{"id", "occurred_at", "actor", "action", "subject_type", "subject_id", "workflow_id", "run_id", "details"}); err != nil {
		return nil
	}
	for {
		for _, e := range events {
			details, _ := json.Marshal(e.Details)
			row := []string{strconv.FormatInt(e.ID, 10), e.OccurredAt.UTC().Format(time.RFC3339), e.Actor, e.Action, e.SubjectType,
				e.SubjectID, e.WorkflowID, e.RunID, string(details)}
			for i := range row {
				row[i] = spreadsheetSafe(row[i])
			}
			if err := w.Write(row); err != nil {
				return nil // the browser went away
			}
		}
		if next == "" {
			break
		}
		if events, next, err = s.Store.ListAuditEvents(ctx, ws, f, store.Page{Limit: store.MaxLimit, Cursor: next}); err != nil {
			s.Logger.Error("audit export cut short", "workspace", ws, "error", err)
			break
		}
	}
	w.Flush()
	return nil
}

// spreadsheetSafe keeps a cell from being read as a formula by the
// spreadsheet that opens the export.
func spreadsheetSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// runRow is a workflow run on the Automation page.
type runRow struct {
	workflows.Run
	Kind, Subject, Link string
}

// uiAutomation lists the workspace's checks, imports, actions,
// onboardings, reports and rules from Temporal, each linked to its run in
// the Temporal web UI.
func (s *Server) uiAutomation(c echo.Context) error {
	ctx, ws := c.Request().Context(), uiSession(c).WorkspaceID
	f := workflows.RunFilter{Type: c.QueryParam("type"), Running: c.QueryParam("running") == "on"}
	if _, ok := workflows.RunTypes[f.Type]; f.Type != "" && !ok {
		return domain.Errorf(domain.EInvalid, "there is no kind of run %q", f.Type)
	}
	token, err := s.Store.OpenCursor(ws, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	runs, nextToken, err := workflows.ListRuns(ctx, s.Temporal, ws, f, 50, token)
	if err != nil {
		s.Logger.Error("listing runs for the console", "workspace", ws, "error", err)
		return domain.Errorf(domain.EUnavailable, "Temporal did not answer; try again")
	}
	names := map[string]string{}
	igs, _, err := s.Store.ListIntegrations(ctx, ws, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	for _, ig := range igs {
		names[ig.ID] = ig.Label
	}
	dirs, _, err := s.Store.ListDirectories(ctx, ws, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	for _, d := range dirs {
		names[d.ID] = d.Name
	}
	rows := make([]runRow, 0, len(runs))
	for _, r := range runs {
		row := runRow{Run: r, Kind: workflows.RunTypes[r.Type], Subject: names[cmp.Or(r.IntegrationID, r.DirectoryID)]}
		if s.TemporalUI != "" {
			row.Link = strings.TrimRight(s.TemporalUI, "/") + "/namespaces/" + url.PathEscape(cmp.Or(s.Namespace, "default")) +
				"/workflows/" + url.PathEscape(r.WorkflowID) + "/" + url.PathEscape(r.RunID) + "/history"
		}
		rows = append(rows, row)
	}
	next, err := s.Store.SealCursor(ws, nextToken)
	if err != nil {
		return err
	}
	types := slices.Sorted(maps.Keys(workflows.RunTypes))
	return s.uiRender(c, http.StatusOK, "automation.html", map[string]any{"Runs": rows, "Next": next,
		"Filter": f, "Types": types, "Labels": workflows.RunTypes})
}

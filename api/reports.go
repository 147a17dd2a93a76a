package api

import (
	"bytes"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/labstack/echo/v4"
)

func (s *Server) getSettings(c echo.Context) error {
	set, err := s.Store.WorkspaceSettings(c.Request().Context(), apiKey(c).WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, set)
}

func (s *Server) putSettings(c echo.Context) error {
	var set store.WorkspaceSettings
	if err := decodeJSON(c, &set); err != nil {
		return err
	}
	if err := normalizeSettings(&set); err != nil {
		return err
	}
	key := apiKey(c)
	if err := s.Store.SetWorkspaceSettings(c.Request().Context(), key.WorkspaceID, "api_key:"+key.ID, set); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, set)
}

// normalizeSettings checks the admins' addresses and writes them normalized.
func normalizeSettings(set *store.WorkspaceSettings) error {
	if len(set.AdminEmails) > 50 {
		return domain.Errorf(domain.EInvalid, "at most 50 admin e-mail addresses")
	}
	for i, e := range set.AdminEmails {
		if set.AdminEmails[i] = domain.NormalizeEmail(e); set.AdminEmails[i] == "" {
			return domain.Errorf(domain.EInvalid, "admin_emails[%d] is not an e-mail address", i)
		}
	}
	if set.AdminEmails == nil {
		set.AdminEmails = []string{}
	}
	return nil
}

func (s *Server) listReports(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	reports, next, err := s.Store.ListReports(c.Request().Context(), apiKey(c).WorkspaceID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newList(reports, next))
}

func (s *Server) getReport(c echo.Context) error {
	r, err := s.Store.Report(c.Request().Context(), apiKey(c).WorkspaceID, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

type decisionRequest struct {
	// Decision is "confirm" or "reject".
	Decision string   `json:"decision"`
	Exclude  []string `json:"exclude"`
	// Version is the report's version decided on (GET the report).
	Version *int `json:"version"`
}

// decide records a decision and wakes the report's review.
func (s *Server) decide(c echo.Context, d store.Decision) (store.Report, error) {
	r, err := s.Store.DecideReport(c.Request().Context(), d)
	if err != nil {
		return r, err
	}
	// The review reads the decision from Postgres; a lost wake-up is picked
	// up at its next reminder (or by the next check, which starts a review
	// that stopped), so the decision stands either way.
	if err := workflows.WakeReportReview(c.Request().Context(), s.Temporal, s.TaskQueue,
		workflows.ReportInput{ReportID: r.ID, WorkspaceID: r.WorkspaceID, IntegrationID: r.IntegrationID}); err != nil {
		s.Logger.Warn("waking the report review", "report", r.ID, "error", err)
	}
	return r, nil
}

func (s *Server) postDecision(c echo.Context) error {
	var req decisionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Decision != "confirm" && req.Decision != "reject" {
		return domain.Errorf(domain.EInvalid, `decision must be "confirm" or "reject"`)
	}
	if req.Version == nil {
		return domain.Errorf(domain.EInvalid, "version is required: the version of the report you decided on (GET /v1/reports/{id})")
	}
	key := apiKey(c)
	if _, err := s.Store.Report(c.Request().Context(), key.WorkspaceID, c.Param("id")); err != nil {
		return err
	}
	r, err := s.decide(c, store.Decision{ReportID: c.Param("id"), Actor: "api_key:" + key.ID, Confirm: req.Decision == "confirm",
		Exclude: req.Exclude, Version: *req.Version})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

var confirmPage = template.Must(template.New("confirm").Funcs(template.FuncMap{"join": strings.Join}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hubkeeper · remove people who left</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4}
li{margin:.6rem 0;list-style:none}label{display:block}small{color:#555}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.4rem .4rem 0 0;border-radius:6px;border:1px solid #888}
.confirm{background:#b00020;color:#fff;border-color:#b00020}.note{padding:.8rem;border-radius:6px;background:#f3f3f3}</style></head>
<body><h1>People who left, still in {{.Report.Integration}}</h1>
{{if .Message}}<p class="note" id="message">{{.Message}}</p>{{end}}
{{if .CanDecide}}
<form method="post"><input type="hidden" name="version" value="{{.Report.Version}}">
<p>Their directory identity is deprovisioned. Untick anyone who should stay.</p><ul>
{{range .Report.Members}}<li><label><input type="checkbox" name="keep_in_removal" value="{{.MemberID}}" checked>
<b>{{.Name}}</b> &lt;{{.Email}}&gt;<br><small>Directory: {{.DirectoryStatus}}{{if .LeftGroup}}, left the group {{.LeftGroup}}{{end}}{{range .Assets}} · {{.Name}} ({{join .Tasks ", "}}){{end}}</small></label></li>{{end}}
</ul><button class="confirm" name="decision" value="confirm">Remove the ticked people</button>
<button name="decision" value="reject">Keep everyone</button></form>
{{else}}<ul>{{range .Report.Members}}<li><b>{{.Name}}</b> &lt;{{.Email}}&gt; <small>{{.DirectoryStatus}}{{if .LeftGroup}}, left the group {{.LeftGroup}}{{end}}{{if .Outcome}} · {{.Outcome}}{{end}}</small></li>{{end}}</ul>{{end}}
</body></html>`))

// confirmView is what the confirmation page shows.
type confirmView struct {
	Report    store.Report
	CanDecide bool
	Message   string
}

// linkPage renders the page for a token: who is in the report and, while
// the link is usable, the form. It changes nothing (mail scanners follow links).
func (s *Server) linkPage(c echo.Context, status int, message string) error {
	r, st, err := s.Store.ReportByLink(c.Request().Context(), c.Param("token"))
	if domain.ErrorCode(err) == domain.ENotFound {
		return c.HTML(http.StatusNotFound, `<!doctype html><meta charset="utf-8"><title>Hubkeeper</title><p id="message">This link is not valid.</p>`)
	}
	if err != nil {
		return err
	}
	v := confirmView{Report: r, Message: message}
	switch {
	case r.Status != "pending" && r.DecidedAt != nil:
		v.Message += " Already decided (" + r.Status + ") by " + r.DecidedBy + " at " + r.DecidedAt.UTC().Format(time.RFC1123) + "."
	case r.Status != "pending":
		v.Message += " This report is closed (" + r.Status + ")."
	case st.UsedAt != nil:
		v.Message += " This link was already used."
	case st.Expired:
		v.Message += " This link has expired; a newer e-mail has a fresh one."
	default:
		v.CanDecide = true
	}
	v.Message = strings.TrimSpace(v.Message)
	var buf bytes.Buffer
	if err := confirmPage.Execute(&buf, v); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(status, buf.Bytes())
}

func (s *Server) getConfirm(c echo.Context) error { return s.linkPage(c, http.StatusOK, "") }

// postConfirm decides through a link: every member not ticked is left out.
func (s *Server) postConfirm(c echo.Context) error {
	r, _, err := s.Store.ReportByLink(c.Request().Context(), c.Param("token"))
	if domain.ErrorCode(err) == domain.ENotFound {
		return s.linkPage(c, http.StatusNotFound, "")
	}
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return s.linkPage(c, http.StatusBadRequest, "The form could not be read.")
	}
	decision := form.Get("decision")
	if decision != "confirm" && decision != "reject" {
		return s.linkPage(c, http.StatusBadRequest, "Choose to remove the ticked people or to keep everyone.")
	}
	version, err := strconv.Atoi(form.Get("version"))
	if err != nil {
		return s.linkPage(c, http.StatusBadRequest, "The form could not be read; this is the report as it is now.")
	}
	exclude := unticked(r, form["keep_in_removal"])
	if _, err := s.decide(c, store.Decision{ReportID: r.ID, Token: c.Param("token"), Confirm: decision == "confirm", Exclude: exclude,
		Version: version}); err != nil {
		if code := domain.ErrorCode(err); code == domain.EConflict || code == domain.ENotFound || code == domain.EInvalid {
			msg := "Nothing was changed."
			if fresh, _, ferr := s.Store.ReportByLink(c.Request().Context(), c.Param("token")); ferr == nil && fresh.Status == "pending" &&
				fresh.Version != version {
				msg = "The report changed since you opened it: it lists these people now. Nothing was changed; look again and decide."
			}
			return s.linkPage(c, statusOf[code], msg)
		}
		return err
	}
	msg := "Thank you. Nobody will be removed."
	if decision == "confirm" {
		msg = "Thank you. The ticked people are being removed; you will get a summary by e-mail."
	}
	return s.linkPage(c, http.StatusOK, msg)
}

// unticked are the report's members a decision form left unticked: those
// to keep out of the removal.
func unticked(r store.Report, ticked []string) []string {
	var out []string
	for _, m := range r.Members {
		if !slices.Contains(ticked, m.MemberID) {
			out = append(out, m.MemberID)
		}
	}
	return out
}

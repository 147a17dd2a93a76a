package activities

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// ReportTimings are how often a review reminds admins and when it expires.
type ReportTimings struct {
	RemindEvery time.Duration
	ExpireAfter time.Duration
}

// ReportTimings returns the configured cadence; the workflow records it once.
func (a *Activities) ReportTimings(context.Context) (ReportTimings, error) { return a.Reports, nil }

// Kinds of report e-mail.
const (
	MailRequest  = "request"
	MailReminder = "reminder"
	MailSummary  = "summary"
)

// ReportMailInput says which e-mail to send about a report.
type ReportMailInput struct {
	ReportID    string
	Kind        string
	LinksExpire time.Time
}

var reportMail = template.Must(template.New("mail").Parse(`<p>{{.Intro}}</p>
<ul>{{range .Report.Members}}{{if or (eq $.Kind "summary") .Included}}<li><b>{{.Name}}</b> &lt;{{.Email}}&gt; — directory: {{.DirectoryStatus}}{{if .LeftGroup}}, left the group {{.LeftGroup}}{{end}}{{if .Assets}}; holds {{range $i, $a := .Assets}}{{if $i}}, {{end}}{{$a.Name}}{{end}}{{end}}{{if $.Summary}} — {{.Outcome}}{{end}}</li>{{end}}{{end}}</ul>
{{if .Link}}<p><a href="{{.Link}}">Review and confirm or reject</a> (the link works once and expires {{.Expires}}).</p>{{end}}`))

// SendReportMail e-mails every admin of the workspace: a request or a
// reminder carries a personal single-use link; a summary says what was
// done. Links are made here and travel only in the e-mail.
func (a *Activities) SendReportMail(ctx context.Context, in ReportMailInput) error {
	r, err := a.Store.Report(ctx, "", in.ReportID)
	if err != nil {
		return failure(err)
	}
	if in.Kind != MailSummary && r.Status != "pending" {
		return nil // decided (say, through the API) before the mail went out: nothing to ask
	}
	if a.Mailer == nil {
		return failure(fmt.Errorf("no SMTP server is configured"))
	}
	subject := map[string]string{
		MailRequest:  fmt.Sprintf("%d people to remove from %s", len(r.Members), r.Integration),
		MailReminder: fmt.Sprintf("Reminder: %d people to remove from %s", len(r.Members), r.Integration),
		MailSummary:  fmt.Sprintf("Report for %s: %s", r.Integration, strings.ReplaceAll(r.Status, "_", " ")),
	}[in.Kind]
	intro := "These people left the company (their directory identity is deprovisioned) but still have access to " + r.Integration + "."
	if slices.ContainsFunc(r.Members, func(m store.ReportMember) bool { return m.LeftGroup != "" }) {
		intro = "These people left the company (their directory identity is deprovisioned) or the directory group that gave them " +
			"their access, but still have access to " + r.Integration + "."
	}
	if in.Kind == MailSummary {
		intro = "The report was " + strings.ReplaceAll(r.Status, "_", " ") + ". Outcome for each person:"
	}
	// Each admin gets each e-mail once, however often a failed send is retried.
	info := activity.GetInfo(ctx)
	mailKey := info.WorkflowExecution.RunID + "/" + info.ActivityID
	send := func(to, link string) error {
		var html bytes.Buffer
		if err := reportMail.Execute(&html, map[string]any{"Intro": intro, "Report": r, "Kind": in.Kind, "Summary": in.Kind == MailSummary,
			"Link": link, "Expires": in.LinksExpire.UTC().Format("2006-01-02 15:04 MST")}); err != nil {
			return err
		}
		text := intro + "\n"
		for _, m := range r.Members {
			left := ""
			if m.LeftGroup != "" {
				left = ", left the group " + m.LeftGroup
			}
			text += fmt.Sprintf("- %s <%s> (directory: %s%s) %s\n", m.Name, m.Email, m.DirectoryStatus, left, m.Outcome)
		}
		if link != "" {
			text += "\nReview and confirm or reject: " + link + "\n"
		}
		if err := a.Mailer.Send(ctx, mail.Message{To: []string{to}, Subject: subject, Text: text, HTML: html.String()}); err != nil {
			return err
		}
		return a.Store.NoteReportMailSent(ctx, in.ReportID, mailKey, to)
	}
	if in.Kind == MailSummary {
		admins, err := a.Store.ReportAdmins(ctx, in.ReportID, mailKey)
		if err != nil {
			return failure(err)
		}
		for _, admin := range admins {
			if err := send(admin, ""); err != nil {
				return err
			}
		}
		return nil
	}
	links, err := a.Store.IssueReportLinks(ctx, in.ReportID, mailKey, in.LinksExpire)
	if err != nil {
		return failure(err)
	}
	for _, l := range links {
		if err := send(l.Recipient, strings.TrimRight(a.PublicURL, "/")+"/confirm/"+l.Token); err != nil {
			return err
		}
	}
	return nil
}

// ReportMailFailure is a report e-mail that could not be sent, and why.
type ReportMailFailure struct {
	ReportID string
	Kind     string
	Reason   string
}

// NoteReportMailFailed writes an audit event for a report e-mail that could
// not be sent, so admins and operators see why nobody was asked.
func (a *Activities) NoteReportMailFailed(ctx context.Context, in ReportMailFailure) error {
	return failure(a.Store.NoteReportMailFailed(ctx, in.ReportID, in.Kind, in.Reason, activity.GetInfo(ctx).WorkflowExecution.ID))
}

// ReportStatus returns a report's status.
func (a *Activities) ReportStatus(ctx context.Context, reportID string) (string, error) {
	r, err := a.Store.Report(ctx, "", reportID)
	return r.Status, failure(err)
}

// ExpireReport ends an undecided report: nobody is removed.
func (a *Activities) ExpireReport(ctx context.Context, reportID string) error {
	return failure(a.Store.ExpireReport(ctx, reportID, activity.GetInfo(ctx).WorkflowExecution.ID))
}

// ReportIncludedMembers lists the people a confirmed report removes.
func (a *Activities) ReportIncludedMembers(ctx context.Context, reportID string) ([]string, error) {
	r, err := a.Store.Report(ctx, "", reportID)
	if err != nil {
		return nil, failure(err)
	}
	var ids []string
	for _, m := range r.Members {
		if m.Included {
			ids = append(ids, m.MemberID)
		}
	}
	return ids, nil
}

// FinishReportInput carries each removal's result.
type FinishReportInput struct {
	ReportID   string
	WorkflowID string
	Results    map[string]store.RemovalResult
	// Outcomes ("removed" or "failed: …") are what reviews sent before Results.
	Outcomes map[string]string
}

// FinishReport records the results and returns the report's final status.
func (a *Activities) FinishReport(ctx context.Context, in FinishReportInput) (string, error) {
	results := in.Results
	if results == nil {
		results = map[string]store.RemovalResult{}
		for id, outcome := range in.Outcomes {
			results[id] = store.RemovalResult{Result: store.ResultFailed, Outcome: outcome}
			if outcome == store.OutcomeRemoved {
				results[id] = store.RemovalResult{Result: store.ResultRemoved, Outcome: outcome}
			}
		}
	}
	r, err := a.Store.FinishReport(ctx, in.ReportID, in.WorkflowID, results)
	return r.Status, failure(err)
}

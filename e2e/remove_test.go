package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Removing an App stops its Schedule and running workflows, destroys every
// secret it had (superseded ones too), expires its open report links and
// keeps the audit trail; a second DELETE is a 404. A directory likewise.
func TestRemoveAnApp(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 300, 5))
	dir := s.importOkta()
	s.setAdmins("it@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	link := linkRE.FindStringSubmatch(s.waitMail("it@acme.test", "people to remove"))
	if link == nil {
		t.Fatal("no report link")
	}
	// A replaced token leaves a superseded credential behind.
	if code := s.call("PUT", "/v1/integrations/"+ig.ID+"/token", s.apiKey, map[string]string{"access_token": metaToken}, nil); code != 204 {
		t.Fatalf("replace token: %d", code)
	}
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 {
		t.Fatalf("reports: %+v", reports.Items)
	}
	reportRun := workflows.ReportWorkflowID(reports.Items[0].ID)
	if !s.running(t, reportRun) {
		t.Fatal("the report's workflow is not waiting")
	}
	s.waitSchedule(t, workflows.IntegrationSyncID(ig.ID), true)
	s.waitSchedule(t, workflows.DirectorySyncID(dir.ID), true)
	if n := s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, ig.ID); n != 2 {
		t.Fatalf("%d credentials of the integration before, want the token and the one it replaced", n)
	}

	// With Temporal down nothing can be stopped, so nothing is deleted.
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	downAPI := httptest.NewServer(api.New(api.Options{Store: s.store, Temporal: down, TaskQueue: taskQueue, SyncEvery: 24 * time.Hour}))
	defer downAPI.Close()
	req, _ := http.NewRequest("DELETE", downAPI.URL+"/v1/integrations/"+ig.ID, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, ig.ID) != 2 {
		t.Fatalf("delete with Temporal down: %d, and the integration's credentials went", resp.StatusCode)
	}

	if code := s.call("DELETE", "/v1/integrations/"+ig.ID, s.apiKey, nil, nil); code != 204 {
		t.Fatalf("delete integration: %d", code)
	}
	s.waitSchedule(t, workflows.IntegrationSyncID(ig.ID), false)
	s.waitClosed(t, reportRun, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED)
	for what, sql := range map[string]string{
		"credentials": `SELECT count(*) FROM credentials WHERE owner_id = $1`,
		"members":     `SELECT count(*) FROM members WHERE integration_id = $1`,
		"grants":      `SELECT count(*) FROM asset_grants WHERE integration_id = $1`,
		"assets":      `SELECT count(*) FROM assets WHERE integration_id = $1`,
		"reports":     `SELECT count(*) FROM deprovision_reports WHERE integration_id = $1`,
	} {
		if n := s.count(t, sql, ig.ID); n != 0 {
			t.Errorf("%d %s left after the delete", n, what)
		}
	}
	if code, _ := page(t, "GET", s.api.URL+"/confirm/"+link[1], nil); code != 404 {
		t.Errorf("the report link still answers %d", code)
	}
	if code := s.call("GET", "/v1/integrations/"+ig.ID, s.apiKey, nil, nil); code != 404 {
		t.Errorf("the integration still answers %d", code)
	}
	if code := s.call("DELETE", "/v1/integrations/"+ig.ID, s.apiKey, nil, nil); code != 404 {
		t.Errorf("second delete: %d", code)
	}
	if n := s.count(t, `SELECT count(*) FROM audit_events WHERE subject_id = $1 AND action IN ('integration.created', 'integration.deleted')`,
		ig.ID); n != 2 {
		t.Errorf("audit trail of the integration: %d of its created and deleted events", n)
	}

	if code := s.call("DELETE", "/v1/directories/"+dir.ID, s.apiKey, nil, nil); code != 204 {
		t.Fatalf("delete directory: %d", code)
	}
	s.waitSchedule(t, workflows.DirectorySyncID(dir.ID), false)
	if n := s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, dir.ID); n != 0 {
		t.Errorf("%d credentials of the directory left", n)
	}
	if n := s.count(t, `SELECT count(*) FROM directory_users WHERE directory_id = $1`, dir.ID); n != 0 {
		t.Errorf("%d users of the directory left", n)
	}
	if code := s.call("DELETE", "/v1/directories/"+dir.ID, s.apiKey, nil, nil); code != 404 {
		t.Errorf("second delete: %d", code)
	}
	if n := s.count(t, `SELECT count(*) FROM audit_events WHERE subject_id = $1 AND action = 'directory.deleted'`, dir.ID); n != 1 {
		t.Errorf("directory.deleted audited %d times", n)
	}
}

// count runs a counting query against the stack's database.
func (s *stack) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSchedule waits until a Schedule exists, or is gone.
func (s *stack) waitSchedule(t *testing.T, id string, exists bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := s.temporal.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
		var nf *serviceerror.NotFound
		if (err == nil) == exists && (exists || errors.As(err, &nf)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s: exists=%v wanted, error %v", id, !exists, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClosed waits for a workflow to close with status.
func (s *stack) waitClosed(t *testing.T, id string, status enumspb.WorkflowExecutionStatus) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
		if err == nil && desc.WorkflowExecutionInfo.Status == status {
			return
		}
		if time.Now().After(deadline) {
			got := "?"
			if err == nil {
				got = desc.WorkflowExecutionInfo.Status.String()
			}
			t.Fatalf("workflow %s is %s, want %s (%v)", id, got, status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The retention workflow purges through the worker; its Schedule is the
// operator's (the worker creates it).
func TestRetentionPurges(t *testing.T) {
	s := newStack(t, nil)
	d := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	if code := s.call("PUT", "/v1/directories/"+d.ID+"/credentials", s.apiKey, map[string]string{"secret": oktaToken}, nil); code != 204 {
		t.Fatalf("replace secret: %d", code)
	}
	superseded := s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, d.ID)
	conn, err := pgx.Connect(context.Background(), s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE credentials SET created_at = now() - interval '30 days' WHERE owner_id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	run, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: workflows.RetentionID, TaskQueue: taskQueue},
		workflows.Retention)
	if err != nil {
		t.Fatal(err)
	}
	var purged store.Purged
	if err := run.Get(context.Background(), &purged); err != nil {
		t.Fatal(err)
	}
	if superseded != 2 || purged.Credentials != 1 || s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, d.ID) != 1 {
		t.Fatalf("purged %+v of %d credentials", purged, superseded)
	}
	assertNoSecrets(t, s, workflows.RetentionID, run.GetRunID(), oktaToken)
	exportHistory(t, s, workflows.RetentionID, run.GetRunID(), "retention.json")
}

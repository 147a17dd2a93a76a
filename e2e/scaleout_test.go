package e2e

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/jackc/pgx/v5"
)

// Two workers and two API processes share one task queue; a fleet of 30
// Meta businesses in three workspaces is checked through both APIs, and
// the worker fetching for one of them is killed (SIGKILL) mid-fleet. Every
// check completes exactly once: each integration has one run, succeeded,
// with every member once, the killed work was taken over by the other
// worker, and every slot was given back.
func TestFleetSurvivesAKilledWorker(t *testing.T) {
	const (
		queue    = "scale-out"
		perSpace = 10
		members  = 300
	)
	people := seed.Company(emailDomain, members, 20)
	s := newStack(t, people)
	ctx := context.Background()
	workers := s.startProcesses(t, "worker", queue, 2, "HUBKEEPER_WORKSPACE_CONCURRENCY=2")
	apis := s.startProcesses(t, "api", queue, 2)
	shape := metasandbox.Shape{Members: members, Pages: 20, AdAccounts: 10, HoldersPerAsset: 5, Invitations: 3}

	fleet := s.metaFleet(t, []int{perSpace, perSpace, perSpace}, people, shape)
	s.meta.Latency = 25 * time.Millisecond

	started := make([]syncStarted, len(fleet))
	for i, ig := range fleet {
		if code := s.callAt(apis[i%len(apis)].URL, "POST", "/v1/integrations/"+ig.id+"/sync", ig.key, nil, &started[i]); code != http.StatusAccepted {
			t.Fatalf("sync: %d", code)
		}
	}
	// A third of the checks done, kill the worker that runs a fetch.
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	succeeded := func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM sync_runs WHERE integration_id IS NOT NULL AND status = 'succeeded'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	mostSlots := 0
	pids := map[int]*hubkeeperProcess{}
	for _, w := range workers {
		pids[w.cmd.Process.Pid] = w
	}
	killed := 0
	for deadline := time.Now().Add(3 * time.Minute); killed == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no fetch seen running after a third of the checks\n%s", workers[0].tail())
		}
		var held int
		if err := conn.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM work_slots GROUP BY workspace_id) w`).Scan(&held); err != nil {
			t.Fatal(err)
		}
		mostSlots = max(mostSlots, held)
		if succeeded() < len(fleet)/3 {
			continue
		}
		for _, st := range started {
			d, err := s.temporal.DescribeWorkflowExecution(ctx, st.WorkflowID, "")
			if err != nil {
				continue
			}
			for _, a := range d.PendingActivities {
				pid, _ := strconv.Atoi(strings.SplitN(a.LastWorkerIdentity, "@", 2)[0])
				if strings.HasPrefix(a.ActivityType.GetName(), "FetchMeta") && pids[pid] != nil && killed == 0 {
					killed = pid
				}
			}
			if killed != 0 {
				break
			}
		}
	}
	done := succeeded()
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker %d: %v", killed, err)
	}
	var survivor *hubkeeperProcess
	for pid, w := range pids {
		if pid != killed {
			survivor = w
		}
	}

	for _, st := range started {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		var res workflows.IntegrationSyncResult
		err := s.temporal.GetWorkflow(wctx, st.WorkflowID, st.RunID).Get(wctx, &res)
		cancel()
		if err != nil {
			t.Fatalf("check %s: %v\n%s", st.WorkflowID, err, survivor.tail())
		}
	}
	for _, ig := range fleet {
		runs, _, err := s.store.ListSyncRuns(ctx, ig.workspaceID, ig.id, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 1 || runs[0].Status != "succeeded" {
			t.Fatalf("integration %s: %d runs, first %+v; want one, succeeded", ig.id, len(runs), runs)
		}
		b := s.meta.Business(ig.businessID)
		want := len(b.Users) + len(b.Pending) + len(b.SystemUsers)
		var got, distinct int
		if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT external_id) FROM members WHERE integration_id = $1`,
			ig.id).Scan(&got, &distinct); err != nil {
			t.Fatal(err)
		}
		if got != want || distinct != want {
			t.Fatalf("integration %s: %d members (%d distinct), the business has %d", ig.id, got, distinct, want)
		}
	}
	var slots int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM work_slots`).Scan(&slots); err != nil || slots != 0 {
		t.Fatalf("%d slots still held (%v)", slots, err)
	}
	if mostSlots > 2 {
		t.Fatalf("a workspace held %d slots at once; its bound is 2", mostSlots)
	}
	t.Logf("worker %d killed with %d of %d checks done; the other finished the rest; at most %d slots held by one workspace",
		killed, done, len(fleet), mostSlots)
}

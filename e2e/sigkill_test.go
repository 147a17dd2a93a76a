package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// hubkeeperProcess is `hubkeeper worker` or `hubkeeper api` running as a
// process of its own; an API's URL is where it listens.
type hubkeeperProcess struct {
	cmd *exec.Cmd
	log string
	URL string
}

// startProcesses builds the hubkeeper binary and starts n processes of
// role ("worker" or "api") on queue, against the stack's Postgres, Temporal
// and mail catcher, with env added to their environment; APIs are ready
// when it returns.
func (s *stack) startProcesses(t testing.TB, role, queue string, n int, env ...string) []*hubkeeperProcess {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hubkeeper")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hubkeeper/hubkeeper/cmd/hubkeeper").CombinedOutput(); err != nil {
		t.Fatalf("build hubkeeper: %v\n%s", err, out)
	}
	var procs []*hubkeeperProcess
	for i := range n {
		p := &hubkeeperProcess{cmd: exec.Command(bin, role), log: filepath.Join(dir, role+"-"+strconv.Itoa(i)+".log")}
		out, err := os.Create(p.log)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd.Stdout, p.cmd.Stderr = out, out
		p.cmd.Env = append(os.Environ(), "DATABASE_URL="+s.dbURL, "HUBKEEPER_ENCRYPTION_KEYS="+temporaltest.KeySpec,
			"TEMPORAL_ADDRESS="+s.temporalAddr, "HUBKEEPER_TASK_QUEUE="+queue, "HUBKEEPER_CAPTURE_DIR="+dir,
			"HUBKEEPER_PROVIDER_HOSTS=127.0.0.1", "HUBKEEPER_SMTP_ADDR="+s.mail.Addr, "HUBKEEPER_SMTP_TLS=none")
		p.cmd.Env = append(p.cmd.Env, env...)
		if role == "api" {
			addr := freeAddr(t)
			p.URL = "http://" + addr
			p.cmd.Env = append(p.cmd.Env, "HUBKEEPER_API_ADDR="+addr, "HUBKEEPER_KEY_REQUESTS_PER_MINUTE=1000000")
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
			out.Close()
		})
		procs = append(procs, p)
	}
	for _, p := range procs {
		for deadline := time.Now().Add(time.Minute); p.URL != ""; time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get(p.URL + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the API did not get ready\n%s", p.tail())
			}
		}
	}
	return procs
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (p *hubkeeperProcess) tail() string {
	b, _ := os.ReadFile(p.log)
	return string(b[max(0, len(b)-3000):])
}

// A worker killed (SIGKILL) in the middle of a bulk removal, after Meta got
// its chunk: another worker carries on as soon as the heartbeat timeout
// passes, not after the chunk's start-to-close timeout, and Meta removes
// each person exactly once.
func TestWorkerKilledMidBulk(t *testing.T) {
	s, ig, _ := connected(t)
	var ids []string
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateUnmatched)) {
		if m.Kind == domain.MemberUser && len(ids) < 100 {
			ids = append(ids, m.ExternalID)
		}
	}
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		if len(ids) < 100 {
			ids = append(ids, m.ExternalID)
		}
	}
	if len(ids) != 100 {
		t.Fatalf("%d members to remove, want 100", len(ids))
	}
	const queue = "sigkill"
	workers := s.startProcesses(t, "worker", queue, 3)

	release := s.meta.HoldBatches()
	defer release()
	ctx := context.Background()
	b, err := s.store.CreateBulkAction(ctx, store.BulkAction{WorkspaceID: s.ws.ID, IntegrationID: ig.ID, Action: store.ActionRemove,
		Actor: "api_key:test", MemberIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	run, err := workflows.StartBulkAction(ctx, s.temporal, queue, workflows.BulkInput{BulkID: b.ID, WorkspaceID: s.ws.ID,
		IntegrationID: ig.ID, Action: store.ActionRemove, Chunks: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The first chunk's batch reached Meta: kill the worker that sent it.
	deadline := time.Now().Add(time.Minute)
	pid := 0
	for pid == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the first chunk never reached Meta\n%s", workers[0].tail())
		}
		time.Sleep(50 * time.Millisecond)
		d, err := s.temporal.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
		if err != nil || s.meta.HeldBatches() == 0 {
			continue
		}
		for _, a := range d.PendingActivities {
			if a.ActivityType.GetName() == "RunBulkChunk" && a.LastWorkerIdentity != "" {
				pid, _ = strconv.Atoi(strings.SplitN(a.LastWorkerIdentity, "@", 2)[0])
			}
		}
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker %d: %v", pid, err)
	}
	time.Sleep(500 * time.Millisecond)
	release() // Meta carries the dead worker's chunk out after all

	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var progress workflows.BulkProgress
	if err := run.Get(wctx, &progress); err != nil {
		t.Fatalf("bulk after the kill: %v\n%s", err, workers[1].tail())
	}
	took := time.Since(killed)
	t.Logf("the bulk finished %v after its worker was killed", took.Round(time.Second))
	if took > 2*time.Minute {
		t.Fatalf("the bulk stood still for %v: the chunk waited for its start-to-close timeout", took)
	}
	if progress.Done != 100 || progress.Failed != 0 {
		t.Fatalf("progress %+v", progress)
	}
	business := s.meta.Business(metaBusinessID)
	for _, id := range ids {
		if business.Users[id] != nil {
			t.Fatalf("%s is still in the business", id)
		}
	}
	if removals := s.meta.Removals(); removals != 100 {
		t.Fatalf("Meta removed %d times for 100 people", removals)
	}
	events, _, err := s.store.ListAuditEvents(ctx, s.ws.ID, store.AuditFilter{Action: "member.remove"}, store.Page{Limit: store.MaxLimit})
	if err != nil || len(events) != 100 {
		t.Fatalf("%d removal audit events, want 100 (%v)", len(events), err)
	}
}

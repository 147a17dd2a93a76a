package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/jackc/pgx/v5"
)

// BenchmarkMetaFleet checks 200 Meta integrations of 1,000 members each
// all due at once, on the stack's one worker, while admins read member
// lists at 500 requests a second from an API process of its own. One big workspace has 100 of them and
// asks first; ten small ones have 10 each. It prints checks per minute,
// p50 and p99 check time (all, the big workspace's, the small ones'),
// Graph requests, the test process's peak RSS (worker, API and
// sandboxes), the most Postgres connections and slots one workspace held
// seen, and the member list's p50 and p99.
func BenchmarkMetaFleet(b *testing.B) {
	const (
		members  = 1000
		listRate = 500 // member-list requests a second
	)
	sizes := []int{100, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10} // the big workspace first
	people := seed.Company(emailDomain, members, 40)
	s := newStack(b, people)
	ctx := context.Background()
	shape := metasandbox.Shape{Members: members, Pages: 60, AdAccounts: 40, HoldersPerAsset: 10, Invitations: 5}
	fleet := s.metaFleet(b, sizes, people, shape)
	// Admins reach an API process of its own, as deployed.
	api := s.startProcesses(b, "api", taskQueue, 1)[0]
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	s.meta.Latency = 25 * time.Millisecond

	b.ResetTimer()
	for range b.N {
		requestsBefore, _ := s.meta.Requests()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		// Admins read member lists meanwhile.
		var mu sync.Mutex
		var listed []time.Duration
		listErrors := 0
		// Admins' browsers keep their connections, as a load tool would.
		admins := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			began, sent := time.Now(), 0
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				// Open loop: what is due by now is sent, however slow the answers.
				for due := int(time.Since(began).Seconds() * listRate); sent < due; sent++ {
					ig := fleet[sent%len(fleet)]
					wg.Add(1)
					go func() {
						defer wg.Done()
						start := time.Now()
						req, _ := http.NewRequest("GET", api.URL+"/v1/integrations/"+ig.id+"/members?limit=50", nil)
						req.Header.Set("Authorization", "Bearer "+ig.key)
						resp, err := admins.Do(req)
						took := time.Since(start)
						mu.Lock()
						defer mu.Unlock()
						if err != nil || resp.StatusCode != 200 {
							listErrors++
						} else {
							listed = append(listed, took)
						}
						if resp != nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
						}
					}()
				}
			}
		}()
		// The most Postgres connections, and slots one workspace held, seen.
		maxConns, maxSlots := 0, 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var n, slots int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&n); err == nil {
					maxConns = max(maxConns, n)
				}
				if err := conn.QueryRow(ctx, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM work_slots GROUP BY workspace_id) w`).Scan(&slots); err == nil {
					maxSlots = max(maxSlots, slots)
				}
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()

		start := time.Now()
		started := make([]syncStarted, len(fleet))
		for i, ig := range fleet {
			if code := s.callAt(api.URL, "POST", "/v1/integrations/"+ig.id+"/sync", ig.key, nil, &started[i]); code != http.StatusAccepted {
				b.Fatalf("sync: %d", code)
			}
		}
		for _, st := range started {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
			err := s.temporal.GetWorkflow(wctx, st.WorkflowID, st.RunID).Get(wctx, nil)
			cancel()
			if err != nil {
				b.Fatalf("check %s: %v", st.WorkflowID, err)
			}
		}
		wall := time.Since(start)
		close(stop)
		wg.Wait()
		// Each check's time from when it was asked for to when it committed.
		big := map[string]bool{}
		for _, ig := range fleet {
			big[ig.id] = ig.workspace == 0
		}
		rows, err := conn.Query(ctx, `SELECT integration_id::text, finished_at FROM sync_runs WHERE integration_id IS NOT NULL AND started_at >= $1`, start)
		if err != nil {
			b.Fatal(err)
		}
		var checks, bigChecks, smallChecks []time.Duration
		for rows.Next() {
			var id string
			var finished time.Time
			if err := rows.Scan(&id, &finished); err != nil {
				b.Fatal(err)
			}
			d := finished.Sub(start)
			checks = append(checks, d)
			if big[id] {
				bigChecks = append(bigChecks, d)
			} else {
				smallChecks = append(smallChecks, d)
			}
		}
		rows.Close()
		requestsAfter, _ := s.meta.Requests()
		for _, ds := range [][]time.Duration{checks, bigChecks, smallChecks, listed} {
			slices.Sort(ds)
		}
		pct := func(ds []time.Duration, p float64) time.Duration {
			if len(ds) == 0 {
				return 0
			}
			return ds[min(len(ds)-1, int(float64(len(ds))*p))].Round(time.Millisecond)
		}
		perMinute := float64(len(fleet)) / wall.Minutes()
		b.ReportMetric(perMinute, "checks/min")
		b.ReportMetric(pct(checks, 0.99).Seconds(), "s/check-p99")
		b.ReportMetric(pct(smallChecks, 0.99).Seconds(), "s/small-workspace-check-p99")
		b.ReportMetric(float64(pct(listed, 0.99).Milliseconds()), "ms/member-list-p99")
		fmt.Printf("meta fleet of %d integrations x %d members (%d workspaces, the first with %d), all due at once, one worker:\n"+
			"  %v wall, %.0f checks/min; done after p50 %v, p99 %v (big workspace p50 %v, p99 %v; small ones p50 %v, p99 %v)\n"+
			"  %d Graph requests; peak RSS of the test process %s; most Postgres connections %d; most slots held by one workspace %d of %d\n"+
			"  member list at %d/s: %d answered, %d failed, p50 %v, p99 %v\n",
			len(fleet), members, len(sizes), sizes[0], wall.Round(time.Millisecond), perMinute, pct(checks, 0.5), pct(checks, 0.99),
			pct(bigChecks, 0.5), pct(bigChecks, 0.99), pct(smallChecks, 0.5), pct(smallChecks, 0.99),
			requestsAfter-requestsBefore, peakRSS(), maxConns, maxSlots, slotLimits.PerWorkspace, listRate, len(listed), listErrors, pct(listed, 0.5), pct(listed, 0.99))
	}
}

// peakRSS is this process's peak resident memory (VmHWM), from /proc.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return "?"
}

// fleetIntegration is one Meta integration of a fleet: its workspace (by
// order, and its id and API key) and sandbox business.
type fleetIntegration struct {
	id, workspaceID, key, businessID string
	workspace                        int
}

// metaFleet creates a workspace with an API key per entry of sizes, and
// in each that many Meta integrations of sandbox businesses of people.
func (s *stack) metaFleet(t testing.TB, sizes []int, people []seed.Person, shape metasandbox.Shape) []fleetIntegration {
	t.Helper()
	ctx := context.Background()
	var fleet []fleetIntegration
	for w, perWorkspace := range sizes {
		ws, err := s.store.CreateWorkspace(ctx, fmt.Sprintf("Fleet %d", w))
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := s.store.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: ws.ID, Name: "fleet", Scope: store.ScopeAdmin, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range perWorkspace {
			businessID := strconv.Itoa(800000000000000 + w*1000 + i)
			token := fmt.Sprintf("EAAfleet-%d-%d", w, i)
			s.meta.AddBusiness(metasandbox.NewBusiness(businessID, emailDomain, people, shape, time.Now()), token)
			var ig store.Integration
			if code := s.call("POST", "/v1/integrations", key, map[string]any{"provider": "meta", "label": "Fleet", "business_id": businessID,
				"login_method": "sso", "access_token": token, "graph_base_url": s.metaURL}, &ig); code != http.StatusCreated {
				t.Fatalf("create integration: %d", code)
			}
			fleet = append(fleet, fleetIntegration{id: ig.ID, workspaceID: ws.ID, key: key, businessID: businessID, workspace: w})
		}
	}
	return fleet
}

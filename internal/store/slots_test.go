package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/store"
)

// Slots hold their limits when many runs race for them, per provider and
// per workspace; taking again renews; a lapsed lease frees its slot; a
// waiting run's stage says it is queued.
func TestSlots(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, err := f.st.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	lim := store.SlotLimits{PerProvider: map[string]int{"meta": 4}, PerWorkspace: 3, Lease: time.Hour}
	take := func(holder, provider, workspaceID string) string {
		t.Helper()
		busy, err := f.st.TakeSlot(ctx, store.Slot{Holder: holder, Provider: provider, WorkspaceID: workspaceID}, lim)
		if err != nil {
			t.Fatal(err)
		}
		return busy
	}

	// Twenty runs of one workspace race: three get a slot.
	var wg sync.WaitGroup
	var mu sync.Mutex
	held := map[string]bool{}
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holder := fmt.Sprintf("sync/%d/run", i)
			busy, err := f.st.TakeSlot(ctx, store.Slot{Holder: holder, Provider: "meta", WorkspaceID: f.ws.ID}, lim)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if busy == "" {
				held[holder] = true
			}
		}()
	}
	wg.Wait()
	if len(held) != 3 {
		t.Fatalf("%d of 20 racing runs took a slot; want the workspace's 3", len(held))
	}
	if got := take("sync/other-1/run", "meta", other.ID); got != "" {
		t.Fatalf("another workspace's run waits: %s", got)
	}
	if got, want := take("sync/other-2/run", "meta", other.ID), "all 4 of meta's slots are taken"; got != want {
		t.Fatalf("fifth meta run: %q, want %q", got, want)
	}
	if got := take("directory-sync/other/run", "okta", other.ID); got != "" {
		t.Fatalf("an unbounded provider's run waits: %s", got)
	}
	for holder := range held {
		if got := take(holder, "meta", f.ws.ID); got != "" {
			t.Fatalf("a holder taking again: %s", got)
		}
	}

	// A waiting run's stage says so until it gets its slot.
	run, err := f.st.StartSyncRun(ctx, f.dir.ID, "test", "directory-sync/"+f.dir.ID, "run")
	if err != nil {
		t.Fatal(err)
	}
	waiting := store.Slot{Holder: "directory-sync/" + f.dir.ID + "/run", Provider: "okta", WorkspaceID: f.ws.ID, SyncRunID: run.ID}
	stage := func() string {
		t.Helper()
		var s string
		if err := f.db.QueryRow(ctx, `SELECT stage FROM sync_runs WHERE id = $1`, run.ID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if busy, err := f.st.TakeSlot(ctx, waiting, lim); err != nil || busy == "" || stage() != "queued" {
		t.Fatalf("waiting run: busy %q, stage %q, %v", busy, stage(), err)
	}

	// One holder releases and another's lease lapses: two slots free.
	var first, second string
	for holder := range held {
		if first == "" {
			first = holder
		} else if second == "" {
			second = holder
		}
	}
	if err := f.st.ReleaseSlot(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE work_slots SET expires_at = now() - interval '1 minute' WHERE holder = $1`, second); err != nil {
		t.Fatal(err)
	}
	if busy, err := f.st.TakeSlot(ctx, waiting, lim); err != nil || busy != "" || stage() != "starting" {
		t.Fatalf("after a release: busy %q, stage %q, %v", busy, stage(), err)
	}
	if got := take("sync/late/run", "meta", f.ws.ID); got != "" {
		t.Fatalf("after a lapsed lease: %s", got)
	}
	if n := f.count(t, `SELECT count(*) FROM work_slots WHERE workspace_id = $1`, f.ws.ID); n != 3 {
		t.Fatalf("%d slots held in the workspace, want 3", n)
	}
}

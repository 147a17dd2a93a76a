package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
)

// A check waits while every slot is taken, fetches only once it holds
// one, and gives it back when it is done.
func TestCheckWaitsForASlot(t *testing.T) {
	env := withoutSlots()
	busy := temporal.NewApplicationErrorWithOptions("waiting for a slot: all 10 of the workspace's slots are taken", activities.ErrBusy,
		temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Second})
	var holder string
	var tookAt time.Time
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil).Once()
	env.OnActivity(a.TakeSlot, mock.Anything, mock.MatchedBy(func(in activities.SlotRequest) bool {
		return in.Provider == "meta" && in.WorkspaceID == "ws-1" && in.SyncRunID == "run-1" && in.Holder != ""
	})).Return(busy).Twice()
	env.OnActivity(a.TakeSlot, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SlotRequest) error {
		holder, tookAt = in.Holder, env.Now()
		return nil
	}).Once()
	fetched := func(_ context.Context, _ string) (int, error) {
		if tookAt.IsZero() {
			return 0, errors.New("fetched without a slot")
		}
		return 1, nil
	}
	env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{}, nil)
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(fetched)
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(fetched)
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(fetched)
	env.OnActivity(a.FetchMetaPartners, mock.Anything, "run-1").Return(fetched)
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{}, nil).Once()
	var released []string
	env.OnActivity(a.ReleaseSlot, mock.Anything, mock.Anything).Return(func(_ context.Context, h string) error {
		released = append(released, h)
		return nil
	})
	started := env.Now()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if waited := tookAt.Sub(started); waited < 6*time.Second {
		t.Fatalf("took the slot after %v; want two waits of 3 s", waited)
	}
	if len(released) != 1 || released[0] != holder {
		t.Fatalf("released %v, want once %q", released, holder)
	}
	env.AssertExpectations(t)
}

// A check cancelled while it waits for a slot still gives back what its
// last attempt may have taken, and fetches nothing.
func TestCheckCancelledWhileWaitingReleases(t *testing.T) {
	env := withoutSlots()
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil).Once()
	env.OnActivity(a.TakeSlot, mock.Anything, mock.Anything).Return(temporal.NewApplicationErrorWithOptions("waiting for a slot",
		activities.ErrBusy, temporal.ApplicationErrorOptions{NextRetryDelay: 3 * time.Second}))
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.Anything).Return(nil).Once()
	released := 0
	env.OnActivity(a.ReleaseSlot, mock.Anything, mock.Anything).Return(func(_ context.Context, _ string) error {
		released++
		return nil
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, 20*time.Second)
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var canceled *temporal.CanceledError
	if err := env.GetWorkflowError(); !errors.As(err, &canceled) {
		t.Fatalf("error %v, want cancelled", err)
	}
	if released != 1 {
		t.Fatalf("released %d times, want 1", released)
	}
	env.AssertExpectations(t)
}

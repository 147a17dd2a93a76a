package activities

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/temporal"
)

// ErrBusy is the failure type of a slot not free yet; it retries.
const ErrBusy = "Busy"

// SlotLease is how long a slot lasts. It lapses when its run vanished
// without releasing it (terminated by an operator), or when a run outlives
// it (hours of provider throttling), which then lets one more run in.
const SlotLease = 6 * time.Hour

// SlotRequest asks for a slot for a check or import.
type SlotRequest struct {
	Holder      string
	Provider    string
	WorkspaceID string
	SyncRunID   string
}

// TakeSlot claims a slot within Slots' limits (store.TakeSlot). While none
// is free it fails as ErrBusy, to be retried in a few seconds, saying who
// holds them; the sync run's stage shows "queued".
func (a *Activities) TakeSlot(ctx context.Context, in SlotRequest) error {
	busy, err := a.Store.TakeSlot(ctx, store.Slot{Holder: in.Holder, Provider: in.Provider, WorkspaceID: in.WorkspaceID,
		SyncRunID: in.SyncRunID}, a.Slots)
	if err != nil || busy == "" {
		return err
	}
	// Waiting runs ask again in 2 to 4 s, not in step.
	return temporal.NewApplicationErrorWithOptions("waiting for a slot: "+busy, ErrBusy,
		temporal.ApplicationErrorOptions{NextRetryDelay: 2*time.Second + rand.N(2*time.Second)})
}

// ReleaseSlot gives back holder's slot.
func (a *Activities) ReleaseSlot(ctx context.Context, holder string) error {
	return a.Store.ReleaseSlot(ctx, holder)
}

package activities

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// BulkChunkInput names one chunk (meta.MaxBatch members) of a bulk action.
type BulkChunkInput struct {
	BulkID     string
	Chunk      int
	WorkflowID string
	RunID      string
}

// BulkChunkResult counts a chunk's outcomes.
type BulkChunkResult struct {
	Done, Failed, Cancelled int
}

// RunBulkChunk applies a bulk action to one chunk of its members: each
// member is looked at again first, and one that changed since the admin
// asked is left alone (cancelled); Meta changes go in one Graph batch, then
// each member's change is recorded with its audit event. Members already
// done are skipped, so a retried chunk acts on no one twice; outcomes are
// saved for the API.
func (a *Activities) RunBulkChunk(ctx context.Context, in BulkChunkInput) (BulkChunkResult, error) {
	defer beat(ctx).Stop()
	b, err := a.Store.BulkAction(ctx, "", in.BulkID)
	if err != nil {
		return BulkChunkResult{}, failure(err)
	}
	ids := b.MemberIDs[min(in.Chunk*meta.MaxBatch, len(b.MemberIDs)):min((in.Chunk+1)*meta.MaxBatch, len(b.MemberIDs))]
	var todo []string
	for _, id := range ids {
		if outcome, seen := b.Outcomes[id]; !seen || outcome != "" {
			todo = append(todo, id)
		}
	}
	outcomes := map[string]string{}
	if slices.Contains(store.ProviderActions, b.Action) {
		var acting []string
		for _, id := range todo {
			expect := b.Expected[id]
			in, err := a.Store.MemberIntent(ctx, store.MemberChange{WorkspaceID: b.WorkspaceID, IntegrationID: b.IntegrationID,
				MemberID: id, Action: b.Action, Expect: &expect})
			switch {
			case err != nil:
				return BulkChunkResult{}, failure(err)
			case in.Cancel != "":
				outcomes[id] = store.CancelledPrefix + in.Cancel
			default:
				acting = append(acting, id)
			}
		}
		todo = acting
	}
	providerErrs := make([]error, len(todo))
	if len(todo) > 0 && (b.Action == store.ActionRemove || b.Action == store.ActionRole) {
		if providerErrs, err = a.bulkAtProvider(ctx, b, todo); err != nil {
			return BulkChunkResult{}, err
		}
	}
	for i, id := range todo {
		if providerErrs[i] != nil {
			outcomes[id] = sentence(providerErrs[i])
			continue
		}
		ch := store.MemberChange{WorkspaceID: b.WorkspaceID, IntegrationID: b.IntegrationID, MemberID: id, Action: b.Action,
			Actor: b.Actor, Reason: b.Reason, Role: b.Role, WorkflowID: in.WorkflowID, RunID: in.RunID}
		if err := a.Store.ApplyMemberChange(ctx, ch); err != nil {
			outcomes[id] = sentence(err)
			continue
		}
		outcomes[id] = ""
	}
	if err := a.Store.RecordBulkOutcomes(ctx, in.BulkID, outcomes); err != nil {
		return BulkChunkResult{}, err
	}
	var res BulkChunkResult
	b, err = a.Store.BulkAction(ctx, "", in.BulkID)
	if err != nil {
		return res, failure(err)
	}
	for _, id := range ids {
		switch outcome := b.Outcomes[id]; {
		case outcome == "":
			res.Done++
		case strings.HasPrefix(outcome, store.CancelledPrefix):
			res.Cancelled++
		default:
			res.Failed++
		}
	}
	return res, nil
}

// bulkAtProvider removes members, or sets their role, through the
// integration's connector in one of its batches: one error per member.
func (a *Activities) bulkAtProvider(ctx context.Context, b store.BulkAction, ids []string) ([]error, error) {
	ig, err := a.Store.IntegrationByID(ctx, b.IntegrationID)
	if err != nil {
		return nil, failure(err)
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	if !d.Can(connector.Bulk) {
		return nil, failure(d.Refuse(connector.Bulk))
	}
	conn, err := a.clientConnector(ctx, ig, d)
	if err != nil {
		return nil, a.providerFailure(ctx, ig, err)
	}
	bulk := conn.(connector.BulkChanger)
	var errs []error
	if b.Action == store.ActionRemove {
		errs, err = bulk.RemoveMany(ctx, ids)
	} else {
		errs, err = bulk.SetRoles(ctx, ids, b.Role)
	}
	if err != nil {
		return nil, a.providerFailure(ctx, ig, err)
	}
	return errs, nil
}

// removeOnce removes a chunk of people at Meta. A retried attempt (its
// predecessor may have removed some before its worker died) first asks
// Meta who is still there, and removes only them.
func removeOnce(ctx context.Context, c *meta.Client, businessID string, ids []string) ([]error, error) {
	if activity.GetInfo(ctx).Attempt == 1 {
		return c.RemoveBusinessUsers(ctx, businessID, ids)
	}
	present, err := c.PresentBusinessUsers(ctx, businessID, ids)
	if err != nil {
		return nil, err
	}
	var still []string
	for i, id := range ids {
		if present[i] {
			still = append(still, id)
		}
	}
	stillErrs, err := c.RemoveBusinessUsers(ctx, businessID, still)
	if err != nil {
		return nil, err
	}
	errs, j := make([]error, len(ids)), 0
	for i := range ids {
		if present[i] {
			errs[i], j = stillErrs[j], j+1
		}
	}
	return errs, nil
}

// BulkStatusInput is a bulk action's status to record.
type BulkStatusInput struct {
	BulkID, WorkflowID, Status string
	WaitingUntil               *time.Time
}

// RecordBulkStatus saves a bulk action's status for the API.
func (a *Activities) RecordBulkStatus(ctx context.Context, in BulkStatusInput) error {
	return failure(a.Store.RecordBulkStatus(ctx, in.BulkID, in.WorkflowID, in.Status, in.WaitingUntil))
}

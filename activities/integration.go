package activities

import (
	"context"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// GrantConcurrency is how many Graph batch requests a grants fetch keeps in flight.
const GrantConcurrency = 4

// StartIntegrationSyncInput identifies the workflow run a sync run belongs to.
type StartIntegrationSyncInput struct {
	IntegrationID string
	Trigger       string
	WorkflowID    string
	RunID         string
}

// StartIntegrationSync records a check for updates and returns its run id;
// a retry for the same workflow run returns the same id.
func (a *Activities) StartIntegrationSync(ctx context.Context, in StartIntegrationSyncInput) (string, error) {
	run, err := a.Store.StartIntegrationSyncRun(ctx, in.IntegrationID, in.Trigger, in.WorkflowID, in.RunID)
	return run.ID, failure(err)
}

// metaClient builds a Graph client for the integration of a run.
func (a *Activities) metaClient(ctx context.Context, runID string) (*meta.Client, store.Integration, error) {
	ig, err := a.Store.IntegrationForRun(ctx, runID)
	if err != nil {
		return nil, ig, err
	}
	c, err := a.metaClientFor(ctx, ig)
	return c, ig, err
}

// metaClientByID builds a Graph client for an integration by id.
func (a *Activities) metaClientByID(ctx context.Context, integrationID string) (*meta.Client, store.Integration, error) {
	ig, err := a.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return nil, ig, err
	}
	c, err := a.metaClientFor(ctx, ig)
	return c, ig, err
}

// metaClientFor builds a Graph client for an integration, with its token
// opened here and nowhere else.
func (a *Activities) metaClientFor(ctx context.Context, ig store.Integration) (*meta.Client, error) {
	if d, _ := connector.Describe(ig.Provider, ig.Mode); d.Channel != connector.ChannelGraph {
		return nil, domain.Errorf(domain.EInvalid, "integration %s is %s, not meta", ig.ID, ig.Provider)
	}
	token, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, ig.CredentialID)
	if err != nil {
		return nil, fmt.Errorf("open integration credential: %w", err)
	}
	return a.graph(ig, string(token))
}

// browsed says whether ig's connector works in a browser.
func browsed(ig store.Integration) bool {
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	return d.Channel == connector.ChannelBrowser
}

// providerFailure marks the integration needs_reauth when the provider
// rejected its token, then maps the error for Temporal.
func (a *Activities) providerFailure(ctx context.Context, ig store.Integration, err error) error {
	pe, ok := domain.AsProviderError(err)
	info := activity.GetInfo(ctx)
	switch {
	case ok && pe.Kind == domain.AuthBroken:
		if merr := a.Store.MarkIntegrationNeedsReauth(ctx, ig, pe.Error(), info.WorkflowExecution.ID, info.WorkflowExecution.RunID, pe.TraceID); merr != nil {
			return merr
		}
	case ok && pe.Kind == domain.Permanent && browsed(ig):
		// The browser kept a screenshot and the page: the audit log says where.
		if merr := a.Store.RecordAutomationFailure(ctx, ig, pe.Error(), info.WorkflowExecution.ID, info.WorkflowExecution.RunID); merr != nil {
			return merr
		}
	}
	return failure(err)
}

// edgeCursor is where a paged fetch resumes: which edge, after which
// cursor. Fetched tells an operator reading the pending activity in the
// Temporal UI how far the fetch has come.
type edgeCursor struct {
	Edge    int    `json:"edge"`
	After   string `json:"after"`
	Fetched int    `json:"fetched"`
}

// fetchEdges pages through edges in order and lands each page with stage,
// resuming from the last heartbeat. Staging a page overlaps fetching the
// next; the heartbeat names only pages already staged.
func fetchEdges[T any](ctx context.Context, c *meta.Client, edges []string,
	page func(edge, after string) ([]T, string, error), stage func(items []T, requests int) error) (int, error) {
	var cur edgeCursor
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cur)
	}
	hb := beat(ctx, cur)
	defer hb.Stop()
	var (
		staging        chan error // result of staging the previous page, if one is under way
		stagingCursor  edgeCursor
		total, counted = 0, c.Requests()
		// edgeStart is total when the current edge began, and cur.Fetched then.
		edgeStart, fetchedAtEdge = 0, cur.Fetched
	)
	awaitStaging := func() error {
		if staging == nil {
			return nil
		}
		err := <-staging
		staging = nil
		if err == nil {
			hb.Progress(stagingCursor)
		}
		return err
	}
	for cur.Edge < len(edges) {
		items, next, err := page(edges[cur.Edge], cur.After)
		if meta.CursorRejected(err) && cur.After != "" {
			// Graph no longer takes the cursor (its item was deleted, or a
			// resume came hours later): the edge starts over; staging is
			// idempotent.
			if err := awaitStaging(); err != nil {
				return total, err
			}
			cur.After, cur.Fetched, total = "", fetchedAtEdge, edgeStart
			continue
		}
		if err != nil {
			_ = awaitStaging()
			return total, err
		}
		if err := awaitStaging(); err != nil {
			return total, err
		}
		requests := c.Requests() - counted
		counted = c.Requests()
		total += len(items)
		cur.Fetched += len(items)
		if next == "" {
			cur = edgeCursor{Edge: cur.Edge + 1, Fetched: cur.Fetched}
			edgeStart, fetchedAtEdge = total, cur.Fetched
		} else {
			cur.After = next
		}
		staging, stagingCursor = make(chan error, 1), cur
		go func(done chan<- error) { done <- stage(items, requests) }(staging)
	}
	return total, awaitStaging()
}

// FetchMetaMembers reads business users, invitations and system users into
// the run's staging rows, page by page, resuming from its heartbeat.
func (a *Activities) FetchMetaMembers(ctx context.Context, runID string) (int, error) {
	c, ig, err := a.metaClient(ctx, runID)
	if err != nil {
		return 0, failure(err)
	}
	n, err := fetchEdges(ctx, c, meta.MemberEdges, func(edge, after string) ([]domain.BusinessMember, string, error) {
		return c.Members(ctx, ig.BusinessID, edge, after)
	}, func(members []domain.BusinessMember, requests int) error {
		return a.Store.StageMembers(ctx, runID, members, requests)
	})
	if err != nil {
		return n, a.providerFailure(ctx, ig, err)
	}
	return n, nil
}

// FetchMetaAssets reads owned and client Pages and ad accounts into the
// run's staging rows, resuming from its heartbeat. Each Page comes with its
// access token, staged sealed; a Page without one (the system user does not
// manage it) is staged unreadable.
func (a *Activities) FetchMetaAssets(ctx context.Context, runID string) (int, error) {
	c, ig, err := a.metaClient(ctx, runID)
	if err != nil {
		return 0, failure(err)
	}
	n, err := fetchEdges(ctx, c, meta.AssetEdges, func(edge, after string) ([]meta.ListedAsset, string, error) {
		return c.Assets(ctx, ig.BusinessID, edge, after)
	}, func(listed []meta.ListedAsset, requests int) error {
		assets := make([]store.StagedAsset, len(listed))
		for i, l := range listed {
			assets[i] = store.StagedAsset{Asset: l.Asset, PageToken: l.PageToken, Unreadable: l.Type == "page" && l.PageToken == ""}
		}
		return a.Store.StageAssets(ctx, runID, assets, requests)
	})
	if err != nil {
		return n, a.providerFailure(ctx, ig, err)
	}
	return n, nil
}

// FetchMetaGrants reads who holds each staged asset, 50 assets a Graph
// batch with GrantConcurrency batches in flight. It heartbeats the chunks
// done and, when retried, fetches only the others.
func (a *Activities) FetchMetaGrants(ctx context.Context, runID string) (int, error) {
	c, ig, err := a.metaClient(ctx, runID)
	if err != nil {
		return 0, failure(err)
	}
	n, err := fetchPerAsset(ctx, a, c, runID, func(ctx context.Context, chunk []meta.GrantTarget) ([]domain.Grant, error) {
		return c.Grants(ctx, ig.BusinessID, chunk)
	}, a.Store.StageGrants)
	if err != nil {
		return n, a.providerFailure(ctx, ig, err)
	}
	return n, nil
}

// FetchMetaPartners reads the business's partner businesses (its agencies
// and clients), then which partners hold each staged asset, as
// FetchMetaGrants reads holders. It returns how many partners it staged.
func (a *Activities) FetchMetaPartners(ctx context.Context, runID string) (int, error) {
	c, ig, err := a.metaClient(ctx, runID)
	if err != nil {
		return 0, failure(err)
	}
	counted := c.Requests()
	partners, err := c.Partners(ctx, ig.BusinessID)
	if err != nil {
		return 0, a.providerFailure(ctx, ig, err)
	}
	if err := a.Store.StagePartners(ctx, runID, partners, c.Requests()-counted); err != nil {
		return 0, failure(err)
	}
	if _, err := fetchPerAsset(ctx, a, c, runID, func(ctx context.Context, chunk []meta.GrantTarget) ([]domain.PartnerAccess, error) {
		return c.PartnerAccess(ctx, chunk)
	}, a.Store.StagePartnerAccess); err != nil {
		return 0, a.providerFailure(ctx, ig, err)
	}
	return len(partners), failure(a.Store.PartnersFetched(ctx, runID))
}

// fetchPerAsset reads something of each readable staged asset, MaxBatch
// assets a Graph batch with GrantConcurrency batches in flight, and stages
// it. It heartbeats the chunks done and, when retried, reads only the
// others. It returns how many items it staged.
func fetchPerAsset[T any](ctx context.Context, a *Activities, c *meta.Client, runID string,
	read func(ctx context.Context, chunk []meta.GrantTarget) ([]T, error),
	stage func(ctx context.Context, runID string, items []T, requests int) error) (int, error) {
	staged, err := a.Store.StagedAssets(ctx, runID)
	if err != nil {
		return 0, err
	}
	var targets []meta.GrantTarget
	for _, s := range staged {
		if !s.Unreadable {
			targets = append(targets, meta.GrantTarget{AssetID: s.ExternalID, PageToken: s.PageToken})
		}
	}
	// chunkProgress is the heartbeat: the chunks of MaxBatch assets done, of how many.
	type chunkProgress struct {
		Done   []int `json:"chunks_done"`
		Chunks int   `json:"chunks"`
	}
	chunks := (len(targets) + meta.MaxBatch - 1) / meta.MaxBatch
	done := map[int]bool{}
	prev := chunkProgress{Chunks: chunks}
	if activity.HasHeartbeatDetails(ctx) {
		if activity.GetHeartbeatDetails(ctx, &prev) == nil {
			for _, i := range prev.Done {
				done[i] = true
			}
		}
	}
	hb := beat(ctx, prev)
	defer hb.Stop()
	var todo []meta.GrantTarget
	var index []int // chunk index in targets of each chunk of todo
	for i := range chunks {
		if !done[i] {
			todo = append(todo, targets[i*meta.MaxBatch:min((i+1)*meta.MaxBatch, len(targets))]...)
			index = append(index, i)
		}
	}
	total, counted := 0, c.Requests()
	err = meta.Concurrently(ctx, todo, GrantConcurrency, read, func(chunk int, items []T) error {
		if err := stage(ctx, runID, items, c.Requests()-counted); err != nil {
			return err
		}
		counted = c.Requests()
		total += len(items)
		done[index[chunk]] = true
		progress := chunkProgress{Chunks: chunks}
		for i := range done {
			progress.Done = append(progress.Done, i)
		}
		hb.Progress(progress)
		return nil
	})
	return total, err
}

// ReconcileResult is what a check for updates changed.
type ReconcileResult = store.ReconcileResult

// ReconcileIntegration applies the run's snapshot; see store.Reconcile.
func (a *Activities) ReconcileIntegration(ctx context.Context, runID string) (ReconcileResult, error) {
	defer beat(ctx).Stop()
	res, err := a.Store.Reconcile(ctx, runID)
	return res, failure(err)
}

package activities

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/entra"
	"github.com/hubkeeper/hubkeeper/internal/okta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// StartDirectorySyncInput identifies the workflow run a sync run belongs to.
type StartDirectorySyncInput struct {
	DirectoryID string
	Trigger     string
	WorkflowID  string
	RunID       string
}

// StartDirectorySync records a sync run and returns its id; a retry for the
// same workflow run returns the same id.
func (a *Activities) StartDirectorySync(ctx context.Context, in StartDirectorySyncInput) (string, error) {
	run, err := a.Store.StartSyncRun(ctx, in.DirectoryID, in.Trigger, in.WorkflowID, in.RunID)
	return run.ID, failure(err)
}

// FetchResult is how much a fetch read.
type FetchResult struct {
	Fetched  int
	Requests int
}

// directoryImporter is what every directory client provides.
type directoryImporter interface {
	ImportUsers(ctx context.Context, resume string, onPage domain.PageFunc) (domain.ImportResult, error)
	Requests() int
}

// entraImporter starts Entra rounds from the directory's stored deltaLinks
// (users and groups have one each).
type entraImporter struct {
	client                     *entra.Client
	deltaLink, groupsDeltaLink string
}

func (e entraImporter) Requests() int { return e.client.Requests() }

func (e entraImporter) ImportUsers(ctx context.Context, resume string, onPage domain.PageFunc) (domain.ImportResult, error) {
	return e.client.ImportUsers(ctx, e.deltaLink, resume, onPage)
}

func (e entraImporter) ImportGroups(ctx context.Context) (domain.GroupImport, error) {
	return e.client.ImportGroups(ctx, e.groupsDeltaLink)
}

// importer builds the client for a directory, with its secret opened here
// and nowhere else.
func (a *Activities) importer(ctx context.Context, d store.Directory) (directoryImporter, error) {
	secret, err := a.Store.OpenCredential(ctx, d.WorkspaceID, d.CredentialID)
	if err != nil {
		return nil, fmt.Errorf("open directory credential: %w", err)
	}
	switch d.Type {
	case domain.DirectoryOkta:
		base, err := a.allowedURL(egress.Okta, "okta.base_url", d.Settings.BaseURL, "")
		if err != nil {
			return nil, err
		}
		opts := []okta.Option{okta.WithHTTPClient(a.HTTP), okta.WithBackoff(a.Backoff)}
		var c *okta.Client
		if d.Settings.ClientID != "" {
			c, err = okta.NewServiceApp(base, okta.ServiceApp{ClientID: d.Settings.ClientID, PrivateKey: string(secret), KeyID: d.Settings.KeyID}, opts...)
		} else {
			c, err = okta.New(base, string(secret), opts...)
		}
		if err != nil {
			return nil, domain.Errorf(domain.EInvalid, "%v", err)
		}
		return c, nil
	case domain.DirectoryEntra:
		graph, err := a.allowedURL(egress.EntraGraph, "entra.graph_base_url", d.Settings.GraphBaseURL, domain.EntraGraphBaseURL)
		if err != nil {
			return nil, err
		}
		login, err := a.allowedURL(egress.EntraLogin, "entra.login_base_url", d.Settings.LoginBaseURL, domain.EntraLoginBaseURL)
		if err != nil {
			return nil, err
		}
		c, err := entra.New(entra.Config{TenantID: d.Settings.TenantID, ClientID: d.Settings.ClientID, ClientSecret: string(secret),
			GraphBaseURL: graph, LoginBaseURL: login},
			entra.WithHTTPClient(a.HTTP), entra.WithBackoff(a.Backoff))
		if err != nil {
			return nil, domain.Errorf(domain.EInvalid, "%v", err)
		}
		return entraImporter{client: c, deltaLink: d.DeltaLink, groupsDeltaLink: d.GroupsDeltaLink}, nil
	}
	return nil, domain.Errorf(domain.EInvalid, "unknown directory type %q", d.Type)
}

// FetchDirectoryUsers reads every page of the directory into the run's
// staging rows. It heartbeats the provider cursor after each page and, when
// retried, resumes from the last one; pages land idempotently. A rejected
// credential marks the directory needs_reauth and fails without retries.
func (a *Activities) FetchDirectoryUsers(ctx context.Context, syncRunID string) (FetchResult, error) {
	d, err := a.Store.DirectoryForRun(ctx, syncRunID)
	if err != nil {
		return FetchResult{}, failure(err)
	}
	imp, err := a.importer(ctx, d)
	if err != nil {
		return FetchResult{}, failure(err)
	}
	resume := ""
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &resume); err != nil {
			resume = ""
		}
	}
	hb := beat(ctx, resume)
	defer hb.Stop()
	counted := 0
	res, err := imp.ImportUsers(ctx, resume, func(users []domain.DirectoryUser, cursor string) error {
		if err := a.Store.StagePage(ctx, syncRunID, users, imp.Requests()-counted); err != nil {
			return err
		}
		counted = imp.Requests()
		hb.Progress(cursor)
		return nil
	})
	if err != nil {
		if pe, ok := domain.AsProviderError(err); ok && pe.Kind == domain.AuthBroken {
			info := activity.GetInfo(ctx)
			if merr := a.Store.MarkDirectoryNeedsReauth(ctx, d, pe.Error(), info.WorkflowExecution.ID, info.WorkflowExecution.RunID); merr != nil {
				return FetchResult{}, merr
			}
		}
		return FetchResult{}, failure(err)
	}
	if err := a.Store.FinishFetch(ctx, syncRunID, res.FullListing, res.DeltaLink, imp.Requests()-counted); err != nil {
		return FetchResult{}, err
	}
	run, err := a.Store.SyncRun(ctx, syncRunID)
	if err != nil {
		return FetchResult{}, failure(err)
	}
	return FetchResult{Fetched: run.Fetched, Requests: run.Requests}, nil
}

// groupImporter is a directory client that reads groups too.
type groupImporter interface {
	ImportGroups(ctx context.Context) (domain.GroupImport, error)
}

// ImportDirectoryGroups reads the directory's groups and their members and
// makes the stored ones the same, after the users are applied (a member
// must be a user). A directory whose client reads no groups keeps none.
// The counts also land in the sync run's details.
func (a *Activities) ImportDirectoryGroups(ctx context.Context, syncRunID string) (store.GroupCounts, error) {
	defer beat(ctx).Stop()
	d, err := a.Store.DirectoryForRun(ctx, syncRunID)
	if err != nil {
		return store.GroupCounts{}, failure(err)
	}
	imp, err := a.importer(ctx, d)
	if err != nil {
		return store.GroupCounts{}, failure(err)
	}
	gi, ok := imp.(groupImporter)
	if !ok {
		return store.GroupCounts{}, nil
	}
	groups, err := gi.ImportGroups(ctx)
	if pe, ok := domain.AsProviderError(err); ok && pe.Status == http.StatusForbidden {
		// The credential reads users but not groups: the import stands, and
		// the run says what to grant.
		why := pe.Error() + "; to import groups, grant the app GroupMember.Read.All (Entra) or the scope okta.groups.read (Okta)"
		return store.GroupCounts{}, failure(a.Store.NoteSyncDetails(ctx, syncRunID, map[string]any{"groups_error": why}))
	}
	if err != nil {
		if pe, ok := domain.AsProviderError(err); ok && pe.Kind == domain.AuthBroken {
			info := activity.GetInfo(ctx)
			if merr := a.Store.MarkDirectoryNeedsReauth(ctx, d, pe.Error(), info.WorkflowExecution.ID, info.WorkflowExecution.RunID); merr != nil {
				return store.GroupCounts{}, merr
			}
		}
		return store.GroupCounts{}, failure(err)
	}
	counts, err := a.Store.ApplyGroupImport(ctx, d.ID, groups)
	if err != nil {
		return counts, failure(err)
	}
	return counts, failure(a.Store.NoteSyncDetails(ctx, syncRunID, map[string]any{"groups": counts}))
}

// ApplyResult is what an import changed.
type ApplyResult = store.ImportResult

// ApplyDirectoryImport merges the staged users into the directory in one
// transaction; applying a finished run again returns its counts.
func (a *Activities) ApplyDirectoryImport(ctx context.Context, syncRunID string) (ApplyResult, error) {
	defer beat(ctx).Stop()
	counts, err := a.Store.ApplyImport(ctx, syncRunID)
	return counts, failure(err)
}

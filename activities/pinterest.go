package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/pinterest"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// PinterestWebURL is Pinterest's web app, unless an integration overrides it.
const PinterestWebURL = "https://www.pinterest.com"

// pinterestSession logs an integration's automation account in, in a new
// browser session restored from the cookies kept last time. code answers
// Pinterest's verification step (nil: fail when asked). The caller closes
// the session; saveSession keeps its cookies for the next one.
func (a *Activities) pinterestSession(ctx context.Context, ig store.Integration, code pinterest.CodeFunc) (*pinterest.Client, *browser.Session, error) {
	if d, _ := connector.Describe(ig.Provider, ig.Mode); d.Channel != connector.ChannelBrowser || ig.Settings.Automation == nil {
		return nil, nil, domain.Errorf(domain.EInvalid, "integration %s has no Pinterest automation account", ig.ID)
	}
	if a.Browser == nil {
		return nil, nil, errors.New("this worker has no browser")
	}
	base, err := a.allowedURL(egress.PinterestWeb, "web_base_url", ig.Settings.WebBaseURL, PinterestWebURL)
	if err != nil {
		return nil, nil, err
	}
	b, err := a.Browser.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	password, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, ig.CredentialID)
	if err != nil {
		return nil, nil, fmt.Errorf("open automation password: %w", err)
	}
	sess, err := b.NewSession(ctx)
	if err != nil {
		return nil, nil, err
	}
	if ig.SessionCredentialID != "" {
		cookies, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, ig.SessionCredentialID)
		if err == nil {
			err = sess.SetCookies(cookies)
		}
		if err != nil {
			activity.GetLogger(ctx).Warn("kept browser session unusable; logging in afresh", "error", err)
		}
	}
	c, err := pinterest.Open(ctx, sess, base, ig.BusinessID, pinterest.Account{Email: ig.Settings.Automation.Email, Password: string(password)}, code)
	if err != nil {
		sess.Close()
		return nil, nil, err
	}
	return c, sess, nil
}

// saveSession keeps the session's cookies (a login, a trusted browser).
func (a *Activities) saveSession(ctx context.Context, ig store.Integration, sess *browser.Session) error {
	cookies, err := sess.Cookies()
	if err != nil {
		return err
	}
	return a.Store.SaveBrowserSession(ctx, ig.ID, cookies)
}

// PinterestTimings bound the waits of Pinterest's browser automation.
type PinterestTimings struct {
	// CodeWait is how long a login waits for a person to submit the
	// verification code Pinterest sent.
	CodeWait time.Duration
}

// VerifyPinterestLogin logs the automation account in and checks it holds
// the Manager role. When Pinterest asks for a verification code, it waits
// (heartbeating) up to CodeWait for the code a person submits through the
// API. What people must fix comes back as problems: a refused password
// (the integration also becomes needs_reauth), a missing Manager role, no
// code in time.
func (a *Activities) VerifyPinterestLogin(ctx context.Context, integrationID string) (Verdict, error) {
	ig, err := a.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	// A code submitted before this login belongs to an older attempt.
	if _, _, err := a.Store.TakeVerificationCode(ctx, integrationID); err != nil {
		return Verdict{}, failure(err)
	}
	defer beat(ctx).Stop()
	code := func(ctx context.Context) (string, error) {
		deadline := time.Now().Add(a.Pinterest.CodeWait)
		for time.Now().Before(deadline) {
			code, ok, err := a.Store.TakeVerificationCode(ctx, integrationID)
			if err != nil || ok {
				return code, err
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Second):
			}
		}
		return "", errNoCode
	}
	// Logging in checks the Manager role too: the business's pages refuse anyone else.
	_, sess, err := a.pinterestSession(ctx, ig, code)
	if errors.Is(err, errNoCode) {
		return Verdict{Problems: []string{fmt.Sprintf("Pinterest sent a verification code to %s and none was submitted within %s; "+
			"submit one to log in again (Pinterest then sends a new code)", ig.Settings.Automation.Email, a.Pinterest.CodeWait)}}, nil
	}
	if pe, ok := domain.AsProviderError(err); ok && (pe.Kind == domain.AuthBroken || pe.Kind == domain.Permanent) {
		if pe.Kind == domain.AuthBroken {
			info := activity.GetInfo(ctx)
			if merr := a.Store.MarkIntegrationNeedsReauth(ctx, ig, pe.Message, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, ""); merr != nil {
				return Verdict{}, merr
			}
		}
		return Verdict{Problems: []string{pe.Message}}, nil
	}
	if err != nil {
		return Verdict{}, failure(err)
	}
	defer sess.Close()
	return Verdict{}, failure(a.saveSession(ctx, ig, sess))
}

var errNoCode = errors.New("no verification code came in time")

// PinterestFetch is what a fetch staged.
type PinterestFetch struct {
	Members, Assets, Grants int
}

// fetchCursor is where a fetch is: its reader's cursor, and what it staged.
type fetchCursor struct {
	Cursor  string `json:"cursor"`
	Members int    `json:"members"`
	Assets  int    `json:"assets"`
	Grants  int    `json:"grants"`
}

// FetchPinterest reads the business through its connector's
// SnapshotReader into the run's staging rows, a part at a time (the API's
// pages, or in one logged-in browser session the members list's pages,
// then invitations, ad accounts and who holds each), heartbeating where it
// is so a retry resumes there. A browser session that expires mid-way logs
// in again; a refused password or token marks the integration needs_reauth
// and is not retried.
func (a *Activities) FetchPinterest(ctx context.Context, runID string) (PinterestFetch, error) {
	ig, err := a.Store.IntegrationForRun(ctx, runID)
	if err != nil {
		return PinterestFetch{}, failure(err)
	}
	var cur fetchCursor
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &cur)
	}
	hb := beat(ctx, cur)
	defer hb.Stop()
	read := func(reader connector.SnapshotReader) error {
		for {
			part, next, err := reader.ReadPart(ctx, cur.Cursor)
			if err != nil {
				return err
			}
			staged := make([]store.StagedAsset, len(part.Assets))
			for i, asset := range part.Assets {
				staged[i] = store.StagedAsset{Asset: asset}
			}
			if err := a.Store.StageMembers(ctx, runID, part.Members, part.Requests); err != nil {
				return err
			}
			if err := a.Store.StageAssets(ctx, runID, staged, 0); err != nil {
				return err
			}
			if err := a.Store.StageGrants(ctx, runID, part.Grants, 0); err != nil {
				return err
			}
			cur = fetchCursor{Cursor: next, Members: cur.Members + len(part.Members), Assets: cur.Assets + len(part.Assets),
				Grants: cur.Grants + len(part.Grants)}
			hb.Progress(cur)
			if next == "" {
				return nil
			}
		}
	}
	d, _ := connector.Describe(ig.Provider, ig.Mode)
	if d.Channel == connector.ChannelBrowser {
		err = a.pinterestAction(ctx, ig, func(b pinterestBrowser) error { return read(b) })
	} else {
		var conn any
		if conn, err = a.clientConnector(ctx, ig, d); err == nil {
			err = read(conn.(connector.SnapshotReader))
		}
		if err != nil {
			err = a.providerFailure(ctx, ig, err)
		}
	}
	return PinterestFetch{Members: cur.Members, Assets: cur.Assets, Grants: cur.Grants}, err
}

// pinterestAction runs act with the integration's browser connector, in a
// logged-in session whose cookies are kept afterwards.
func (a *Activities) pinterestAction(ctx context.Context, ig store.Integration, act func(pinterestBrowser) error) error {
	c, sess, err := a.pinterestSession(ctx, ig, nil)
	if err != nil {
		return a.providerFailure(ctx, ig, err)
	}
	defer sess.Close()
	if err := act(pinterestBrowser{c: c, sess: sess}); err != nil {
		return a.providerFailure(ctx, ig, err)
	}
	return failure(a.saveSession(ctx, ig, sess))
}

package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

var igInput = IntegrationSyncInput{WorkspaceID: "ws-1", IntegrationID: "ig-1", Provider: "meta", BusinessID: "9001", Trigger: "test"}

func TestIntegrationSyncSucceeds(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil).Once()
	env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{TwoFactorType: "none"}, nil).Once()
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(120, nil).Once()
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(16, nil).Once()
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(80, nil).Once()
	env.OnActivity(a.FetchMetaPartners, mock.Anything, "run-1").Return(3, nil).Once()
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Added: 118, Removed: 2}, nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res IntegrationSyncResult
	_ = env.GetWorkflowResult(&res)
	want := IntegrationSyncResult{SyncRunID: "run-1", Members: 120, Assets: 16, Grants: 80, Partners: 3, Added: 118, Removed: 2}
	if res != want {
		t.Fatalf("result = %+v, want %+v", res, want)
	}
	env.AssertExpectations(t)
}

func TestIntegrationSyncSafeguardHalts(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil)
	env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{}, nil)
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(3, nil)
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(0, nil)
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(0, nil)
	env.OnActivity(a.FetchMetaPartners, mock.Anything, "run-1").Return(0, nil)
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Halted: true, Removed: 90,
		HaltReason: "removal safeguard: 90 of 100 members"}, nil).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrSafeguardHalted || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable %s", err, ErrSafeguardHalted)
	}
}

func TestIntegrationSyncTokenRejected(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil)
	// Both fetches run at once; the workflow ends at the first failure, so the
	// other may never be run.
	env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{}, nil).Maybe()
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(0,
		temporal.NewNonRetryableApplicationError("meta auth_broken (HTTP 400 190/463)", activities.ErrAuthBroken, nil)).Maybe()
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(0,
		temporal.NewNonRetryableApplicationError("meta auth_broken (HTTP 400 190/463)", activities.ErrAuthBroken, nil)).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.MatchedBy(func(in activities.FailSyncRunInput) bool { return in.SyncRunID == "run-1" })).Return(nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ErrAuthBroken {
		t.Fatalf("error = %v", err)
	}
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "ReconcileIntegration", mock.Anything, mock.Anything)
}

// metaFetched mocks a Meta check's steps other than the token's expiry:
// each fetch succeeds, the partners' with partnersErr.
func metaFetched(env *testsuite.TestWorkflowEnvironment, partnersErr error) {
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil)
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(3, nil).Maybe()
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(1, nil).Maybe()
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(2, nil).Maybe()
	env.OnActivity(a.FetchMetaPartners, mock.Anything, "run-1").Return(1, partnersErr).Maybe()
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{}, nil).Maybe()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.Anything).Return(nil).Maybe()
}

// A token that expires within the notice period is mailed about; a notice
// that cannot be sent, or Meta not saying when the token expires, does not
// fail the check, while a broken token does.
func TestIntegrationSyncTokenExpiry(t *testing.T) {
	expiry := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		access   activities.MetaAccess
		err      error
		mailErr  error
		mailed   bool
		failed   bool
		problem  bool
		expiring bool
	}{
		{name: "NoticeDue", access: activities.MetaAccess{Expiry: &expiry, NoticeDue: true}, mailed: true, expiring: true},
		{name: "NotYet", access: activities.MetaAccess{Expiry: &expiry}, expiring: true},
		{name: "MailServerDown", access: activities.MetaAccess{Expiry: &expiry, NoticeDue: true}, mailed: true, expiring: true,
			mailErr: errors.New("mail: 451 try later")},
		{name: "MetaWouldNotSay", err: temporal.NewNonRetryableApplicationError("meta permanent (HTTP 400 100)", activities.ErrPermanent, nil),
			problem: true},
		{name: "TokenBroken", err: temporal.NewNonRetryableApplicationError("Meta says the system-user token is no longer valid",
			activities.ErrAuthBroken, nil), failed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(tc.access, tc.err).Once()
			metaFetched(env, nil)
			if tc.mailed {
				env.OnActivity(a.SendTokenNotice, mock.Anything, activities.TokenNoticeInput{IntegrationID: "ig-1", Expiry: expiry}).
					Return(tc.mailErr)
			}
			env.ExecuteWorkflow(IntegrationSync, igInput)
			if err := env.GetWorkflowError(); (err != nil) != tc.failed {
				t.Fatalf("error = %v", err)
			}
			env.AssertExpectations(t)
			if !tc.mailed {
				env.AssertNotCalled(t, "SendTokenNotice", mock.Anything, mock.Anything)
			}
			if tc.failed {
				return
			}
			var res IntegrationSyncResult
			_ = env.GetWorkflowResult(&res)
			if (res.AccessProblem != "") != tc.problem || (res.TokenExpiry != nil && res.TokenExpiry.Equal(expiry)) != tc.expiring {
				t.Fatalf("result = %+v", res)
			}
		})
	}
}

// Partners Meta will not show do not fail the check; a broken token does.
func TestIntegrationSyncPartnersRefused(t *testing.T) {
	for name, refusal := range map[string]error{
		"Permanent":  temporal.NewNonRetryableApplicationError("meta permanent (HTTP 400 100/33)", activities.ErrPermanent, nil),
		"AuthBroken": temporal.NewNonRetryableApplicationError("meta auth_broken (HTTP 400 190/463)", activities.ErrAuthBroken, nil),
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{}, nil)
			metaFetched(env, refusal)
			env.ExecuteWorkflow(IntegrationSync, igInput)
			err := env.GetWorkflowError()
			if name == "AuthBroken" {
				if err == nil {
					t.Fatal("a broken token did not fail the check")
				}
				return
			}
			var res IntegrationSyncResult
			if err != nil || env.GetWorkflowResult(&res) != nil || !strings.Contains(res.PartnersProblem, "100/33") || res.Grants != 2 {
				t.Fatalf("result %+v, %v", res, err)
			}
		})
	}
}

// A Schedule's run (its id suffixed with the time) checks as a child under
// the integration's own id, the one manual triggers find.
func TestScheduledCheckRunsUnderItsOwnID(t *testing.T) {
	env := newEnv(t)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: IntegrationSyncID("ig-1") + "-2026-12-01T00:00:00Z"})
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.MatchedBy(func(in activities.StartIntegrationSyncInput) bool {
		return in.WorkflowID == IntegrationSyncID("ig-1")
	})).Return("run-1", nil).Once()
	env.OnActivity(a.CheckMetaAccess, mock.Anything, "run-1").Return(activities.MetaAccess{}, nil)
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(3, nil)
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(1, nil)
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(2, nil)
	env.OnActivity(a.FetchMetaPartners, mock.Anything, "run-1").Return(1, nil)
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Added: 3}, nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var res IntegrationSyncResult
	if err := env.GetWorkflowResult(&res); err != nil || res.SyncRunID != "run-1" || res.Added != 3 {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertExpectations(t)
}

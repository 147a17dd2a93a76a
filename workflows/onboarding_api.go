package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Meta onboarding: one workflow per integration guides a business from
// the dedicated app's request to the daily checks, waiting for days on
// support and the admin. People's input lives in Postgres; signals only
// wake the workflow (the token's carries its credential id, never the token).

// OnboardingID is the workflow id of an integration's onboarding.
func OnboardingID(integrationID string) string { return "onboard/" + integrationID }

// OnboardingInput carries ids only.
type OnboardingInput struct {
	WorkspaceID   string
	IntegrationID string
	BusinessID    string
	// Provider picks the onboarding: meta (the default) or pinterest.
	Provider string
	// AppApproved skips the app approval: a restarted onboarding whose app support approved before.
	AppApproved bool
}

// OnboardingResult is what the onboarding did at its end.
type OnboardingResult struct {
	// OwnerClaim says what the owner claim did.
	OwnerClaim string
	Sync       IntegrationSyncResult
}

// Signals of the onboarding, one per step that waits for a person.
const (
	SignalAppApproved = "app-approved"
	SignalClaimed     = "claimed"
	// SignalToken carries the credential id of the submitted token.
	SignalToken   = "token"
	SignalProfile = "profile"
	// SignalVerification: a Pinterest verification code was submitted.
	SignalVerification = "verification"
)

// QueryOnboarding answers the onboarding's OnboardingStatus.
const QueryOnboarding = "onboarding"

// OnboardingStatus is which step the onboarding is on, what it waits for
// and until when, and why the last submission was refused.
type OnboardingStatus struct {
	Stage      string
	WaitingFor string
	Until      *time.Time
	Problems   []string
}

// ErrOnboardingFailed is the failure type of an onboarding that cannot go
// on: a wait passed its deadline, or the first check failed.
const ErrOnboardingFailed = "OnboardingFailed"

// StartOnboarding starts an integration's onboarding, or leaves the one
// running (or the one that finished) alone: only a failed or stopped run
// is followed by a new one.
func StartOnboarding(ctx context.Context, c client.Client, taskQueue string, in OnboardingInput) error {
	return startOnboarding(ctx, c, taskQueue, in, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)
}

// StartOnboardingAgain starts a new onboarding after one that finished,
// for an integration that changed how it connects; a running one is left
// alone.
func StartOnboardingAgain(ctx context.Context, c client.Client, taskQueue string, in OnboardingInput) error {
	return startOnboarding(ctx, c, taskQueue, in, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE)
}

func startOnboarding(ctx context.Context, c client.Client, taskQueue string, in OnboardingInput, reuse enumspb.WorkflowIdReusePolicy) error {
	if in.Provider == "" {
		in.Provider = string(domain.ProviderMeta)
	}
	d, ok := connector.Describe(domain.Provider(in.Provider), "")
	if !ok {
		return fmt.Errorf("start onboarding: provider %q has no connector", in.Provider)
	}
	workflowFunc := map[connector.Onboarding]any{connector.OnboardMetaApp: MetaOnboarding,
		connector.OnboardAutomationLogin: PinterestOnboarding}[d.Onboarding]
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       OnboardingID(in.IntegrationID),
		Priority:                 tenant(in.WorkspaceID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    reuse,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
			temporalclient.IntegrationID.ValueSet(in.IntegrationID),
			temporalclient.Provider.ValueSet(in.Provider),
			temporalclient.BusinessID.ValueSet(in.BusinessID),
			temporalclient.Stage.ValueSet(StageStarting)),
		StaticSummary: in.Provider + " onboarding of business " + in.BusinessID,
	}, workflowFunc, in)
	var done *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &done) {
		return fmt.Errorf("start onboarding: %w", err)
	}
	return nil
}

// SignalOnboarding wakes an onboarding waiting for a person's step; one
// whose workflow does not run is not found.
func SignalOnboarding(ctx context.Context, c client.Client, integrationID, signal string, arg any) error {
	err := c.SignalWorkflow(ctx, OnboardingID(integrationID), "", signal, arg)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return domain.Errorf(domain.ENotFound, "the onboarding's workflow is not running")
	}
	return err
}

// OnboardingRunning reports whether an integration's onboarding workflow runs.
func OnboardingRunning(ctx context.Context, c client.Client, integrationID string) (bool, error) {
	d, err := c.DescribeWorkflowExecution(ctx, OnboardingID(integrationID), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

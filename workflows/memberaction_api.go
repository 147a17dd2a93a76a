package workflows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Member actions: an admin's match, exempt, unexempt, reassign or remove,
// one workflow each, so every change is durable and visible.

// MemberActionID is the workflow id of an action on a member. An invitation
// has no member id yet: it is named by a hash of the address, since
// workflow ids are shown unencrypted.
func MemberActionID(in MemberActionInput) string {
	member := in.MemberID
	if in.Action == store.ActionInvite {
		sum := sha256.Sum256([]byte(in.IntegrationID + "/" + in.Email))
		member = "email-" + hex.EncodeToString(sum[:8])
	}
	return "member/" + in.IntegrationID + "/" + member + "/" + in.Action
}

// MemberActionInput is the change to make; it carries no secret.
type MemberActionInput = activities.MemberChange

// MemberActionResult is how an action ended: succeeded, or cancelled
// because the member changed before it could act; Outcome says it for people.
type MemberActionResult struct {
	Status  string
	Outcome string
}

// Stage of an action waiting for Meta's restriction window.
const StageWaiting = "waiting"

// StartMemberAction starts an action. One action of a kind runs per member
// at a time: starting it again while it runs is a conflict.
func StartMemberAction(ctx context.Context, c client.Client, taskQueue string, in MemberActionInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       MemberActionID(in),
		Priority:                 tenant(in.WorkspaceID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
			temporalclient.IntegrationID.ValueSet(in.IntegrationID),
			temporalclient.Stage.ValueSet(StageStarting)),
		StaticSummary: fmt.Sprintf("%s member %s", in.Action, in.MemberID),
	}, MemberAction, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, domain.Errorf(domain.EConflict, "a %s of this member is already under way", in.Action)
	}
	if err != nil {
		return nil, fmt.Errorf("start member action: %w", err)
	}
	return run, nil
}

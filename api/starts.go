package api

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// start makes a start a row is owed, after the row committed: a directory's
// or integration's daily Schedule, or an onboarding. Each is idempotent (a
// Schedule that exists, an onboarding that runs, are left alone), so a
// start made twice makes one. One Temporal cannot take now stays owed for
// DrainStarts.
func (s *Server) start(ctx context.Context, st store.WorkflowStart) error {
	temporalCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.makeStart(temporalCtx, st)
	if domain.ErrorCode(err) == domain.ENotFound { // its row is gone: nothing is owed
		err = nil
	}
	if err != nil {
		s.Logger.Warn("workflow start left for later", "kind", st.Kind, "subject", st.SubjectID, "error", err)
		if ferr := s.Store.StartFailed(ctx, st.ID, err.Error()); ferr != nil {
			s.Logger.Error("recording a failed start", "error", ferr)
		}
		return err
	}
	return s.Store.StartDone(ctx, st.ID)
}

func (s *Server) makeStart(ctx context.Context, st store.WorkflowStart) error {
	if st.Kind == store.StartDirectorySchedule {
		d, err := s.Store.DirectoryByID(ctx, st.SubjectID)
		if err != nil {
			return err
		}
		return workflows.EnsureDirectorySyncSchedule(ctx, s.Temporal, s.TaskQueue, s.SyncEvery, syncInput(d, "schedule"))
	}
	ig, err := s.Store.IntegrationByID(ctx, st.SubjectID)
	if err != nil {
		return err
	}
	in := workflows.OnboardingInput{WorkspaceID: ig.WorkspaceID, IntegrationID: ig.ID, BusinessID: ig.BusinessID,
		Provider: string(ig.Provider), AppApproved: st.AppApproved}
	switch st.Kind {
	case store.StartOnboarding:
		return workflows.StartOnboarding(ctx, s.Temporal, s.TaskQueue, in)
	case store.StartOnboardingAgain:
		return workflows.StartOnboardingAgain(ctx, s.Temporal, s.TaskQueue, in)
	}
	return workflows.EnsureIntegrationSyncSchedule(ctx, s.Temporal, s.TaskQueue, s.SyncEvery, integrationInput(ig, "schedule"))
}

// DrainStarts makes the starts still owed (Temporal was down when their
// rows were created) every interval, until ctx ends.
func (s *Server) DrainStarts(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		owed, err := s.Store.OwedStarts(ctx, 100)
		if err != nil {
			s.Logger.Warn("listing owed workflow starts", "error", err)
			continue
		}
		for _, st := range owed {
			_ = s.start(ctx, st)
		}
	}
}

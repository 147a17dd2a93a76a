// Package worker runs Hubkeeper's Temporal worker: every workflow and
// activity on one task queue.
package worker

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/process"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
)

// Register registers every workflow and activity.
func Register(r sdkworker.Registry, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.DirectorySync)
	r.RegisterWorkflow(workflows.IntegrationSync)
	r.RegisterWorkflow(workflows.MemberAction)
	r.RegisterWorkflow(workflows.BulkMemberAction)
	r.RegisterWorkflow(workflows.DeprovisionReport)
	r.RegisterWorkflow(workflows.MetaOnboarding)
	r.RegisterWorkflow(workflows.PinterestOnboarding)
	r.RegisterWorkflow(workflows.Retention)
	r.RegisterWorkflow(workflows.GroupRule)
	r.RegisterActivity(acts)
}

// NewActivities builds the activities over the process's dependencies.
func NewActivities(d *process.Deps, cfg config.Worker) (*activities.Activities, error) {
	m, o := cfg.Mail, cfg.Onboarding
	mailer, err := mail.New(mail.Config{Addr: m.SMTPAddr, Username: m.SMTPUsername, Password: m.SMTPPassword, From: m.MailFrom, TLS: m.SMTPTLS})
	if err != nil {
		return nil, err
	}
	return &activities.Activities{Store: d.Store, HTTP: cfg.ProviderHosts.Client(60 * time.Second), ProviderHosts: cfg.ProviderHosts,
		Backoff: providerhttp.Default,
		Mailer:  mailer, PublicURL: m.PublicURL, TokenNotice: time.Duration(m.TokenNoticeDays) * 24 * time.Hour,
		Reports: activities.ReportTimings{RemindEvery: m.ReportRemindEvery, ExpireAfter: m.ReportExpireAfter},
		Onboarding: activities.OnboardingTimings{RemindEvery: o.OnboardingRemindEvery, ApprovalDeadline: o.OnboardingApprovalDeadline,
			StepDeadline: o.OnboardingStepDeadline, ClaimPollEvery: o.OnboardingClaimPollEvery, RestrictionWindow: o.MetaRestrictionWindow},
		SupportEmail:       o.SupportEmail,
		EnsureSyncSchedule: SyncScheduler(d.Temporal, cfg.TaskQueue, cfg.SyncEvery),
		Browser: &browser.Shared{Options: browser.Options{Bin: cfg.Chromium, Sessions: cfg.BrowserSessions, PageTimeout: cfg.BrowserPageTimeout,
			CaptureDir: cfg.CaptureDir, CaptureKeep: cfg.CaptureKeep, CaptureMax: cfg.CaptureMax, User: cfg.BrowserUser,
			Hosts: cfg.ProviderHosts}},
		Pinterest: activities.PinterestTimings{CodeWait: cfg.PinterestCodeWait}, Retention: cfg.Retention,
		Slots:        store.SlotLimits{PerProvider: cfg.ProviderLimits(), PerWorkspace: cfg.WorkspaceConcurrency, Lease: activities.SlotLease},
		PinterestApp: cfg.PinterestApp(cfg.ProviderHosts.Client(60 * time.Second))}, nil
}

// SyncScheduler creates integrations' daily check-for-updates Schedules,
// for activities, which cannot reach the workflows package.
func SyncScheduler(c client.Client, taskQueue string, every time.Duration) func(context.Context, store.Integration) error {
	return func(ctx context.Context, ig store.Integration) error {
		return workflows.EnsureIntegrationSyncSchedule(ctx, c, taskQueue, every, workflows.IntegrationSyncInput{WorkspaceID: ig.WorkspaceID,
			IntegrationID: ig.ID, Provider: string(ig.Provider), BusinessID: ig.BusinessID})
	}
}

// HeartbeatEvery bounds how long heartbeat details wait before they reach
// the server: at most this much paging progress is lost if a worker dies.
const HeartbeatEvery = 5 * time.Second

// New builds a worker with every workflow and activity registered.
// Stopping it waits up to a minute for running activities.
func New(c client.Client, taskQueue string, acts *activities.Activities, maxActivities int) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: maxActivities,
		WorkerStopTimeout:                  time.Minute,
		DefaultHeartbeatThrottleInterval:   HeartbeatEvery,
		MaxHeartbeatThrottleInterval:       HeartbeatEvery,
	})
	Register(w, acts)
	return w
}

// Run runs a worker until ctx ends, then stops it gracefully.
func Run(ctx context.Context, cfg config.Worker) error {
	logger := cfg.Logger()
	logger.Info("worker starting", "config", config.Redacted(&cfg))
	d, err := process.Open(ctx, cfg.Common, logger)
	if err != nil {
		return err
	}
	defer d.Close()
	acts, err := NewActivities(d, cfg)
	if err != nil {
		return err
	}
	defer acts.Browser.Close()
	if err := workflows.EnsureRetentionSchedule(ctx, d.Temporal, cfg.TaskQueue, cfg.RetentionEvery); err != nil {
		return err
	}
	w := New(d.Temporal, cfg.TaskQueue, acts, cfg.MaxConcurrentActivities)
	if err := w.Start(); err != nil {
		return err
	}
	logger.Info("worker running", "task_queue", cfg.TaskQueue)
	<-ctx.Done()
	logger.Info("worker stopping")
	w.Stop()
	return nil
}

package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// MetaAccess is what a check learnt of a Meta business's security.
type MetaAccess struct {
	TwoFactorType string
	// Expiry is when the system-user token stops working (nil: never).
	Expiry *time.Time
	// NoticeDue: the expiry is within the notice period; the admins are
	// mailed about it (once each).
	NoticeDue bool
}

// CheckMetaAccess asks Meta when the integration's token expires
// (debug_token) and who the business requires to use two-factor, and
// records both on the integration. A token Meta calls invalid marks the
// integration needs_reauth; one that merely expires soon does not.
func (a *Activities) CheckMetaAccess(ctx context.Context, runID string) (MetaAccess, error) {
	c, ig, err := a.metaClient(ctx, runID)
	if err != nil {
		return MetaAccess{}, failure(err)
	}
	info, err := c.DebugToken(ctx)
	if err == nil && !info.Valid {
		err = &domain.ProviderError{Provider: "meta", Kind: domain.AuthBroken, Message: "Meta says the system-user token is no longer valid"}
	}
	if err != nil {
		return MetaAccess{}, a.providerFailure(ctx, ig, err)
	}
	twoFactor, err := c.TwoFactorType(ctx, ig.BusinessID)
	if err != nil {
		return MetaAccess{}, a.providerFailure(ctx, ig, err)
	}
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	if err := a.Store.RecordMetaAccess(ctx, ig.ID, store.MetaAccess{TwoFactorType: twoFactor, TokenExpiresAt: at(info.ExpiresAt),
		DataAccessExpiresAt: at(info.DataAccessExpiresAt)}); err != nil {
		return MetaAccess{}, failure(err)
	}
	access := MetaAccess{TwoFactorType: twoFactor, Expiry: at(info.Expiry())}
	access.NoticeDue = access.Expiry != nil && time.Until(*access.Expiry) <= a.TokenNotice
	return access, nil
}

// TokenNoticeInput names the expiry admins are told about.
type TokenNoticeInput struct {
	IntegrationID string
	Expiry        time.Time
}

// SendTokenNotice mails every workspace admin not yet told that the
// integration's system-user token expires at in.Expiry, and how to
// replace it.
func (a *Activities) SendTokenNotice(ctx context.Context, in TokenNoticeInput) error {
	ig, err := a.Store.IntegrationByID(ctx, in.IntegrationID)
	if err != nil {
		return failure(err)
	}
	admins, err := a.Store.TokenNoticeRecipients(ctx, ig.ID, in.Expiry)
	if err != nil || len(admins) == 0 {
		return failure(err)
	}
	if a.Mailer == nil {
		return failure(fmt.Errorf("no SMTP server is configured"))
	}
	when := in.Expiry.UTC().Format("Monday 2 January 2006, 15:04 MST")
	subject := fmt.Sprintf("The Meta token of %s expires %s", ig.Label, in.Expiry.UTC().Format("2 January 2006"))
	text := fmt.Sprintf("Hubkeeper's system-user token for %s (business %s) expires on %s.\n\n"+
		"After that, checks for updates and member actions stop until a new token is submitted. In Business Manager, "+
		"generate a new token for the system user (Business settings > Users > System users), then submit it:\n\n"+
		"  PUT %s/v1/integrations/%s/token {\"access_token\": \"...\"}\n", ig.Label, ig.BusinessID, when, a.PublicURL, ig.ID)
	workflowID := activity.GetInfo(ctx).WorkflowExecution.ID
	for _, to := range admins {
		if err := a.Mailer.Send(ctx, mail.Message{To: []string{to}, Subject: subject, Text: text}); err != nil {
			return failure(err)
		}
		if err := a.Store.NoteTokenNoticeSent(ctx, ig, in.Expiry, to, workflowID); err != nil {
			return failure(err)
		}
	}
	return nil
}

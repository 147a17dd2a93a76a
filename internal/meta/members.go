package meta

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// notFound reports Graph's answer for an object that does not exist (or
// that the token may not see): code 100, subcode 33.
func notFound(err error) bool {
	pe, ok := domain.AsProviderError(err)
	return ok && pe.Code == "100/33"
}

// HasBusinessUser reports whether a business user is still in the business.
func (c *Client) HasBusinessUser(ctx context.Context, businessUserID string) (bool, error) {
	_, _, err := c.do(ctx, http.MethodGet, businessUserID, url.Values{"fields": {"id"}})
	if notFound(err) {
		return false, nil
	}
	return err == nil, err
}

// RemoveBusinessUser removes a person from the business, with every asset
// they held, and returns Meta's trace id. A user already gone counts as
// removed (trace id "").
//
// API: DELETE /{business-user-id}
func (c *Client) RemoveBusinessUser(ctx context.Context, businessUserID string) (string, error) {
	_, trace, err := c.do(ctx, http.MethodDelete, businessUserID, nil)
	if notFound(err) {
		return "", nil
	}
	return trace, err
}

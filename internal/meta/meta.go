// Package meta is a client of the Meta Graph API for Business Manager:
// business users, invitations, system users, Pages, ad accounts and who
// holds them. The version and base URL are configuration.
//
// API: https://developers.facebook.com/docs/marketing-api/business-management
package meta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
)

// Defaults.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v25.0"
	// PageSize is the page size asked of list edges.
	PageSize = 100
	// MaxBatch is the most operations one batch request may carry.
	MaxBatch = 50
)

// Client talks to the Graph API with one access token.
type Client struct {
	base    *url.URL
	version string
	token   string
	http    *http.Client
	policy  providerhttp.Policy
	// SlowDownAt is the usage percentage above which calls are spaced out.
	SlowDownAt int

	mu       sync.Mutex
	requests int
	// pauseUntil is when Meta said access is regained after throttling.
	pauseUntil time.Time
	// usage is the highest usage percentage last reported.
	usage int
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithBackoff replaces the retry policy.
func WithBackoff(p providerhttp.Policy) Option { return func(c *Client) { c.policy = p } }

// New returns a client for baseURL (https://graph.facebook.com) and version (v25.0).
func New(baseURL, version, token string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if version == "" {
		version = DefaultVersion
	}
	u, err := providerhttp.BaseURL("meta: Graph base URL", baseURL)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(version, "v") || !strings.Contains(version, ".") {
		return nil, fmt.Errorf("meta: Graph version must look like v25.0")
	}
	if token == "" {
		return nil, errors.New("meta: access token is required")
	}
	c := &Client{base: u, version: version, token: token, http: &http.Client{Timeout: 60 * time.Second},
		policy: providerhttp.Default, SlowDownAt: 75}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Requests is how many HTTP requests the client has sent (a batch is one).
func (c *Client) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// graphError is Graph's error envelope.
type graphError struct {
	Error struct {
		Message        string `json:"message"`
		Type           string `json:"type"`
		Code           int    `json:"code"`
		ErrorSubcode   int    `json:"error_subcode"`
		ErrorUserTitle string `json:"error_user_title"`
		ErrorUserMsg   string `json:"error_user_msg"`
		IsTransient    bool   `json:"is_transient"`
		FBTraceID      string `json:"fbtrace_id"`
	} `json:"error"`
}

// Error codes that mean "slow down": app, user, Pages, ad-account and
// business-use-case throttles.
func isThrottle(code int) bool {
	return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code <= 80014)
}

// CursorRejected reports Graph's answer to a cursor it no longer accepts
// (2642: its item was deleted, or it is too old): the listing starts over.
func CursorRejected(err error) bool {
	pe, ok := domain.AsProviderError(err)
	return ok && pe.Code == "2642"
}

// RestrictedSubcode is Meta's "This action is not allowed right now; retry
// in a few minutes", seen after a system user is created.
const RestrictedSubcode = 2859030

// classify turns a Graph error body into a ProviderError, once.
func classify(status int, body []byte, h http.Header) *domain.ProviderError {
	var ge graphError
	_ = json.Unmarshal(body, &ge)
	e := ge.Error
	msg := e.Message
	if e.ErrorUserMsg != "" {
		msg += " (" + e.ErrorUserMsg + ")"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	code := ""
	if e.Code != 0 {
		code = strconv.Itoa(e.Code)
		if e.ErrorSubcode != 0 {
			code += "/" + strconv.Itoa(e.ErrorSubcode)
		}
	}
	pe := &domain.ProviderError{Provider: "meta", Status: status, Code: code, Message: msg, TraceID: e.FBTraceID}
	switch {
	case isThrottle(e.Code):
		pe.Kind, pe.RetryAfter = domain.RateLimited, regainAccess(h)
		if pe.RetryAfter == 0 && !hasUsage(h) {
			// Meta's limits are rolling hours: without its word on when
			// access comes back, wait minutes, not seconds.
			pe.RetryAfter = ThrottleBackoff
		}
	case e.Code == 190 && wrongTokenType(e.ErrorSubcode, e.Message):
		pe.Kind = domain.Permanent // the call needs another kind of token; a new system-user token would not help
	case e.Code == 190 || e.Code == 102:
		pe.Kind = domain.AuthBroken
		pe.Message = "Meta rejected the access token: " + msg + " (submit a new system-user token)"
	case e.Code == 10 && e.ErrorSubcode == RestrictedSubcode:
		pe.Kind, pe.RetryAfter = domain.RateLimited, 5*time.Minute
	case e.Code == 1 || e.Code == 2 || e.IsTransient || status >= 500:
		pe.Kind = domain.Transient
	default: // 10, 200–299 permission; 100 invalid parameter; others
		pe.Kind = domain.Permanent
	}
	return pe
}

// wrongTokenType tells a 190 that asks for another kind of token (a Page's)
// from one that says the token itself is invalid, expired or revoked
// (subcodes 458–467, or an unparsable token).
func wrongTokenType(subcode int, message string) bool {
	return subcode == 0 && strings.Contains(message, "must be called with")
}

// ThrottleBackoff is how long a throttled call waits when Meta's answer
// carries no usage header saying when access comes back.
const ThrottleBackoff = 5 * time.Minute

// usageHeaders are where Meta says how much of its limits a caller used.
var usageHeaders = []string{"X-App-Usage", "X-Business-Use-Case-Usage", "X-Ad-Account-Usage"}

func hasUsage(h http.Header) bool {
	for _, name := range usageHeaders {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

// adAccountUsage is X-Ad-Account-Usage.
type adAccountUsage struct {
	UtilPct int `json:"acc_id_util_pct"`
	// ResetSeconds is when the ad account's usage resets.
	ResetSeconds int `json:"reset_time_duration"`
}

// regainAccess reads when access comes back: the longest
// estimated_time_to_regain_access (minutes) of X-Business-Use-Case-Usage,
// or X-Ad-Account-Usage's reset_time_duration (seconds).
func regainAccess(h http.Header) time.Duration {
	var buc map[string][]struct {
		EstimatedTimeToRegainAccess int `json:"estimated_time_to_regain_access"`
	}
	wait := time.Duration(0)
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &buc) == nil {
		for _, entries := range buc {
			for _, e := range entries {
				wait = max(wait, time.Duration(e.EstimatedTimeToRegainAccess)*time.Minute)
			}
		}
	}
	var ad adAccountUsage
	if json.Unmarshal([]byte(h.Get("X-Ad-Account-Usage")), &ad) == nil {
		wait = max(wait, time.Duration(ad.ResetSeconds)*time.Second)
	}
	return wait
}

// usagePercent is the highest of the call, CPU and time percentages in the
// X-App-Usage and X-Business-Use-Case-Usage headers, and the ad account's
// in X-Ad-Account-Usage.
func usagePercent(h http.Header) int {
	type usage struct {
		CallCount    int `json:"call_count"`
		TotalCPUTime int `json:"total_cputime"`
		TotalTime    int `json:"total_time"`
	}
	top := 0
	note := func(u usage) { top = max(top, u.CallCount, u.TotalCPUTime, u.TotalTime) }
	var app usage
	if json.Unmarshal([]byte(h.Get("X-App-Usage")), &app) == nil {
		note(app)
	}
	var buc map[string][]usage
	if json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &buc) == nil {
		for _, entries := range buc {
			for _, u := range entries {
				note(u)
			}
		}
	}
	var ad adAccountUsage
	if json.Unmarshal([]byte(h.Get("X-Ad-Account-Usage")), &ad) == nil {
		top = max(top, ad.UtilPct)
	}
	return top
}

// pace waits before a request: until Meta's regain-access time after a
// throttle, and increasingly long as reported usage nears 100%.
func (c *Client) pace(ctx context.Context) error {
	c.mu.Lock()
	wait := time.Until(c.pauseUntil)
	if c.usage > c.SlowDownAt {
		// From SlowDownAt to 100% the gap grows to two seconds.
		wait = max(wait, time.Duration(c.usage-c.SlowDownAt)*2*time.Second/time.Duration(100-c.SlowDownAt))
	}
	c.mu.Unlock()
	if wait > c.policy.MaxWait {
		wait = c.policy.MaxWait
	}
	return providerhttp.Sleep(ctx, wait)
}

// do sends one request with the token and returns the body of a 2xx answer
// and Meta's trace id for it. Throttles and transient failures are retried
// per the policy.
func (c *Client) do(ctx context.Context, method, path string, params url.Values) ([]byte, string, error) {
	for attempt := 0; ; attempt++ {
		body, trace, err := c.doOnce(ctx, method, path, params)
		pe, ok := domain.AsProviderError(err)
		if !ok || !c.policy.Wait(ctx, pe, attempt) {
			return body, trace, err
		}
	}
}

// doOnce sends one request, once, paced. A request that is not safe to send
// twice (an invitation) uses it, and looks before it sends again.
func (c *Client) doOnce(ctx context.Context, method, path string, params url.Values) ([]byte, string, error) {
	if err := c.pace(ctx); err != nil {
		return nil, "", err
	}
	body, trace, perr, err := c.send(ctx, method, path, params)
	if err != nil {
		return nil, "", err
	}
	if perr != nil {
		c.pauseFor(perr)
		return nil, "", perr
	}
	return body, trace, nil
}

// pauseFor holds every call of the client back until a throttle's access
// comes back.
func (c *Client) pauseFor(perr *domain.ProviderError) {
	if perr.Kind == domain.RateLimited && perr.RetryAfter > 0 {
		c.mu.Lock()
		c.pauseUntil = time.Now().Add(perr.RetryAfter)
		c.mu.Unlock()
	}
}

// send makes one request. An access_token among params (a Page's) is sent
// in its place, in the Authorization header, like the client's own token.
func (c *Client) send(ctx context.Context, method, path string, params url.Values) ([]byte, string, *domain.ProviderError, error) {
	token := c.token
	if t := params.Get("access_token"); t != "" {
		token = t
		params = maps.Clone(params)
		params.Del("access_token")
	}
	target := c.base.String() + "/" + c.version + "/" + strings.TrimPrefix(path, "/")
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, "", nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c.mu.Lock()
	c.requests++
	c.mu.Unlock()
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", nil, ctx.Err()
		}
		return nil, "", &domain.ProviderError{Provider: "meta", Kind: domain.Transient,
			Message: "request failed: " + providerhttp.TransportError(err)}, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, "", &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "reading response: " + err.Error()}, nil
	}
	c.mu.Lock()
	c.usage = usagePercent(resp.Header)
	c.mu.Unlock()
	if resp.StatusCode >= 300 {
		return nil, "", classify(resp.StatusCode, raw, resp.Header), nil
	}
	return raw, resp.Header.Get("X-FB-Trace-ID"), nil, nil
}

// Page is one page of an edge: raw items and the cursor of the next page
// ("" when Graph gave no next link: the end).
type Page struct {
	Data  []json.RawMessage
	After string
}

type pageBody struct {
	Data   []json.RawMessage `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// List fetches one page of an edge (path like "123/business_users") with
// fields, starting after cursor. Only the cursor is kept: Graph's next
// links carry the access token and must not be stored.
func (c *Client) List(ctx context.Context, path, fields string, extra url.Values, after string) (Page, error) {
	params := url.Values{"fields": {fields}, "limit": {strconv.Itoa(PageSize)}}
	for k, v := range extra {
		params[k] = v
	}
	if after != "" {
		params.Set("after", after)
	}
	raw, _, err := c.do(ctx, http.MethodGet, path, params)
	if err != nil {
		return Page{}, err
	}
	return parsePage(raw)
}

// all reads every item of an edge; if Graph refuses a cursor (an item was
// deleted meanwhile) it reads the edge again from the start.
func (c *Client) all(ctx context.Context, path, fields string, extra url.Values) ([]json.RawMessage, error) {
	first, err := c.List(ctx, path, fields, extra, "")
	if err != nil {
		return nil, err
	}
	return c.rest(ctx, path, fields, extra, first)
}

// rest reads the rest of an edge after its first page; if Graph refuses a
// cursor (an item left meanwhile) it reads the edge again from the start.
func (c *Client) rest(ctx context.Context, path, fields string, more url.Values, page Page) ([]json.RawMessage, error) {
	var items []json.RawMessage
	for {
		items = append(items, page.Data...)
		if page.After == "" {
			return items, nil
		}
		next, err := c.List(ctx, path, fields, more, page.After)
		if CursorRejected(err) {
			items = nil
			next, err = c.List(ctx, path, fields, more, "")
		}
		if err != nil {
			return nil, err
		}
		page = next
	}
}

func parsePage(raw []byte) (Page, error) {
	var pb pageBody
	if err := json.Unmarshal(raw, &pb); err != nil {
		return Page{}, &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "response is not a Graph page: " + err.Error()}
	}
	p := Page{Data: pb.Data}
	if pb.Paging.Next != "" {
		p.After = pb.Paging.Cursors.After
		if p.After == "" {
			return Page{}, &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "page has a next link but no after cursor"}
		}
	}
	return p, nil
}

// BatchRequest is one operation of a batch.
type BatchRequest struct {
	Method      string `json:"method"`
	RelativeURL string `json:"relative_url"`
	Body        string `json:"body,omitempty"`
}

// BatchResponse is one answer of a batch; Body is the JSON text Graph
// returned, Headers the operation's own (its usage, when throttled).
type BatchResponse struct {
	Code    int    `json:"code"`
	Body    string `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

// header is an operation's headers as an http.Header.
func (r *BatchResponse) header() http.Header {
	h := http.Header{}
	for _, kv := range r.Headers {
		h.Add(kv.Name, kv.Value)
	}
	return h
}

// BatchResult is one operation's outcome: Graph's JSON body, or its error.
type BatchResult struct {
	Body []byte
	Err  error
}

// Batch sends up to MaxBatch operations in one request and returns their
// answers in order, or the first operation's permanent error.
func (c *Client) Batch(ctx context.Context, ops []BatchRequest) ([][]byte, error) {
	results, err := c.BatchEach(ctx, ops)
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(results))
	for i, r := range results {
		if r.Err != nil {
			return nil, r.Err
		}
		bodies[i] = r.Body
	}
	return bodies, nil
}

// BatchEach sends up to MaxBatch operations in one request and returns each
// one's outcome. Each operation succeeds or fails on its own: those Graph
// did not run (null entries) or answered with a throttle or a transient
// error are sent again, alone; a permanent or auth error is that
// operation's outcome. The error is for the batch as a whole.
func (c *Client) BatchEach(ctx context.Context, ops []BatchRequest) ([]BatchResult, error) {
	if len(ops) > MaxBatch {
		return nil, fmt.Errorf("meta: a batch takes at most %d operations, not %d", MaxBatch, len(ops))
	}
	results := make([]BatchResult, len(ops))
	pending := make([]int, len(ops))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		batch := make([]BatchRequest, len(pending))
		for j, i := range pending {
			batch[j] = ops[i]
		}
		b, _ := json.Marshal(batch)
		raw, _, err := c.do(ctx, http.MethodPost, "", url.Values{"batch": {string(b)}, "include_headers": {"true"}})
		if err != nil {
			return nil, err
		}
		var answers []*BatchResponse
		if err := json.Unmarshal(raw, &answers); err != nil || len(answers) > len(batch) {
			return nil, &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "batch answer is not a list of results"}
		}
		var again []int
		retry := &domain.ProviderError{Provider: "meta", Kind: domain.Transient, Message: "batch operations did not run"}
		for j, i := range pending {
			switch {
			case j >= len(answers) || answers[j] == nil:
				again = append(again, i)
			case answers[j].Code >= 300:
				pe := classify(answers[j].Code, []byte(answers[j].Body), answers[j].header())
				if pe.Kind != domain.RateLimited && pe.Kind != domain.Transient {
					results[i].Err = pe
					continue
				}
				c.pauseFor(pe)
				if pe.Kind == domain.RateLimited || retry.Kind != domain.RateLimited {
					retry = pe
				}
				again = append(again, i)
			default:
				results[i].Body = []byte(answers[j].Body)
			}
		}
		pending = again
		if len(pending) > 0 && !c.policy.Wait(ctx, retry, round) {
			return nil, retry
		}
	}
	return results, nil
}

// Package metasandbox is a faithful stand-in for the Meta Graph API's
// Business Manager edges: /vNN.0/ paths, system-user tokens, business_users,
// pending_users, system_users, owned/client Pages and ad accounts (act_ ids),
// assigned_users (which requires business), cursor paging with next links
// omitted on the last page, the batch endpoint (50 operations at most,
// string bodies, null entries), usage headers that climb, and Graph's
// error envelope with fbtrace_id, including throttles sent as HTTP 400.
// Faults are injected from Go or under /_sandbox/.
package metasandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Business is one Business Manager portfolio.
type Business struct {
	ID   string
	Name string
	// TwoFactorType is who must use two-factor authentication:
	// admin_required, all_required or none.
	TwoFactorType string
	// Agencies are the partners that work on the business's assets; Clients
	// the businesses it works for.
	Agencies, Clients []Partner
	// OwnedApps are the ids of the apps the business has claimed.
	OwnedApps   []string
	Users       map[string]*BusinessUser
	Pending     map[string]*PendingUser
	SystemUsers map[string]*SystemUser
	Assets      map[string]*Asset
	// userIDs are Users' ids in order, for paging; nil after the server
	// adds or deletes a user, until the next listing sorts them again.
	userIDs []string
}

// sortedUserIDs returns Users' ids in order.
func (b *Business) sortedUserIDs() []string {
	if b.userIDs == nil || len(b.userIDs) != len(b.Users) {
		b.userIDs = slices.Sorted(maps.Keys(b.Users))
	}
	return b.userIDs
}

// BusinessUser is a person in the business.
type BusinessUser struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Role      string   `json:"role"`
	Tasks     []string `json:"tasks"`
	Title     string   `json:"title,omitempty"`
	// TwoFactor is two_fac_status: "enabled" or "disabled".
	TwoFactor string `json:"two_fac_status"`
	// UserType is how assigned_users reports the holder.
	UserType string `json:"-"`
}

// PendingUser is an invitation not yet accepted.
type PendingUser struct {
	ID             string   `json:"id"`
	Email          string   `json:"email"`
	Role           string   `json:"role"`
	Tasks          []string `json:"tasks"`
	Status         string   `json:"status"`
	CreatedTime    string   `json:"created_time"`
	ExpirationTime string   `json:"expiration_time"`
}

// SystemUser is a business's system user.
type SystemUser struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	CreatedTime string `json:"created_time"`
}

// Asset is a Page or an ad account and who holds it.
type Asset struct {
	ID        string
	Name      string
	Kind      string // "page" or "ad_account"
	Ownership string // "owned" or "client"
	// Holders maps a business user or system user id to its tasks.
	Holders map[string][]string
	// Partners maps a partner business's id to the tasks it is permitted.
	Partners map[string][]string
}

// Partner is another business: an agency working for this one, or a client
// it works for.
type Partner struct {
	ID   string
	Name string
}

// Fault is a Graph error to answer with: code, subcode and HTTP status.
type Fault struct {
	Status  int
	Code    int
	Subcode int
	Message string
}

// Faults the tests and the dev stack inject, by name.
var Faults = map[string]Fault{
	"token_expired":     {400, 190, 463, "Error validating access token: Session has expired."},
	"password_changed":  {400, 190, 460, "Error validating access token: The session has been invalidated because the user changed their password."},
	"permission":        {403, 10, 0, "(#10) Application does not have permission for this action"},
	"permission_denied": {403, 200, 2655040, "(#200) Permissions error"},
	"restricted":        {400, 10, 2859030, "This Action Is Not Allowed: retry in a few minutes."},
	"bad_tasks":         {400, 100, 1752129, "(#100) Invalid combination of tasks for the ad account."},
	"app_throttle":      {400, 4, 0, "(#4) Application request limit reached"},
	"user_throttle":     {400, 17, 0, "(#17) User request limit reached"},
	"page_throttle":     {400, 32, 0, "(#32) Page request limit reached"},
	"ad_throttle":       {400, 613, 1487742, "(#613) There have been too many calls from this ad-account."},
	"buc_throttle":      {400, 80004, 0, "(#80004) There have been too many calls to this ad-account."},
	"transient":         {500, 2, 0, "An unexpected error has occurred. Please retry your request later."},
	"unknown":           {500, 1, 0, "An unknown error occurred"},
	"invalid_cursor":    {400, 2642, 0, "(#2642) Invalid cursors values"},
}

// Server is the sandbox Graph API.
type Server struct {
	mu         sync.Mutex
	businesses map[string]*Business
	// tokens maps an access token to the business its system user belongs to.
	tokens map[string]string
	// grants maps a token to its system user and granted permissions.
	grants map[string]tokenGrant
	// apps maps the id of each Facebook app to its secret; "id|secret" is the app's access token.
	apps map[string]string
	// pageTokens maps a Page access token to the Page and the system user it
	// was issued to; tokenOfPage the other way.
	pageTokens  map[string]pageToken
	tokenOfPage map[pageToken]string
	// hidden are objects the tokens lost permission on: they answer 100/33
	// themselves, yet their business still lists them.
	hidden map[string]bool
	// Latency is added to every HTTP request.
	Latency time.Duration
	// NoUsageHeaders answers without the usage headers (X-App-Usage,
	// X-Business-Use-Case-Usage, X-Ad-Account-Usage), as some throttles come.
	NoUsageHeaders bool
	// MaxLimit is the largest page an edge serves.
	MaxLimit int
	// CallLimit is how many calls per Window reach 100% usage (0: no limit).
	CallLimit   int
	Window      time.Duration
	windowStart time.Time
	windowCalls int
	faults      []Fault
	nullNext    int
	// FailRate answers this share of requests with a random throttle or 5xx.
	FailRate float64
	rng      *mrand.Rand
	// held, when set, keeps batch requests waiting until it is closed.
	held    chan struct{}
	waiting int
	// dropAfter maps an edge to the page after which its last item is
	// deleted (counting the pages served of that edge from 1).
	dropAfter map[string]int
	served    map[string]int
	// lose is how many answers to requests of loseMethod to drop after
	// carrying the requests out.
	lose       int
	loseMethod string
	requests   int
	ops        int
	removals   int
	invites    int
	seq        int
}

// New returns an empty Graph sandbox.
func New() *Server {
	return &Server{businesses: map[string]*Business{}, tokens: map[string]string{}, grants: map[string]tokenGrant{}, apps: map[string]string{},
		pageTokens: map[string]pageToken{}, tokenOfPage: map[pageToken]string{}, hidden: map[string]bool{}, dropAfter: map[string]int{}, served: map[string]int{},
		MaxLimit: 100, Window: time.Hour, rng: mrand.New(mrand.NewPCG(7, 11))}
}

// pageToken is a Page access token: which Page, for which system user.
type pageToken struct {
	businessID, pageID, systemUserID string
}

// pageTokenFor returns the Page access token of a system user who manages
// the Page (MANAGE among their tasks on it), or "" for one who does not.
// Caller holds mu.
func (s *Server) pageTokenFor(b *Business, systemUserID, pageID string) string {
	a := b.Assets[pageID]
	if a == nil || a.Kind != "page" || !slices.Contains(a.Holders[systemUserID], "MANAGE") {
		return ""
	}
	pt := pageToken{b.ID, pageID, systemUserID}
	if tok, ok := s.tokenOfPage[pt]; ok {
		return tok
	}
	tok := fmt.Sprintf("EAAPage%x%x", mrand.Uint64(), mrand.Uint64())
	s.pageTokens[tok], s.tokenOfPage[pt] = pt, tok
	return tok
}

// pageTokenRequired is Graph's answer to a Page edge called with another token.
var pageTokenRequired = Fault{400, 190, 0, "(#190) This method must be called with a Page Access Token"}

// tokenGrant is who a token acts as and what it may do.
type tokenGrant struct {
	systemUserID string
	permissions  []string
	// expiresAt and dataAccessExpiresAt are when the token stops working
	// (zero: never), as debug_token reports them.
	expiresAt, dataAccessExpiresAt time.Time
	issuedAt                       time.Time
}

// SetTokenExpiry makes a system-user token expire at expires and its data
// access at dataAccess (zero: never). Past either, every call with it
// answers 190/463, as Graph does.
func (s *Server) SetTokenExpiry(token string, expires, dataAccess time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[token]
	g.expiresAt, g.dataAccessExpiresAt = expires, dataAccess
	s.grants[token] = g
}

// expired reports whether a grant's token no longer works at now.
func (g tokenGrant) expired(now time.Time) bool {
	return (!g.expiresAt.IsZero() && !now.Before(g.expiresAt)) || (!g.dataAccessExpiresAt.IsZero() && !now.Before(g.dataAccessExpiresAt))
}

// AllPermissions are the permissions a Hubkeeper system-user token needs.
var AllPermissions = []string{"business_management", "pages_show_list", "catalog_management", "pages_read_engagement",
	"pages_manage_metadata", "ads_management"}

// AddBusiness adds a business and a token of its admin system user with every permission.
func (s *Server) AddBusiness(b *Business, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.businesses[b.ID] = b
	s.tokens[token] = b.ID
	for id, su := range b.SystemUsers {
		if su.Role == "ADMIN" {
			s.grants[token] = tokenGrant{systemUserID: id, permissions: AllPermissions, issuedAt: time.Now()}
			break
		}
	}
}

// AddToken issues a token of a business's system user with the given permissions.
func (s *Server) AddToken(businessID, token, systemUserID string, permissions []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = businessID
	s.grants[token] = tokenGrant{systemUserID: systemUserID, permissions: permissions, issuedAt: time.Now()}
}

// Business returns a business for inspection; callers hold no lock, so only read it between requests.
func (s *Server) Business(id string) *Business {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.businesses[id]
}

// Inject makes the next count operations answer with fault.
func (s *Server) Inject(f Fault, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range count {
		s.faults = append(s.faults, f)
	}
}

// ClearFaults drops every injected fault not yet answered.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// HoldBatches keeps every batch request waiting (a check's grant fetch,
// say) until release is called (once or more), so tests can act in the
// middle of a fetch.
func (s *Server) HoldBatches() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := make(chan struct{})
	s.held = held
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.held == held {
				s.held = nil
			}
			close(held)
		})
	}
}

// LoseAnswers carries out the next n Graph requests of an HTTP method but
// answers each with a 502, as a proxy that lost Meta's answer would: the
// caller cannot tell whether the request took effect.
func (s *Server) LoseAnswers(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose, s.loseMethod = n, method
}

// DeleteLastOfPage deletes the last item of the nth page served of a
// business's member edge (business_users, pending_users) right after
// serving it, as a person leaving during a listing would: the page's cursor
// then names a deleted item.
func (s *Server) DeleteLastOfPage(edge string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter[edge], s.served[edge] = n, 0
}

// LosePermissionOn makes an object (a business user, an invitation) or an
// edge ("{business}/agencies") answer 100/33, as Graph does for one the
// token may not load, while its business still lists it, until restore is
// called.
func (s *Server) LosePermissionOn(id string) (restore func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hidden[id] = true
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.hidden, id)
	}
}

// PageTokens lists the Page access tokens handed out, for tests that look
// for them where they must not be.
func (s *Server) PageTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return keys(s.pageTokens)
}

// HeldBatches is how many batch requests are waiting for a release.
func (s *Server) HeldBatches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// NullNextBatchEntries makes the next n batch operations come back null (not run).
func (s *Server) NullNextBatchEntries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nullNext += n
}

// Removals is how many business users DELETE has removed.
func (s *Server) Removals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removals
}

// Requests is how many HTTP requests were answered; Operations counts batch operations too.
func (s *Server) Requests() (requests, operations int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.ops
}

var versionRE = regexp.MustCompile(`^v\d+\.\d+$`)

// ServeHTTP routes /vNN.0/... to the Graph handlers and /_sandbox/ to controls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
		s.control(w, r)
		return
	}
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	s.mu.Lock()
	s.requests++
	lose := s.lose > 0 && r.Method == s.loseMethod
	if lose {
		s.lose--
	}
	s.mu.Unlock()
	if lose {
		defer http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		w = httptest.NewRecorder()
	}
	w.Header().Set("X-FB-Trace-ID", traceID())
	_ = r.ParseForm()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 0 || !versionRE.MatchString(parts[0]) {
		writeError(w, nil, Fault{400, 2500, 0, "Unknown path components: " + r.URL.Path})
		return
	}
	token := r.Form.Get("access_token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	if len(parts) == 1 && r.Method == http.MethodPost && r.Form.Has("batch") {
		s.mu.Lock()
		held := s.held
		if held != nil {
			s.waiting++
		}
		s.mu.Unlock()
		if held != nil {
			<-held
			s.mu.Lock()
			s.waiting--
			s.mu.Unlock()
		}
		s.batch(w, r, parts[0], token)
		return
	}
	s.operation(w, r.Method, parts[0], parts[1:], r.Form, token, r.Host)
}

// operation answers one Graph call (an HTTP request or a batch operation).
func (s *Server) operation(w http.ResponseWriter, method, version string, path []string, q url.Values, token, host string) {
	s.mu.Lock()
	s.ops++
	businessID, known := s.tokens[token]
	page, isPage := s.pageTokens[token]
	if isPage {
		businessID, known = page.businessID, true
	}
	appID, appSecret, isApp := strings.Cut(token, "|")
	isApp = isApp && !known && s.apps[appID] != "" && s.apps[appID] == appSecret
	known = known || isApp
	var fault *Fault
	if g, ok := s.grants[token]; ok && g.expired(time.Now()) {
		fault = &Fault{400, 190, 463, "Error validating access token: Session has expired on " + g.expiresAt.UTC().Format(time.RFC1123) + "."}
	} else if known && len(s.faults) > 0 {
		fault = &s.faults[0]
		s.faults = s.faults[1:]
	} else if known && s.FailRate > 0 && s.rng.Float64() < s.FailRate {
		f := []Fault{Faults["app_throttle"], Faults["buc_throttle"], Faults["transient"], {503, 0, 0, "Service Unavailable"}}[s.rng.IntN(4)]
		fault = &f
	}
	usage := s.countCall()
	s.mu.Unlock()
	h := w.Header()
	if !s.NoUsageHeaders {
		h.Set("X-App-Usage", fmt.Sprintf(`{"call_count":%d,"total_cputime":%d,"total_time":%d}`, usage, usage/2, usage/2))
		regain := 0
		if usage >= 100 {
			regain = 1
		}
		if len(path) > 0 && strings.HasPrefix(path[0], "act_") {
			h.Set("X-Ad-Account-Usage", fmt.Sprintf(`{"acc_id_util_pct":%d,"reset_time_duration":%d,"ads_api_access_tier":"standard_access"}`,
				usage, regain*60))
		}
		if businessID != "" {
			h.Set("X-Business-Use-Case-Usage", fmt.Sprintf(`{"%s":[{"type":"business_management","call_count":%d,"total_cputime":%d,"total_time":%d,"estimated_time_to_regain_access":%d}]}`,
				businessID, usage, usage/2, usage/2, regain))
		}
	}
	switch {
	case token == "":
		writeError(w, nil, Fault{400, 104, 0, "An access token is required to request this resource."})
		return
	case !known:
		writeError(w, nil, Fault{400, 190, 0, "Invalid OAuth access token - Cannot parse access token"})
		return
	case fault != nil:
		writeError(w, nil, *fault)
		return
	case usage > 100:
		writeError(w, nil, Faults["buc_throttle"])
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if isApp {
		s.appOperation(w, method, path, q, token)
		return
	}
	b := s.businesses[businessID]
	grant := s.grants[token]
	if s.hidden[strings.Join(path, "/")] {
		writeError(w, nil, Fault{400, 100, 33, fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
			strings.ToLower(method), strings.Join(path, "/"))})
		return
	}
	pageEdge := len(path) == 2 && (path[1] == "assigned_users" || path[1] == "agencies") && b.Assets[path[0]] != nil &&
		b.Assets[path[0]].Kind == "page"
	switch {
	case isPage && !(len(path) >= 1 && path[0] == page.pageID && (len(path) == 1 || pageEdge)):
		writeError(w, nil, Fault{400, 100, 33, fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
			strings.ToLower(method), strings.Join(path, "/"))})
		return
	case pageEdge && !isPage:
		writeError(w, nil, pageTokenRequired)
		return
	case len(path) == 1 && method == http.MethodGet && b.Assets[path[0]] != nil && b.Assets[path[0]].Kind == "page":
		a, user := b.Assets[path[0]], grant.systemUserID
		if isPage {
			user = page.systemUserID
		}
		if f := unknownField("Page", nil, q.Get("fields")); f != nil {
			writeError(w, nil, *f)
			return
		}
		item := map[string]any{"id": a.ID, "name": a.Name, "is_owned": a.Ownership == "owned"}
		if tok := s.pageTokenFor(b, user, a.ID); tok != "" {
			item["access_token"] = tok
		}
		writeJSON(w, http.StatusOK, project(item, q.Get("fields")))
		return
	}
	if len(path) == 1 && path[0] == "debug_token" && method == http.MethodGet {
		s.debugToken(w, q.Get("input_token"), token)
		return
	}
	if len(path) == 1 && path[0] == b.ID && method == http.MethodGet {
		if f := unknownField("Business", nil, q.Get("fields")); f != nil {
			writeError(w, nil, *f)
			return
		}
		writeJSON(w, http.StatusOK, project(map[string]any{"id": b.ID, "name": b.Name, "two_factor_type": b.TwoFactorType,
			"verification_status": "verified"}, q.Get("fields")))
		return
	}
	if len(path) > 0 && path[0] == "me" {
		switch {
		case len(path) == 1 && method == http.MethodGet:
			su := b.SystemUsers[grant.systemUserID]
			writeJSON(w, http.StatusOK, map[string]string{"id": grant.systemUserID, "name": su.Name})
		case len(path) == 2 && path[1] == "permissions" && method == http.MethodGet:
			data := []map[string]string{}
			for _, p := range grant.permissions {
				data = append(data, map[string]string{"permission": p, "status": "granted"})
			}
			writeJSON(w, http.StatusOK, map[string]any{"data": data})
		default:
			writeError(w, nil, Fault{400, 2500, 0, "Unknown path components: /me/" + strings.Join(path[1:], "/")})
		}
		return
	}
	switch {
	case len(path) == 2 && method == http.MethodGet:
		s.getEdge(w, b, path[0], path[1], q, version, token, host)
		return
	case len(path) == 1 && b.Users[path[0]] != nil && method == http.MethodGet:
		if f := unknownField("BusinessUser", nil, q.Get("fields")); f != nil {
			writeError(w, nil, *f)
			return
		}
		u := b.Users[path[0]]
		writeJSON(w, http.StatusOK, project(map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "role": u.Role,
			"tasks": u.Tasks, "first_name": u.FirstName, "last_name": u.LastName, "two_fac_status": u.TwoFactor}, q.Get("fields")))
		return
	case len(path) == 1 && b.Users[path[0]] != nil && method == http.MethodPost:
		role := q.Get("role")
		if !slices.Contains(businessUserRoles, role) && role != "" {
			writeError(w, nil, badRole(role))
			return
		}
		if role != "" {
			b.Users[path[0]].Role = role
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	case len(path) == 1 && b.Pending[path[0]] != nil && method == http.MethodDelete:
		delete(b.Pending, path[0])
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	case len(path) == 2 && path[0] == b.ID && path[1] == "business_users" && method == http.MethodPost:
		s.invite(w, b, q)
		return
	case len(path) == 2 && path[1] == "assigned_users" && b.Assets[path[0]] != nil && (method == http.MethodPost || method == http.MethodDelete):
		s.assign(w, b, b.Assets[path[0]], method, q)
		return
	case len(path) == 1 && b.Users[path[0]] != nil && method == http.MethodDelete:
		// Removing a business user takes away every asset they held.
		s.removals++
		delete(b.Users, path[0])
		b.userIDs = nil
		for _, a := range b.Assets {
			delete(a.Holders, path[0])
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	}
	writeError(w, nil, Fault{400, 100, 33, fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		strings.ToLower(method), strings.Join(path, "/"))})
}

// debugToken answers GET /debug_token: what input is, when it expires (0:
// never) and whether it still works. A token may inspect itself. Caller
// holds mu.
func (s *Server) debugToken(w http.ResponseWriter, input, token string) {
	if input == "" {
		writeError(w, nil, Fault{400, 100, 0, "(#100) The parameter input_token is required"})
		return
	}
	g, ok := s.grants[input]
	if !ok || input != token {
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"is_valid": false,
			"error": map[string]any{"code": 190, "message": "Invalid OAuth access token."}}})
		return
	}
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Unix()
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"app_id": "60000000000000", "type": "SYSTEM_USER",
		"application": "Hubkeeper", "is_valid": !g.expired(time.Now()), "issued_at": unix(g.issuedAt),
		"expires_at": unix(g.expiresAt), "data_access_expires_at": unix(g.dataAccessExpiresAt),
		"scopes": g.permissions, "user_id": g.systemUserID}})
}

// appOperation answers a call made with an app access token, which reads
// its own app's fields (owner_business among them) and nothing of any
// business. Caller holds mu.
func (s *Server) appOperation(w http.ResponseWriter, method string, path []string, q url.Values, token string) {
	appID, _, _ := strings.Cut(token, "|")
	if len(path) == 1 && path[0] == appID && method == http.MethodGet {
		if f := unknownField("Application", nil, q.Get("fields")); f != nil {
			writeError(w, nil, *f)
			return
		}
		app := map[string]any{"id": appID, "name": "Hubkeeper " + appID, "app_type": 0}
		for _, b := range s.businesses {
			if slices.Contains(b.OwnedApps, appID) {
				app["owner_business"] = map[string]string{"id": b.ID, "name": b.Name}
			}
		}
		writeJSON(w, http.StatusOK, project(app, q.Get("fields")))
		return
	}
	writeError(w, nil, Fault{400, 100, 33, fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
		strings.ToLower(method), strings.Join(path, "/"))})
}

// RegisterApp creates a Facebook app, as support does for a dedicated app,
// and returns its id and secret.
func (s *Server) RegisterApp() (id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id = fmt.Sprintf("%d", 60000000000000+s.seq)
	secret = fmt.Sprintf("%x", mrand.Uint64())
	s.apps[id] = secret
	return id, secret
}

// ClaimApp makes a business own an app, as an admin does in Business Manager.
func (s *Server) ClaimApp(businessID, appID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	switch {
	case b == nil:
		return fmt.Errorf("no business %s", businessID)
	case s.apps[appID] == "":
		return fmt.Errorf("no app %s", appID)
	}
	for _, other := range s.businesses {
		if other != b && slices.Contains(other.OwnedApps, appID) {
			return fmt.Errorf("app %s belongs to business %s", appID, other.ID)
		}
	}
	if !slices.Contains(b.OwnedApps, appID) {
		b.OwnedApps = append(b.OwnedApps, appID)
	}
	return nil
}

// AddAgency makes p an agency of the business, permitted tasks on the
// assets named in shares, as a partner's admin and the business's do by hand.
func (s *Server) AddAgency(businessID string, p Partner, shares map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	b.Agencies = append(b.Agencies, p)
	for id, tasks := range shares {
		b.Assets[id].Partners[p.ID] = tasks
	}
}

// RemoveAgency ends the partnership: the agency and its access to every asset go.
func (s *Server) RemoveAgency(businessID, partnerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	b.Agencies = slices.DeleteFunc(b.Agencies, func(p Partner) bool { return p.ID == partnerID })
	for _, a := range b.Assets {
		delete(a.Partners, partnerID)
	}
}

// CreateSystemUser adds a system user created now with a token holding
// permissions, as an admin does in Business Manager, and returns both.
func (s *Server) CreateSystemUser(businessID, name, role string, permissions []string) (*SystemUser, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	if b == nil {
		return nil, "", fmt.Errorf("no business %s", businessID)
	}
	s.seq++
	su := &SystemUser{ID: fmt.Sprintf("%d", 30000000000100+s.seq), Name: name, Role: role,
		CreatedTime: time.Now().Format("2006-01-02T15:04:05-0700")}
	b.SystemUsers[su.ID] = su
	token := fmt.Sprintf("EAAsandbox%x%x", mrand.Uint64(), mrand.Uint64())
	s.tokens[token] = businessID
	s.grants[token] = tokenGrant{systemUserID: su.ID, permissions: permissions, issuedAt: time.Now()}
	return su, token, nil
}

// countCall advances the usage window and returns the usage percentage. Caller holds mu.
func (s *Server) countCall() int {
	if s.CallLimit <= 0 {
		return 0
	}
	now := time.Now()
	if now.Sub(s.windowStart) >= s.Window {
		s.windowStart, s.windowCalls = now, 0
	}
	s.windowCalls++
	return s.windowCalls * 100 / s.CallLimit
}

// getEdge serves list edges of a business or an asset. Caller holds mu.
func (s *Server) getEdge(w http.ResponseWriter, b *Business, id, edge string, q url.Values, version, token, host string) {
	var ids []string
	var item func(id string) map[string]any
	switch {
	case id == b.ID && edge == "business_users":
		ids, item = b.sortedUserIDs(), func(id string) map[string]any {
			u := b.Users[id]
			return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "first_name": u.FirstName,
				"last_name": u.LastName, "role": u.Role, "tasks": u.Tasks, "title": u.Title, "two_fac_status": u.TwoFactor,
				"marked_for_removal": false, "pending_email": ""}
		}
	case id == b.ID && edge == "pending_users":
		// Invitations are listed whatever their status; email narrows them to one address.
		for pid, p := range b.Pending {
			if email := q.Get("email"); email == "" || strings.EqualFold(email, p.Email) {
				ids = append(ids, pid)
			}
		}
		item = func(id string) map[string]any {
			p := b.Pending[id]
			return map[string]any{"id": p.ID, "email": p.Email, "role": p.Role, "tasks": p.Tasks, "status": p.status(time.Now()),
				"created_time": p.CreatedTime, "expiration_time": p.ExpirationTime, "invite_link": "https://business.facebook.com/invitation/?token=" + p.ID}
		}
	case id == b.ID && edge == "system_users":
		ids, item = keys(b.SystemUsers), func(id string) map[string]any {
			su := b.SystemUsers[id]
			return map[string]any{"id": su.ID, "name": su.Name, "role": su.Role, "created_time": su.CreatedTime,
				"created_by": map[string]string{"id": "100000000000001", "name": "Business admin"}}
		}
	case id == b.ID && (edge == "owned_pages" || edge == "client_pages" || edge == "owned_ad_accounts" || edge == "client_ad_accounts"):
		ownership, kind, _ := strings.Cut(edge, "_")
		kind = map[string]string{"pages": "page", "ad_accounts": "ad_account"}[kind]
		for aid, a := range b.Assets {
			if a.Kind == kind && a.Ownership == ownership {
				ids = append(ids, aid)
			}
		}
		item = func(id string) map[string]any {
			a := b.Assets[id]
			out := map[string]any{"id": a.ID, "name": a.Name}
			if a.Kind == "ad_account" {
				out["account_id"] = strings.TrimPrefix(a.ID, "act_")
				out["account_status"] = 1
			} else if tok := s.pageTokenFor(b, s.grants[token].systemUserID, a.ID); tok != "" {
				out["access_token"] = tok
			}
			return out
		}
	case id == b.ID && (edge == "agencies" || edge == "clients"):
		partners := b.Agencies
		if edge == "clients" {
			partners = b.Clients
		}
		byID := map[string]Partner{}
		for _, p := range partners {
			ids, byID[p.ID] = append(ids, p.ID), p
		}
		item = func(id string) map[string]any { return map[string]any{"id": id, "name": byID[id].Name} }
	case edge == "agencies" && b.Assets[id] != nil:
		shared := b.Assets[id].Partners
		ids, item = keys(shared), func(partner string) map[string]any {
			out := map[string]any{"id": partner, "name": "", "permitted_tasks": shared[partner]}
			for _, p := range b.Agencies {
				if p.ID == partner {
					out["name"] = p.Name
				}
			}
			return out
		}
	case id == b.ID && edge == "owned_apps":
		ids, item = b.OwnedApps, func(id string) map[string]any { return map[string]any{"id": id, "name": "Hubkeeper for " + b.Name} }
	case edge == "assigned_users" && b.Assets[id] != nil:
		if q.Get("business") == "" {
			writeError(w, nil, Fault{400, 100, 0, "(#100) The parameter business is required"})
			return
		}
		if q.Get("business") != b.ID {
			writeError(w, nil, Fault{400, 100, 33, "(#100) The business does not have access to this object"})
			return
		}
		holders := b.Assets[id].Holders
		ids, item = keys(holders), func(holder string) map[string]any {
			name, userType := "", "BUSINESS_USER"
			if u := b.Users[holder]; u != nil {
				name = u.Name
			} else if su := b.SystemUsers[holder]; su != nil {
				name, userType = su.Name, "SYSTEM_USER"
			}
			return map[string]any{"id": holder, "name": name, "user_type": userType, "tasks": holders[holder]}
		}
	default:
		writeError(w, nil, Fault{400, 100, 33, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id)})
		return
	}
	extra := assetEdgeFields[edge]
	if id == b.ID {
		extra = businessEdgeFields[edge]
	}
	if f := unknownField(edgeNodes[edge], extra, q.Get("fields")); f != nil {
		writeError(w, nil, *f)
		return
	}
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, nil, Fault{400, 100, 0, "(#100) limit must be a positive integer"})
			return
		}
		limit = min(n, s.MaxLimit)
	}
	after := ""
	if a := q.Get("after"); a != "" {
		var ok bool
		if after, ok = decodeCursor(a); !ok {
			after = "\x00" // not a cursor: names no item
		}
	}
	window, more, found := pageAfter(ids, after, limit)
	if !found {
		// A cursor names the last item of its page: one whose item is gone
		// (or that is not a cursor at all) is refused, as Graph does.
		writeError(w, nil, Faults["invalid_cursor"])
		return
	}
	fields := q.Get("fields")
	page := make([]map[string]any, 0, len(window))
	for _, id := range window {
		page = append(page, project(item(id), fields))
	}
	resp := map[string]any{"data": page}
	if n, ok := s.dropAfter[edge]; ok && id == b.ID && len(window) > 0 {
		if s.served[edge]++; s.served[edge] == n {
			delete(s.dropAfter, edge)
			defer func(last string) {
				delete(b.Users, last)
				b.userIDs = nil
				delete(b.Pending, last)
			}(window[len(window)-1])
		}
	}
	if len(page) > 0 {
		first, last := window[0], window[len(window)-1]
		paging := map[string]any{"cursors": map[string]string{"before": encodeCursor(first), "after": encodeCursor(last)}}
		if more {
			next := url.Values{"access_token": {token}, "limit": {strconv.Itoa(limit)}, "after": {encodeCursor(last)}}
			if fields != "" {
				next.Set("fields", fields)
			}
			if q.Get("business") != "" {
				next.Set("business", q.Get("business"))
			}
			paging["next"] = "https://" + host + "/" + version + "/" + id + "/" + edge + "?" + next.Encode()
		}
		resp["paging"] = paging
	}
	writeJSON(w, http.StatusOK, resp)
}

// invite creates a pending invitation: POST /{business}/business_users.
// Caller holds mu.
func (s *Server) invite(w http.ResponseWriter, b *Business, q url.Values) {
	email, role := strings.ToLower(strings.TrimSpace(q.Get("email"))), q.Get("role")
	if email == "" || !strings.Contains(email, "@") {
		writeError(w, nil, Fault{400, 100, 0, "(#100) The parameter email is required"})
		return
	}
	if role == "" {
		role = "EMPLOYEE"
	}
	if !slices.Contains(businessUserRoles, role) {
		writeError(w, nil, badRole(role))
		return
	}
	for _, u := range b.Users {
		if strings.EqualFold(u.Email, email) {
			writeError(w, nil, Fault{400, 100, 1752041, "(#100) This person is already in the business."})
			return
		}
	}
	for _, p := range b.Pending {
		if strings.EqualFold(p.Email, email) && p.status(time.Now()) == "PENDING" {
			writeError(w, nil, Fault{400, 100, 1752042, "(#100) This person has already been invited."})
			return
		}
	}
	s.seq++
	id := fmt.Sprintf("%d", 21000000000000+s.seq)
	now := time.Now()
	b.Pending[id] = &PendingUser{ID: id, Email: email, Role: role, Tasks: []string{}, Status: "PENDING",
		CreatedTime: now.Format("2006-01-02T15:04:05-0700"), ExpirationTime: now.Add(30 * 24 * time.Hour).Format("2006-01-02T15:04:05-0700")}
	s.invites++
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// assign sets or takes away a user's tasks on an asset: POST or DELETE
// /{asset}/assigned_users with user (and tasks). Caller holds mu.
func (s *Server) assign(w http.ResponseWriter, b *Business, a *Asset, method string, q url.Values) {
	user := q.Get("user")
	if b.Users[user] == nil && b.SystemUsers[user] == nil {
		writeError(w, nil, Fault{400, 100, 0, "(#100) Param user must be a user of the business"})
		return
	}
	if method == http.MethodDelete {
		delete(a.Holders, user)
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
		return
	}
	var tasks []string
	if err := json.Unmarshal([]byte(q.Get("tasks")), &tasks); err != nil || len(tasks) == 0 {
		writeError(w, nil, Fault{400, 100, 0, "(#100) Param tasks must be a non-empty array"})
		return
	}
	if err := domain.ValidMetaTasks(a.Kind, tasks); err != nil {
		writeError(w, nil, Fault{400, 100, 0, "(#100) Param tasks must be an array of " + strings.ToLower(a.Kind) + " tasks: " + err.Error()})
		return
	}
	if a.Kind == "ad_account" && refusedAdTasks(tasks) {
		writeError(w, nil, Faults["bad_tasks"])
		return
	}
	a.Holders[user] = tasks
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// refusedAdTasks is the sandbox's stand-in for the ad-account task
// combinations Meta refuses (100/1752129): a draft-only role mixed with
// tasks that publish or manage.
func refusedAdTasks(tasks []string) bool {
	return slices.Contains(tasks, "DRAFT") && (slices.Contains(tasks, "MANAGE") || slices.Contains(tasks, "ADVERTISE"))
}

// status is an invitation's status at now: a pending one past its
// expiration time has expired.
func (p *PendingUser) status(now time.Time) string {
	if exp, err := time.Parse("2006-01-02T15:04:05-0700", p.ExpirationTime); p.Status == "PENDING" && err == nil && now.After(exp) {
		return "EXPIRED"
	}
	return p.Status
}

// ExpireInvitation makes an invitation expire now, as time would.
func (s *Server) ExpireInvitation(businessID, invitationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.businesses[businessID].Pending[invitationID]
	if p == nil {
		return fmt.Errorf("no invitation %s", invitationID)
	}
	p.ExpirationTime = time.Now().Add(-time.Minute).Format("2006-01-02T15:04:05-0700")
	return nil
}

// DeclineInvitation declines an invitation, as the invited person would.
func (s *Server) DeclineInvitation(businessID, invitationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.businesses[businessID].Pending[invitationID]
	if p == nil {
		return fmt.Errorf("no invitation %s", invitationID)
	}
	p.Status = "DECLINED"
	return nil
}

// AcceptInvitation turns a pending invitation into a business user, as the
// invited person clicking the link would; it returns the new user's id.
func (s *Server) AcceptInvitation(businessID, invitationID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	p := b.Pending[invitationID]
	if p == nil || p.status(time.Now()) != "PENDING" {
		return "", fmt.Errorf("no pending invitation %s", invitationID)
	}
	delete(b.Pending, invitationID)
	s.seq++
	id := fmt.Sprintf("%d", 22000000000000+s.seq)
	local, _, _ := strings.Cut(p.Email, "@")
	b.userIDs = nil
	b.Users[id] = &BusinessUser{ID: id, Email: p.Email, Name: local, FirstName: local, Role: p.Role, Tasks: []string{}, UserType: "BUSINESS_USER",
		TwoFactor: "disabled"}
	return id, nil
}

// Invitations is how many invitations POST business_users has created.
func (s *Server) Invitations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invites
}

// keys returns a map's keys.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// pageAfter returns, in order, the first limit ids after after ("": from
// the start), whether more follow, and whether after is among ids. Sorted
// ids are paged by binary search; others are selected without sorting
// them all, so a page of a large edge costs at most one pass over it.
func pageAfter(ids []string, after string, limit int) (page []string, more, found bool) {
	if slices.IsSorted(ids) {
		start, found := slices.BinarySearch(ids, after)
		if found {
			start++
		}
		end := min(len(ids), start+limit)
		return ids[start:end], end < len(ids), found || after == ""
	}
	found = after == ""
	for _, id := range ids {
		if id <= after {
			found = found || id == after
			continue
		}
		if len(page) == limit+1 && id >= page[limit] {
			continue
		}
		i, _ := slices.BinarySearch(page, id)
		page = slices.Insert(page, i, id)
		if len(page) > limit+1 {
			page = page[:limit+1]
		}
	}
	if len(page) > limit {
		return page[:limit], true, found
	}
	return page, false, found
}

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("c:" + id)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "c:") {
		return "", false
	}
	return string(b[2:]), true
}

// batch runs up to 50 operations and answers them in order.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, version, token string) {
	var ops []struct {
		Method      string `json:"method"`
		RelativeURL string `json:"relative_url"`
		Body        string `json:"body"`
	}
	if err := json.Unmarshal([]byte(r.Form.Get("batch")), &ops); err != nil {
		writeError(w, nil, Fault{400, 100, 0, "(#100) The parameter batch must be a JSON array"})
		return
	}
	if len(ops) > 50 {
		writeError(w, nil, Fault{400, 1, 0, "Too many requests in batch message. Maximum batch size is 50"})
		return
	}
	answers := make([]any, len(ops))
	for i, op := range ops {
		s.mu.Lock()
		skip := s.nullNext > 0
		if skip {
			s.nullNext--
		}
		s.mu.Unlock()
		if skip {
			continue // null: did not run
		}
		u, err := url.Parse(strings.TrimPrefix(op.RelativeURL, "/"))
		if err != nil {
			answers[i] = map[string]any{"code": 400, "body": `{"error":{"message":"bad relative_url","type":"OAuthException","code":100}}`}
			continue
		}
		q := u.Query()
		if op.Body != "" {
			body, _ := url.ParseQuery(op.Body)
			for k, v := range body {
				q[k] = v
			}
		}
		path := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(path) > 0 && versionRE.MatchString(path[0]) {
			version, path = path[0], path[1:]
		}
		// An operation may carry its own access token (a Page's).
		opToken := token
		if t := q.Get("access_token"); t != "" {
			opToken = t
			q.Del("access_token")
		}
		rec := httptest.NewRecorder()
		s.operation(rec, strings.ToUpper(op.Method), version, path, q, opToken, r.Host)
		answer := map[string]any{"code": rec.Code, "body": rec.Body.String()}
		// Each operation's own headers (its usage, its throttle) come back
		// unless the batch asks include_headers=false, as Graph does.
		if r.Form.Get("include_headers") != "false" {
			var headers []map[string]string
			for _, name := range []string{"X-App-Usage", "X-Business-Use-Case-Usage", "X-Ad-Account-Usage", "Content-Type"} {
				if v := rec.Header().Get(name); v != "" {
					headers = append(headers, map[string]string{"name": name, "value": v})
				}
			}
			answer["headers"] = headers
		}
		answers[i] = answer
	}
	writeJSON(w, http.StatusOK, answers)
}

// control serves the sandbox's own endpoints, which stand in for what
// people do by hand: support creating a dedicated app, an admin claiming it
// or creating a system user in Business Manager, a test injecting faults.
//
//	POST /_sandbox/faults                         {"fault","count"}
//	POST /_sandbox/apps                           → {"id","secret"}
//	POST /_sandbox/businesses/{id}/owned_apps     {"app_id"}
//	POST /_sandbox/businesses/{id}/system_users   {"name","role","permissions"} → {"id","created_time","access_token"}
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox/"), "/"), "/")
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "sandbox controls take POST"})
		return
	}
	var body struct {
		AppID       string   `json:"app_id"`
		Name        string   `json:"name"`
		Role        string   `json:"role"`
		Permissions []string `json:"permissions"`
	}
	switch {
	case len(parts) == 1 && parts[0] == "faults":
		s.postFault(w, r)
	case len(parts) == 1 && parts[0] == "apps":
		id, secret := s.RegisterApp()
		writeJSON(w, http.StatusCreated, map[string]string{"id": id, "secret": secret})
	case len(parts) == 3 && parts[0] == "businesses" && parts[2] == "owned_apps":
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.AppID == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"app_id": "<id>"}`})
			return
		}
		if err := s.ClaimApp(parts[1], body.AppID); err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 3 && parts[0] == "businesses" && parts[2] == "system_users":
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" || !slices.Contains([]string{"ADMIN", "EMPLOYEE"}, body.Role) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"name": "...", "role": "ADMIN" or "EMPLOYEE", "permissions": [...]}`})
			return
		}
		su, token, err := s.CreateSystemUser(parts[1], body.Name, body.Role, body.Permissions)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": su.ID, "created_time": su.CreatedTime, "access_token": token})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown sandbox control " + r.URL.Path})
	}
}

func (s *Server) postFault(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Fault string `json:"fault"`
		Count int    `json:"count"`
	}
	f, ok := Fault{}, false
	if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
		f, ok = Faults[body.Fault]
	}
	if !ok || body.Count < 1 {
		names := make([]string, 0, len(Faults))
		for n := range Faults {
			names = append(names, n)
		}
		sort.Strings(names)
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"fault\": one of " + strings.Join(names, ", ") + ", \"count\": >= 1}"})
		return
	}
	s.Inject(f, body.Count)
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// traceID makes a Graph-style trace id.
func traceID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "A" + base64.RawURLEncoding.EncodeToString(b)
}

// writeError answers Graph's error envelope.
func writeError(w http.ResponseWriter, _ *http.Request, f Fault) {
	e := map[string]any{"message": f.Message, "type": "OAuthException", "code": f.Code, "fbtrace_id": traceID()}
	if f.Subcode != 0 {
		e["error_subcode"] = f.Subcode
	}
	if f.Code == 1 || f.Code == 2 {
		e["is_transient"] = true
	}
	if f.Code == 190 {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+f.Message+`"`)
	}
	writeJSON(w, f.Status, map[string]any{"error": e})
}

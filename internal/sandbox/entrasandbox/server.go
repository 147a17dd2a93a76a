// Package entrasandbox is a faithful stand-in for Entra ID through Microsoft
// Graph: the client-credentials token endpoint, GET /v1.0/users ($select,
// $top, nextLink) and /v1.0/users/delta (nextLink pages, then a deltaLink;
// later rounds return only changes; deleted users as @removed), the OData
// error envelope, 401 for bad or expired tokens, and 429 with Retry-After.
// Users change through Graph's own endpoints (PATCH/DELETE /v1.0/users/{id},
// DELETE /v1.0/directory/deletedItems/{id}); faults are injected under /_sandbox/.
package entrasandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/faults"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// Page size bounds.
const (
	DefaultPageSize = 100
	MaxPageSize     = 999
)

// defaultFields is what Graph returns for a user without $select; accountEnabled is not among them.
var defaultFields = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// user is a tenant user with the version of its last change.
type user struct {
	props   map[string]any
	version int64
	// removed is "" for a live user, else the @removed reason ("changed" for
	// a soft delete, "deleted" for a permanent one).
	removed string
}

// Server is the sandbox tenant.
type Server struct {
	mu           sync.Mutex
	tenantID     string
	clientID     string
	clientSecret string
	users        map[string]*user
	groups       map[string]*group
	// groupsDenied is whether the app lacks GroupMember.Read.All: then
	// Graph refuses to list groups.
	groupsDenied bool
	version      int64
	tokens       map[string]time.Time
	// TokenLifetime is how long issued access tokens live.
	TokenLifetime time.Duration
	// Latency is added to every request.
	Latency time.Duration
	// RepeatItems makes each delta page start with the previous page's last item, as Graph may.
	RepeatItems bool
	// epoch invalidates every delta token issued before ExpireDeltaTokens.
	epoch    int
	faults   faults.Queue
	requests int
}

// New returns a tenant with one app registration and people as users.
func New(tenantID, clientID, clientSecret string, people []seed.Person) *Server {
	s := &Server{tenantID: tenantID, clientID: clientID, clientSecret: clientSecret, users: map[string]*user{},
		tokens: map[string]time.Time{}, TokenLifetime: time.Hour}
	for _, p := range people {
		if p.Status == domain.UserDeprovisioned {
			continue // departed people were deleted from the tenant
		}
		props := map[string]any{"id": EntraID(p.Key), "displayName": p.DisplayName(), "givenName": p.GivenName,
			"surname": p.FamilyName, "mail": p.Email, "userPrincipalName": p.Email, "accountEnabled": p.Status == domain.UserActive,
			"otherMails": []string{}, "proxyAddresses": []string{"SMTP:" + p.Email}, "businessPhones": []string{},
			"jobTitle": nil, "mobilePhone": nil, "officeLocation": nil, "preferredLanguage": "en-US", "userType": "Member"}
		switch {
		case p.AliasShared: // a proxy address is unique in a tenant; a shared mailbox is an other mail
			props["otherMails"] = []string{p.Alias}
		case p.Alias != "":
			props["proxyAddresses"] = []string{"SMTP:" + p.Email, "smtp:" + p.Alias}
		}
		s.version++
		s.users[EntraID(p.Key)] = &user{props: props, version: s.version}
	}
	return s
}

// AddGuest invites someone from outside the tenant, as Entra B2B does: a
// Guest whose mail is their own address and whose user principal name is
// the tenant's (their address with _ for @, then #EXT#@tenant).
func (s *Server) AddGuest(id, email, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	upn := strings.ReplaceAll(email, "@", "_") + "#EXT#@" + strings.ToLower(s.tenantID) + ".onmicrosoft.com"
	s.users[id] = &user{version: s.version, props: map[string]any{"id": id, "displayName": displayName, "givenName": nil,
		"surname": nil, "mail": email, "userPrincipalName": upn, "accountEnabled": true, "otherMails": []string{email},
		"proxyAddresses": []string{"SMTP:" + email}, "businessPhones": []string{}, "jobTitle": nil, "mobilePhone": nil,
		"officeLocation": nil, "preferredLanguage": nil, "userType": "Guest"}}
}

// EntraID is the sandbox's object id (a GUID) for a seed person's key.
func EntraID(key string) string {
	h := fmt.Sprintf("%032x", []byte(key))
	h = h[len(h)-32:]
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// InjectFaults makes the next count Graph requests fail with status;
// 429 and 503 answers carry Retry-After: retryAfter.
func (s *Server) InjectFaults(status, count, retryAfter int) {
	s.faults.Inject(status, count, retryAfter)
}

// ExpireDeltaTokens makes Graph forget every delta token issued so far.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
}

// ExpireAccessTokens makes every issued access token expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// Requests is how many requests the server has answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Handler serves the token endpoint and Graph.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("GET /v1.0/users", s.graph(s.listUsers))
	mux.HandleFunc("GET /v1.0/users/delta", s.graph(s.delta))
	mux.HandleFunc("PATCH /v1.0/users/{id}", s.graph(s.patchUser))
	mux.HandleFunc("DELETE /v1.0/users/{id}", s.graph(s.deleteUser))
	mux.HandleFunc("DELETE /v1.0/directory/deletedItems/{id}", s.graph(s.purgeUser))
	mux.HandleFunc("GET /v1.0/groups/delta", s.graph(s.groupsDelta))
	mux.HandleFunc("POST /v1.0/groups/{id}/members/$ref", s.graph(s.addMember))
	mux.HandleFunc("DELETE /v1.0/groups/{id}/members/{member}/$ref", s.graph(s.removeMember))
	mux.HandleFunc("DELETE /v1.0/groups/{id}", s.graph(s.deleteGroup))
	mux.HandleFunc("POST /_sandbox/faults", s.faults.Handler(func(w http.ResponseWriter, msg string) {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", msg)
	}))
	mux.HandleFunc("POST /_sandbox/expire-delta-tokens", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireDeltaTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	_ = r.ParseForm()
	switch {
	case r.PathValue("tenant") != s.tenantID:
		writeTokenError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID.", r.PathValue("tenant")))
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "AADSTS70003: The app requested an unsupported grant type.")
	case r.PostForm.Get("scope") != "https://graph.microsoft.com/.default":
		writeTokenError(w, http.StatusBadRequest, "invalid_scope", 70011, "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
	case r.PostForm.Get("client_id") != s.clientID:
		writeTokenError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			"AADSTS700016: Application with identifier '"+r.PostForm.Get("client_id")+"' was not found in the directory.")
	case r.PostForm.Get("client_secret") != s.clientSecret:
		writeTokenError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	default:
		tok := "eyJ0eXAiOiJKV1QifQ." + randomHex(24)
		s.tokens[tok] = time.Now().Add(s.TokenLifetime)
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": int(s.TokenLifetime.Seconds()),
			"ext_expires_in": int(s.TokenLifetime.Seconds()), "access_token": tok})
	}
}

// graph wraps a Graph endpoint with latency, bearer-token checks and injected faults.
func (s *Server) graph(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Latency > 0 {
			time.Sleep(s.Latency)
		}
		s.mu.Lock()
		s.requests++
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		exp, known := s.tokens[tok]
		s.mu.Unlock()
		var f faults.Fault
		faulty := false
		if known {
			f, faulty = s.faults.Next()
		}
		switch {
		case tok == "":
			writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		case !known:
			writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		case time.Now().After(exp):
			writeGraphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		case faulty:
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			code := map[int]string{429: "TooManyRequests", 503: "serviceNotAvailable", 504: "UnknownError"}[f.Status]
			if code == "" {
				code = "generalException"
			}
			writeGraphError(w, f.Status, code, http.StatusText(f.Status))
		default:
			h(w, r)
		}
	}
}

// project returns the selected properties of a user, or Graph's default set.
func project(u *user, sel []string) map[string]any {
	if len(sel) == 0 {
		sel = defaultFields
	}
	out := map[string]any{"id": u.props["id"]}
	for _, f := range sel {
		if v, ok := u.props[f]; ok {
			out[f] = v
		}
	}
	return out
}

var selectable = map[string]bool{"id": true, "displayName": true, "givenName": true, "surname": true, "mail": true,
	"userPrincipalName": true, "otherMails": true, "proxyAddresses": true, "accountEnabled": true, "businessPhones": true,
	"jobTitle": true, "mobilePhone": true, "officeLocation": true, "preferredLanguage": true, "userType": true}

func parseSelect(w http.ResponseWriter, q url.Values) ([]string, bool) {
	v := q.Get("$select")
	if v == "" {
		return nil, true
	}
	sel := strings.Split(v, ",")
	for _, f := range sel {
		if !selectable[f] {
			writeGraphError(w, http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", f))
			return nil, false
		}
	}
	return sel, true
}

// pageToken is the state carried by $skiptoken and $deltatoken.
type pageToken struct {
	Epoch int    `json:"e"`
	Since int64  `json:"s"` // changes after this version; -1 lists every live user
	Upto  int64  `json:"u"` // the round's snapshot version
	After string `json:"a"` // last id served
	Sel   string `json:"f"` // $select, carried into later requests as Graph does
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, bool) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	return t, err == nil && json.Unmarshal(b, &t) == nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	top := DefaultPageSize
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeGraphError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
				fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, MaxPageSize))
			return
		}
		top = n
	}
	sel, ok := parseSelect(w, q)
	if !ok {
		return
	}
	after := ""
	if v := q.Get("$skiptoken"); v != "" {
		t, ok := decodeToken(v)
		if !ok {
			writeGraphError(w, http.StatusBadRequest, "Directory_InvalidSkipToken", "The specified skip token is invalid.")
			return
		}
		after = t.After
	}
	s.mu.Lock()
	var ids []string
	for id, u := range s.users {
		if u.removed == "" && id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	resp := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users"}
	if len(ids) > top {
		ids = ids[:top]
		next := url.Values{"$top": {strconv.Itoa(top)}, "$skiptoken": {encodeToken(pageToken{After: ids[top-1]})}}
		if len(sel) > 0 {
			next.Set("$select", strings.Join(sel, ","))
		}
		resp["@odata.nextLink"] = "http://" + r.Host + "/v1.0/users?" + next.Encode()
	}
	items := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		items = append(items, project(s.users[id], sel))
	}
	s.mu.Unlock()
	resp["value"] = items
	writeJSON(w, http.StatusOK, resp)
}

// delta serves users/delta. A round without a token lists every live user;
// a round from a $deltatoken lists users changed since, deleted ones as
// @removed. Every page but the last has a nextLink; the last has the
// deltaLink for the next round.
func (s *Server) delta(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := DefaultPageSize
	if pref := r.Header.Get("Prefer"); strings.Contains(pref, "odata.maxpagesize=") {
		v := strings.SplitN(strings.SplitN(pref, "odata.maxpagesize=", 2)[1], ",", 2)[0]
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 1 {
			size = min(n, MaxPageSize)
			w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var t pageToken
	switch {
	case q.Get("$skiptoken") != "" || q.Get("$deltatoken") != "":
		raw := q.Get("$skiptoken") + q.Get("$deltatoken")
		var ok bool
		if t, ok = decodeToken(raw); !ok || t.Epoch != s.epoch {
			writeGraphError(w, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. Please restart sync.")
			return
		}
		if q.Get("$deltatoken") != "" { // a new round of changes since the last one
			t = pageToken{Epoch: s.epoch, Since: t.Upto, Upto: s.version, Sel: t.Sel}
		}
	default:
		if _, ok := parseSelect(w, q); !ok {
			return
		}
		t = pageToken{Epoch: s.epoch, Since: -1, Upto: s.version, Sel: q.Get("$select")}
	}
	var sel []string
	if t.Sel != "" {
		sel = strings.Split(t.Sel, ",")
	}
	var ids []string
	for id, u := range s.users {
		if id <= t.After || u.version > t.Upto {
			continue
		}
		if t.Since < 0 && u.removed == "" || t.Since >= 0 && u.version > t.Since {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	resp := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users"}
	more := len(ids) > size
	if more {
		ids = ids[:size]
	}
	items := make([]map[string]any, 0, len(ids)+1)
	if s.RepeatItems && t.After != "" {
		if u := s.users[t.After]; u != nil && u.removed == "" {
			items = append(items, project(u, sel))
		}
	}
	for _, id := range ids {
		u := s.users[id]
		if u.removed != "" {
			items = append(items, map[string]any{"id": id, "@removed": map[string]string{"reason": u.removed}})
		} else {
			items = append(items, project(u, sel))
		}
	}
	base := "http://" + r.Host + "/v1.0/users/delta?"
	if more {
		t.After = ids[len(ids)-1]
		resp["@odata.nextLink"] = base + url.Values{"$skiptoken": {encodeToken(t)}}.Encode()
	} else {
		t.After = ""
		resp["@odata.deltaLink"] = base + url.Values{"$deltatoken": {encodeToken(t)}}.Encode()
	}
	resp["value"] = items
	writeJSON(w, http.StatusOK, resp)
}

// patchUser updates writable properties (accountEnabled, names, mail).
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeGraphError(w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[r.PathValue("id")]
	if u == nil || u.removed != "" {
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", r.PathValue("id")))
		return
	}
	for k := range body {
		if !selectable[k] || k == "id" {
			writeGraphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Property '%s' is not writable.", k))
			return
		}
	}
	for k, v := range body {
		u.props[k] = v
	}
	s.version++
	u.version = s.version
	w.WriteHeader(http.StatusNoContent)
}

// deleteUser soft-deletes a user (to deleted items): delta reports it removed with reason "changed".
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	s.remove(w, r.PathValue("id"), "", "changed")
}

// purgeUser permanently deletes a soft-deleted user: delta reports reason "deleted".
func (s *Server) purgeUser(w http.ResponseWriter, r *http.Request) {
	s.remove(w, r.PathValue("id"), "changed", "deleted")
}

func (s *Server) remove(w http.ResponseWriter, id, from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil || u.removed != from {
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", id))
		return
	}
	u.removed = to
	s.version++
	u.version = s.version
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeGraphError(w http.ResponseWriter, status int, code, message string) {
	id := randomHex(16)
	w.Header().Set("request-id", id)
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message,
		"innerError": map[string]string{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": id, "client-request-id": id}}})
}

func writeTokenError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	trace := randomHex(16)
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc + "\r\nTrace ID: " + trace,
		"error_codes": []int{aadsts}, "timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"), "trace_id": trace,
		"correlation_id": randomHex(16)})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Package oktasandbox is a faithful stand-in for the Okta Users API: SSWS
// auth, DEPROVISIONED users hidden unless a status filter or a search asks
// for them, q, Link-header paging, Okta's filter and search grammars and
// error bodies, rate-limit
// headers and 429 E0000047, and the lifecycle endpoints that change a
// user's status. Fault injection lives under /_sandbox/.
package oktasandbox

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/faults"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
)

// MaxLimit is the largest page size the users listing serves.
const MaxLimit = 200

// Profile is an Okta user profile.
type Profile struct {
	Login       string `json:"login"`
	Email       string `json:"email"`
	SecondEmail string `json:"secondEmail,omitempty"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
}

// User is an Okta user object.
type User struct {
	ID              string    `json:"id"`
	Status          string    `json:"status"`
	Created         time.Time `json:"created"`
	Activated       time.Time `json:"activated"`
	StatusChanged   time.Time `json:"statusChanged"`
	LastUpdated     time.Time `json:"lastUpdated"`
	PasswordChanged time.Time `json:"passwordChanged"`
	Type            struct {
		ID string `json:"id"`
	} `json:"type"`
	Profile Profile `json:"profile"`
}

// Server is the sandbox Okta org.
type Server struct {
	mu    sync.Mutex
	token string
	users map[string]*User
	// ids are the users' ids in order, for paging; nil after a user is
	// added or deleted, until the next listing sorts them again.
	ids []string
	// Latency is added to every request.
	Latency time.Duration
	// RateLimit is the number of calls per Window (0: unlimited).
	RateLimit   int
	Window      time.Duration
	windowStart time.Time
	windowCalls int
	faults      faults.Queue
	requests    int
	// ClockSkew is how far Okta's clock is ahead of this machine's: its
	// Date header and rate-limit resets are on Okta's clock.
	ClockSkew time.Duration
	// apps are the registered service apps, accessTokens what they were
	// issued, usedJTIs the assertions and proofs already seen.
	groups       map[string]*Group
	apps         map[string]ServiceApp
	oidc         oidcState
	accessTokens map[string]accessToken
	usedJTIs     map[string]bool
}

// now is Okta's clock.
func (s *Server) now() time.Time { return time.Now().Add(s.ClockSkew) }

// New returns an org that accepts token and holds people.
func New(token string, people []seed.Person) *Server {
	s := &Server{token: token, users: map[string]*User{}, Window: time.Minute}
	created := time.Date(2023, 1, 9, 8, 0, 0, 0, time.UTC)
	for i, p := range people {
		u := &User{ID: OktaID(p.Key), Status: oktaStatus(p.Status), Created: created, Activated: created,
			StatusChanged: created.Add(time.Duration(i) * time.Hour), LastUpdated: created.Add(time.Duration(i) * time.Hour),
			PasswordChanged: created,
			Profile:         Profile{Login: p.Email, Email: p.Email, SecondEmail: p.Alias, FirstName: p.GivenName, LastName: p.FamilyName}}
		u.Type.ID = "oty1defaultusertype0"
		s.users[u.ID] = u
	}
	return s
}

// OktaID is the sandbox's Okta id for a seed person's key.
func OktaID(key string) string { return "00u" + fmt.Sprintf("%017s", key) }

func oktaStatus(s domain.UserStatus) string {
	switch s {
	case domain.UserSuspended:
		return "SUSPENDED"
	case domain.UserDeprovisioned:
		return "DEPROVISIONED"
	}
	return "ACTIVE"
}

// InjectFaults makes the next count API requests fail with status (429
// answers carry rate-limit headers resetting after retryAfter seconds).
func (s *Server) InjectFaults(status, count, retryAfter int) {
	s.faults.Inject(status, count, retryAfter)
}

// Requests is how many API requests the server has answered.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// SetStatus changes a user's status as an Okta admin would.
func (s *Server) SetStatus(id, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("no user %s", id)
	}
	s.setStatus(u, status)
	return nil
}

func (s *Server) setStatus(u *User, status string) {
	now := s.now().UTC()
	u.Status, u.StatusChanged, u.LastUpdated = status, now, now
}

// Handler serves the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/users", s.api("users", s.listUsers))
	mux.HandleFunc("POST /api/v1/users", s.api("users", s.createUser))
	mux.HandleFunc("GET /api/v1/users/{id}", s.api("users", s.getUser))
	mux.HandleFunc("DELETE /api/v1/users/{id}", s.api("users", s.deleteUser))
	mux.HandleFunc("POST /api/v1/users/{id}/lifecycle/{op}", s.api("users", s.lifecycle))
	mux.HandleFunc("GET /api/v1/groups", s.api("groups", s.listGroups))
	mux.HandleFunc("POST /api/v1/groups", s.api("groups", s.createGroup))
	mux.HandleFunc("GET /api/v1/groups/{id}/users", s.api("groups", s.groupMembers))
	mux.HandleFunc("PUT /api/v1/groups/{id}/users/{user}", s.api("groups", s.membership))
	mux.HandleFunc("DELETE /api/v1/groups/{id}/users/{user}", s.api("groups", s.membership))
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /oauth2/v1/authorize", s.authorize)
	mux.HandleFunc("POST /oauth2/v1/authorize", s.authorize)
	mux.HandleFunc("GET /oauth2/v1/keys", s.keys)
	mux.HandleFunc("GET /oauth2/v1/userinfo", s.userinfo)
	mux.HandleFunc("POST /oauth2/v1/token", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		s.issueToken(w, r)
	})
	mux.HandleFunc("POST /_sandbox/faults", s.faults.Handler(func(w http.ResponseWriter, msg string) {
		writeError(w, http.StatusBadRequest, "E0000003", msg)
	}))
	return mux
}

// api wraps an endpoint with latency, auth, rate limiting and injected
// faults; a service app's token needs okta.<resource>.read to read and
// okta.<resource>.manage to change.
func (s *Server) api(resource string, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Latency > 0 {
			time.Sleep(s.Latency)
		}
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		s.mu.Lock()
		s.requests++
		scope := "okta." + resource + ".manage"
		if r.Method == http.MethodGet {
			scope = "okta." + resource + ".read"
		}
		if !s.authorized(w, r, scope) {
			s.mu.Unlock()
			return
		}
		limited, reset := s.countCall(w)
		s.mu.Unlock()
		f, faulty := s.faults.Next()
		switch {
		case faulty && f.Status == http.StatusTooManyRequests:
			w.Header().Set("X-Rate-Limit-Remaining", "0")
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(s.now().Add(time.Duration(f.RetryAfter)*time.Second).Unix(), 10))
			writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		case faulty:
			writeError(w, f.Status, "E0000009", "Internal Server Error")
		case limited:
			w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
			writeError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		default:
			h(w, r)
		}
	}
}

// countCall applies the per-window rate limit and sets Okta's headers. Caller holds mu.
func (s *Server) countCall(w http.ResponseWriter) (limited bool, reset time.Time) {
	if s.RateLimit <= 0 {
		return false, time.Time{}
	}
	now := s.now()
	if now.Sub(s.windowStart) >= s.Window {
		s.windowStart, s.windowCalls = now, 0
	}
	// Okta reports the reset in whole epoch seconds, rounded up.
	reset = s.windowStart.Add(s.Window).Add(time.Second - 1).Truncate(time.Second)
	s.windowCalls++
	remaining := max(s.RateLimit-s.windowCalls, 0)
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(s.RateLimit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return s.windowCalls > s.RateLimit, reset
}

// listUsers serves GET /api/v1/users as Okta does: a plain listing hides
// DEPROVISIONED users; filter (up-to-date data) shows them only when it
// compares status; search shows users of every status; q finds by the
// start of a first name, last name or e-mail, 10 by default and unpaged.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if n := btoi(q.Has("filter")) + btoi(q.Has("search")) + btoi(q.Has("q")); n > 1 {
		writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", "use one of filter, search and q")
		return
	}
	limit := MaxLimit
	if q.Has("q") {
		limit = 10
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit", "limit: must be a positive integer")
			return
		}
		limit = min(n, MaxLimit)
	}
	// carried is the query parameter the page links keep, if any.
	carried := ""
	match := func(u *User) bool { return u.Status != "DEPROVISIONED" }
	switch {
	case q.Has("q"):
		term := strings.ToLower(q.Get("q"))
		match = func(u *User) bool {
			return u.Status != "DEPROVISIONED" && (strings.HasPrefix(strings.ToLower(u.Profile.FirstName), term) ||
				strings.HasPrefix(strings.ToLower(u.Profile.LastName), term) || strings.HasPrefix(strings.ToLower(u.Profile.Email), term))
		}
	case q.Has("search"):
		if by, order := q.Get("sortBy"), q.Get("sortOrder"); by != "" && by != "id" || order != "" && order != "asc" {
			writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", "the sandbox sorts search results by id, ascending")
			return
		}
		expr, err := parseSearch(q.Get("search"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", err.Error())
			return
		}
		carried, match = "search", expr.match
	case q.Has("filter"):
		expr, err := parseFilter(q.Get("filter"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.", err.Error())
			return
		}
		carried = "filter"
		match = func(u *User) bool { return (u.Status != "DEPROVISIONED" || expr.mentionsStatus()) && expr.match(u) }
	}
	after := q.Get("after")
	s.mu.Lock()
	if s.ids == nil {
		s.ids = slices.Sorted(maps.Keys(s.users))
	}
	// One more than a page tells whether another follows.
	var matched []User
	start, found := slices.BinarySearch(s.ids, after)
	if found {
		start++
	}
	for _, id := range s.ids[start:] {
		if len(matched) > limit {
			break
		}
		if u := s.users[id]; match(u) {
			matched = append(matched, *u)
		}
	}
	s.mu.Unlock()

	base := "http://" + r.Host + "/api/v1/users"
	link := func(rel string, extra url.Values) {
		v := url.Values{"limit": {strconv.Itoa(limit)}}
		if carried != "" {
			v.Set(carried, q.Get(carried))
		}
		for k, vs := range extra {
			v[k] = vs
		}
		w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="%s"`, base, v.Encode(), rel))
	}
	link("self", nil)
	if len(matched) > limit {
		matched = matched[:limit]
		if !q.Has("q") { // a find is one page
			link("next", url.Values{"after": {matched[limit-1].ID}})
		}
	}
	if matched == nil {
		matched = []User{}
	}
	writeJSON(w, http.StatusOK, matched)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.pathUser(w, r)
	if u == nil {
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// pathUser finds the user named in the path or answers Okta's 404. Caller holds mu.
func (s *Server) pathUser(w http.ResponseWriter, r *http.Request) *User {
	u := s.findUser(r.PathValue("id"))
	if u == nil {
		writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (User)")
	}
	return u
}

// findUser looks a user up by id or login, as Okta does. Caller holds mu.
func (s *Server) findUser(idOrLogin string) *User {
	if u, ok := s.users[idOrLogin]; ok {
		return u
	}
	for _, u := range s.users {
		if strings.EqualFold(u.Profile.Login, idOrLogin) {
			return u
		}
	}
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Profile Profile `json:"profile"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "E0000003", "The request body was not well-formed.")
		return
	}
	p := body.Profile
	if p.Login == "" || p.Email == "" || p.FirstName == "" || p.LastName == "" {
		writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: login", "login, email, firstName and lastName are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.findUser(p.Login) != nil {
		writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: login", "login: An object with this field already exists in the current organization")
		return
	}
	now := s.now().UTC()
	status := "ACTIVE"
	if r.URL.Query().Get("activate") == "false" {
		status = "STAGED"
	}
	u := &User{ID: "00u" + randomID(17), Status: status, Created: now, Activated: now, StatusChanged: now, LastUpdated: now, Profile: p}
	u.Type.ID = "oty1defaultusertype0"
	s.users[u.ID] = u
	s.ids = nil
	writeJSON(w, http.StatusOK, u)
}

// lifecycle implements deactivate (→ DEPROVISIONED), suspend, unsuspend and activate.
func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.pathUser(w, r)
	if u == nil {
		return
	}
	from := map[string][]string{
		"deactivate": {"STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"},
		"suspend":    {"ACTIVE"},
		"unsuspend":  {"SUSPENDED"},
		"activate":   {"STAGED", "PROVISIONED", "DEPROVISIONED"},
	}
	to := map[string]string{"deactivate": "DEPROVISIONED", "suspend": "SUSPENDED", "unsuspend": "ACTIVE", "activate": "ACTIVE"}
	op := r.PathValue("op")
	allowed, ok := from[op]
	if !ok {
		writeError(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	valid := false
	for _, st := range allowed {
		valid = valid || st == u.Status
	}
	if !valid {
		writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: status", "cannot "+op+" a user in status "+u.Status)
		return
	}
	s.setStatus(u, to[op])
	writeJSON(w, http.StatusOK, map[string]any{})
}

// deleteUser: the first DELETE deactivates, a second one on a DEPROVISIONED user deletes it.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.pathUser(w, r)
	if u == nil {
		return
	}
	if u.Status == "DEPROVISIONED" {
		delete(s.users, u.ID)
		s.ids = nil
		for _, g := range s.groups {
			delete(g.members, u.ID)
		}
	} else {
		s.setStatus(u, "DEPROVISIONED")
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, summary string, causes ...string) {
	type cause struct {
		ErrorSummary string `json:"errorSummary"`
	}
	cs := []cause{}
	for _, c := range causes {
		cs = append(cs, cause{c})
	}
	writeJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae" + randomID(19), "errorCauses": cs})
}

func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Package pinsandbox is a sandbox of the Pinterest Business Manager web app
// and of Pinterest's REST API v5 for business access (api.go), over the
// same businesses. The web app has the pages Hubkeeper's browser
// automation drives: login (with a
// verification code for a new browser), the members table with paging,
// adding employees with a role, editing and removing a member, pending
// invitations, ad accounts and who holds them. Sessions and CSRF tokens work
// as in a real web app. Flow switches between the older "Employees" pages
// and the newer "People" pages, whose markup differs, so selector tolerance
// can be tested.
package pinsandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Roles, as the v5 API names them; the UI says Employee, Manager, Partner.
const (
	RoleEmployee = "EMPLOYEE"
	RoleManager  = "BIZ_ADMIN"
	RolePartner  = "PARTNER"
)

// The UI flows.
const (
	FlowEmployees = "employees"
	FlowPeople    = "people"
	// FlowRedesign is members markup no automation knows yet: a UI change, to
	// test that the automation fails clearly, with a capture.
	FlowRedesign = "redesign"
)

// Member is a person in the business.
type Member struct {
	ID    string
	Name  string
	Email string
	Role  string
}

// Invite is an invitation, PENDING until the invitee accepts, it is
// cancelled, or it expires.
type Invite struct {
	ID     string
	Email  string
	Role   string
	Status string
	// Sent, Updated and Expires are when it was sent, last changed and
	// stops being PENDING (zero: never).
	Sent, Updated, Expires time.Time
}

// AdAccount is an ad account and its holders' permissions (ADMIN, ANALYST,
// CAMPAIGN_MANAGER, …): the web app shows one; the API may set several,
// kept joined by commas.
type AdAccount struct {
	ID      string
	Name    string
	Holders map[string]string
}

// Business is one Pinterest Business Manager.
type Business struct {
	ID         string
	Name       string
	Members    map[string]*Member
	Invites    map[string]*Invite
	AdAccounts map[string]*AdAccount
}

type session struct {
	email   string
	csrf    string
	expires time.Time
}

type pendingLogin struct {
	email string
	code  string
}

// Server is the sandbox web app.
type Server struct {
	mu         sync.Mutex
	businesses map[string]*Business
	// passwords maps a login e-mail to its password.
	passwords map[string]string
	sessions  map[string]*session
	// devices are browsers that passed a verification code.
	devices map[string]bool
	pending map[string]*pendingLogin
	// codes are the verification codes last sent, by e-mail (what the person would read).
	codes map[string]string
	seq   int
	// The API's OAuth apps, authorization codes, access and refresh tokens.
	apps        map[string]*oauthApp
	authCodes   map[string]*authCode
	tokens      map[string]*apiToken
	throttled   int
	apiRequests int

	// Flow picks the "employees" or the "people" pages.
	Flow string
	// RequireVerification asks a browser it has not seen for a code after the password.
	RequireVerification bool
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// PageSize is how many members a table page shows.
	PageSize int
	// Latency is added to every page and API call.
	Latency time.Duration
	// AccessTokenTTL is how long the API's access tokens last.
	AccessTokenTTL time.Duration
	pages          int
	logins         int
}

// New returns an empty sandbox on the older Employees flow.
func New() *Server {
	return &Server{businesses: map[string]*Business{}, passwords: map[string]string{}, sessions: map[string]*session{},
		devices: map[string]bool{}, pending: map[string]*pendingLogin{}, codes: map[string]string{},
		apps: map[string]*oauthApp{}, authCodes: map[string]*authCode{}, tokens: map[string]*apiToken{},
		Flow: FlowEmployees, SessionTTL: time.Hour, PageSize: 25, AccessTokenTTL: AccessTokenTTL}
}

// NewBusiness makes an empty business.
func NewBusiness(id, name string) *Business {
	return &Business{ID: id, Name: name, Members: map[string]*Member{}, Invites: map[string]*Invite{}, AdAccounts: map[string]*AdAccount{}}
}

// AddBusiness adds a business.
func (s *Server) AddBusiness(b *Business) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.businesses[b.ID] = b
}

// AddAccount lets email log in with password.
func (s *Server) AddAccount(email, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords[strings.ToLower(email)] = password
}

// Business returns a business for inspection between requests.
func (s *Server) Business(id string) *Business {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.businesses[id]
}

// VerificationCode is the last code sent to email, as the person would read it.
func (s *Server) VerificationCode(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[strings.ToLower(email)]
}

// ExpireSessions ends every login, as a server-side timeout does.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// AcceptInvite makes the invitee a member, as their click on the invitation does.
func (s *Server) AcceptInvite(businessID, inviteID, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.businesses[businessID]
	if b == nil || b.Invites[inviteID] == nil || inviteStatus(b.Invites[inviteID], time.Now()) != "PENDING" {
		return "", fmt.Errorf("no pending invite %s in business %s", inviteID, businessID)
	}
	inv := b.Invites[inviteID]
	inv.Status = "ACCEPTED"
	id := s.nextID(b)
	b.Members[id] = &Member{ID: id, Name: name, Email: inv.Email, Role: inv.Role}
	return id, nil
}

// Stats is how many pages were served and how many logins succeeded.
func (s *Server) Stats() (pages, logins int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pages, s.logins
}

// nextID makes a member or invite id. Caller holds mu.
func (s *Server) nextID(b *Business) string {
	s.seq++
	return strconv.Itoa(549755813000 + len(b.Members) + len(b.Invites) + s.seq)
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// verificationCode is a random six-digit code, as Pinterest e-mails.
func verificationCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// ServeHTTP routes the web app's pages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/_sandbox/"):
		s.control(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/v5/"):
		s.api(w, r)
		return
	case r.URL.Path == "/oauth/":
		s.consent(w, r)
		return
	}
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages++
	w.Header().Set("Cache-Control", "no-store")
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "login":
		s.login(w, r)
		return
	case path == "login/verify":
		s.verify(w, r)
		return
	case path == "favicon.ico":
		http.NotFound(w, r)
		return
	}
	sess := s.session(r)
	if sess == nil {
		http.Redirect(w, r, "/login/?next="+template.URLQueryEscaper(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	parts := strings.Split(path, "/")
	if path == "business" {
		for _, id := range sortedKeys(s.businesses) {
			if s.memberByEmail(s.businesses[id], sess.email) != nil {
				http.Redirect(w, r, "/business/business-access/"+id+"/", http.StatusSeeOther)
				return
			}
		}
	}
	if len(parts) < 3 || parts[0] != "business" || parts[1] != "business-access" || s.businesses[parts[2]] == nil {
		http.NotFound(w, r)
		return
	}
	b := s.businesses[parts[2]]
	me := s.memberByEmail(b, sess.email)
	if me == nil || me.Role != RoleManager {
		w.WriteHeader(http.StatusForbidden)
		s.render(w, "forbidden", map[string]any{"Business": b})
		return
	}
	if r.Method == http.MethodPost && r.FormValue("csrf_token") != sess.csrf {
		w.WriteHeader(http.StatusForbidden)
		s.render(w, "forbidden", map[string]any{"Business": b, "CSRF": true})
		return
	}
	rest := parts[3:]
	base := "/business/business-access/" + b.ID + "/"
	data := map[string]any{"Business": b, "Base": base, "CSRF": sess.csrf, "Me": me, "Flow": s.Flow}
	switch {
	case len(rest) == 0:
		http.Redirect(w, r, base+s.Flow+"/", http.StatusSeeOther)
	case len(rest) == 1 && rest[0] == s.Flow && r.Method == http.MethodGet:
		s.membersPage(w, r, b, data)
	case len(rest) == 2 && rest[0] == s.Flow && (rest[1] == "add" || rest[1] == "invite"):
		s.addPage(w, r, b, data)
	case len(rest) == 2 && rest[0] == "members" && b.Members[rest[1]] != nil && r.Method == http.MethodGet:
		data["Member"] = b.Members[rest[1]]
		s.render(w, "member", data)
	case len(rest) == 3 && rest[0] == "members" && b.Members[rest[1]] != nil && r.Method == http.MethodPost:
		s.changeMember(w, r, b, b.Members[rest[1]], rest[2], base)
	case len(rest) == 1 && rest[0] == "invites":
		var invites []*Invite
		for _, inv := range b.Invites {
			if inviteStatus(inv, time.Now()) == "PENDING" {
				invites = append(invites, inv)
			}
		}
		sort.Slice(invites, func(i, j int) bool { return invites[i].ID < invites[j].ID })
		data["Invites"] = invites
		s.render(w, "invites", data)
	case len(rest) == 1 && rest[0] == "ad-accounts":
		var accounts []*AdAccount
		for _, a := range b.AdAccounts {
			accounts = append(accounts, a)
		}
		sort.Slice(accounts, func(i, j int) bool { return accounts[i].ID < accounts[j].ID })
		data["AdAccounts"] = accounts
		s.render(w, "adaccounts", data)
	case len(rest) == 2 && rest[0] == "ad-accounts" && b.AdAccounts[rest[1]] != nil:
		a := b.AdAccounts[rest[1]]
		var holders []map[string]string
		for _, id := range sortedKeys(a.Holders) {
			if m := b.Members[id]; m != nil {
				holders = append(holders, map[string]string{"ID": id, "Name": m.Name, "Email": m.Email, "Permission": a.Holders[id]})
			}
		}
		data["Account"], data["Holders"] = a, holders
		s.render(w, "adaccount", data)
	default:
		http.NotFound(w, r)
	}
}

// control serves the sandbox's own endpoints, which stand in for what
// people and Pinterest do outside the web app:
//
//	GET  /_sandbox/verification-code?email=…   the code last sent to the address
//	POST /_sandbox/invites/{id}/accept          {"name"}: the invitee accepts
//	POST /_sandbox/settings                     {"flow": "employees"|"people"|"redesign", "require_verification": bool}
//	POST /_sandbox/sessions/expire              every login ends
func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/_sandbox/"), "/"), "/")
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	var body struct {
		Name                string `json:"name"`
		Flow                string `json:"flow"`
		RequireVerification *bool  `json:"require_verification"`
	}
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": "send a JSON object"})
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "verification-code":
		reply(http.StatusOK, map[string]string{"code": s.VerificationCode(r.URL.Query().Get("email"))})
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "invites" && parts[2] == "accept":
		s.mu.Lock()
		var businessID string
		for id, b := range s.businesses {
			if b.Invites[parts[1]] != nil {
				businessID = id
			}
		}
		s.mu.Unlock()
		memberID, err := s.AcceptInvite(businessID, parts[1], cmp.Or(body.Name, "New member"))
		if err != nil {
			reply(http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		reply(http.StatusOK, map[string]string{"member_id": memberID})
	case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "settings":
		if body.Flow != "" && body.Flow != FlowEmployees && body.Flow != FlowPeople && body.Flow != FlowRedesign {
			reply(http.StatusBadRequest, map[string]string{"error": `flow must be "employees", "people" or "redesign"`})
			return
		}
		s.mu.Lock()
		if body.Flow != "" {
			s.Flow = body.Flow
		}
		if body.RequireVerification != nil {
			s.RequireVerification = *body.RequireVerification
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && len(parts) == 2 && parts[0] == "sessions" && parts[1] == "expire":
		s.ExpireSessions()
		w.WriteHeader(http.StatusNoContent)
	default:
		reply(http.StatusNotFound, map[string]string{"error": "unknown sandbox control " + r.Method + " " + r.URL.Path})
	}
}

// session returns the request's live session. Caller holds mu.
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie("_pinterest_sess")
	if err != nil {
		return nil
	}
	sess := s.sessions[c.Value]
	if sess == nil || time.Now().After(sess.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	return sess
}

func (s *Server) memberByEmail(b *Business, email string) *Member {
	for _, m := range b.Members {
		if strings.EqualFold(m.Email, email) {
			return m
		}
	}
	return nil
}

// login shows the form (with a double-submit CSRF cookie) and checks the password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := nextPage(r)
	if r.Method != http.MethodPost {
		// The token lives as long as the cookie: another tab's login page must not void this one's.
		token := random()
		if c, err := r.Cookie("csrftoken"); err == nil && c.Value != "" {
			token = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		s.render(w, "login", map[string]any{"CSRF": token, "Next": next})
		return
	}
	c, err := r.Cookie("csrftoken")
	if err != nil || c.Value == "" || c.Value != r.FormValue("csrf_token") {
		w.WriteHeader(http.StatusForbidden)
		s.render(w, "forbidden", map[string]any{"CSRF": true})
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.FormValue("id")))
	if want, ok := s.passwords[email]; !ok || want != r.FormValue("password") {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, "login", map[string]any{"CSRF": c.Value, "Next": next, "Error": "The password you entered is incorrect."})
		return
	}
	device, _ := r.Cookie("_pinterest_device")
	if s.RequireVerification && (device == nil || !s.devices[device.Value]) {
		token, code := random(), verificationCode()
		s.pending[token] = &pendingLogin{email: email, code: code}
		s.codes[email] = code
		http.SetCookie(w, &http.Cookie{Name: "_pinterest_pending", Value: token, Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/login/verify/?next="+template.URLQueryEscaper(next), http.StatusSeeOther)
		return
	}
	s.startSession(w, r, email, next)
}

// verify takes the code sent for a new browser and trusts the browser after.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	next := nextPage(r)
	c, err := r.Cookie("_pinterest_pending")
	if err != nil || s.pending[c.Value] == nil {
		http.Redirect(w, r, "/login/", http.StatusSeeOther)
		return
	}
	p := s.pending[c.Value]
	if r.Method != http.MethodPost {
		s.render(w, "verify", map[string]any{"Next": next})
		return
	}
	if strings.TrimSpace(r.FormValue("code")) != p.code {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, "verify", map[string]any{"Next": next, "Error": "That code is not right. Check the code we sent and try again."})
		return
	}
	delete(s.pending, c.Value)
	device := random()
	s.devices[device] = true
	http.SetCookie(w, &http.Cookie{Name: "_pinterest_device", Value: device, Path: "/", HttpOnly: true, MaxAge: 365 * 24 * 3600})
	s.startSession(w, r, p.email, next)
}

// nextPage is where a login goes after: a page of the business app.
func nextPage(r *http.Request) string {
	if next := r.FormValue("next"); strings.HasPrefix(next, "/business/") || strings.HasPrefix(next, "/oauth/") {
		return next
	}
	return "/business/"
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, email, next string) {
	id := random()
	s.sessions[id] = &session{email: email, csrf: random(), expires: time.Now().Add(s.SessionTTL)}
	s.logins++
	http.SetCookie(w, &http.Cookie{Name: "_pinterest_sess", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// membersPage shows one page of the members table, in member id order.
func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, b *Business, data map[string]any) {
	ids := sortedKeys(b.Members)
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	from := min((page-1)*s.PageSize, len(ids))
	to := min(from+s.PageSize, len(ids))
	var members []*Member
	for _, id := range ids[from:to] {
		members = append(members, b.Members[id])
	}
	data["Members"], data["Total"] = members, len(ids)
	if to < len(ids) {
		data["Next"] = page + 1
	}
	s.render(w, s.Flow, data)
}

// addPage shows the add form or adds the e-mails as pending invitations.
func (s *Server) addPage(w http.ResponseWriter, r *http.Request, b *Business, data map[string]any) {
	if r.Method != http.MethodPost {
		s.render(w, s.Flow+"-add", data)
		return
	}
	role := r.FormValue("role")
	if role != RoleEmployee && role != RoleManager {
		data["Error"] = "Choose a role."
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, s.Flow+"-add", data)
		return
	}
	var emails []string
	for _, e := range strings.FieldsFunc(r.FormValue("emails"), func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' }) {
		if !strings.Contains(e, "@") {
			data["Error"] = e + " is not an e-mail address."
			w.WriteHeader(http.StatusBadRequest)
			s.render(w, s.Flow+"-add", data)
			return
		}
		emails = append(emails, strings.ToLower(e))
	}
	if len(emails) == 0 || len(emails) > 50 {
		data["Error"] = "Add between 1 and 50 e-mail addresses."
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, s.Flow+"-add", data)
		return
	}
	for _, e := range emails {
		if s.memberByEmail(b, e) != nil || slices.ContainsFunc(sortedKeys(b.Invites), func(id string) bool {
			return b.Invites[id].Email == e && inviteStatus(b.Invites[id], time.Now()) == "PENDING"
		}) {
			continue // already a member or invited: nothing new
		}
		id := s.nextID(b)
		now := time.Now()
		b.Invites[id] = &Invite{ID: id, Email: e, Role: role, Status: "PENDING", Sent: now, Updated: now, Expires: now.Add(InviteTTL)}
	}
	http.Redirect(w, r, data["Base"].(string)+"invites/", http.StatusSeeOther)
}

// changeMember saves a role or removes a member (and every ad account permission).
func (s *Server) changeMember(w http.ResponseWriter, r *http.Request, b *Business, m *Member, action, base string) {
	switch action {
	case "role":
		role := r.FormValue("role")
		if role != RoleEmployee && role != RoleManager {
			http.Error(w, "unknown role", http.StatusBadRequest)
			return
		}
		m.Role = role
	case "remove":
		delete(b.Members, m.ID)
		for _, a := range b.AdAccounts {
			delete(a.Holders, m.ID)
		}
	default:
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, base+s.Flow+"/", http.StatusSeeOther)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) render(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var roleNames = map[string]string{RoleEmployee: "Employee", RoleManager: "Manager", RolePartner: "Partner"}

var pages = template.Must(template.New("").Funcs(template.FuncMap{"role": func(r string) string { return roleNames[r] }}).Parse(pageTemplates))

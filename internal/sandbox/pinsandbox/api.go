package pinsandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The sandbox of Pinterest's REST API v5, business access: the OAuth 2.0
// authorization code flow (the consent page on the web app, /v5/oauth/token
// with refresh), members, invitations, ad accounts and permissions, and
// partners of the same businesses the web app serves, built to
// specs/pinterest-v5-business-access.yaml (a copy is in testdata). Lists
// page with bookmarks; batches answer each item on its own; errors are
// {code, message}.

// API scopes Hubkeeper asks for.
const (
	ScopeRead  = "biz_access:read"
	ScopeWrite = "biz_access:write"
)

// Token lifetimes, as Pinterest's continuous refresh tokens have them.
const (
	AccessTokenTTL  = 30 * 24 * time.Hour
	RefreshTokenTTL = 60 * 24 * time.Hour
	// InviteTTL is how long an invitation stays PENDING before it is EXPIRED.
	InviteTTL = 30 * 24 * time.Hour
)

// apiPageMax is page_size's maximum; apiPageDefault its default.
const (
	apiPageMax     = 250
	apiPageDefault = 25
)

type oauthApp struct {
	secret    string
	redirects []string
}

type authCode struct {
	clientID, redirect, email string
	scopes                    []string
	expires                   time.Time
}

type apiToken struct {
	clientID, email string
	scopes          []string
	expires         time.Time
}

// AddApp registers an OAuth app whose consent may redirect to redirectURI.
func (s *Server) AddApp(clientID, secret, redirectURI string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	if a == nil {
		a = &oauthApp{secret: secret}
		s.apps[clientID] = a
	}
	a.redirects = append(a.redirects, redirectURI)
}

// ExpireAccessTokens ends every access token, as their 30 days passing
// does; refresh tokens still work.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		if !strings.HasPrefix(k, "pinr.") {
			t.expires = time.Now().Add(-time.Second)
		}
	}
}

// RevokeRefreshTokens ends every refresh token, as an admin removing the
// app's access does.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		if strings.HasPrefix(k, "pinr.") {
			delete(s.tokens, k)
		}
	}
}

// IssuedTokens lists every access and refresh token still known, for
// tests that look for them where they must not be.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.tokens)
}

// ThrottleAPI makes the next n API calls answer 429.
func (s *Server) ThrottleAPI(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled = n
}

// APIRequests is how many API calls were made.
func (s *Server) APIRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiRequests
}

// apiError answers Pinterest's error body.
func apiError(w http.ResponseWriter, status, code int, message string) {
	apiJSON(w, status, map[string]any{"code": code, "message": message})
}

func apiJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><title>Give access to {{.Client}}</title></head><body>
<main data-test-id="oauth-consent"><h1>{{.Client}} wants access to your Pinterest account</h1>
<ul>{{range .Scopes}}<li data-test-id="oauth-scope">{{.}}</li>{{end}}</ul>
<form method="post" action="/oauth/"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<button type="submit" name="decision" value="allow" data-test-id="oauth-allow">Give access</button>
<button type="submit" name="decision" value="deny" data-test-id="oauth-deny">Cancel</button></form></main></body></html>`))

// consent is www.pinterest.com/oauth/: a logged-in person allows or
// denies an app the scopes it asks for, and goes back to its redirect URI
// with a one-time code (or error=access_denied) and the state.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.session(r)
	if sess == nil {
		http.Redirect(w, r, "/login/?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("csrf_token") != sess.csrf {
			http.Error(w, "bad form", http.StatusForbidden)
			return
		}
		q = r.PostForm
	}
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	a := s.apps[clientID]
	known := a != nil && slices.Contains(a.redirects, redirect)
	if !known || q.Get("response_type") != "code" {
		http.Error(w, "unknown client_id or redirect_uri, or response_type is not code", http.StatusBadRequest)
		return
	}
	scopes := strings.FieldsFunc(q.Get("scope"), func(r rune) bool { return r == ',' || r == ' ' })
	if r.Method != http.MethodPost {
		shown := url.Values{}
		for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state"} {
			shown.Set(k, q.Get(k))
		}
		_ = consentPage.Execute(w, map[string]any{"Client": clientID, "Scopes": scopes, "CSRF": sess.csrf, "Query": shown})
		return
	}
	back, _ := url.Parse(redirect)
	answer := back.Query()
	answer.Set("state", q.Get("state"))
	if q.Get("decision") != "allow" {
		answer.Set("error", "access_denied")
	} else {
		code := random()
		s.authCodes[code] = &authCode{clientID: clientID, redirect: redirect, email: sess.email, scopes: scopes,
			expires: time.Now().Add(10 * time.Minute)}
		answer.Set("code", code)
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// oauthToken is POST /v5/oauth/token: an authorization code or a refresh
// token, with the app's credentials in HTTP Basic, for an access token of
// 30 days and a refresh token of 60 (renewed on each refresh).
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	clientID, secret, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	if !ok || a == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(a.secret)) != 1 {
		apiError(w, http.StatusUnauthorized, 2, "Authentication failed.")
		return
	}
	if err := r.ParseForm(); err != nil {
		apiError(w, http.StatusBadRequest, 1, "the body is not a form")
		return
	}
	var email string
	var scopes []string
	grant := r.PostForm.Get("grant_type")
	switch grant {
	case "authorization_code":
		c := s.authCodes[r.PostForm.Get("code")]
		delete(s.authCodes, r.PostForm.Get("code"))
		if c == nil || c.clientID != clientID || c.redirect != r.PostForm.Get("redirect_uri") || time.Now().After(c.expires) {
			apiError(w, http.StatusBadRequest, 1, "Invalid authorization code or redirect_uri.")
			return
		}
		email, scopes = c.email, c.scopes
	case "refresh_token":
		t := s.tokens[r.PostForm.Get("refresh_token")]
		if t == nil || t.clientID != clientID || time.Now().After(t.expires) {
			apiError(w, http.StatusBadRequest, 1, "Invalid refresh token.")
			return
		}
		delete(s.tokens, r.PostForm.Get("refresh_token"))
		email, scopes = t.email, t.scopes
	default:
		apiError(w, http.StatusBadRequest, 1, "grant_type must be authorization_code or refresh_token")
		return
	}
	access, refresh := "pina."+random(), "pinr."+random()
	s.tokens[access] = &apiToken{clientID: clientID, email: email, scopes: scopes, expires: time.Now().Add(s.AccessTokenTTL)}
	s.tokens[refresh] = &apiToken{clientID: clientID, email: email, scopes: scopes, expires: time.Now().Add(RefreshTokenTTL)}
	apiJSON(w, http.StatusOK, map[string]any{"access_token": access, "refresh_token": refresh, "response_type": grant,
		"token_type": "bearer", "expires_in": int(s.AccessTokenTTL.Seconds()), "refresh_token_expires_in": int(RefreshTokenTTL.Seconds()),
		"scope": strings.Join(scopes, ",")})
}

// api routes /v5/businesses/{business_id}/… for a bearer token whose
// person is a Manager (BIZ_ADMIN) of the business.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	if r.URL.Path == "/v5/oauth/token" && r.Method == http.MethodPost {
		s.oauthToken(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiRequests++
	if s.throttled > 0 {
		s.throttled--
		w.Header().Set("X-RateLimit-Reset", "60")
		apiError(w, http.StatusTooManyRequests, 29, "You have exceeded your rate limit. Try again later.")
		return
	}
	t := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if t == nil || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer pina.") || time.Now().After(t.expires) {
		apiError(w, http.StatusUnauthorized, 2, "Authentication failed.")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v5/"), "/"), "/")
	if len(parts) < 3 || parts[0] != "businesses" {
		apiError(w, http.StatusNotFound, 404, "Not found.")
		return
	}
	need := []string{ScopeRead}
	if r.Method != http.MethodGet {
		need = []string{ScopeWrite}
	}
	for _, scope := range need {
		if !slices.Contains(t.scopes, scope) {
			apiError(w, http.StatusForbidden, 3, "Not authorized to access the user or business: the token lacks "+scope+".")
			return
		}
	}
	b := s.businesses[parts[1]]
	if b == nil || s.memberByEmail(b, t.email) == nil || s.memberByEmail(b, t.email).Role != RoleManager {
		apiError(w, http.StatusForbidden, 3, "Not authorized to access the user or business.")
		return
	}
	q := r.URL.Query()
	route := r.Method + " " + strings.Join(parts[2:], "/")
	switch {
	case route == "GET members":
		s.apiMembers(w, b, q)
	case route == "PATCH members":
		s.apiSetRoles(w, r, b)
	case route == "DELETE members":
		s.apiRemove(w, r, b)
	case route == "GET invites":
		s.apiInvites(w, b, q)
	case route == "POST invites":
		s.apiInvite(w, r, b, t.email)
	case route == "DELETE invites":
		s.apiCancel(w, r, b)
	case route == "GET assets":
		s.apiAssets(w, b, q)
	case len(parts) == 5 && parts[2] == "members" && parts[4] == "assets" && r.Method == http.MethodGet:
		s.apiMemberAssets(w, b, parts[3], q)
	case route == "PATCH members/assets/access":
		s.apiGrant(w, r, b)
	case route == "DELETE members/assets/access":
		s.apiRevoke(w, r, b)
	case route == "GET partners":
		s.apiPartners(w, b, q)
	default:
		apiError(w, http.StatusNotFound, 404, "Not found.")
	}
}

// page answers one page of items in id order: up to page_size after the
// bookmark (the last id of the page before, encoded).
func page[T any](w http.ResponseWriter, q url.Values, ids []string, item func(id string) T) {
	size := apiPageDefault
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiPageMax {
			apiError(w, http.StatusBadRequest, 1, fmt.Sprintf("page_size must be between 1 and %d", apiPageMax))
			return
		}
		size = n
	}
	slices.Sort(ids)
	start := 0
	if bm := q.Get("bookmark"); bm != "" {
		after, err := base64.RawURLEncoding.DecodeString(bm)
		if err != nil || len(after) == 0 {
			apiError(w, http.StatusBadRequest, 1, "Invalid bookmark.")
			return
		}
		start, _ = slices.BinarySearch(ids, string(after)+"\x00")
	}
	end := min(start+size, len(ids))
	items := make([]T, 0, end-start)
	for _, id := range ids[start:end] {
		items = append(items, item(id))
	}
	var bookmark any
	if end < len(ids) {
		bookmark = base64.RawURLEncoding.EncodeToString([]byte(ids[end-1]))
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items, "bookmark": bookmark})
}

// userSummary is BusinessAccessUserSummary of a member.
func userSummary(m *Member) map[string]any {
	return map[string]any{"id": m.ID, "email": m.Email, "username": username(m)}
}

func username(m *Member) string {
	name, _, _ := strings.Cut(m.Email, "@")
	return strings.ReplaceAll(name, ".", "")
}

// permissions is a holder's permission list (Holders keeps it joined).
func permissions(joined string) []string { return strings.Split(joined, ",") }

// assetsSummary is what a member holds: the ad accounts and their permissions.
func assetsSummary(b *Business, memberID string) map[string]any {
	ads := []map[string]any{}
	for _, id := range sortedKeys(b.AdAccounts) {
		if p, ok := b.AdAccounts[id].Holders[memberID]; ok {
			ads = append(ads, map[string]any{"id": id, "permissions": permissions(p)})
		}
	}
	return map[string]any{"ad_accounts": ads, "profiles": []any{}}
}

func (s *Server) apiMembers(w http.ResponseWriter, b *Business, q url.Values) {
	roles := listParam(q, "business_roles")
	only := listParam(q, "member_ids")
	var ids []string
	for id, m := range b.Members {
		if m.Role != RolePartner && (len(roles) == 0 || slices.Contains(roles, m.Role)) && (len(only) == 0 || slices.Contains(only, id)) {
			ids = append(ids, id)
		}
	}
	if q.Get("fetch_system_users") == "true" {
		ids = nil // the sandbox's businesses have no system users
	}
	peoplePage(w, b, q, ids)
}

// peoplePage answers a page of members or partners (UserBusinessRoleBinding),
// with what each holds when assets_summary is true.
func peoplePage(w http.ResponseWriter, b *Business, q url.Values, ids []string) {
	summary := q.Get("assets_summary") == "true"
	page(w, q, ids, func(id string) map[string]any {
		m := b.Members[id]
		item := map[string]any{"id": id, "business_roles": []string{m.Role}, "user": userSummary(m), "is_shared_partner": false}
		if summary {
			item["assets_summary"] = assetsSummary(b, id)
		}
		return item
	})
}

// listParam reads a list parameter: repeated, comma-separated, or both.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// readBody decodes a JSON body into v, answering 400 when it is not.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		apiError(w, http.StatusBadRequest, 1, "Invalid request body: "+err.Error())
		return false
	}
	return true
}

// batchSize answers 400 unless 1 ≤ n ≤ most.
func batchSize(w http.ResponseWriter, n, most int) bool {
	if n < 1 || n > most {
		apiError(w, http.StatusBadRequest, 1, fmt.Sprintf("send between 1 and %d items", most))
		return false
	}
	return true
}

func (s *Server) apiSetRoles(w http.ResponseWriter, r *http.Request, b *Business) {
	var body []struct {
		MemberID     string `json:"member_id"`
		BusinessRole string `json:"business_role"`
	}
	if !readBody(w, r, &body) || !batchSize(w, len(body), 50) {
		return
	}
	for _, u := range body {
		if u.BusinessRole != RoleEmployee && u.BusinessRole != RoleManager {
			apiError(w, http.StatusBadRequest, 1, "business_role must be EMPLOYEE or BIZ_ADMIN")
			return
		}
	}
	items := []map[string]string{}
	for _, u := range body {
		if m := b.Members[u.MemberID]; m != nil && m.Role != RolePartner {
			m.Role = u.BusinessRole
			items = append(items, map[string]string{"member_id": u.MemberID, "business_role": u.BusinessRole})
		}
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiRemove(w http.ResponseWriter, r *http.Request, b *Business) {
	var body struct {
		Members []struct {
			MemberID     string `json:"member_id"`
			BusinessRole string `json:"business_role"`
		} `json:"members"`
	}
	if !readBody(w, r, &body) || !batchSize(w, len(body.Members), 50) {
		return
	}
	deleted := []string{}
	for _, d := range body.Members {
		if m := b.Members[d.MemberID]; m != nil && m.Role == d.BusinessRole {
			delete(b.Members, d.MemberID)
			for _, a := range b.AdAccounts {
				delete(a.Holders, d.MemberID)
			}
			deleted = append(deleted, d.MemberID)
		}
	}
	apiJSON(w, http.StatusOK, map[string]any{"deleted_members": deleted})
}

// inviteStatus is an invitation's status now: a PENDING one past its
// expiry is EXPIRED.
func inviteStatus(inv *Invite, now time.Time) string {
	if inv.Status == "PENDING" && !inv.Expires.IsZero() && now.After(inv.Expires) {
		return "EXPIRED"
	}
	return inv.Status
}

// inviteData is BaseInviteDataResponse.
func inviteData(inv *Invite, now time.Time) map[string]any {
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	return map[string]any{"id": inv.ID, "is_received_invite": false,
		"invite_data": map[string]any{"invite_status": inviteStatus(inv, now), "invite_type": "MEMBER_INVITE",
			"invite_expiration": ms(inv.Expires), "sent_at": ms(inv.Sent), "last_updated_time": ms(inv.Updated)},
		"user": map[string]any{"email": inv.Email, "id": nil, "username": nil}}
}

func (s *Server) apiInvites(w http.ResponseWriter, b *Business, q url.Values) {
	now := time.Now()
	statuses := listParam(q, "invite_status")
	for _, st := range statuses {
		if st != "PENDING" && st != "EXPIRED" {
			apiError(w, http.StatusBadRequest, 1, "invite_status must be PENDING or EXPIRED")
			return
		}
	}
	if len(statuses) == 0 {
		statuses = []string{"PENDING", "EXPIRED"}
	}
	if t := q.Get("invite_type"); (t != "" && t != "MEMBER_INVITE") || q.Get("is_member") == "false" {
		apiJSON(w, http.StatusOK, map[string]any{"items": []any{}, "bookmark": nil}) // the sandbox has no partnership invites
		return
	}
	var ids []string
	for id, inv := range b.Invites {
		if slices.Contains(statuses, inviteStatus(inv, now)) {
			ids = append(ids, id)
		}
	}
	page(w, q, ids, func(id string) map[string]any {
		inv := b.Invites[id]
		item := inviteData(inv, now)
		item["business_roles"], item["created_time"] = []string{inv.Role}, inv.Sent.UnixMilli()
		item["created_by_business"] = map[string]any{"id": b.ID, "username": strings.ToLower(strings.ReplaceAll(b.Name, " ", "")), "email": nil}
		item["assets_summary"] = nil
		return item
	})
}

func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request, b *Business, inviter string) {
	var body struct {
		BusinessRole string   `json:"business_role"`
		InviteType   string   `json:"invite_type"`
		Members      []string `json:"members"`
	}
	if !readBody(w, r, &body) {
		return
	}
	if body.InviteType != "MEMBER_INVITE" || (body.BusinessRole != RoleEmployee && body.BusinessRole != RoleManager) {
		apiError(w, http.StatusBadRequest, 1, "the sandbox sends MEMBER_INVITE invitations as EMPLOYEE or BIZ_ADMIN")
		return
	}
	if !batchSize(w, len(body.Members), 50) {
		return
	}
	now := time.Now()
	items := []map[string]any{}
	for _, email := range body.Members {
		email = strings.ToLower(strings.TrimSpace(email))
		fail := func(message string) {
			items = append(items, map[string]any{"invite": nil, "exception": map[string]any{"code": 403, "message": message,
				"users_or_partner_ids": []string{email}, "invite_or_request_id": nil}})
		}
		if s.memberByEmail(b, email) != nil {
			fail("The user is already a member of the business.")
			continue
		}
		if slices.ContainsFunc(sortedKeys(b.Invites), func(id string) bool {
			return b.Invites[id].Email == email && inviteStatus(b.Invites[id], now) == "PENDING"
		}) {
			fail("The user already has a pending invite.")
			continue
		}
		id := s.nextID(b)
		b.Invites[id] = &Invite{ID: id, Email: email, Role: body.BusinessRole, Status: "PENDING", Sent: now, Updated: now,
			Expires: now.Add(InviteTTL)}
		items = append(items, map[string]any{"invite": map[string]any{"id": id, "user": map[string]any{"email": email}}, "exception": nil})
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request, b *Business) {
	var body struct {
		InviteIDs []string `json:"invite_ids"`
	}
	if !readBody(w, r, &body) || !batchSize(w, len(body.InviteIDs), 50) {
		return
	}
	now := time.Now()
	items := []map[string]any{}
	for _, id := range body.InviteIDs {
		inv := b.Invites[id]
		switch {
		case inv == nil:
			items = append(items, map[string]any{"exception": map[string]any{"invite_id": id, "message": "Invite not found."}})
		case inviteStatus(inv, now) != "PENDING":
			items = append(items, map[string]any{"exception": map[string]any{"invite_id": id,
				"message": "Business Invite request cannot be performed on current invitation status."}})
		default:
			inv.Status, inv.Updated = "CANCELLED", now
			items = append(items, map[string]any{"invite": inviteData(inv, now)})
		}
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiAssets(w http.ResponseWriter, b *Business, q url.Values) {
	if t := q.Get("asset_type"); t != "" && t != "AD_ACCOUNT" {
		apiJSON(w, http.StatusOK, map[string]any{"items": []any{}, "bookmark": nil}) // the sandbox's assets are ad accounts
		return
	}
	page(w, q, sortedKeys(b.AdAccounts), func(id string) map[string]any {
		return map[string]any{"asset_id": id, "asset_type": "AD_ACCOUNT"}
	})
}

func (s *Server) apiMemberAssets(w http.ResponseWriter, b *Business, memberID string, q url.Values) {
	if b.Members[memberID] == nil {
		apiError(w, http.StatusNotFound, 404, "Member not found.")
		return
	}
	var ids []string
	for id, a := range b.AdAccounts {
		if _, ok := a.Holders[memberID]; ok {
			ids = append(ids, id)
		}
	}
	page(w, q, ids, func(id string) map[string]any {
		return map[string]any{"asset_id": id, "asset_type": "AD_ACCOUNT", "permissions": permissions(b.AdAccounts[id].Holders[memberID])}
	})
}

// adPermissions are the Permissions an ad account takes.
var adPermissions = []string{"ADMIN", "ANALYST", "FINANCE_MANAGER", "AUDIENCE_MANAGER", "CAMPAIGN_MANAGER", "CATALOGS_MANAGER"}

func (s *Server) apiGrant(w http.ResponseWriter, r *http.Request, b *Business) {
	var body struct {
		Accesses []struct {
			AssetID     string   `json:"asset_id"`
			MemberID    string   `json:"member_id"`
			Permissions []string `json:"permissions"`
		} `json:"accesses"`
	}
	if !readBody(w, r, &body) || !batchSize(w, len(body.Accesses), 50) {
		return
	}
	items := []map[string]any{}
	for _, a := range body.Accesses {
		account, m := b.AdAccounts[a.AssetID], b.Members[a.MemberID]
		valid := len(a.Permissions) > 0 && !slices.ContainsFunc(a.Permissions, func(p string) bool { return !slices.Contains(adPermissions, p) })
		if account == nil || m == nil || !valid {
			items = append(items, map[string]any{"exception": map[string]any{"code": 400,
				"message": "The asset or member does not exist, or a permission does not apply to an ad account."}})
			continue
		}
		account.Holders[a.MemberID] = strings.Join(a.Permissions, ",")
		items = append(items, map[string]any{"response": map[string]any{"asset_id": a.AssetID, "member_id": a.MemberID,
			"permissions": a.Permissions}})
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) apiRevoke(w http.ResponseWriter, r *http.Request, b *Business) {
	var body struct {
		Accesses []struct {
			AssetID  string `json:"asset_id"`
			MemberID string `json:"member_id"`
		} `json:"accesses"`
	}
	if !readBody(w, r, &body) || !batchSize(w, len(body.Accesses), 100) {
		return
	}
	items := []map[string]string{}
	for _, a := range body.Accesses {
		if account := b.AdAccounts[a.AssetID]; account != nil {
			if _, ok := account.Holders[a.MemberID]; ok {
				delete(account.Holders, a.MemberID)
				items = append(items, map[string]string{"asset_id": a.AssetID, "member_id": a.MemberID})
			}
		}
	}
	apiJSON(w, http.StatusOK, map[string]any{"items": items})
}

// apiPartners lists the business's partners: the web app's Partner members.
func (s *Server) apiPartners(w http.ResponseWriter, b *Business, q url.Values) {
	var ids []string
	for id, m := range b.Members {
		if m.Role == RolePartner {
			ids = append(ids, id)
		}
	}
	peoplePage(w, b, q, ids)
}

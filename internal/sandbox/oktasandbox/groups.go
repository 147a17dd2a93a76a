package oktasandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Group listing limits, as Okta documents them.
const (
	MaxGroupLimit       = 10000
	MaxGroupMemberLimit = 1000
)

// Group is an Okta group object.
type Group struct {
	ID                    string       `json:"id"`
	Created               time.Time    `json:"created"`
	LastUpdated           time.Time    `json:"lastUpdated"`
	LastMembershipUpdated time.Time    `json:"lastMembershipUpdated"`
	ObjectClass           []string     `json:"objectClass"`
	Type                  string       `json:"type"`
	Profile               GroupProfile `json:"profile"`
	members               map[string]bool
}

// GroupProfile is a group's name and description.
type GroupProfile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// AddGroup creates an OKTA_GROUP with members (user ids) and returns its id.
func (s *Server) AddGroup(name string, members ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addGroup(name, "", members)
}

// addGroup creates a group. Caller holds mu.
func (s *Server) addGroup(name, description string, members []string) string {
	if s.groups == nil {
		s.groups = map[string]*Group{}
	}
	now := s.now().UTC()
	g := &Group{ID: fmt.Sprintf("00g%017d", len(s.groups)+1), Created: now, LastUpdated: now, LastMembershipUpdated: now,
		ObjectClass: []string{"okta:user_group"}, Type: "OKTA_GROUP", Profile: GroupProfile{Name: name, Description: description},
		members: map[string]bool{}}
	for _, m := range members {
		g.members[m] = true
	}
	s.groups[g.ID] = g
	return g.ID
}

// SetMembership adds a user to a group or takes them out, as an admin does.
func (s *Server) SetMembership(groupID, userID string, member bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.groups[groupID], s.users[userID]
	if g == nil || u == nil {
		return fmt.Errorf("no group %s or user %s", groupID, userID)
	}
	if member {
		g.members[userID] = true
	} else {
		delete(g.members, userID)
	}
	g.LastMembershipUpdated = s.now().UTC()
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r.URL.Query(), MaxGroupLimit)
	if !ok {
		return
	}
	s.mu.Lock()
	ids := slices.Sorted(maps.Keys(s.groups))
	page := pageAfter(ids, r.URL.Query().Get("after"), limit, func(id string) Group { return *s.groups[id] })
	s.mu.Unlock()
	writePage(w, r, page, limit, func(g Group) string { return g.ID })
}

func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r.URL.Query(), MaxGroupMemberLimit)
	if !ok {
		return
	}
	s.mu.Lock()
	g := s.groups[r.PathValue("id")]
	if g == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (UserGroup)")
		return
	}
	ids := slices.Sorted(maps.Keys(g.members))
	page := pageAfter(ids, r.URL.Query().Get("after"), limit, func(id string) User { return *s.users[id] })
	s.mu.Unlock()
	writePage(w, r, page, limit, func(u User) string { return u.ID })
}

// pageAfter is up to limit+1 items of sorted ids after the cursor after:
// one more than a page tells whether another follows.
func pageAfter[T any](ids []string, after string, limit int, item func(id string) T) []T {
	start, found := slices.BinarySearch(ids, after)
	if found {
		start++
	}
	page := []T{}
	for _, id := range ids[start:min(len(ids), start+limit+1)] {
		page = append(page, item(id))
	}
	return page
}

// writePage answers a page with its Link headers: the next one after the
// last item shown, when pageAfter found more.
func writePage[T any](w http.ResponseWriter, r *http.Request, page []T, limit int, id func(T) string) {
	if len(page) > limit {
		page = page[:limit]
		pageLinks(w, r, url.Values{"limit": {strconv.Itoa(limit)}, "after": {id(page[limit-1])}})
	} else {
		pageLinks(w, r, nil)
	}
	writeJSON(w, http.StatusOK, page)
}

// createGroup serves POST /api/v1/groups.
func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Profile GroupProfile `json:"profile"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || strings.TrimSpace(body.Profile.Name) == "" {
		writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: name", "name: The field cannot be left blank")
		return
	}
	s.mu.Lock()
	id := s.addGroup(body.Profile.Name, body.Profile.Description, nil)
	g := *s.groups[id]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, g)
}

// membership serves PUT and DELETE /api/v1/groups/{id}/users/{user}.
func (s *Server) membership(w http.ResponseWriter, r *http.Request) {
	if err := s.SetMembership(r.PathValue("id"), r.PathValue("user"), r.Method == http.MethodPut); err != nil {
		writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.PathValue("id")+" (UserGroup)")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// limitParam reads limit (default and at most max).
func limitParam(w http.ResponseWriter, q url.Values, max int) (int, bool) {
	limit := max
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit", "limit: must be a positive integer")
			return 0, false
		}
		limit = min(n, max)
	}
	return limit, true
}

// pageLinks sets the self link and, with next, the next page's.
func pageLinks(w http.ResponseWriter, r *http.Request, next url.Values) {
	base := "http://" + r.Host + r.URL.Path
	w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="self"`, base, r.URL.RawQuery))
	if next != nil {
		w.Header().Add("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, base, next.Encode()))
	}
}

package entrasandbox

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// group is a tenant group: its properties, the version of their last
// change, and when each member joined or left.
type group struct {
	props   map[string]any
	version int64
	removed string
	joined  map[string]int64 // member → version they joined
	left    map[string]int64 // former member → version they left
}

// groupSelectable are the group properties $select may name.
var groupSelectable = map[string]bool{"id": true, "displayName": true, "description": true, "mailEnabled": true,
	"securityEnabled": true, "groupTypes": true, "members": true}

// DenyGroups takes GroupMember.Read.All from the app: Graph answers 403
// to its groups requests.
func (s *Server) DenyGroups() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupsDenied = true
}

// AddGroup creates a security group with members (user ids).
func (s *Server) AddGroup(id, displayName string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groups == nil {
		s.groups = map[string]*group{}
	}
	s.version++
	g := &group{version: s.version, joined: map[string]int64{}, left: map[string]int64{},
		props: map[string]any{"id": id, "displayName": displayName, "description": nil, "mailEnabled": false,
			"securityEnabled": true, "groupTypes": []string{}}}
	for _, m := range members {
		g.joined[m] = s.version
	}
	s.groups[id] = g
}

// SetMembership adds a user to a group or takes them out.
func (s *Server) SetMembership(groupID, userID string, member bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setMembership(groupID, userID, member)
}

// setMembership changes a membership. Caller holds mu.
func (s *Server) setMembership(groupID, userID string, member bool) error {
	g := s.groups[groupID]
	if g == nil || g.removed != "" || s.users[userID] == nil {
		return fmt.Errorf("no group %s or user %s", groupID, userID)
	}
	s.version++
	if member {
		g.joined[userID] = s.version
		delete(g.left, userID)
	} else if _, ok := g.joined[userID]; ok {
		delete(g.joined, userID)
		g.left[userID] = s.version
	}
	return nil
}

// groupsDelta serves GET /v1.0/groups/delta: a first round lists every
// group with all its members in members@delta; a round from a deltaLink
// lists the groups changed since, with the members who joined and, as
// @removed, those who left, and deleted groups as @removed.
func (s *Server) groupsDelta(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.groupsDenied {
		writeGraphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	var t pageToken
	switch {
	case q.Get("$skiptoken") != "" || q.Get("$deltatoken") != "":
		var ok bool
		if t, ok = decodeToken(q.Get("$skiptoken") + q.Get("$deltatoken")); !ok || t.Epoch != s.epoch {
			writeGraphError(w, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. Please restart sync.")
			return
		}
		if q.Get("$deltatoken") != "" {
			t = pageToken{Epoch: s.epoch, Since: t.Upto, Upto: s.version, Sel: t.Sel}
		}
	default:
		for _, f := range strings.Split(q.Get("$select"), ",") {
			if f != "" && !groupSelectable[f] {
				writeGraphError(w, http.StatusBadRequest, "Request_BadRequest",
					fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.group'.", f))
				return
			}
		}
		t = pageToken{Epoch: s.epoch, Since: -1, Upto: s.version, Sel: q.Get("$select")}
	}
	sel := strings.Split(t.Sel, ",")
	withMembers := t.Sel == "" || slices.Contains(sel, "members")
	var ids []string
	for id, g := range s.groups {
		if id > t.After && s.groupChanged(g, t) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	more := len(ids) > DefaultPageSize
	if more {
		ids = ids[:DefaultPageSize]
	}
	items := []map[string]any{}
	for _, id := range ids {
		g := s.groups[id]
		if g.removed != "" {
			items = append(items, map[string]any{"id": id, "@removed": map[string]string{"reason": g.removed}})
			continue
		}
		item := map[string]any{"id": id}
		for _, f := range sel {
			if v, ok := g.props[f]; ok {
				item[f] = v
			}
		}
		if t.Sel == "" {
			item = map[string]any{}
			for k, v := range g.props {
				item[k] = v
			}
		}
		if withMembers {
			delta := []map[string]any{}
			for _, m := range slices.Sorted(maps.Keys(g.joined)) {
				if v := g.joined[m]; v <= t.Upto && (t.Since < 0 || v > t.Since) {
					delta = append(delta, map[string]any{"@odata.type": "#microsoft.graph.user", "id": m})
				}
			}
			for _, m := range slices.Sorted(maps.Keys(g.left)) {
				if v := g.left[m]; t.Since >= 0 && v > t.Since && v <= t.Upto {
					delta = append(delta, map[string]any{"@odata.type": "#microsoft.graph.user", "id": m, "@removed": map[string]string{"reason": "deleted"}})
				}
			}
			item["members@delta"] = delta
		}
		items = append(items, item)
	}
	resp := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#groups", "value": items}
	base := "http://" + r.Host + "/v1.0/groups/delta?"
	if more {
		t.After = ids[len(ids)-1]
		resp["@odata.nextLink"] = base + url.Values{"$skiptoken": {encodeToken(t)}}.Encode()
	} else {
		t.After = ""
		resp["@odata.deltaLink"] = base + url.Values{"$deltatoken": {encodeToken(t)}}.Encode()
	}
	writeJSON(w, http.StatusOK, resp)
}

// groupChanged reports whether a round lists the group: in a first round
// every live group, else one whose properties or members changed since.
// Caller holds mu.
func (s *Server) groupChanged(g *group, t pageToken) bool {
	if t.Since < 0 {
		return g.removed == "" && g.version <= t.Upto
	}
	if g.version > t.Since && g.version <= t.Upto {
		return true
	}
	for _, v := range g.joined {
		if v > t.Since && v <= t.Upto {
			return true
		}
	}
	for _, v := range g.left {
		if v > t.Since && v <= t.Upto {
			return true
		}
	}
	return false
}

// addMember serves POST /v1.0/groups/{id}/members/$ref.
func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Ref string `json:"@odata.id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !strings.Contains(body.Ref, "/directoryObjects/") {
		writeGraphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier in @odata.id.")
		return
	}
	s.membershipChange(w, r.PathValue("id"), body.Ref[strings.LastIndex(body.Ref, "/")+1:], true)
}

// removeMember serves DELETE /v1.0/groups/{id}/members/{member}/$ref.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	s.membershipChange(w, r.PathValue("id"), r.PathValue("member"), false)
}

func (s *Server) membershipChange(w http.ResponseWriter, groupID, userID string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setMembership(groupID, userID, member); err != nil {
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", groupID))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteGroup serves DELETE /v1.0/groups/{id}: delta reports it removed.
func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[r.PathValue("id")]
	if g == nil || g.removed != "" {
		writeGraphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", r.PathValue("id")))
		return
	}
	s.version++
	g.removed, g.version = "changed", s.version
	w.WriteHeader(http.StatusNoContent)
}

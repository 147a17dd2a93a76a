package scimserver

import (
	"log/slog"
	"maps"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// users is the /Users endpoint of one directory.
type users struct {
	st    *store.Store
	d     store.Directory
	log   *slog.Logger
	patch patcher
}

func (u users) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	a := stored(attrs)
	res, err := u.st.CreateSCIMUser(r.Context(), u.d, directoryUser(a), a)
	if err != nil {
		return scim.Resource{}, scimError(r, u.log, err)
	}
	return resource(res, res.Attributes), nil
}

func (u users) Get(r *http.Request, id string) (scim.Resource, error) {
	res, err := u.st.SCIMUser(r.Context(), u.d.ID, id)
	if err != nil {
		return scim.Resource{}, scimError(r, u.log, err)
	}
	return resource(res, res.Attributes), nil
}

func (u users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	if params.FilterValidator == nil {
		found, total, err := u.st.SCIMUserPage(r.Context(), u.d.ID, max(params.StartIndex, 1)-1, params.Count)
		if err != nil {
			return scim.Page{}, scimError(r, u.log, err)
		}
		return listed(found, total), nil
	}
	q, ok := narrowing(params.FilterValidator.GetFilter())
	if !ok {
		return scim.Page{}, unsupportedFilter
	}
	// A narrowed query finds few users (one userName, one address); the
	// filter itself then decides, with the schema's case rules.
	candidates, err := u.st.SCIMUsers(r.Context(), u.d.ID, q, store.MaxLimit)
	if err != nil {
		return scim.Page{}, scimError(r, u.log, err)
	}
	var passed []store.SCIMResource
	for _, c := range candidates {
		if params.FilterValidator.PassesFilter(filterable(c, c.Attributes)) == nil {
			passed = append(passed, c)
		}
	}
	return listed(page(passed, params), len(passed)), nil
}

func listed(found []store.SCIMResource, total int) scim.Page {
	p := scim.Page{TotalResults: total, Resources: []scim.Resource{}}
	for _, f := range found {
		p.Resources = append(p.Resources, resource(f, f.Attributes))
	}
	return p
}

func (u users) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	a := stored(attrs)
	res, err := u.st.ChangeSCIMUser(r.Context(), u.d, id, func(map[string]any) (domain.DirectoryUser, map[string]any, error) {
		return directoryUser(a), a, nil
	})
	if err != nil {
		return scim.Resource{}, scimError(r, u.log, err)
	}
	return resource(res, res.Attributes), nil
}

func (u users) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	res, err := u.st.ChangeSCIMUser(r.Context(), u.d, id, func(attrs map[string]any) (domain.DirectoryUser, map[string]any, error) {
		if err := u.patch.apply(attrs, ops); err != nil {
			return domain.DirectoryUser{}, nil, err
		}
		delete(attrs, "password")
		return directoryUser(attrs), attrs, nil
	})
	if err != nil {
		return scim.Resource{}, scimError(r, u.log, err)
	}
	return resource(res, res.Attributes), nil
}

func (u users) Delete(r *http.Request, id string) error {
	return scimError(r, u.log, u.st.DeleteSCIMUser(r.Context(), u.d, id))
}

// groups is the /Groups endpoint of one directory. A group's members are
// the directory's users; each shows with its display name.
type groups struct {
	st    *store.Store
	d     store.Directory
	log   *slog.Logger
	patch patcher
}

// groupAttributes are a stored group's attributes with its members.
func groupAttributes(g store.SCIMGroupResource) map[string]any {
	attrs := maps.Clone(g.Attributes)
	members := []any{}
	for _, m := range g.Members {
		members = append(members, map[string]any{"value": m.ID, "display": m.DisplayName})
	}
	attrs["members"] = members
	return attrs
}

// groupResource shows a stored group, with its members unless they were
// left out (excludedAttributes=members, which Okta and Entra ask for).
func groupResource(g store.SCIMGroupResource, withMembers bool) scim.Resource {
	if withMembers {
		return resource(g.SCIMResource, groupAttributes(g))
	}
	return resource(g.SCIMResource, g.Attributes)
}

func withMembers(r *http.Request) bool {
	for _, v := range r.URL.Query()["excludedAttributes"] {
		for _, a := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(a), "members") {
				return false
			}
		}
	}
	return true
}

// group is what to store of a group's attributes.
func group(attrs map[string]any) (store.SCIMGroup, error) {
	a := stored(attrs)
	g := store.SCIMGroup{Attributes: a}
	g.DisplayName, _ = a[keyOf(a, "displayName")].(string)
	if g.DisplayName == "" {
		return g, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "a group needs a displayName"}
	}
	members, _ := a[keyOf(a, "members")].([]any)
	delete(a, keyOf(a, "members"))
	for _, m := range members {
		mm, _ := m.(map[string]any)
		id, _ := mm[keyOf(mm, "value")].(string)
		if id == "" {
			return g, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: "a member needs a value: a user's id"}
		}
		g.Members = append(g.Members, id)
	}
	return g, nil
}

func (g groups) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	want, err := group(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	res, err := g.st.CreateSCIMGroup(r.Context(), g.d, want)
	if err != nil {
		return scim.Resource{}, scimError(r, g.log, err)
	}
	return groupResource(res, true), nil
}

func (g groups) Get(r *http.Request, id string) (scim.Resource, error) {
	found, err := g.st.SCIMGroups(r.Context(), g.d.ID, store.SCIMQuery{ID: id}, 1, withMembers(r))
	if err != nil {
		return scim.Resource{}, scimError(r, g.log, err)
	}
	if len(found) == 0 {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return groupResource(found[0], withMembers(r)), nil
}

func (g groups) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	var found []store.SCIMGroupResource
	total := 0
	if params.FilterValidator == nil {
		var err error
		if found, total, err = g.st.SCIMGroupPage(r.Context(), g.d.ID, max(params.StartIndex, 1)-1, params.Count, withMembers(r)); err != nil {
			return scim.Page{}, scimError(r, g.log, err)
		}
	} else {
		q, ok := narrowing(params.FilterValidator.GetFilter())
		if !ok || q.UserName != "" || q.Email != "" {
			return scim.Page{}, unsupportedFilter
		}
		candidates, err := g.st.SCIMGroups(r.Context(), g.d.ID, q, store.MaxLimit, true)
		if err != nil {
			return scim.Page{}, scimError(r, g.log, err)
		}
		for _, c := range candidates {
			if params.FilterValidator.PassesFilter(filterable(c.SCIMResource, groupAttributes(c))) == nil {
				found = append(found, c)
			}
		}
		total = len(found)
		found = page(found, params)
	}
	p := scim.Page{TotalResults: total, Resources: []scim.Resource{}}
	for _, f := range found {
		p.Resources = append(p.Resources, groupResource(f, withMembers(r)))
	}
	return p, nil
}

func (g groups) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	want, err := group(attrs)
	if err != nil {
		return scim.Resource{}, err
	}
	res, err := g.st.ChangeSCIMGroup(r.Context(), g.d, id, func(store.SCIMGroupResource) (store.SCIMGroup, error) { return want, nil })
	if err != nil {
		return scim.Resource{}, scimError(r, g.log, err)
	}
	return groupResource(res, true), nil
}

func (g groups) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	res, err := g.st.ChangeSCIMGroup(r.Context(), g.d, id, func(current store.SCIMGroupResource) (store.SCIMGroup, error) {
		attrs := groupAttributes(current)
		if err := g.patch.apply(attrs, ops); err != nil {
			return store.SCIMGroup{}, err
		}
		return group(attrs)
	})
	if err != nil {
		return scim.Resource{}, scimError(r, g.log, err)
	}
	return groupResource(res, withMembers(r)), nil
}

func (g groups) Delete(r *http.Request, id string) error {
	return scimError(r, g.log, g.st.DeleteSCIMGroup(r.Context(), g.d, id))
}

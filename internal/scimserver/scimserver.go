// Package scimserver is Hubkeeper's SCIM 2.0 service provider (RFC 7643,
// RFC 7644): an IdP (Okta, Entra provisioning, OneLogin, JumpCloud) pushes
// a SCIM directory's users and groups here. The protocol, filters and
// validation are github.com/elimity-com/scim's; this package stores what
// it is given, applies patches, and turns a pushed user into the identity
// Hubkeeper matches and reports on: active false, or a DELETE, is a
// deprovisioned person.
package scimserver

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/scim2/filter-parser/v2"
)

func init() {
	// Entra sends booleans as "True" and "False" in PATCH values.
	schema.SetAllowStringValues(true)
}

// MaxResults is the most resources one list answers with.
const MaxResults = 200

// New serves one SCIM directory's endpoint; baseURL is where its IdP
// reaches it (…/scim/{directory}/v2), for resources' locations.
func New(st *store.Store, d store.Directory, baseURL string, logger *slog.Logger) (http.Handler, error) {
	srv, err := newServer(st, d, baseURL, logger)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if f := q.Get("filter"); f != "" {
			q.Set("filter", rewriteFilter(f))
			r.URL.RawQuery = q.Encode()
		}
		srv.ServeHTTP(w, r)
	}), nil
}

// subAttributeFilter is a filter on a value path's sub-attribute, as in
// emails[type eq "work"].value eq "ann@acme.test": the PATCH path form,
// which IdPs send as filters although RFC 7644's grammar has no such term.
var subAttributeFilter = regexp.MustCompile(`(\w+)\[([^\]]*)\]\.(\w+)\s+(eq|ne|co|sw|ew|gt|lt|ge|le)\s+("(?:[^"\\]|\\.)*"|\S+)`)

// rewriteFilter turns each sub-attribute filter into the equivalent the
// grammar has: emails[type eq "work" and value eq "ann@acme.test"].
func rewriteFilter(f string) string {
	return subAttributeFilter.ReplaceAllString(f, `$1[$2 and $3 $4 $5]`)
}

func newServer(st *store.Store, d store.Directory, baseURL string, logger *slog.Logger) (scim.Server, error) {
	u := users{st: st, d: d, log: logger, patch: patcher{core: schema.CoreUserSchema(), extensions: []schema.Schema{schema.ExtensionEnterpriseUser()}}}
	g := groups{st: st, d: d, log: logger, patch: patcher{core: schema.CoreGroupSchema()}}
	return scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{
			DocumentationURI: optional.NewString("https://github.com/hubkeeper/hubkeeper/blob/main/docs/scim.md"),
			AuthenticationSchemes: []scim.AuthenticationScheme{{Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
				Description: "The directory's SCIM token, shown once when the directory is created", Primary: true}},
			MaxResults: MaxResults, SupportFiltering: true, SupportPatch: true,
		},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Description: optional.NewString("A person in the directory"),
				Schema: u.patch.core, SchemaExtensions: []scim.SchemaExtension{{Schema: u.patch.extensions[0]}}, Handler: u},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Description: optional.NewString("A group of the directory's people"),
				Schema: g.patch.core, Handler: g},
		},
	}, scim.WithBaseURL(baseURL))
}

// scimError turns a store error into a SCIM error; anything unexpected is
// logged by request and answered without its text.
func scimError(r *http.Request, log *slog.Logger, err error) error {
	var de *domain.Error
	var se scimerrors.ScimError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.As(err, &de) && de.Code == domain.ENotFound:
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: de.Message}
	case errors.As(err, &de) && de.Code == domain.EConflict:
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: de.Message}
	case errors.As(err, &de) && de.Code == domain.EInvalid:
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: de.Message}
	case errors.Is(err, context.Canceled):
		return scimerrors.ScimError{Status: http.StatusServiceUnavailable, Detail: "request canceled"}
	}
	id := r.Header.Get("X-Request-Id")
	log.Error("scim request failed", "request_id", id, "error", domain.WithoutEmails(err.Error()))
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "internal error; see the server log for request " + id}
}

// stored is what is kept of attributes the library validated: never the
// password, nor what the server itself sets.
func stored(attrs scim.ResourceAttributes) map[string]any {
	out := map[string]any{}
	for k, v := range attrs {
		switch strings.ToLower(k) {
		case "id", "meta", "schemas", "password":
			continue
		}
		out[k] = v
	}
	return out
}

// resource is a stored resource as the library answers with it.
func resource(res store.SCIMResource, attrs map[string]any) scim.Resource {
	out := scim.Resource{ID: res.ID, Attributes: scim.ResourceAttributes{},
		Meta: scim.Meta{Created: &res.Created, LastModified: &res.Modified}}
	for k, v := range attrs {
		if strings.EqualFold(k, "externalId") {
			if s, ok := v.(string); ok {
				out.ExternalID = optional.NewString(s)
			}
			continue
		}
		out.Attributes[k] = v
	}
	return out
}

// filterable is a stored resource as a filter sees it, id included.
func filterable(res store.SCIMResource, attrs map[string]any) map[string]any {
	out := maps.Clone(attrs)
	out["id"] = res.ID
	return out
}

// narrowing is what a filter says about which stored resources can match:
// Hubkeeper filters with eq on id, externalId, userName, the users'
// e-mail addresses and the groups' displayName, joined by and.
func narrowing(e filter.Expression) (store.SCIMQuery, bool) {
	q := store.SCIMQuery{ID: equality(e, "id", ""), ExternalID: equality(e, "externalId", ""), UserName: equality(e, "userName", ""),
		DisplayName: equality(e, "displayName", ""), Email: equality(e, "emails", "value")}
	return q, q != store.SCIMQuery{}
}

// equality is the value of an and-ed term attr eq "value" of a filter, or
// attr.sub eq "value", or attr[… sub eq "value" …].
func equality(e filter.Expression, attr, sub string) string {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		p := e.AttributePath
		if v, ok := e.CompareValue.(string); ok && e.Operator == filter.EQ && strings.EqualFold(p.AttributeName, attr) &&
			strings.EqualFold(p.SubAttributeName(), sub) {
			return v
		}
	case *filter.ValuePath:
		if sub != "" && strings.EqualFold(e.AttributePath.AttributeName, attr) {
			return equality(e.ValueFilter, sub, "")
		}
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			return cmp.Or(equality(e.Left, attr, sub), equality(e.Right, attr, sub))
		}
	}
	return ""
}

var unsupportedFilter = scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidFilter,
	Detail: `Hubkeeper filters with eq on id, externalId, userName, emails.value (or emails[type eq "work"].value) and displayName, joined by and`}

// page cuts the resources a filter passed to the list's startIndex and count.
func page[T any](all []T, params scim.ListRequestParams) []T {
	start := min(max(params.StartIndex, 1)-1, len(all))
	return all[start:min(start+params.Count, len(all))]
}

// directoryUser is what Hubkeeper matches and reports on of a pushed user:
// the work address (else the primary, else the first, else an e-mail
// userName), the others as aliases, the names, and active as the status.
func directoryUser(attrs map[string]any) domain.DirectoryUser {
	str := func(m map[string]any, k string) string {
		s, _ := m[keyOf(m, k)].(string)
		return s
	}
	userName := str(attrs, "userName")
	var addresses, ranked []string
	emails, _ := attrs[keyOf(attrs, "emails")].([]any)
	for _, rank := range []func(m map[string]any) bool{
		func(m map[string]any) bool {
			p, _ := m[keyOf(m, "primary")].(bool)
			return p && strings.EqualFold(str(m, "type"), "work")
		},
		func(m map[string]any) bool { return strings.EqualFold(str(m, "type"), "work") },
		func(m map[string]any) bool { p, _ := m[keyOf(m, "primary")].(bool); return p },
		func(map[string]any) bool { return true },
	} {
		for _, e := range emails {
			if m, ok := e.(map[string]any); ok && rank(m) {
				ranked = append(ranked, str(m, "value"))
			}
		}
	}
	for _, e := range emails {
		if m, ok := e.(map[string]any); ok {
			addresses = append(addresses, str(m, "value"))
		}
	}
	email := ""
	for _, a := range append(ranked, userName) {
		if email = domain.NormalizeEmail(a); email != "" {
			break
		}
	}
	name, _ := attrs[keyOf(attrs, "name")].(map[string]any)
	given, family := str(name, "givenName"), str(name, "familyName")
	display := str(attrs, "displayName")
	if display == "" {
		display = str(name, "formatted")
	}
	if display == "" {
		display = strings.TrimSpace(given + " " + family)
	}
	u := domain.DirectoryUser{Email: email, Aliases: domain.NormalizeAliases(email, append(addresses, userName)...),
		DisplayName: display, GivenName: given, FamilyName: family, Status: domain.UserActive, ProviderStatus: "active"}
	if active, ok := attrs[keyOf(attrs, "active")].(bool); ok && !active {
		u.Status, u.ProviderStatus = domain.UserDeprovisioned, "inactive"
	}
	return u
}

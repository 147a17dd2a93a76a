package scimserver

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	scimfilter "github.com/elimity-com/scim/filter"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// patcher applies PATCH operations (RFC 7644 §3.5.2), which the library
// has parsed and validated, to a resource's stored attributes.
type patcher struct {
	core       schema.Schema
	extensions []schema.Schema
}

func (p patcher) apply(attrs map[string]any, ops []scim.PatchOperation) error {
	for _, op := range ops {
		if op.Path != nil {
			if err := p.applyPath(attrs, op.Op, *op.Path, op.Value); err != nil {
				return err
			}
			continue
		}
		// No path: the value holds attributes (or attribute paths, or an
		// extension's container) to add or replace on the resource itself.
		values, _ := op.Value.(map[string]any)
		for key, v := range values {
			if ext, ok := p.extension(key); ok {
				sub, _ := v.(map[string]any)
				for name, v := range sub {
					uri := ext.ID
					if err := p.applyPath(attrs, op.Op, filter.Path{AttributePath: filter.AttributePath{URIPrefix: &uri, AttributeName: name}}, v); err != nil {
						return err
					}
				}
				continue
			}
			path, err := filter.ParsePath([]byte(key))
			if err != nil {
				return invalidPath(key)
			}
			if err := p.applyPath(attrs, op.Op, path, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func invalidPath(path string) error {
	e := scimerrors.ScimErrorInvalidPath
	e.Detail = fmt.Sprintf("the path %q names no attribute of this resource", path)
	return e
}

func (p patcher) extension(uri string) (schema.Schema, bool) {
	for _, e := range p.extensions {
		if strings.EqualFold(e.ID, uri) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// target finds the map an attribute path lives in (the resource, or an
// extension's container, made when create) and the attribute's schema.
func (p patcher) target(attrs map[string]any, path filter.AttributePath, create bool) (map[string]any, schema.CoreAttribute, error) {
	s, container := p.core, attrs
	if uri := path.URI(); uri != "" && !strings.EqualFold(uri, p.core.ID) {
		ext, ok := p.extension(uri)
		if !ok {
			return nil, schema.CoreAttribute{}, invalidPath(path.String())
		}
		s = ext
		key := keyOf(attrs, ext.ID)
		container, _ = attrs[key].(map[string]any)
		if container == nil {
			container = map[string]any{}
			if create {
				attrs[ext.ID] = container
			}
		}
	}
	attributes := append(append(schema.Attributes{}, s.Attributes...), schema.CommonAttributes()...)
	for _, a := range attributes {
		if strings.EqualFold(a.Name(), path.AttributeName) {
			return container, a, nil
		}
	}
	return nil, schema.CoreAttribute{}, invalidPath(path.String())
}

// keyOf is the key m holds name under, compared case-insensitively as SCIM
// attribute names are; name itself when m has none.
func keyOf(m map[string]any, name string) string {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return name
}

// subName is the schema's spelling of a sub-attribute.
func subName(attr schema.CoreAttribute, name string) (string, error) {
	for _, s := range attr.SubAttributes() {
		if strings.EqualFold(s.Name(), name) {
			return s.Name(), nil
		}
	}
	return "", invalidPath(attr.Name() + "." + name)
}

func (p patcher) applyPath(attrs map[string]any, op string, path filter.Path, value any) error {
	container, attr, err := p.target(attrs, path.AttributePath, op != scim.PatchOperationRemove)
	if err != nil {
		return err
	}
	key := keyOf(container, attr.Name())
	if path.ValueExpression != nil {
		return p.applyFiltered(container, key, attr, op, path, value)
	}
	if sub := path.AttributePath.SubAttributeName(); sub != "" {
		name, err := subName(attr, sub)
		if err != nil {
			return err
		}
		m, _ := container[key].(map[string]any)
		if op == scim.PatchOperationRemove {
			if m != nil {
				delete(m, keyOf(m, name))
			}
			return nil
		}
		if m == nil {
			m = map[string]any{}
			container[key] = m
		}
		m[keyOf(m, name)] = value
		return nil
	}
	switch {
	case op == scim.PatchOperationRemove && attr.MultiValued() && value != nil:
		// Entra removes members by listing them as the value.
		list, _ := container[key].([]any)
		container[key] = without(list, asList(value))
	case op == scim.PatchOperationRemove:
		delete(container, key)
	case op == scim.PatchOperationReplace:
		container[key] = value
	case attr.MultiValued():
		list, _ := container[key].([]any)
		for _, v := range asList(value) {
			if !containsValue(list, v) {
				list = append(list, v)
			}
		}
		container[key] = onePrimary(list)
	case attr.HasSubAttributes():
		// Adding to a complex attribute merges its sub-attributes.
		m, _ := container[key].(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		add, _ := value.(map[string]any)
		for k, v := range add {
			m[keyOf(m, k)] = v
		}
		container[key] = m
	default:
		container[key] = value
	}
	return nil
}

// applyFiltered applies an operation to the elements of a multi-valued
// attribute its filter selects, as in emails[type eq "work"].value. An add
// or replace that selects none adds an element made from the filter's
// equalities, which is what Entra expects of a work address it sets.
func (p patcher) applyFiltered(container map[string]any, key string, attr schema.CoreAttribute, op string, path filter.Path, value any) error {
	if !attr.MultiValued() {
		return invalidPath(path.String())
	}
	match := scimfilter.NewFilterValidator(path.ValueExpression, schema.Schema{Attributes: attr.SubAttributes()})
	sub := ""
	if path.SubAttribute != nil {
		var err error
		if sub, err = subName(attr, *path.SubAttribute); err != nil {
			return err
		}
	}
	list, _ := container[key].([]any)
	var kept []any
	matched := 0
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok || match.PassesFilter(m) != nil {
			kept = append(kept, e)
			continue
		}
		matched++
		switch {
		case op == scim.PatchOperationRemove && sub == "":
			continue // the element goes
		case op == scim.PatchOperationRemove:
			delete(m, keyOf(m, sub))
		case sub != "":
			m[keyOf(m, sub)] = value
		default:
			replacement, _ := value.(map[string]any)
			if op == scim.PatchOperationAdd {
				for k, v := range replacement {
					m[keyOf(m, k)] = v
				}
			} else {
				m = replacement
			}
		}
		kept = append(kept, m)
	}
	if matched == 0 && op != scim.PatchOperationRemove {
		element := equalities(path.ValueExpression)
		if sub != "" {
			element[sub] = value
		} else if m, ok := value.(map[string]any); ok {
			for k, v := range m {
				element[k] = v
			}
		}
		kept = append(kept, element)
	}
	container[key] = onePrimary(kept)
	return nil
}

// equalities are the attr eq value terms of a filter joined by and.
func equalities(e filter.Expression) map[string]any {
	out := map[string]any{}
	switch e := e.(type) {
	case *filter.AttributeExpression:
		if e.Operator == filter.EQ {
			out[e.AttributePath.AttributeName] = e.CompareValue
		}
	case *filter.LogicalExpression:
		if e.Operator == filter.AND {
			for k, v := range equalities(e.Left) {
				out[k] = v
			}
			for k, v := range equalities(e.Right) {
				out[k] = v
			}
		}
	}
	return out
}

func asList(v any) []any {
	if list, ok := v.([]any); ok {
		return list
	}
	return []any{v}
}

// sameValue compares elements of a multi-valued attribute by their value
// sub-attribute when they have one.
func sameValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, ahas := am[keyOf(am, "value")]
		bv, bhas := bm[keyOf(bm, "value")]
		if ahas && bhas {
			return fmt.Sprint(av) == fmt.Sprint(bv)
		}
	}
	return reflect.DeepEqual(a, b)
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if sameValue(e, v) {
			return true
		}
	}
	return false
}

func without(list, gone []any) []any {
	var out []any
	for _, e := range list {
		if !containsValue(gone, e) {
			out = append(out, e)
		}
	}
	return out
}

// onePrimary keeps primary true on the last element that claims it only
// (RFC 7643 §2.4: at most one primary value).
func onePrimary(list []any) []any {
	seen := false
	for i := len(list) - 1; i >= 0; i-- {
		m, ok := list[i].(map[string]any)
		if !ok {
			continue
		}
		if p, _ := m[keyOf(m, "primary")].(bool); p {
			if seen {
				m[keyOf(m, "primary")] = false
			}
			seen = true
		}
	}
	return list
}

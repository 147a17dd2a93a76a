package oktasandbox

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// filterExpr is a parsed Okta users filter: comparisons joined by and/or,
// with parentheses. Fields: status, lastUpdated, id, profile.login,
// profile.email, profile.firstName, profile.lastName; eq for all, and
// gt/ge/lt/le for lastUpdated. A search expression has the same grammar
// over more fields (searchFields) with sw and pr as well.
type filterExpr struct {
	op          string // "and", "or", or a comparison operator
	left, right *filterExpr
	field       string
	value       string
}

var filterFields = map[string]func(*User) string{
	"status":            func(u *User) string { return u.Status },
	"id":                func(u *User) string { return u.ID },
	"lastUpdated":       func(u *User) string { return u.LastUpdated.UTC().Format(time.RFC3339Nano) },
	"profile.login":     func(u *User) string { return u.Profile.Login },
	"profile.email":     func(u *User) string { return u.Profile.Email },
	"profile.firstName": func(u *User) string { return u.Profile.FirstName },
	"profile.lastName":  func(u *User) string { return u.Profile.LastName },
}

// searchFields are what a search expression may compare: the filter's
// fields and the rest of the profile and the user type.
var searchFields = map[string]func(*User) string{
	"profile.secondEmail": func(u *User) string { return u.Profile.SecondEmail },
	"type.id":             func(u *User) string { return u.Type.ID },
}

func init() {
	for k, v := range filterFields {
		searchFields[k] = v
	}
}

func (e *filterExpr) match(u *User) bool {
	switch e.op {
	case "and":
		return e.left.match(u) && e.right.match(u)
	case "or":
		return e.left.match(u) || e.right.match(u)
	}
	v := searchFields[e.field](u)
	switch e.op {
	case "pr":
		return v != ""
	case "sw":
		return strings.HasPrefix(strings.ToLower(v), strings.ToLower(e.value))
	}
	if e.field == "lastUpdated" {
		a, b := u.LastUpdated, mustTime(e.value)
		switch e.op {
		case "gt":
			return a.After(b)
		case "ge":
			return !a.Before(b)
		case "lt":
			return a.Before(b)
		case "le":
			return !a.After(b)
		}
		return a.Equal(b)
	}
	return v == e.value
}

// mentionsStatus reports whether the filter compares status; only then are
// DEPROVISIONED users listed.
func (e *filterExpr) mentionsStatus() bool {
	if e == nil {
		return false
	}
	return e.field == "status" || e.left.mentionsStatus() || e.right.mentionsStatus()
}

func mustTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

type filterParser struct {
	toks []string
	pos  int
	// search parses a search expression rather than a filter.
	search bool
}

func parseFilter(s string) (*filterExpr, error) { return parse(s, false) }

func parseSearch(s string) (*filterExpr, error) { return parse(s, true) }

func parse(s string, search bool) (*filterExpr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, search: search}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return e, nil
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) or() (*filterExpr, error) {
	left, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "or") {
		p.pos++
		var right *filterExpr
		if right, err = p.and(); err == nil {
			left = &filterExpr{op: "or", left: left, right: right}
		}
	}
	return left, err
}

func (p *filterParser) and() (*filterExpr, error) {
	left, err := p.term()
	for err == nil && strings.EqualFold(p.peek(), "and") {
		p.pos++
		var right *filterExpr
		if right, err = p.term(); err == nil {
			left = &filterExpr{op: "and", left: left, right: right}
		}
	}
	return left, err
}

func (p *filterParser) term() (*filterExpr, error) {
	if p.peek() == "(" {
		p.pos++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return e, nil
	}
	if p.search && p.pos+2 <= len(p.toks) && strings.EqualFold(p.toks[p.pos+1], "pr") {
		field := p.toks[p.pos]
		p.pos += 2
		if _, ok := searchFields[field]; !ok {
			return nil, fmt.Errorf("field %q cannot be searched", field)
		}
		return &filterExpr{op: "pr", field: field}, nil
	}
	if p.pos+3 > len(p.toks) {
		return nil, fmt.Errorf("incomplete comparison")
	}
	field, op, value := p.toks[p.pos], strings.ToLower(p.toks[p.pos+1]), p.toks[p.pos+2]
	p.pos += 3
	fields := filterFields
	if p.search {
		fields = searchFields
	}
	if _, ok := fields[field]; !ok {
		return nil, fmt.Errorf("field %q cannot be filtered", field)
	}
	switch {
	case op == "eq":
	case op == "sw" && p.search:
	case field == "lastUpdated" && (op == "gt" || op == "ge" || op == "lt" || op == "le"):
	default:
		return nil, fmt.Errorf("operator %q is not supported for %s", op, field)
	}
	if len(value) < 2 || value[0] != '"' || value[len(value)-1] != '"' {
		return nil, fmt.Errorf("value for %s must be a quoted string", field)
	}
	value = value[1 : len(value)-1]
	if field == "lastUpdated" {
		if _, err := time.Parse(time.RFC3339Nano, value); err != nil {
			return nil, fmt.Errorf("lastUpdated must be an ISO 8601 time")
		}
	}
	return &filterExpr{op: op, field: field, value: value}, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty filter")
	}
	return toks, nil
}

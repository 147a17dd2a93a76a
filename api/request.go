package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/labstack/echo/v4"
)

// hasBody reports whether the client sent a request body.
func hasBody(c echo.Context) bool {
	return c.Request().ContentLength != 0 || c.Request().Header.Get("Content-Type") != ""
}

// noBody refuses a body on an endpoint that takes none; an empty body or
// an empty JSON object is accepted.
func noBody(c echo.Context) error {
	raw, err := readJSON(c)
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return err
	}
	return decodeStrictly(raw, &emptyRequest{})
}

// decodeJSON reads the request body into v strictly: JSON only, no unknown
// fields, no trailing data, and messages that name the offending field.
func decodeJSON(c echo.Context, v any) error {
	raw, err := readJSON(c)
	if err != nil {
		return err
	}
	return decodeStrictly(raw, v)
}

// readJSON reads a JSON body: UTF-8, without NUL in any string.
func readJSON(c echo.Context) ([]byte, error) {
	return readJSONAs(c, "application/json")
}

// readJSONAs reads a JSON body sent as one of the media types (or none).
func readJSONAs(c echo.Context, types ...string) ([]byte, error) {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !slices.Contains(types, mt) {
			return nil, domain.Errorf(domain.EInvalid, "send the body as Content-Type: %s", strings.Join(types, " or "))
		}
	}
	raw, err := io.ReadAll(c.Request().Body)
	var he *echo.HTTPError
	if errors.As(err, &he) { // the body limit
		return nil, he
	}
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "request body could not be read")
	}
	if !utf8.Valid(raw) {
		return nil, domain.Errorf(domain.EInvalid, "request body is not valid UTF-8")
	}
	// Postgres text holds no NUL, and no name or address needs one.
	if bytes.Contains(raw, []byte(`\u0000`)) {
		var generic any
		if json.Unmarshal(raw, &generic) == nil {
			if field, found := nulField(generic, ""); found {
				return nil, domain.Errorf(domain.EInvalid, "field %q contains a NUL character", field)
			}
		}
	}
	return raw, nil
}

func decodeStrictly(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.EInvalid, "request body is empty; send a JSON object")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.EInvalid, "request body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return domain.Errorf(domain.EInvalid, "request body must be a JSON object")
		}
		return domain.Errorf(domain.EInvalid, "field %q must be %s, not %s", typ.Field, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return domain.Errorf(domain.EInvalid, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return domain.Errorf(domain.EInvalid, "request body is not valid: %s", err.Error())
}

// nulField finds a string (or an object key) holding a NUL character in a
// decoded JSON value and returns its field path, such as "okta.base_url".
func nulField(v any, path string) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.ContainsRune(v, 0)
	case []any:
		for i, e := range v {
			if field, found := nulField(e, fmt.Sprintf("%s[%d]", path, i)); found {
				return field, true
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			field := k
			if path != "" {
				field = path + "." + k
			}
			if strings.ContainsRune(k, 0) {
				return field, true
			}
			if field, found := nulField(v[k], field); found {
				return field, true
			}
		}
	}
	return "", false
}

// checkText refuses a query value or path segment that is not UTF-8 or
// holds a NUL, naming where it was.
func checkText(where, v string) error {
	if !utf8.ValidString(v) {
		return domain.Errorf(domain.EInvalid, "%s is not valid UTF-8", where)
	}
	if strings.ContainsRune(v, 0) {
		return domain.Errorf(domain.EInvalid, "%s contains a NUL character", where)
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	}
	return "a number"
}

// page reads limit and cursor.
func page(c echo.Context) (store.Page, error) {
	p := store.Page{Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return p, domain.Errorf(domain.EInvalid, "limit must be a whole number from 1 to %d", store.MaxLimit)
		}
		p.Limit = n
	}
	return p, nil
}

// checkURL accepts a base URL of service that the hosts policy allows.
func checkURL(hosts egress.Policy, service egress.Service, field, raw string) error {
	if err := hosts.CheckBaseURL(service, field, raw); err != nil {
		return domain.Errorf(domain.EInvalid, "%s", err.Error())
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return domain.Errorf(domain.EInvalid, "%s is required", field)
	}
	if len(v) > 4096 {
		return domain.Errorf(domain.EInvalid, "%s is longer than 4096 characters", field)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

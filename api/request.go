package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/labstack/echo/v4"
)

// hasBody reports whether the client sent a request body.
func hasBody(c echo.Context) bool {
	return c.Request().ContentLength != 0 || c.Request().Header.Get("Content-Type") != ""
}

// decodeJSON reads the request body into v strictly: JSON only, no unknown
// fields, no trailing data, and messages that name the offending field.
func decodeJSON(c echo.Context, v any) error {
	if ct := c.Request().Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return domain.Errorf(domain.EInvalid, "send the body as Content-Type: application/json")
		}
	}
	dec := json.NewDecoder(c.Request().Body)
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
		he     *echo.HTTPError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &he): // the body limit
		return he
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

// checkURL accepts what the provider clients accept as a base URL.
func checkURL(field, raw string) error {
	if _, err := providerhttp.BaseURL(field, raw); err != nil {
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

package e2e

import (
	"net/http"
)

// scimEndpoint is a SCIM directory made through the API, with its token.
type scimEndpoint struct {
	ID      string
	BaseURL string
	Token   string
}

// scimDirectory creates a SCIM directory in the stack's workspace.
func (s *stack) scimDirectory(name string) scimEndpoint {
	s.t.Helper()
	var created struct {
		ID   string `json:"id"`
		SCIM struct {
			BaseURL string `json:"base_url"`
			Token   string `json:"token"`
		} `json:"scim"`
	}
	if code := s.call("POST", "/v1/directories", s.apiKey, map[string]any{"type": "scim", "name": name}, &created); code != http.StatusCreated {
		s.t.Fatalf("create SCIM directory: %d", code)
	}
	return scimEndpoint{ID: created.ID, BaseURL: created.SCIM.BaseURL, Token: created.SCIM.Token}
}

package store

import (
	"encoding/base64"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
)

// SealCursor wraps another system's page token (Temporal's) for a
// workspace's browser: what comes back is opened only if it is a token
// this workspace was given, so nothing a client makes up reaches that
// system. An empty token seals to "".
func (s *Store) SealCursor(workspaceID string, token []byte) (string, error) {
	if len(token) == 0 {
		return "", nil
	}
	sealed, keyID, err := s.keys.Seal(secrets.Cursors, token, []byte(workspaceID))
	if err != nil {
		return "", err
	}
	return keyID + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenCursor opens what SealCursor made for the workspace; "" opens to nil.
func (s *Store) OpenCursor(workspaceID, cursor string) ([]byte, error) {
	if cursor == "" {
		return nil, nil
	}
	damaged := domain.Errorf(domain.EInvalid, "the page address is damaged: start from the first page")
	keyID, encoded, ok := strings.Cut(cursor, ".")
	sealed, err := base64.RawURLEncoding.DecodeString(encoded)
	if !ok || err != nil || len(cursor) > 8192 {
		return nil, damaged
	}
	token, err := s.keys.Open(secrets.Cursors, keyID, sealed, []byte(workspaceID))
	if err != nil {
		return nil, damaged
	}
	return token, nil
}

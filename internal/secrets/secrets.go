// Package secrets encrypts small secrets with AES-256-GCM under a keyring
// whose key ids travel beside each ciphertext, so keys can rotate: the first
// key encrypts, every key decrypts.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Purpose separates the keys used for different kinds of data, so that a
// ciphertext made for one purpose never opens as another.
type Purpose string

// Purposes of derived keys.
const (
	AtRest   Purpose = "hubkeeper secrets at rest v1"
	Payloads Purpose = "hubkeeper temporal payloads v1"
	// Cursors seal page tokens that pass through browsers.
	Cursors Purpose = "hubkeeper page cursors v1"
)

// Keyring holds named AES-256 master keys.
type Keyring struct {
	activeID string
	keys     map[string][]byte
}

// ParseKeyring reads "id:base64key[,id:base64key…]". The first key is the
// active one; every key must be 32 bytes.
func ParseKeyring(spec string) (*Keyring, error) {
	k := &Keyring{keys: map[string][]byte{}}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		id, b64, ok := strings.Cut(part, ":")
		if !ok || id == "" {
			return nil, fmt.Errorf("keyring entry %d: want id:base64key", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring entry %q: key is not base64", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("keyring entry %q: key has %d bytes, want 32", id, len(key))
		}
		if _, dup := k.keys[id]; dup {
			return nil, fmt.Errorf("keyring entry %q: duplicate id", id)
		}
		k.keys[id] = key
		if i == 0 {
			k.activeID = id
		}
	}
	return k, nil
}

// NewKeySpec returns a fresh keyring spec with one random key named id.
func NewKeySpec(id string) (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// ActiveID is the id of the key new ciphertexts are sealed with.
func (k *Keyring) ActiveID() string { return k.activeID }

func (k *Keyring) aead(id string, p Purpose) (cipher.AEAD, error) {
	master, ok := k.keys[id]
	if !ok {
		return nil, fmt.Errorf("unknown encryption key id %q", id)
	}
	derived, err := hkdf.Key(sha256.New, master, nil, string(p), 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(derived)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext for purpose p with the active key. aad binds the
// ciphertext to its context (say, a row id) so it cannot be moved elsewhere.
// It returns nonce||ciphertext and the key id to store beside it.
func (k *Keyring) Seal(p Purpose, plaintext, aad []byte) (sealed []byte, keyID string, err error) {
	g, err := k.aead(k.activeID, p)
	if err != nil {
		return nil, "", err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", err
	}
	return g.Seal(nonce, nonce, plaintext, aad), k.activeID, nil
}

// ErrOpen is returned when a ciphertext does not authenticate.
var ErrOpen = errors.New("secret does not decrypt: wrong key, purpose or context")

// Open decrypts what Seal made with key keyID.
func (k *Keyring) Open(p Purpose, keyID string, sealed, aad []byte) ([]byte, error) {
	g, err := k.aead(keyID, p)
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, ErrOpen
	}
	out, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

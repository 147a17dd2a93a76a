package secrets

import (
	"bytes"
	"strings"
	"testing"
)

func mustKeyring(t *testing.T, ids ...string) *Keyring {
	t.Helper()
	var specs []string
	for _, id := range ids {
		s, err := NewKeySpec(id)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	k, err := ParseKeyring(strings.Join(specs, ","))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustKeyring(t, "k1")
	sealed, id, err := k.Seal(AtRest, []byte("ssws-token"), []byte("dir-1"))
	if err != nil {
		t.Fatal(err)
	}
	if id != "k1" || bytes.Contains(sealed, []byte("ssws-token")) {
		t.Fatalf("id=%q, sealed contains plaintext=%v", id, bytes.Contains(sealed, []byte("ssws-token")))
	}
	got, err := k.Open(AtRest, id, sealed, []byte("dir-1"))
	if err != nil || string(got) != "ssws-token" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	t.Run("ErrWrongContext", func(t *testing.T) {
		if _, err := k.Open(AtRest, id, sealed, []byte("dir-2")); err != ErrOpen {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("ErrWrongPurpose", func(t *testing.T) {
		if _, err := k.Open(Payloads, id, sealed, []byte("dir-1")); err != ErrOpen {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		if _, err := k.Open(AtRest, "nope", sealed, []byte("dir-1")); err == nil {
			t.Fatal("want error")
		}
	})
}

func TestRotation(t *testing.T) {
	oldSpec, _ := NewKeySpec("old")
	newSpec, _ := NewKeySpec("new")
	old, err := ParseKeyring(oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	sealed, id, _ := old.Seal(AtRest, []byte("s"), nil)
	rotated, err := ParseKeyring(newSpec + "," + oldSpec)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ActiveID() != "new" {
		t.Fatalf("active = %q", rotated.ActiveID())
	}
	if got, err := rotated.Open(AtRest, id, sealed, nil); err != nil || string(got) != "s" {
		t.Fatalf("old ciphertext after rotation: %q, %v", got, err)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	for name, spec := range map[string]string{
		"ErrNoColon":   "abc",
		"ErrNotBase64": "k:!!!",
		"ErrShortKey":  "k:YWJj",
		"ErrEmptyID":   ":YWJj",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKeyring(spec); err == nil {
				t.Fatal("want error")
			} else if strings.Contains(err.Error(), "YWJj") {
				t.Fatalf("error leaks key material: %v", err)
			}
		})
	}
}

package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// Console sign-ins: a link and a state are good once; only the workspace's
// admins and viewers get a session, and a session ends when its person is
// taken off the lists.
func TestConsoleSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.SetWorkspaceSettings(ctx, f.ws.ID, "test", store.WorkspaceSettings{AdminEmails: []string{"ann@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetConsoleIdP(ctx, f.ws.ID, "test", store.ConsoleIdP{Issuer: "https://acme.okta.com", ClientID: "0oa1",
		Viewers: []string{"bob@acme.test"}}, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if idp, secret, err := f.st.ConsoleIdP(ctx, f.ws.ID); err != nil || string(secret) != "secret" || idp.Viewers[0] != "bob@acme.test" {
		t.Fatalf("idp %+v %v", idp, err)
	}
	link, err := f.st.CreateConsoleLink(ctx, f.ws.ID, "Ann@acme.test", time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := f.st.UseConsoleLink(ctx, link)
	if err != nil || sess.Role != store.RoleAdmin || sess.CSRF == "" {
		t.Fatalf("link: %+v %v", sess, err)
	}
	if _, _, err := f.st.UseConsoleLink(ctx, link); domain.ErrorCode(err) != domain.EUnauthorized {
		t.Fatalf("a link used twice: %v", err)
	}
	if got, err := f.st.ConsoleSessionByToken(ctx, token); err != nil || got.Email != "ann@acme.test" {
		t.Fatalf("session %+v %v", got, err)
	}
	if _, sess, err := f.st.StartConsoleSession(ctx, f.ws.ID, "bob@acme.test"); err != nil || sess.Role != store.RoleViewer {
		t.Fatalf("viewer %+v %v", sess, err)
	}
	if _, _, err := f.st.StartConsoleSession(ctx, f.ws.ID, "eve@acme.test"); domain.ErrorCode(err) != domain.EForbidden {
		t.Fatalf("a stranger: %v", err)
	}
	state, err := f.st.BeginConsoleSignIn(ctx, f.ws.ID, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	if ws, nonce, err := f.st.FinishConsoleSignIn(ctx, state); err != nil || ws != f.ws.ID || nonce != "nonce-1" {
		t.Fatalf("state: %s %s %v", ws, nonce, err)
	}
	if _, _, err := f.st.FinishConsoleSignIn(ctx, state); domain.ErrorCode(err) != domain.EUnauthorized {
		t.Fatalf("a state used twice: %v", err)
	}
	if err := f.st.SetWorkspaceSettings(ctx, f.ws.ID, "test", store.WorkspaceSettings{AdminEmails: []string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ConsoleSessionByToken(ctx, token); domain.ErrorCode(err) != domain.EUnauthorized {
		t.Fatalf("a session outlived its admin: %v", err)
	}
}

// A sealed page cursor opens only for its workspace, and nothing made up
// or altered opens at all.
func TestCursorsBelongToTheirWorkspace(t *testing.T) {
	f := newFixture(t)
	cursor, err := f.st.SealCursor(f.ws.ID, []byte("temporal page token"))
	if err != nil {
		t.Fatal(err)
	}
	if token, err := f.st.OpenCursor(f.ws.ID, cursor); err != nil || string(token) != "temporal page token" {
		t.Fatalf("open: %q %v", token, err)
	}
	altered := cursor[:len(cursor)-2] + "AA"
	for _, bad := range []string{altered, "AAAA", "k1.AAAA", "." + cursor, strings.Repeat("a", 9000)} {
		if _, err := f.st.OpenCursor(f.ws.ID, bad); domain.ErrorCode(err) != domain.EInvalid {
			t.Fatalf("OpenCursor(%.20q): %v", bad, err)
		}
	}
	if _, err := f.st.OpenCursor("another-workspace", cursor); domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("another workspace's cursor: %v", err)
	}
	if empty, err := f.st.SealCursor(f.ws.ID, nil); empty != "" || err != nil {
		t.Fatalf("an empty token seals to %q", empty)
	}
}

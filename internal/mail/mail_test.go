package mail

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSendAndCatch(t *testing.T) {
	c, err := StartCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, err := New(Config{Addr: c.Addr, From: "hubkeeper@acme.test", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	msg := Message{To: []string{"it@acme.test", "cto@acme.test"}, Subject: "2 people to remove from Acme Meta — ünïcode",
		Text: "Open https://hub.example/confirm/abc to decide.", HTML: `<p>Open <a href="https://hub.example/confirm/abc">the report</a>.</p>`}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := c.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages caught", len(got))
	}
	g := got[0]
	if g.From != "hubkeeper@acme.test" || len(g.To) != 2 || g.Subject != msg.Subject ||
		!strings.Contains(g.Text, "https://hub.example/confirm/abc") || !strings.Contains(g.HTML, `href="https://hub.example/confirm/abc"`) {
		t.Fatalf("caught %+v", g)
	}
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(rec.Body.String(), "the report") {
		t.Fatal("the inbox page does not show the message")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"ErrNoPort":   {Addr: "smtp.example", From: "a@b.c", TLS: "none"},
		"ErrNoSender": {Addr: "smtp.example:25", TLS: "none"},
		"ErrTLS":      {Addr: "smtp.example:25", From: "a@b.c", TLS: "maybe"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(cfg); err == nil {
				t.Fatal("want error")
			}
		})
	}
	m, _ := New(Config{Addr: "127.0.0.1:1", From: "a@b.c", TLS: "none", Password: "smtp-secret-pw", Username: "u"})
	err := m.Send(context.Background(), Message{To: []string{"x@y.z"}, Subject: "s", Text: "t"})
	if err == nil || strings.Contains(err.Error(), "smtp-secret-pw") {
		t.Fatalf("err = %v", err)
	}
}

// A refused recipient fails the send with a temporary error, and nothing is caught, until accepted again.
func TestRefusedRecipient(t *testing.T) {
	c, err := StartCatcher("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m, _ := New(Config{Addr: c.Addr, From: "hubkeeper@acme.test", TLS: "none"})
	msg := Message{To: []string{"it@acme.test"}, Subject: "s", Text: "t"}
	c.Refuse("it@acme.test")
	if err := m.Send(context.Background(), msg); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("send to a refused recipient: %v", err)
	}
	if n := len(c.Messages()); n != 0 {
		t.Fatalf("%d messages caught", n)
	}
	c.Accept("it@acme.test")
	if err := m.Send(context.Background(), msg); err != nil || len(c.Messages()) != 1 {
		t.Fatalf("after accepting: %v, %d caught", err, len(c.Messages()))
	}
}

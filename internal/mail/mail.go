// Package mail sends Hubkeeper's e-mail over SMTP (go-mail) and, for tests
// and the dev stack, catches it with an in-process SMTP server (go-smtp)
// that shows what it received on a web page.
package mail

import (
	"context"
	"fmt"
	"net"
	"strconv"

	gomail "github.com/wneessen/go-mail"
)

// Config says how to reach the SMTP server.
type Config struct {
	// Addr is host:port.
	Addr     string
	Username string
	Password string
	From     string
	// TLS is "none", "starttls" (required) or "tls" (implicit, port 465).
	TLS string
}

// Message is one e-mail with a plain-text and an HTML body.
type Message struct {
	To      []string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends messages.
type Mailer struct {
	cfg  Config
	host string
	port int
}

// New checks cfg and returns a mailer.
func New(cfg Config) (*Mailer, error) {
	host, portText, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP address must be host:port")
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP port must be a number")
	}
	if cfg.From == "" {
		return nil, fmt.Errorf("mail: a sender address is required")
	}
	switch cfg.TLS {
	case "none", "starttls", "tls":
	default:
		return nil, fmt.Errorf("mail: TLS must be none, starttls or tls")
	}
	return &Mailer{cfg: cfg, host: host, port: port}, nil
}

// Send delivers msg to every recipient.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	gm := gomail.NewMsg()
	if err := gm.From(m.cfg.From); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := gm.To(msg.To...); err != nil {
		return fmt.Errorf("mail: recipients: %w", err)
	}
	gm.Subject(msg.Subject)
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	opts := []gomail.Option{gomail.WithPort(m.port)}
	switch m.cfg.TLS {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "tls":
		opts = append(opts, gomail.WithSSL())
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	client, err := gomail.NewClient(m.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		return fmt.Errorf("mail: sending to %d recipients via %s: %w", len(msg.To), m.cfg.Addr, err)
	}
	return nil
}

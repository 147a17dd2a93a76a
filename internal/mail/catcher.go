package mail

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Caught is a message the catcher received.
type Caught struct {
	From     string
	To       []string
	Subject  string
	Text     string
	HTML     string
	Received time.Time
}

// Catcher is an SMTP server that keeps every message it receives.
type Catcher struct {
	mu       sync.Mutex
	messages []Caught
	// refused are recipients answered with a temporary failure.
	refused map[string]bool
	server  *smtp.Server
	// Addr is where it listens (host:port).
	Addr string
}

// StartCatcher listens on addr ("127.0.0.1:0" for any port) until Close.
func StartCatcher(addr string) (*Catcher, error) {
	c := &Catcher{}
	c.server = smtp.NewServer(c)
	c.server.Domain = "localhost"
	c.server.AllowInsecureAuth = true
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.Addr = l.Addr().String()
	go func() { _ = c.server.Serve(l) }()
	return c, nil
}

// Close stops the server.
func (c *Catcher) Close() error { return c.server.Close() }

// Refuse answers mail to recipient with a temporary failure (451), as a
// mail server that is having trouble would, until Accept.
func (c *Catcher) Refuse(recipient string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused == nil {
		c.refused = map[string]bool{}
	}
	c.refused[recipient] = true
}

// Accept takes mail to recipient again.
func (c *Catcher) Accept(recipient string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refused, recipient)
}

// Messages returns what was received so far, oldest first.
func (c *Catcher) Messages() []Caught {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Caught(nil), c.messages...)
}

// NewSession implements smtp.Backend.
func (c *Catcher) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{c: c}, nil }

type session struct {
	c    *Catcher
	from string
	to   []string
}

func (s *session) AuthPlain(string, string) error              { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.c.mu.Lock()
	refused := s.c.refused[to]
	s.c.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox temporarily unavailable"}
	}
	s.to = append(s.to, to)
	return nil
}
func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Data(r io.Reader) error {
	msg, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	caught := Caught{From: s.from, To: s.to, Subject: subject, Received: time.Now()}
	text, html, err := bodies(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return err
	}
	caught.Text, caught.HTML = text, html
	s.c.mu.Lock()
	s.c.messages = append(s.c.messages, caught)
	s.c.mu.Unlock()
	return nil
}

// bodies extracts the plain-text and HTML parts of a message.
func bodies(contentType, encoding string, body io.Reader) (text, html string, err error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return text, html, nil
			}
			if err != nil {
				return "", "", err
			}
			t, h, err := bodies(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			if err != nil {
				return "", "", err
			}
			text, html = text+t, html+h
		}
	}
	raw, err := io.ReadAll(decode(encoding, body))
	if err != nil {
		return "", "", err
	}
	if mediaType == "text/html" {
		return "", string(raw), nil
	}
	return string(raw), "", nil
}

func decode(encoding string, r io.Reader) io.Reader {
	if strings.EqualFold(encoding, "quoted-printable") {
		return newQP(r)
	}
	if strings.EqualFold(encoding, "base64") {
		return newB64(r)
	}
	return r
}

var page = template.Must(template.New("inbox").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hubkeeper dev mail</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}header{color:#555;font-size:.9rem}</style></head>
<body><h1>Mail sent by Hubkeeper (dev)</h1>
{{if not .}}<p>Nothing sent yet.</p>{{end}}
{{range .}}<article><header>{{.Received.Format "2006-01-02 15:04:05"}} · to {{range .To}}{{.}} {{end}}</header>
<h2>{{.Subject}}</h2>{{if .HTML}}<div>{{.HTML}}</div>{{else}}<pre>{{.Text}}</pre>{{end}}</article>{{end}}
</body></html>`))

// ServeHTTP shows the received messages, newest first, for people to read and click.
func (c *Catcher) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	msgs := c.Messages()
	type view struct {
		Caught
		HTML template.HTML
	}
	views := make([]view, len(msgs))
	for i, m := range msgs {
		// The catcher shows Hubkeeper's own messages, in the dev stack only.
		views[len(msgs)-1-i] = view{Caught: m, HTML: template.HTML(m.HTML)} //nolint:gosec
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf bytes.Buffer
	if err := page.Execute(&buf, views); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}
func newQP(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

// newB64 decodes base64 that may be split over lines.
func newB64(r io.Reader) io.Reader {
	raw, err := io.ReadAll(r)
	if err != nil {
		return strings.NewReader("")
	}
	return base64.NewDecoder(base64.StdEncoding, strings.NewReader(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw))))
}

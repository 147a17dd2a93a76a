// Package browser is the worker's one headless Chromium, driven by go-rod:
// launched with the flags this network needs, shared by a bounded number of
// sessions, each in its own incognito context with page timeouts. On a
// failure a session keeps a screenshot and the page's HTML, with every
// password field emptied first, for diagnosis.
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/proto"
)

// Options configure the browser.
type Options struct {
	// Bin is Chromium's path; empty: $HUBKEEPER_CHROMIUM, then chromium on $PATH.
	Bin string
	// Sessions bounds how many sessions use the browser at once.
	Sessions int
	// PageTimeout bounds each navigation, wait and action.
	PageTimeout time.Duration
	// CaptureDir is where failure screenshots and HTML go.
	CaptureDir string
}

// Shared launches Chromium on first use, so a worker that never drives a
// browser never needs one.
type Shared struct {
	Options Options
	once    sync.Once
	b       *Browser
	err     error
}

// Get returns the browser, launching it the first time.
func (sh *Shared) Get() (*Browser, error) {
	sh.once.Do(func() { sh.b, sh.err = Launch(sh.Options) })
	return sh.b, sh.err
}

// Close stops the browser if it was launched.
func (sh *Shared) Close() {
	if sh.b != nil {
		sh.b.Close()
	}
}

// Browser is a running headless Chromium.
type Browser struct {
	o        Options
	rod      *rod.Browser
	launcher *launcher.Launcher
	slots    chan struct{}
}

// FindChromium returns $HUBKEEPER_CHROMIUM or the Chromium on $PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("HUBKEEPER_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: apt-get install chromium, or set HUBKEEPER_CHROMIUM")
}

// Launch starts Chromium. Without these flags Chromium floods a closed
// network with update and sync requests; as root it needs no-sandbox.
func Launch(o Options) (*Browser, error) {
	if o.Bin == "" {
		bin, err := FindChromium()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	if o.Sessions < 1 {
		o.Sessions = 2
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 30 * time.Second
	}
	if o.CaptureDir == "" {
		o.CaptureDir = filepath.Join(os.TempDir(), "hubkeeper-captures")
	}
	l := launcher.New().Bin(o.Bin).Headless(true).NoSandbox(true).
		Set("disable-background-networking").Set("disable-component-update").Set("disable-sync").
		Set("no-first-run").Set("disable-gpu").Set("disable-quic").Set("disable-dev-shm-usage")
	u, err := l.Launch()
	if err != nil {
		return nil, fmt.Errorf("launch chromium: %w", err)
	}
	b := rod.New().ControlURL(u)
	if err := b.Connect(); err != nil {
		l.Kill()
		return nil, fmt.Errorf("connect to chromium: %w", err)
	}
	return &Browser{o: o, rod: b, launcher: l, slots: make(chan struct{}, o.Sessions)}, nil
}

// Close stops Chromium and removes its profile.
func (b *Browser) Close() {
	_ = b.rod.Close()
	b.launcher.Kill()
	b.launcher.Cleanup()
}

// Session is one page in its own incognito context (its own cookies).
type Session struct {
	Page    *rod.Page
	b       *Browser
	context *rod.Browser
	// Pages counts the pages it loaded.
	Pages int
}

// NewSession waits for a free slot, then opens a page; Close gives the slot back.
func (b *Browser) NewSession(ctx context.Context) (*Session, error) {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	incognito, err := b.rod.Incognito()
	if err != nil {
		<-b.slots
		return nil, fmt.Errorf("browser context: %w", err)
	}
	page, err := incognito.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		_ = incognito.Close()
		<-b.slots
		return nil, fmt.Errorf("open page: %w", err)
	}
	return &Session{Page: page.Context(ctx), b: b, context: incognito}, nil
}

// Close closes the session's context and frees its slot.
func (s *Session) Close() {
	_ = s.context.Close()
	<-s.b.slots
}

// Timed returns the page bounded by the page timeout, for one step.
func (s *Session) Timed() *rod.Page { return s.Page.Timeout(s.b.o.PageTimeout) }

// Open loads a URL and waits for it to load.
func (s *Session) Open(url string) error {
	p := s.Timed()
	if err := p.Navigate(url); err != nil {
		return fmt.Errorf("open %s: %w", stripQuery(url), err)
	}
	if err := p.WaitLoad(); err != nil {
		return fmt.Errorf("load %s: %w", stripQuery(url), err)
	}
	s.Pages++
	return nil
}

// URL is the page's current address.
func (s *Session) URL() string {
	info, err := s.Page.Info()
	if err != nil {
		return ""
	}
	return info.URL
}

// Cookies returns the session's cookies as JSON, to keep a login (and a
// browser the provider trusts) for the next session. They are secrets.
func (s *Session) Cookies() ([]byte, error) {
	cookies, err := s.context.GetCookies()
	if err != nil {
		return nil, fmt.Errorf("read cookies: %w", err)
	}
	return json.Marshal(cookies)
}

// SetCookies restores cookies that Cookies returned.
func (s *Session) SetCookies(raw []byte) error {
	var cookies []*proto.NetworkCookie
	if err := json.Unmarshal(raw, &cookies); err != nil {
		return fmt.Errorf("stored cookies: %w", err)
	}
	return s.context.SetCookies(proto.CookiesToParams(cookies))
}

// Capture is where a failure's screenshot and HTML were kept.
type Capture struct {
	Screenshot string
	HTML       string
}

// Capture keeps a screenshot and the HTML of the page as it is, after
// emptying every password field, under name in the capture directory.
func (s *Session) Capture(name string) (Capture, error) {
	p := s.Page.Timeout(s.b.o.PageTimeout)
	if _, err := p.Eval(`() => { for (const el of document.querySelectorAll('input[type=password]')) { el.value = ''; el.removeAttribute('value') } }`); err != nil {
		return Capture{}, fmt.Errorf("clear password fields: %w", err)
	}
	if err := os.MkdirAll(s.b.o.CaptureDir, 0o700); err != nil {
		return Capture{}, err
	}
	base := filepath.Join(s.b.o.CaptureDir, fmt.Sprintf("%s-%s", name, time.Now().UTC().Format("20060102T150405.000")))
	c := Capture{Screenshot: base + ".png", HTML: base + ".html"}
	png, err := p.Screenshot(true, nil)
	if err != nil {
		return Capture{}, fmt.Errorf("screenshot: %w", err)
	}
	html, err := p.HTML()
	if err != nil {
		return Capture{}, fmt.Errorf("page HTML: %w", err)
	}
	if err := os.WriteFile(c.Screenshot, png, 0o600); err != nil {
		return Capture{}, err
	}
	return c, os.WriteFile(c.HTML, []byte(html), 0o600)
}

// stripQuery drops a URL's query, which may carry tokens, for messages.
func stripQuery(u string) string {
	before, _, _ := strings.Cut(u, "?")
	return before
}

// PeakMemory sums the peak resident memory (VmHWM) of Chromium's processes,
// in bytes: an upper bound of the browser's peak, read from /proc (Linux).
func (b *Browser) PeakMemory() (int64, error) {
	root := b.launcher.PID()
	parents := map[int]int{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 {
			parents[pid], _ = strconv.Atoi(fields[1])
		}
	}
	inTree := func(pid int) bool {
		for ; pid > 1; pid = parents[pid] {
			if pid == root {
				return true
			}
		}
		return false
	}
	var total int64
	for pid := range parents {
		if !inTree(pid) {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				total += kb * 1024
			}
		}
	}
	return total, nil
}

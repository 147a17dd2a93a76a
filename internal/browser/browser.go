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
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"github.com/hubkeeper/hubkeeper/internal/egress"
)

// Options configure the browser.
type Options struct {
	// Bin is Chromium's path; empty: $HUBKEEPER_CHROMIUM, then chromium on $PATH.
	Bin string
	// Sessions bounds how many sessions use the browser at once.
	Sessions int
	// PageTimeout bounds each navigation, wait and action.
	PageTimeout time.Duration
	// CaptureDir is where failure screenshots and HTML go. They hold
	// personal data: at most CaptureMax are kept, none older than CaptureKeep.
	CaptureDir  string
	CaptureKeep time.Duration
	CaptureMax  int
	// User runs Chromium when the worker is root (its sandbox refuses
	// root); empty: nobody.
	User string
	// Hosts are the operator's allowed hosts; pages reach those and
	// Pinterest's own (egress.BrowserHosts), through a filtering proxy.
	Hosts egress.Policy
}

// Shared launches Chromium on first use, so a worker that never drives a
// browser never needs one, and again whenever the last one failed to
// launch or died.
type Shared struct {
	Options Options
	mu      sync.Mutex
	b       *Browser
}

// Get returns a running browser, launching one when there is none or the
// last one no longer answers.
func (sh *Shared) Get(ctx context.Context) (*Browser, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.b != nil && sh.b.alive(ctx) {
		return sh.b, nil
	}
	if sh.b != nil {
		sh.b.Close()
		sh.b = nil
	}
	b, err := Launch(sh.Options)
	if err != nil {
		return nil, err
	}
	sh.b = b
	return b, nil
}

// Close stops the browser if one runs.
func (sh *Shared) Close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.b != nil {
		sh.b.Close()
		sh.b = nil
	}
}

// alive reports whether Chromium still answers.
func (b *Browser) alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := proto.BrowserGetVersion{}.Call(b.rod.Context(ctx))
	return err == nil
}

// Browser is a running headless Chromium.
type Browser struct {
	o        Options
	rod      *rod.Browser
	chromium *chromium
	proxy    *proxy
	slots    chan struct{}
}

// FindChromium returns $HUBKEEPER_CHROMIUM or the Chromium on $PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("HUBKEEPER_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("HUBKEEPER_CHROMIUM is %s, which is not a program: install chromium, or correct the setting", p)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: apt-get install chromium, or set HUBKEEPER_CHROMIUM")
}

// withDefaults fills the options left unset.
func (o Options) withDefaults() Options {
	if o.Sessions < 1 {
		o.Sessions = 2
	}
	if o.PageTimeout <= 0 {
		o.PageTimeout = 30 * time.Second
	}
	if o.CaptureDir == "" {
		o.CaptureDir = filepath.Join(os.TempDir(), "hubkeeper-captures")
	}
	if o.CaptureKeep <= 0 {
		o.CaptureKeep = 7 * 24 * time.Hour
	}
	if o.CaptureMax <= 0 {
		o.CaptureMax = 100
	}
	return o
}

// Launch starts Chromium with its sandbox, reaching the network only
// through a proxy that lets pages load from the allowed hosts.
func Launch(o Options) (*Browser, error) {
	if o.Bin == "" {
		bin, err := FindChromium()
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	o = o.withDefaults()
	p, err := startProxy(o.Hosts)
	if err != nil {
		return nil, fmt.Errorf("browser proxy: %w", err)
	}
	c, err := startChromium(o, p.addr())
	if err != nil {
		p.close()
		return nil, fmt.Errorf("launch chromium: %w", err)
	}
	b := rod.New().ControlURL(c.devtools)
	if err := b.Connect(); err != nil {
		c.stop()
		p.close()
		return nil, fmt.Errorf("connect to chromium: %w", err)
	}
	return &Browser{o: o, rod: b, chromium: c, proxy: p, slots: make(chan struct{}, o.Sessions)}, nil
}

// Close stops Chromium, removes its profile and stops its proxy.
func (b *Browser) Close() {
	_ = b.rod.Close()
	b.chromium.stop()
	b.proxy.close()
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
	incognito, err := b.rod.Context(ctx).Incognito()
	if err != nil {
		<-b.slots
		return nil, fmt.Errorf("browser context: %w", err)
	}
	page, err := incognito.Context(ctx).Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		_ = incognito.Close()
		<-b.slots
		return nil, fmt.Errorf("open page: %w", err)
	}
	return &Session{Page: page.Context(ctx), b: b, context: incognito}, nil
}

// Close closes the session's context and frees its slot.
func (s *Session) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), s.b.o.PageTimeout)
	defer cancel()
	_ = s.context.Context(ctx).Close()
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
// emptying every password field, under name in the capture directory, and
// drops captures beyond the ones kept (too old, or too many).
func (s *Session) Capture(name string) (Capture, error) {
	defer s.b.o.PruneCaptures()
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

// PruneCaptures deletes captures older than CaptureKeep, then the oldest
// beyond the CaptureMax newest.
func (o Options) PruneCaptures() {
	o = o.withDefaults()
	entries, err := os.ReadDir(o.CaptureDir)
	if err != nil {
		return
	}
	type capture struct {
		base string
		at   time.Time
	}
	byBase := map[string]time.Time{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.IsDir() {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".png"), ".html")
		if info.ModTime().After(byBase[base]) {
			byBase[base] = info.ModTime()
		}
	}
	var kept []capture
	for base, at := range byBase {
		kept = append(kept, capture{base, at})
	}
	slices.SortFunc(kept, func(x, y capture) int { return y.at.Compare(x.at) })
	for i, c := range kept {
		if i >= o.CaptureMax || time.Since(c.at) > o.CaptureKeep {
			for _, ext := range []string{".png", ".html"} {
				_ = os.Remove(filepath.Join(o.CaptureDir, c.base+ext))
			}
		}
	}
}

// stripQuery drops a URL's query, which may carry tokens, for messages.
func stripQuery(u string) string {
	before, _, _ := strings.Cut(u, "?")
	return before
}

// PeakMemory sums the peak resident memory (VmHWM) of Chromium's processes,
// in bytes: an upper bound of the browser's peak, read from /proc (Linux).
func (b *Browser) PeakMemory() (int64, error) {
	var total int64
	for _, pid := range b.processes() {
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

// processes lists Chromium's processes: the browser and its descendants.
func (b *Browser) processes() []int {
	root := b.chromium.pid()
	parents := map[int]int{}
	entries, _ := os.ReadDir("/proc")
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
	var tree []int
	for pid := range parents {
		for p := pid; p > 1; p = parents[p] {
			if p == root {
				tree = append(tree, pid)
				break
			}
		}
	}
	return tree
}

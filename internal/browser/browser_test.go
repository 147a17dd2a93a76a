package browser

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/egress"
)

func chromiumBin(t *testing.T) string {
	t.Helper()
	bin, err := FindChromium()
	if err != nil {
		t.Fatal(err) // tests never skip: CI installs Chromium
	}
	return bin
}

// loopback lets pages load from the tests' servers.
var loopback = egress.Policy{Allowed: []string{"127.0.0.1"}}

func page(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><form><input type="password" value="s3cret-pass"></form>`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A browser that failed to launch, or died, is launched again by the next
// caller instead of failing every activity for the worker's life.
func TestSharedRelaunches(t *testing.T) {
	sh := &Shared{Options: Options{Hosts: loopback, Bin: "/nonexistent/chromium", Sessions: 1, PageTimeout: 10 * time.Second, CaptureDir: t.TempDir()}}
	defer sh.Close()
	ctx := context.Background()
	if _, err := sh.Get(ctx); err == nil {
		t.Fatal("launched a browser that does not exist")
	}
	sh.Options.Bin = chromiumBin(t) // Chromium is installed now
	first, err := sh.Get(ctx)
	if err != nil {
		t.Fatalf("after installing: %v", err)
	}
	if again, _ := sh.Get(ctx); again != first {
		t.Fatal("a live browser was replaced")
	}
	// Chromium crashes.
	if err := syscall.Kill(first.chromium.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var second *Browser
	for second == nil || second == first {
		if time.Now().After(deadline) {
			t.Fatal("the dead browser was not replaced")
		}
		if second, err = sh.Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sess, err := second.NewSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Open(page(t)); err != nil {
		t.Fatalf("the new browser: %v", err)
	}
}

// A session waits for a free slot only as long as the activity's context.
func TestSessionBoundByContext(t *testing.T) {
	b, _ := launched(t, loopback)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := b.NewSession(ctx); err == nil {
		t.Fatal("a second session opened past the bound")
	}
}

// Captures (they hold personal data) are kept for a bounded time and
// number; password fields are emptied first.
func TestCapturesAreBounded(t *testing.T) {
	dir := t.TempDir()
	b, err := Launch(Options{Hosts: loopback, Bin: chromiumBin(t), Sessions: 1, CaptureDir: dir, CaptureKeep: time.Hour, CaptureMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	old := filepath.Join(dir, "pinterest-old.png")
	if err := os.WriteFile(old, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sess, err := b.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Open(page(t)); err != nil {
		t.Fatal(err)
	}
	var captures []Capture
	for i := range 3 {
		c, err := sess.Capture(fmt.Sprintf("step%d", i))
		if err != nil {
			t.Fatal(err)
		}
		captures = append(captures, c)
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("a capture older than CaptureKeep was kept")
	}
	if _, err := os.Stat(captures[0].Screenshot); !os.IsNotExist(err) {
		t.Fatal("the oldest capture beyond CaptureMax was kept")
	}
	for _, c := range captures[1:] {
		html, err := os.ReadFile(c.HTML)
		if err != nil {
			t.Fatalf("a recent capture is gone: %v", err)
		}
		if len(html) == 0 || strings.Contains(string(html), "s3cret-pass") {
			t.Fatal("the capture is empty or shows the password")
		}
	}
}

// Chromium runs with its sandbox: never as root, never with --no-sandbox,
// its renderers confined by seccomp, and without the worker's environment.
func TestChromiumRunsSandboxed(t *testing.T) {
	t.Setenv("HUBKEEPER_ENCRYPTION_KEYS", "k1:a-secret-the-browser-must-not-see")
	b, sess := launched(t, loopback)
	if err := sess.Open(page(t)); err != nil {
		t.Fatal(err)
	}
	environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", b.chromium.pid()))
	if bytes.Contains(environ, []byte("HUBKEEPER_")) || bytes.Contains(environ, []byte("DATABASE_URL")) {
		t.Fatal("chromium inherited the worker's settings, secrets among them")
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", b.chromium.pid()))
	if strings.Contains(string(cmdline), "no-sandbox") {
		t.Fatalf("chromium runs without its sandbox: %s", bytes.ReplaceAll(cmdline, []byte{0}, []byte(" ")))
	}
	confined := 0
	for _, pid := range b.processes() {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		if uid := field(string(status), "Uid:"); strings.Fields(uid)[0] == "0" {
			t.Fatalf("chromium process %d runs as root", pid)
		}
		if field(string(status), "Seccomp:") == "2" {
			confined++
		}
	}
	if confined == 0 {
		t.Fatal("no chromium process is confined by seccomp: the sandbox is off")
	}
}

// launched starts a browser of one session that pages reach hosts from,
// and opens that session; both close with the test.
func launched(t *testing.T, hosts egress.Policy) (*Browser, *Session) {
	t.Helper()
	b, err := Launch(Options{Hosts: hosts, Bin: chromiumBin(t), Sessions: 1, CaptureDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	sess, err := b.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	return b, sess
}

// field reads a field of /proc/<pid>/status.
func field(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// A page reaches only the allowed hosts: another local server, linked,
// fetched and navigated to, sees no request.
func TestPagesReachOnlyAllowedHosts(t *testing.T) {
	hits := 0
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer other.Close()
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>t</title><img src="%s/pixel.png"><script>fetch("%s/data").catch(() => {})</script>`,
			other.URL, other.URL)
	}))
	defer allowed.Close()
	b, sess := launched(t, egress.Policy{Allowed: []string{strings.TrimPrefix(allowed.URL, "http://")}})
	if err := sess.Open(allowed.URL); err != nil {
		t.Fatal(err)
	}
	_ = sess.Open(other.URL + "/navigate")
	time.Sleep(300 * time.Millisecond) // the fetch has been refused or sent by now
	if hits != 0 {
		t.Fatalf("a page reached a host it may not: %d requests", hits)
	}
	if b.proxy.refusals() < 3 {
		t.Fatalf("the proxy refused %d requests, want the image, the fetch and the navigation", b.proxy.refusals())
	}
}

package browser

import (
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
)

func chromium(t *testing.T) string {
	t.Helper()
	bin, err := FindChromium()
	if err != nil {
		t.Fatal(err) // tests never skip: CI installs Chromium
	}
	return bin
}

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
	sh := &Shared{Options: Options{Bin: "/nonexistent/chromium", Sessions: 1, PageTimeout: 10 * time.Second, CaptureDir: t.TempDir()}}
	defer sh.Close()
	ctx := context.Background()
	if _, err := sh.Get(ctx); err == nil {
		t.Fatal("launched a browser that does not exist")
	}
	sh.Options.Bin = chromium(t) // Chromium is installed now
	first, err := sh.Get(ctx)
	if err != nil {
		t.Fatalf("after installing: %v", err)
	}
	if again, _ := sh.Get(ctx); again != first {
		t.Fatal("a live browser was replaced")
	}
	// Chromium crashes.
	if err := syscall.Kill(first.launcher.PID(), syscall.SIGKILL); err != nil {
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
	b, err := Launch(Options{Bin: chromium(t), Sessions: 1, CaptureDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	held, err := b.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
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
	b, err := Launch(Options{Bin: chromium(t), Sessions: 1, CaptureDir: dir, CaptureKeep: time.Hour, CaptureMax: 2})
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

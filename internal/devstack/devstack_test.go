package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddrs returns n distinct free local addresses: every listener stays
// open until all are chosen, so the system cannot hand out one port twice.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

// startStack runs the dev stack until it prints that it is running.
func startStack(t *testing.T, o Options) (stop func() error, out *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, out) }()
	deadline := time.Now().Add(5 * time.Minute) // beside the e2e browsers in CI
	for !strings.Contains(out.String(), "Hubkeeper is running") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("dev stack stopped: %v\n%s", err, out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("dev stack not up after 2 minutes:\n%s", out)
		}
	}
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			return fmt.Errorf("dev stack did not stop within a minute")
		}
	}, out
}

func get(t *testing.T, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// consoleLink posts a one-time console link's form, as its button does.
func consoleLink(t *testing.T, link string) int {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(link, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDevStack runs what `make dev` runs, twice on the same data directory.
func TestDevStack(t *testing.T) {
	dir, err := os.MkdirTemp("", "hubkeeper-dev-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres OS user must reach the cluster
		t.Fatal(err)
	}
	a := freeAddrs(t, 10)
	o := Options{DataDir: filepath.Join(dir, "data"), APIAddr: a[0], TemporalPort: portOf(a[1]), UIPort: portOf(a[2]),
		OktaAddr: a[3], EntraAddr: a[4], MetaAddr: a[5], PinterestAddr: a[6], MailAddr: a[7], MailUIAddr: a[8], MetricsAddr: a[9]}

	stop, out := startStack(t, o)
	env, err := readEnvFile(filepath.Join(o.DataDir, "demo.env"))
	if err != nil {
		t.Fatal(err)
	}
	key, api := env["HUBKEEPER_API_KEY"], env["HUBKEEPER_API_URL"]
	if !strings.Contains(out.String(), key) || key == "" {
		t.Fatalf("output does not show the API key:\n%s", out)
	}
	if code, body := get(t, api+"/v1/directories/"+env["OKTA_DIRECTORY_ID"]+"/users?limit=500", key); code != 200 ||
		strings.Count(body, `"external_id"`) != 400 {
		t.Fatalf("okta users: %d, %d users", code, strings.Count(body, `"external_id"`))
	}
	if code, body := get(t, api+"/v1/integrations/"+env["META_INTEGRATION_ID"]+"/members?state=unmatched", key); code != 200 ||
		!strings.Contains(body, `"match":"several"`) || !strings.Contains(body, `"match":"none"`) {
		t.Fatalf("unmatched Meta members: %d %.300s", code, body)
	}
	// The Pinterest business was onboarded in Chromium and imported into the same tabs.
	if code, body := get(t, api+"/v1/integrations/"+env["PINTEREST_INTEGRATION_ID"]+"/members?state=onboarded&limit=500", key); code != 200 ||
		strings.Count(body, `"external_id"`) < 100 {
		t.Fatalf("onboarded Pinterest members: %d, %d members", code, strings.Count(body, `"external_id"`))
	}
	// The second Pinterest business was connected through the API by a consent in the sandbox.
	if code, body := get(t, api+"/v1/integrations/"+env["PINTEREST_API_INTEGRATION_ID"], key); code != 200 ||
		!strings.Contains(body, `"mode":"api"`) || !strings.Contains(body, `"status":"connected"`) {
		t.Fatalf("the Pinterest API integration: %d %.300s", code, body)
	}
	if code, body := get(t, api+"/v1/integrations/"+env["PINTEREST_API_INTEGRATION_ID"]+"/members?state=onboarded&limit=500", key); code != 200 ||
		strings.Count(body, `"external_id"`) < 50 {
		t.Fatalf("onboarded members through the API: %d, %d members", code, strings.Count(body, `"external_id"`))
	}
	// The SCIM directory answers its IdP with the token in demo.env.
	if code, body := get(t, env["HUBKEEPER_SCIM_URL"]+"/ServiceProviderConfig", env["HUBKEEPER_SCIM_TOKEN"]); code != 200 ||
		!strings.Contains(body, `"patch":{"supported":true}`) || strings.Contains(out.String(), env["HUBKEEPER_SCIM_TOKEN"]) {
		t.Fatalf("SCIM endpoint: %d %.300s", code, body)
	}
	// The console's one-time link signs the demo admin in, once.
	if code := consoleLink(t, env["HUBKEEPER_CONSOLE_LOGIN_URL"]); code != 303 || !strings.Contains(out.String(), env["HUBKEEPER_CONSOLE_LOGIN_URL"]) {
		t.Fatalf("console link: %d", code)
	}
	if code := consoleLink(t, env["HUBKEEPER_CONSOLE_LOGIN_URL"]); code != 401 {
		t.Fatalf("the console link worked twice: %d", code)
	}
	// The demo business has departed people: their report's e-mail, with its link, is on the mail page.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, "http://"+o.MailUIAddr, "")
		if strings.Contains(body, "people to remove") && strings.Contains(body, "/confirm/") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report e-mail on the mail page:\n%.500s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := get(t, env["TEMPORAL_UI_URL"], ""); code != 200 {
		t.Fatalf("Temporal UI answered %d", code)
	}
	if code, body := get(t, "http://"+o.MetricsAddr+"/metrics", ""); code != 200 || !strings.Contains(body, "temporal_") {
		t.Fatalf("metrics: %d %.300s", code, body)
	}
	secrets, _ := readEnvFile(filepath.Join(o.DataDir, "secrets.env"))
	logs, _ := os.ReadFile(filepath.Join(o.DataDir, "hubkeeper.log"))
	for _, name := range []string{"SANDBOX_OKTA_TOKEN", "SANDBOX_ENTRA_SECRET", "SANDBOX_META_TOKEN", "SANDBOX_PINTEREST_PASSWORD",
		"SANDBOX_PINTEREST_CLIENT_SECRET", "HUBKEEPER_ENCRYPTION_KEYS"} {
		if v := secrets[name]; v == "" || bytes.Contains(logs, []byte(v)) || strings.Contains(out.String(), v) {
			t.Fatalf("%s is unset or leaked into the logs or output", name)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", api[len("http://"):]); err == nil {
		c.Close()
		t.Fatal("API still listening after stop")
	}

	// A second run reuses .data: same workspace and key, nothing new to import.
	stop, out = startStack(t, o)
	defer stop()
	again, _ := readEnvFile(filepath.Join(o.DataDir, "demo.env"))
	if again["HUBKEEPER_API_KEY"] != key || again["OKTA_DIRECTORY_ID"] != env["OKTA_DIRECTORY_ID"] ||
		env["HUBKEEPER_SUPPORT_KEY"] == "" || again["HUBKEEPER_SUPPORT_KEY"] != env["HUBKEEPER_SUPPORT_KEY"] ||
		again["HUBKEEPER_SCIM_TOKEN"] != env["HUBKEEPER_SCIM_TOKEN"] || again["HUBKEEPER_SCIM_URL"] != env["HUBKEEPER_SCIM_URL"] {
		t.Fatal("second run did not reuse the demo workspace")
	}
	if !strings.Contains(out.String(), "0 added, 0 changed, 0 deprovisioned, 400 unchanged") ||
		strings.Count(out.String(), "members (0 added, 0 changed, 0 removed)") != 3 {
		t.Fatalf("second run re-imported:\n%s", out)
	}
}

// Before starting anything, the stack says what the machine lacks.
func TestPrerequisitesSayWhatToInstall(t *testing.T) {
	t.Setenv("HUBKEEPER_PG_BIN", "/nonexistent/postgresql/bin")
	t.Setenv("HUBKEEPER_CHROMIUM", "/nonexistent/chromium")
	dir := t.TempDir()
	err := Run(context.Background(), Options{DataDir: filepath.Join(dir, "data")}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatal("the stack started something before checking")
	}
	if err := Prerequisites(Options{DatabaseURL: "postgres://elsewhere", DataDir: dir}); err == nil || strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("with DATABASE_URL set, only Chromium is missing: %v", err)
	}
}

// A first run stopped while the Pinterest business is being onboarded:
// the next run goes on and finishes it.
func TestDevStackAfterAnInterruptedFirstRun(t *testing.T) {
	dir, err := os.MkdirTemp("", "hubkeeper-dev-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := freeAddrs(t, 10)
	o := Options{DataDir: filepath.Join(dir, "data"), APIAddr: a[0], TemporalPort: portOf(a[1]), UIPort: portOf(a[2]),
		OktaAddr: a[3], EntraAddr: a[4], MetaAddr: a[5], PinterestAddr: a[6], MailAddr: a[7], MailUIAddr: a[8], MetricsAddr: a[9]}
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, out) }()
	// CI runs this beside the e2e package's browsers: the start-up gets
	// the 2 CPUs' leftovers.
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(out.String(), "onboarding the Pinterest business") {
		if time.Now().After(deadline) {
			t.Fatalf("never reached the Pinterest onboarding:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // Ctrl-C in the middle
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the interrupted stack did not stop")
	}
	stop, again := startStack(t, o)
	defer stop()
	if !strings.Contains(again.String(), "onboarding the Pinterest business") {
		t.Fatalf("the second run did not go on with the onboarding:\n%s", again)
	}
}

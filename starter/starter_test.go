package starter

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/pgtest"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestCommands(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	keys, _ := secrets.NewKeySpec("k1")
	temporalAddr := temporaltest.DevServer(t)
	env := envconfig.MapLookuper(map[string]string{"DATABASE_URL": dbURL, "HUBKEEPER_ENCRYPTION_KEYS": keys,
		"TEMPORAL_ADDRESS": temporalAddr})
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(ctx, args, &out, env)
		return out.String(), err
	}

	if out, err := run("migrate"); err != nil || !strings.Contains(out, "migrations applied") {
		t.Fatalf("migrate: %q %v", out, err)
	}
	out, err := run("workspace", "create", "--name", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`workspace (\S+)\nAPI key (hk_\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("workspace create printed %q", out)
	}
	wsID, key := m[1], m[2]
	kr, _ := secrets.ParseKeyring(keys)
	st, err := store.Open(ctx, dbURL, kr)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if k, err := st.AuthenticateAPIKey(ctx, key); err != nil || k.WorkspaceID != wsID {
		t.Fatalf("printed key does not authenticate: %v", err)
	}
	if out, err := run("apikey", "create", "--workspace", wsID, "--name", "ci"); err != nil || !strings.Contains(out, "hk_") {
		t.Fatalf("apikey create: %q %v", out, err)
	}
	out, err = run("apikey", "create", "--scope", "support", "--name", "support desk")
	if err != nil || !strings.Contains(out, "hk_") {
		t.Fatalf("apikey create --scope support: %q %v", out, err)
	}
	supportKey := strings.Fields(out)[2]
	if k, err := st.AuthenticateAPIKey(ctx, supportKey); err != nil || k.Scope != store.ScopeSupport || k.WorkspaceID != "" {
		t.Fatalf("support key = %+v, %v", k, err)
	}
	for _, bad := range [][]string{{"--scope", "support", "--workspace", wsID}, {"--scope", "root"}} {
		if _, err := run(append([]string{"apikey", "create"}, bad...)...); err == nil {
			t.Fatalf("apikey create %v succeeded", bad)
		}
	}
	// A key with an expiry, listed with the others, then revoked.
	out, err = run("apikey", "create", "--workspace", wsID, "--name", "short-lived", "--expires", "24h")
	if err != nil {
		t.Fatalf("apikey create --expires: %q %v", out, err)
	}
	shortKey, shortID := strings.Fields(out)[2], strings.TrimSuffix(strings.Fields(out)[4], ",")
	if k, err := st.AuthenticateAPIKey(ctx, shortKey); err != nil || k.ExpiresAt == nil || time.Until(*k.ExpiresAt) < 23*time.Hour {
		t.Fatalf("expiring key = %+v, %v", k, err)
	}
	out, err = run("apikey", "list", "--workspace", wsID)
	if err != nil || !regexp.MustCompile(shortID+`\s+hk_\S+…\s+admin\s+`+wsID+`\s+short-lived\s+\S+\s+20\d\d-`).MatchString(out) ||
		strings.Contains(out, "support desk") || strings.Contains(out, shortKey) {
		t.Fatalf("apikey list: %q %v", out, err)
	}
	if out, err := run("apikey", "list"); err != nil || !strings.Contains(out, "support desk") {
		t.Fatalf("apikey list of every workspace: %q %v", out, err)
	}
	if out, err := run("apikey", "revoke", "--id", shortID); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("apikey revoke: %q %v", out, err)
	}
	if _, err := st.AuthenticateAPIKey(ctx, shortKey); domain.ErrorCode(err) != domain.EUnauthorized {
		t.Fatalf("a revoked key authenticates: %v", err)
	}
	if _, err := run("apikey", "revoke", "--id", shortID); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("second revoke: %v", err)
	}
	if out, err := run("workspace", "list"); err != nil || !strings.Contains(out, wsID+"\tAcme") {
		t.Fatalf("workspace list: %q %v", out, err)
	}

	// A one-time console link for an admin, good once; none for a stranger.
	if err := st.SetWorkspaceSettings(ctx, wsID, "test", store.WorkspaceSettings{AdminEmails: []string{"ann@acme.test"}}); err != nil {
		t.Fatal(err)
	}
	out, err = run("console", "link", "--workspace", wsID, "--email", "Ann@acme.test", "--expires", "30m")
	link := regexp.MustCompile(`^http://localhost:8080/ui/link/(\S+)\n`).FindStringSubmatch(out)
	if err != nil || link == nil {
		t.Fatalf("console link: %q %v", out, err)
	}
	if _, sess, err := st.UseConsoleLink(ctx, link[1]); err != nil || sess.Email != "ann@acme.test" || sess.Role != store.RoleAdmin {
		t.Fatalf("the printed link: %+v %v", sess, err)
	}
	for _, bad := range [][]string{{"--email", "stranger@acme.test"}, {"--email", "ann@acme.test", "--expires", "720h"}, {}} {
		if out, err := run(append([]string{"console", "link", "--workspace", wsID}, bad...)...); err == nil {
			t.Fatalf("console link %v printed %q", bad, out)
		}
	}

	// Schedules: create one as the API does, then list, pause and unpause it.
	c, err := client.Dial(client.Options{HostPort: temporalAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := workflows.DirectorySyncInput{WorkspaceID: wsID, DirectoryID: "dir-1", Provider: "okta"}
	if err := workflows.EnsureDirectorySyncSchedule(ctx, c, "hubkeeper", 24*time.Hour, in); err != nil {
		t.Fatal(err)
	}
	if out, err := run("schedule", "pause", "--id", "directory-sync/dir-1", "--note", "maintenance"); err != nil {
		t.Fatalf("pause: %q %v", out, err)
	}
	desc, err := c.ScheduleClient().GetHandle(ctx, "directory-sync/dir-1").Describe(ctx)
	if err != nil || !desc.Schedule.State.Paused || desc.Schedule.State.Note != "maintenance" {
		t.Fatalf("schedule after pause: %+v %v", desc, err)
	}
	if out, err := run("schedule", "list"); err != nil || !regexp.MustCompile(`directory-sync/dir-1\s+true`).MatchString(out) {
		t.Fatalf("schedule list: %q %v", out, err)
	}
	if _, err := run("schedule", "unpause", "--id", "directory-sync/dir-1"); err != nil {
		t.Fatal(err)
	}
	if out, err := run("search-attributes", "register"); err != nil || !strings.Contains(out, "WorkspaceID") {
		t.Fatalf("search-attributes register: %q %v", out, err)
	}

	for name, args := range map[string][]string{
		"ErrUnknownCommand":     {"frobnicate"},
		"ErrMissingName":        {"workspace", "create"},
		"ErrUnknownDirectory":   {"directory", "sync", "--directory", "00000000-0000-4000-8000-000000000000"},
		"ErrUnknownIntegration": {"integration", "sync", "--integration", "00000000-0000-4000-8000-000000000000"},
		"ErrMissingScheduleID":  {"schedule", "pause"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(args...)
			if err == nil {
				t.Fatal("want error")
			}
			if name == "ErrUnknownCommand" && !errors.Is(err, ErrUsage) {
				t.Fatalf("err = %v", err)
			}
			if strings.HasPrefix(name, "ErrUnknown") && name != "ErrUnknownCommand" && domain.ErrorCode(err) != domain.ENotFound {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

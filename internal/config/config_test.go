package config

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestLoadDefaultsAndRedaction(t *testing.T) {
	env := envconfig.MapLookuper(map[string]string{
		"DATABASE_URL":                      "postgres://u:db-password@h/db",
		"HUBKEEPER_ENCRYPTION_KEYS":         "k1:c2VjcmV0LWtleS1tYXRlcmlhbA==",
		"HUBKEEPER_CODEC_ACCESS_TOKEN":      "codec-token-Kd81xQ",
		"HUBKEEPER_PINTEREST_CLIENT_ID":     "1487262",
		"HUBKEEPER_PINTEREST_CLIENT_SECRET": "pinterest-app-secret-9f",
	})
	var cfg API
	if err := Load(context.Background(), &cfg, env); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":8080" || cfg.TemporalAddress != "localhost:7233" || cfg.TaskQueue != "hubkeeper" ||
		cfg.SyncEvery != 24*time.Hour || cfg.CodecCORSOrigins[0] != "http://localhost:8233" {
		t.Fatalf("defaults: %+v", cfg)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", Redacted(&cfg))
	out := buf.String()
	for _, secret := range []string{"db-password", "c2VjcmV0", "codec-token-Kd81xQ", "pinterest-app-secret-9f"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains a secret: %s", out)
		}
	}
	if !strings.Contains(out, `"DATABASE_URL":"[set]"`) || !strings.Contains(out, `"HUBKEEPER_API_ADDR":":8080"`) {
		t.Fatalf("log lacks settings: %s", out)
	}
}

func TestLoadErrors(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x", "HUBKEEPER_ENCRYPTION_KEYS": "k:x"}
	for name, change := range map[string]map[string]string{
		"ErrMissingDatabase":   {"DATABASE_URL": ""},
		"ErrBadDuration":       {"HUBKEEPER_SYNC_INTERVAL": "daily"},
		"ErrTooFrequent":       {"HUBKEEPER_SYNC_INTERVAL": "1s"},
		"ErrLogFormat":         {"HUBKEEPER_LOG_FORMAT": "xml"},
		"ErrWorkerActivities":  {"HUBKEEPER_WORKER_MAX_ACTIVITIES": "0"},
		"ErrOnboardingRemind":  {"HUBKEEPER_ONBOARDING_REMIND_EVERY": "0s"},
		"ErrRestrictionWindow": {"HUBKEEPER_META_RESTRICTION_WINDOW": "-1h"},
		"ErrBrowserSessions":   {"HUBKEEPER_BROWSER_SESSIONS": "0"},
		"ErrCodeWaitTooLong":   {"HUBKEEPER_PINTEREST_CODE_WAIT": "2h"},
		"ErrCaptureMax":        {"HUBKEEPER_CAPTURE_MAX": "0"},
		"ErrCaptureKeep":       {"HUBKEEPER_CAPTURE_KEEP": "0s"},
		"ErrTokenNoticeZero":   {"HUBKEEPER_TOKEN_NOTICE_DAYS": "0"},
		"ErrTokenNoticeYears":  {"HUBKEEPER_TOKEN_NOTICE_DAYS": "800"},
		"ErrProviderHosts":     {"HUBKEEPER_PROVIDER_HOSTS": "http://sandbox:8093"},
		"ErrRetentionShort":    {"HUBKEEPER_RETENTION": "10m"},
		"ErrRetentionEvery":    {"HUBKEEPER_RETENTION_EVERY": "1s"},
		"ErrWorkspaceSlots":    {"HUBKEEPER_WORKSPACE_CONCURRENCY": "0"},
		"ErrPinterestHalfApp":  {"HUBKEEPER_PINTEREST_CLIENT_ID": "1487262"},
		"ErrPinterestAPIHost":  {"HUBKEEPER_PINTEREST_API_URL": "http://169.254.169.254"},
		"ErrPinterestConsent":  {"HUBKEEPER_PINTEREST_CONSENT_URL": "consent"},
		"ErrUnknownProvider":   {"HUBKEEPER_PROVIDER_CONCURRENCY": "tiktok=3"},
		"ErrProviderSlots":     {"HUBKEEPER_PROVIDER_CONCURRENCY": "meta=0"},
		"ErrProviderSlotsForm": {"HUBKEEPER_PROVIDER_CONCURRENCY": "meta:3"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range change {
				env[k] = v
				if v == "" {
					delete(env, k)
				}
			}
			var cfg Worker
			if err := Load(context.Background(), &cfg, envconfig.MapLookuper(env)); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

func TestProviderHosts(t *testing.T) {
	env := envconfig.MapLookuper(map[string]string{"DATABASE_URL": "postgres://x", "HUBKEEPER_ENCRYPTION_KEYS": "k:x",
		"HUBKEEPER_PROVIDER_HOSTS": "sandbox:8093, okta.internal"})
	var cfg Worker
	if err := Load(context.Background(), &cfg, env); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.ProviderHosts.Allowed, ","); got != "sandbox:8093,okta.internal" {
		t.Fatalf("ProviderHosts = %q", got)
	}
}

// A provider not named in HUBKEEPER_PROVIDER_CONCURRENCY keeps its default.
func TestProviderConcurrency(t *testing.T) {
	env := envconfig.MapLookuper(map[string]string{"DATABASE_URL": "postgres://x", "HUBKEEPER_ENCRYPTION_KEYS": "k:x",
		"HUBKEEPER_PROVIDER_CONCURRENCY": "meta=5,okta=2"})
	var cfg Worker
	if err := Load(context.Background(), &cfg, env); err != nil {
		t.Fatal(err)
	}
	got := cfg.ProviderLimits()
	if got["meta"] != 5 || got["okta"] != 2 || got["pinterest"] != 4 || got["entra"] != 20 || cfg.WorkspaceConcurrency != 10 {
		t.Fatalf("limits %v, per workspace %d", got, cfg.WorkspaceConcurrency)
	}
	if DefaultProviderConcurrency["meta"] != 50 {
		t.Fatal("ProviderLimits changed the defaults")
	}
}

func TestCodecAccessToken(t *testing.T) {
	for token, ok := range map[string]bool{"": true, "codec-token-Kd81xQ": true, "short": false, "has/slash/in-it-x": false,
		"has space in it xx": false} {
		env := envconfig.MapLookuper(map[string]string{"DATABASE_URL": "postgres://x", "HUBKEEPER_ENCRYPTION_KEYS": "k:x",
			"HUBKEEPER_CODEC_ACCESS_TOKEN": token})
		var cfg API
		if err := Load(context.Background(), &cfg, env); (err == nil) != ok {
			t.Errorf("token %q: error %v", token, err)
		}
	}
}

func TestAPILimitsAndProxies(t *testing.T) {
	load := func(extra map[string]string) (API, error) {
		env := map[string]string{"DATABASE_URL": "postgres://x", "HUBKEEPER_ENCRYPTION_KEYS": "k:x"}
		for k, v := range extra {
			env[k] = v
		}
		var cfg API
		err := Load(context.Background(), &cfg, envconfig.MapLookuper(env))
		return cfg, err
	}
	cfg, err := load(map[string]string{"HUBKEEPER_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.0/24"})
	if err != nil || cfg.KeyRequestsPerMinute != 600 || cfg.ConfirmRequestsPerMinute != 30 || len(cfg.Proxies()) != 2 {
		t.Fatalf("cfg %+v, %v", cfg, err)
	}
	for _, bad := range []map[string]string{{"HUBKEEPER_TRUSTED_PROXIES": "10.0.0.1"}, {"HUBKEEPER_KEY_REQUESTS_PER_MINUTE": "0"},
		{"HUBKEEPER_CONFIRM_REQUESTS_PER_MINUTE": "-1"}} {
		if _, err := load(bad); err == nil {
			t.Errorf("%v: want error", bad)
		}
	}
}

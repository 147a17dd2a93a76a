// Package config reads each process's settings from the environment with
// go-envconfig. Fields tagged secret:"true" never reach a log.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/sethvargo/go-envconfig"
)

// Common settings of every Hubkeeper process.
type Common struct {
	DatabaseURL       string        `env:"DATABASE_URL, required" secret:"true"`
	EncryptionKeys    string        `env:"HUBKEEPER_ENCRYPTION_KEYS, required" secret:"true"`
	TemporalAddress   string        `env:"TEMPORAL_ADDRESS, default=localhost:7233"`
	TemporalNamespace string        `env:"TEMPORAL_NAMESPACE, default=default"`
	TaskQueue         string        `env:"HUBKEEPER_TASK_QUEUE, default=hubkeeper"`
	SyncEvery         time.Duration `env:"HUBKEEPER_SYNC_INTERVAL, default=24h"`
	LogLevel          slog.Level    `env:"HUBKEEPER_LOG_LEVEL, default=info"`
	LogFormat         string        `env:"HUBKEEPER_LOG_FORMAT, default=text"`
	MetricsAddr       string        `env:"HUBKEEPER_METRICS_ADDR"`
	// ProviderHosts are hosts, beyond the providers' own, that tenants'
	// base URLs may name and that may be dialed on a private address.
	ProviderHosts egress.Policy `env:"HUBKEEPER_PROVIDER_HOSTS"`
	Pinterest
}

// Pinterest is the operator's Pinterest app, through which integrations in
// API mode act (the API when it is configured, the browser otherwise).
type Pinterest struct {
	PinterestClientID     string `env:"HUBKEEPER_PINTEREST_CLIENT_ID"`
	PinterestClientSecret string `env:"HUBKEEPER_PINTEREST_CLIENT_SECRET" secret:"true"`
	// PinterestAPIURL is where the API is; PinterestConsentURL where
	// admins consent.
	PinterestAPIURL     string `env:"HUBKEEPER_PINTEREST_API_URL, default=https://api.pinterest.com"`
	PinterestConsentURL string `env:"HUBKEEPER_PINTEREST_CONSENT_URL, default=https://www.pinterest.com/oauth/"`
}

// PinterestApp is the app over hc, or nil when none is configured.
func (c Common) PinterestApp(hc *http.Client) *pinterestapi.App {
	if c.PinterestClientID == "" {
		return nil
	}
	return &pinterestapi.App{ClientID: c.PinterestClientID, Secret: c.PinterestClientSecret, APIBase: c.PinterestAPIURL,
		ConsentURL: c.PinterestConsentURL, HTTP: hc}
}

// API is the HTTP API's configuration.
type API struct {
	Common
	Addr             string   `env:"HUBKEEPER_API_ADDR, default=:8080"`
	CodecCORSOrigins []string `env:"HUBKEEPER_CODEC_CORS_ORIGINS, default=http://localhost:8233"`
	CodecAccessToken string   `env:"HUBKEEPER_CODEC_ACCESS_TOKEN" secret:"true"`
	// PublicURL is where admins' browsers reach the API: consents come
	// back to PublicURL/v1/pinterest/oauth/callback.
	PublicURL string `env:"HUBKEEPER_PUBLIC_URL, default=http://localhost:8080"`
	// TemporalUIURL is the Temporal web UI, which the console links runs to.
	TemporalUIURL string `env:"HUBKEEPER_TEMPORAL_UI_URL, default=http://localhost:8233"`
	// KeyRequestsPerMinute bounds each API key; ConfirmRequestsPerMinute
	// each client address's confirmation pages.
	KeyRequestsPerMinute     int `env:"HUBKEEPER_KEY_REQUESTS_PER_MINUTE, default=600"`
	ConfirmRequestsPerMinute int `env:"HUBKEEPER_CONFIRM_REQUESTS_PER_MINUTE, default=30"`
	// TrustedProxies are CIDRs whose X-Forwarded-For names the client.
	TrustedProxies []string `env:"HUBKEEPER_TRUSTED_PROXIES"`
}

// Proxies parses TrustedProxies (checked by Load).
func (a API) Proxies() []*net.IPNet {
	var nets []*net.IPNet
	for _, cidr := range a.TrustedProxies {
		if _, n, err := net.ParseCIDR(strings.TrimSpace(cidr)); err == nil {
			nets = append(nets, n)
		}
	}
	return nets
}

// Worker is the worker's configuration.
type Worker struct {
	Common
	MaxConcurrentActivities int `env:"HUBKEEPER_WORKER_MAX_ACTIVITIES, default=20"`
	// ProviderConcurrency bounds the checks and imports calling each
	// provider at once, across every worker (meta=50,okta=10; a provider
	// not named keeps its default); WorkspaceConcurrency those of one
	// workspace.
	ProviderConcurrency  map[string]int `env:"HUBKEEPER_PROVIDER_CONCURRENCY, separator=="`
	WorkspaceConcurrency int            `env:"HUBKEEPER_WORKSPACE_CONCURRENCY, default=10"`
	// Retention is how long superseded credentials and used or expired
	// report links are kept; RetentionEvery how often they are purged.
	Retention      time.Duration `env:"HUBKEEPER_RETENTION, default=168h"`
	RetentionEvery time.Duration `env:"HUBKEEPER_RETENTION_EVERY, default=24h"`
	Mail
	Onboarding
	Browser
}

// DefaultProviderConcurrency is how many checks or imports call each
// provider at once unless HUBKEEPER_PROVIDER_CONCURRENCY says otherwise.
// Pinterest's are browser sessions, which are heavy.
var DefaultProviderConcurrency = map[string]int{"meta": 50, "pinterest": 4, "okta": 20, "entra": 20}

// ProviderLimits is ProviderConcurrency over its defaults.
func (w Worker) ProviderLimits() map[string]int {
	limits := maps.Clone(DefaultProviderConcurrency)
	maps.Copy(limits, w.ProviderConcurrency)
	return limits
}

// Browser is the worker's headless Chromium, which drives Pinterest.
type Browser struct {
	// Chromium is the browser's path; empty: chromium on $PATH.
	Chromium           string        `env:"HUBKEEPER_CHROMIUM"`
	BrowserSessions    int           `env:"HUBKEEPER_BROWSER_SESSIONS, default=2"`
	BrowserPageTimeout time.Duration `env:"HUBKEEPER_BROWSER_PAGE_TIMEOUT, default=30s"`
	CaptureDir         string        `env:"HUBKEEPER_CAPTURE_DIR"`
	// CaptureKeep and CaptureMax bound the failure captures kept (they hold personal data).
	CaptureKeep       time.Duration `env:"HUBKEEPER_CAPTURE_KEEP, default=168h"`
	CaptureMax        int           `env:"HUBKEEPER_CAPTURE_MAX, default=100"`
	PinterestCodeWait time.Duration `env:"HUBKEEPER_PINTEREST_CODE_WAIT, default=15m"`
	// BrowserUser runs Chromium when the worker runs as root, since
	// Chromium's sandbox refuses root.
	BrowserUser string `env:"HUBKEEPER_BROWSER_USER, default=nobody"`
}

// Onboarding times Meta onboardings. Every wait for a person reminds and
// has a deadline; the claim is polled; member actions wait out Meta's
// restriction window after a system user's creation.
type Onboarding struct {
	SupportEmail               string        `env:"HUBKEEPER_SUPPORT_EMAIL, default=support@localhost"`
	OnboardingRemindEvery      time.Duration `env:"HUBKEEPER_ONBOARDING_REMIND_EVERY, default=24h"`
	OnboardingApprovalDeadline time.Duration `env:"HUBKEEPER_ONBOARDING_APPROVAL_DEADLINE, default=336h"`
	OnboardingStepDeadline     time.Duration `env:"HUBKEEPER_ONBOARDING_STEP_DEADLINE, default=336h"`
	OnboardingClaimPollEvery   time.Duration `env:"HUBKEEPER_ONBOARDING_CLAIM_POLL, default=6h"`
	MetaRestrictionWindow      time.Duration `env:"HUBKEEPER_META_RESTRICTION_WINDOW, default=168h"`
}

// Mail is how reports reach admins.
type Mail struct {
	SMTPAddr     string `env:"HUBKEEPER_SMTP_ADDR, default=localhost:25"`
	SMTPUsername string `env:"HUBKEEPER_SMTP_USERNAME"`
	SMTPPassword string `env:"HUBKEEPER_SMTP_PASSWORD" secret:"true"`
	SMTPTLS      string `env:"HUBKEEPER_SMTP_TLS, default=starttls"`
	MailFrom     string `env:"HUBKEEPER_MAIL_FROM, default=hubkeeper@localhost"`
	// PublicURL is where the API is reached from admins' browsers; report links point there.
	PublicURL         string        `env:"HUBKEEPER_PUBLIC_URL, default=http://localhost:8080"`
	ReportRemindEvery time.Duration `env:"HUBKEEPER_REPORT_REMIND_EVERY, default=24h"`
	ReportExpireAfter time.Duration `env:"HUBKEEPER_REPORT_EXPIRE_AFTER, default=168h"`
	// TokenNoticeDays is how many days before a Meta system-user token
	// expires the admins are mailed.
	TokenNoticeDays int `env:"HUBKEEPER_TOKEN_NOTICE_DAYS, default=14"`
}

// Load fills cfg (a pointer to one of the structs above) from lookuper,
// or from the process environment when lookuper is nil.
func Load(ctx context.Context, cfg any, lookuper envconfig.Lookuper) error {
	if lookuper == nil {
		lookuper = envconfig.OsLookuper()
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: lookuper}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return validate(cfg)
}

var codecTokenRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{16,256}$`)

func validate(cfg any) error {
	var c *Common
	switch v := cfg.(type) {
	case *API:
		c = &v.Common
		if v.KeyRequestsPerMinute < 1 || v.ConfirmRequestsPerMinute < 1 {
			return fmt.Errorf("configuration: HUBKEEPER_KEY_REQUESTS_PER_MINUTE and HUBKEEPER_CONFIRM_REQUESTS_PER_MINUTE must be at least 1")
		}
		for _, cidr := range v.TrustedProxies {
			if _, _, err := net.ParseCIDR(strings.TrimSpace(cidr)); err != nil {
				return fmt.Errorf("configuration: HUBKEEPER_TRUSTED_PROXIES: %q is not a CIDR such as 10.0.0.0/8", cidr)
			}
		}
		if t := v.CodecAccessToken; t != "" && !codecTokenRE.MatchString(t) {
			return fmt.Errorf("configuration: HUBKEEPER_CODEC_ACCESS_TOKEN must be 16 to 256 letters, digits or ._~- (it may travel in a URL path)")
		}
	case *Worker:
		c = &v.Common
		if v.MaxConcurrentActivities < 1 {
			return fmt.Errorf("configuration: HUBKEEPER_WORKER_MAX_ACTIVITIES must be at least 1")
		}
		if v.WorkspaceConcurrency < 1 {
			return fmt.Errorf("configuration: HUBKEEPER_WORKSPACE_CONCURRENCY must be at least 1")
		}
		for provider, n := range v.ProviderConcurrency {
			if _, known := DefaultProviderConcurrency[provider]; !known || n < 1 {
				return fmt.Errorf("configuration: HUBKEEPER_PROVIDER_CONCURRENCY: %q=%d: name meta, pinterest, okta or entra, each at least 1", provider, n)
			}
		}
		if v.Retention < time.Hour || v.RetentionEvery < time.Minute {
			return fmt.Errorf("configuration: HUBKEEPER_RETENTION must be at least 1h and HUBKEEPER_RETENTION_EVERY at least 1m")
		}
		if v.ReportRemindEvery <= 0 || v.ReportExpireAfter <= 0 {
			return fmt.Errorf("configuration: HUBKEEPER_REPORT_REMIND_EVERY and HUBKEEPER_REPORT_EXPIRE_AFTER must be positive")
		}
		if v.TokenNoticeDays < 1 || v.TokenNoticeDays > 365 {
			return fmt.Errorf("configuration: HUBKEEPER_TOKEN_NOTICE_DAYS must be between 1 and 365")
		}
		if b := v.Browser; b.BrowserSessions < 1 || b.BrowserPageTimeout <= 0 || b.PinterestCodeWait <= 0 || b.PinterestCodeWait > 50*time.Minute ||
			b.CaptureKeep <= 0 || b.CaptureMax < 1 {
			return fmt.Errorf("configuration: HUBKEEPER_BROWSER_SESSIONS and HUBKEEPER_CAPTURE_MAX must be at least 1, " +
				"HUBKEEPER_BROWSER_PAGE_TIMEOUT and HUBKEEPER_CAPTURE_KEEP positive, HUBKEEPER_PINTEREST_CODE_WAIT between 0 and 50m")
		}
		o := v.Onboarding
		if o.OnboardingRemindEvery <= 0 || o.OnboardingApprovalDeadline <= 0 || o.OnboardingStepDeadline <= 0 || o.OnboardingClaimPollEvery <= 0 ||
			o.MetaRestrictionWindow < 0 {
			return fmt.Errorf("configuration: the HUBKEEPER_ONBOARDING_* durations must be positive and HUBKEEPER_META_RESTRICTION_WINDOW not negative")
		}
	case *Common:
		c = v
	default:
		return nil
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("configuration: HUBKEEPER_LOG_FORMAT must be text or json")
	}
	if c.SyncEvery < time.Minute {
		return fmt.Errorf("configuration: HUBKEEPER_SYNC_INTERVAL must be at least 1m")
	}
	return c.Pinterest.validate(c.ProviderHosts)
}

func (p Pinterest) validate(hosts egress.Policy) error {
	if (p.PinterestClientID == "") != (p.PinterestClientSecret == "") {
		return fmt.Errorf("configuration: set both HUBKEEPER_PINTEREST_CLIENT_ID and HUBKEEPER_PINTEREST_CLIENT_SECRET, or neither")
	}
	if err := hosts.CheckBaseURL(egress.PinterestAPI, "HUBKEEPER_PINTEREST_API_URL", p.PinterestAPIURL); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if u, err := url.Parse(p.PinterestConsentURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("configuration: HUBKEEPER_PINTEREST_CONSENT_URL must be an absolute http(s) URL")
	}
	return nil
}

// Logger builds the process logger.
func (c Common) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// Redacted returns cfg's fields as log attributes, with every secret
// replaced by "[set]" or "[unset]".
func Redacted(cfg any) slog.Value {
	var attrs []slog.Attr
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f, fv := t.Field(i), v.Field(i)
			if f.Anonymous && fv.Kind() == reflect.Struct {
				walk(fv)
				continue
			}
			env := f.Tag.Get("env")
			if env == "" {
				continue
			}
			name := env
			if j := strings.IndexByte(env, ','); j >= 0 {
				name = env[:j]
			}
			if f.Tag.Get("secret") == "true" {
				state := "[unset]"
				if !fv.IsZero() {
					state = "[set]"
				}
				attrs = append(attrs, slog.String(name, state))
				continue
			}
			attrs = append(attrs, slog.Any(name, fv.Interface()))
		}
	}
	v := reflect.ValueOf(cfg)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	walk(v)
	return slog.GroupValue(attrs...)
}

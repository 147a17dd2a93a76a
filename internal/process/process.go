// Package process opens what every Hubkeeper process needs: the keyring,
// Postgres (migrated), metrics and the Temporal client.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
)

// Deps are the opened dependencies.
type Deps struct {
	Logger   *slog.Logger
	Keys     *secrets.Keyring
	Store    *store.Store
	Temporal client.Client
	metrics  *http.Server
	meters   *sdkmetric.MeterProvider
}

// OpenStore parses the keyring, applies pending migrations and opens Postgres.
func OpenStore(ctx context.Context, c config.Common) (*secrets.Keyring, *store.Store, error) {
	keys, err := secrets.ParseKeyring(c.EncryptionKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("HUBKEEPER_ENCRYPTION_KEYS: %w", err)
	}
	if err := store.Migrate(ctx, c.DatabaseURL); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, c.DatabaseURL, keys)
	return keys, st, err
}

// Open opens the store, starts the metrics endpoint when configured and dials Temporal.
func Open(ctx context.Context, c config.Common, logger *slog.Logger) (*Deps, error) {
	d := &Deps{Logger: logger}
	var err error
	if d.Keys, d.Store, err = OpenStore(ctx, c); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		d.Close()
		return nil, err
	}
	d.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	if c.MetricsAddr != "" {
		if err := d.serveMetrics(c.MetricsAddr, reg); err != nil {
			d.Close()
			return nil, err
		}
	}
	d.Temporal, err = temporalclient.Dial(ctx, temporalclient.Options{HostPort: c.TemporalAddress, Namespace: c.TemporalNamespace,
		Keys: d.Keys, Logger: logger, Meter: d.meters.Meter("hubkeeper")})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Deps) serveMetrics(addr string, reg *prometheus.Registry) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	d.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := d.metrics.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.Logger.Error("metrics server", "error", err)
		}
	}()
	d.Logger.Info("metrics", "url", "http://"+l.Addr().String()+"/metrics")
	return nil
}

// Close releases everything Open opened.
func (d *Deps) Close() {
	if d.Temporal != nil {
		d.Temporal.Close()
	}
	if d.metrics != nil {
		_ = d.metrics.Close()
	}
	if d.meters != nil {
		_ = d.meters.Shutdown(context.Background())
	}
	if d.Store != nil {
		d.Store.Close()
	}
}

// Package temporalclient builds the one Temporal client that the worker,
// the API and the starter share: payloads encrypted with AES-GCM (key id in
// the payload metadata), logs through slog, metrics through OpenTelemetry.
// It also names Hubkeeper's custom search attributes and serves the codec
// endpoint that lets the Temporal web UI show decoded payloads.
package temporalclient

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"go.opentelemetry.io/otel/metric"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// Custom search attributes (Keyword). They are stored unencrypted: never put
// a secret or an e-mail address in one.
var (
	WorkspaceID   = temporal.NewSearchAttributeKeyKeyword("WorkspaceID")
	DirectoryID   = temporal.NewSearchAttributeKeyKeyword("DirectoryID")
	IntegrationID = temporal.NewSearchAttributeKeyKeyword("IntegrationID")
	Provider      = temporal.NewSearchAttributeKeyKeyword("Provider")
	BusinessID    = temporal.NewSearchAttributeKeyKeyword("BusinessID")
	Stage         = temporal.NewSearchAttributeKeyKeyword("Stage")
)

// SearchAttributeNames lists every custom search attribute registered, all Keyword.
var SearchAttributeNames = []string{"WorkspaceID", "DirectoryID", "IntegrationID", "Provider", "BusinessID", "Stage"}

// Options configure Dial.
type Options struct {
	HostPort  string
	Namespace string
	Keys      *secrets.Keyring
	Logger    *slog.Logger
	// Meter receives the SDK's metrics; nil disables them.
	Meter metric.Meter
}

// Dial connects to Temporal with Hubkeeper's data converter, logger and metrics.
func Dial(ctx context.Context, o Options) (client.Client, error) {
	if o.Keys == nil {
		return nil, errors.New("temporal client: a keyring is required for the payload codec")
	}
	opts := client.Options{
		HostPort:         o.HostPort,
		Namespace:        o.Namespace,
		DataConverter:    DataConverter(o.Keys),
		FailureConverter: FailureConverter(o.Keys),
	}
	if o.Logger != nil {
		opts.Logger = log.NewStructuredLogger(o.Logger)
	}
	if o.Meter != nil {
		opts.MetricsHandler = opentelemetry.NewMetricsHandler(opentelemetry.MetricsHandlerOptions{
			Meter: o.Meter, OnError: func(err error) { slog.Warn("temporal metrics", "error", err) }})
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", o.HostPort, err)
	}
	return c, nil
}

// FailureConverter keeps failures' messages and stack traces in an
// encrypted payload too, since a provider's words may name a person.
func FailureConverter(keys *secrets.Keyring) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: DataConverter(keys),
		EncodeCommonAttributes: true})
}

// DataConverter encodes payloads as usual, then encrypts them.
func DataConverter(keys *secrets.Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), &Codec{Keys: keys})
}

// Payload metadata written by the codec.
const (
	metadataEncoding      = "encoding"
	metadataEncryptionKey = "encryption-key-id"
	encodingEncrypted     = "binary/encrypted"
)

// Codec encrypts whole payloads with AES-256-GCM. The key id travels in the
// metadata so old histories decode after the key rotates.
type Codec struct {
	Keys *secrets.Keyring
}

// Encode encrypts each payload.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return nil, err
		}
		sealed, keyID, err := c.Keys.Seal(secrets.Payloads, plain, nil)
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{metadataEncoding: []byte(encodingEncrypted), metadataEncryptionKey: []byte(keyID)},
			Data:     sealed,
		}
	}
	return out, nil
}

// Decode decrypts payloads the codec encrypted and passes others through.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.Metadata[metadataEncoding]) != encodingEncrypted {
			out[i] = p
			continue
		}
		plain, err := c.Keys.Open(secrets.Payloads, string(p.Metadata[metadataEncryptionKey]), p.Data, nil)
		if err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{}
		if err := out[i].Unmarshal(plain); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CodecHandler serves /encode and /decode for the Temporal web UI
// (--ui-codec-endpoint). Browsers from allowedOrigins may call it. Every
// call must carry accessToken, as "Authorization: Bearer <token>" (the
// temporal CLI's --codec-auth) or as the path segment before /encode and
// /decode (the UI's endpoint .../codec/<token>, since the UI sends no
// header of its own); with no accessToken the endpoint decodes nothing.
func CodecHandler(keys *secrets.Keyring, allowedOrigins []string, accessToken string) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(&Codec{Keys: keys})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(allowedOrigins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		op := r.URL.Path[strings.LastIndex(r.URL.Path, "/"):]
		if op != "/encode" && op != "/decode" {
			http.NotFound(w, r)
			return
		}
		given := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if segments := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(segments) == 3 {
			given = segments[1]
		}
		if refusal := codecRefusal(accessToken, given); refusal != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintf(w, `{"error":{"code":"unauthorized","message":%q}}`, refusal)
			return
		}
		codec.ServeHTTP(w, r)
	})
}

// codecRefusal says why a codec call with the given token is refused, or
// "" to admit it.
func codecRefusal(accessToken, given string) string {
	switch {
	case accessToken == "":
		return "the codec endpoint decodes nothing until the operator sets HUBKEEPER_CODEC_ACCESS_TOKEN"
	case subtle.ConstantTimeCompare([]byte(given), []byte(accessToken)) != 1:
		return "the codec endpoint needs the operator's access token (HUBKEEPER_CODEC_ACCESS_TOKEN)"
	}
	return ""
}

// RegisterSearchAttributes adds the custom search attributes to a namespace
// (a cluster without them, such as the docker-compose one); existing ones are kept.
func RegisterSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	attrs := map[string]enumspb.IndexedValueType{}
	for _, name := range SearchAttributeNames {
		attrs[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	for name := range existing.GetCustomAttributes() {
		delete(attrs, name)
	}
	if len(attrs) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: attrs})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// DevServerArgs are the `temporal server start-dev` flags that register the
// search attributes and turn task queue fairness on (workspaces' tasks are
// dispatched in turn by their fairness key).
func DevServerArgs() []string {
	args := []string{"--dynamic-config-value", "matching.enableFairness=true", "--dynamic-config-value", "system.enableActivityEagerExecution=true"}
	for _, name := range SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	return args
}

// CLIVersion is the Temporal CLI the dev stack and tests use.
const CLIVersion = "v1.5.1"

// FindCLI locates the Temporal CLI: $HUBKEEPER_TEMPORAL_CLI, .bin/temporal
// in the module root (where `make` installs it), temporal on $PATH, then
// $GOPATH/bin/temporal.
func FindCLI() (string, error) {
	if p := os.Getenv("HUBKEEPER_TEMPORAL_CLI"); p != "" {
		return p, nil
	}
	var candidates []string
	if root, err := moduleRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, ".bin", "temporal"))
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		candidates = append(candidates, p)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	candidates = append(candidates, filepath.Join(gopath, "bin", "temporal"))
	for _, p := range candidates {
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("the Temporal CLI was not found: run `make tools` (go install github.com/temporalio/cli/cmd/temporal@%s) or set HUBKEEPER_TEMPORAL_CLI", CLIVersion)
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

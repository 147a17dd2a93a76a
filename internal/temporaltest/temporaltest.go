// Package temporaltest starts a real Temporal dev server (the local CLI,
// in memory) for tests, with Hubkeeper's search attributes registered.
package temporaltest

import (
	"context"
	"encoding/base64"
	"io"
	"testing"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
)

// DevServer starts a dev server for t and returns its frontend address.
// It fails the test when the CLI is missing: tests never skip silently.
func DevServer(t testing.TB) string {
	t.Helper()
	cli, err := temporalclient.FindCLI()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  cli,
		ClientOptions: &client.Options{Namespace: "default"},
		LogLevel:      "error",
		ExtraArgs:     temporalclient.DevServerArgs(),
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv.FrontendHostPort()
}

// KeySpec is a fixed, test-only keyring: histories exported by the
// end-to-end tests are encrypted with it, so replay tests can decode them.
// Never used outside tests.
var KeySpec = "e2e:" + base64.StdEncoding.EncodeToString([]byte("hubkeeper-e2e-test-key-00000000!"))

// Package deploy holds the container build; its test checks docker-compose.yml,
// since no Docker engine runs where the tests do.
package deploy

import (
	"context"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

func TestComposeFile(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../docker-compose.yml"},
		cli.WithWorkingDirectory(".."),
		cli.WithEnv([]string{"HUBKEEPER_ENCRYPTION_KEYS=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "HUBKEEPER_CODEC_ACCESS_TOKEN=codec-compose-token"}),
		cli.WithProfiles([]string{"sandbox"}),
		cli.WithName("hubkeeper"))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	var names []string
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, want := range []string{"api", "mailpit", "postgres", "sandbox", "setup", "temporal", "temporal-ui", "worker"} {
		if !slices.Contains(names, want) {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	for _, name := range []string{"api", "worker", "setup"} {
		env := project.Services[name].Environment
		for _, key := range []string{"DATABASE_URL", "HUBKEEPER_ENCRYPTION_KEYS", "TEMPORAL_ADDRESS"} {
			if v := env[key]; v == nil || *v == "" {
				t.Errorf("%s lacks %s", name, key)
			}
		}
		if deps := project.Services[name].DependsOn; name != "setup" && deps["setup"].Condition != "service_completed_successfully" {
			t.Errorf("%s must wait for setup (migrations, search attributes)", name)
		}
	}
	if v := project.Services["worker"].Environment["HUBKEEPER_SMTP_ADDR"]; v == nil || *v != "mailpit:1025" {
		t.Errorf("the worker must mail through Mailpit, HUBKEEPER_SMTP_ADDR = %v", v)
	}
	if v := project.Services["temporal-ui"].Environment["TEMPORAL_CODEC_ENDPOINT"]; v == nil || *v != "http://localhost:8080/codec/codec-compose-token" {
		t.Errorf("temporal-ui codec endpoint = %v", v)
	}
	if v := project.Services["api"].Environment["HUBKEEPER_CODEC_ACCESS_TOKEN"]; v == nil || *v != "codec-compose-token" {
		t.Errorf("the API must require the codec token the UI sends, HUBKEEPER_CODEC_ACCESS_TOKEN = %v", v)
	}
	if v := project.Services["temporal"].Environment["DB"]; v == nil || *v != "postgres12" {
		t.Errorf("temporal must persist to Postgres, DB = %v", v)
	}
	temporal := project.Services["temporal"]
	if v := temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"]; v == nil || len(temporal.Volumes) != 1 ||
		!strings.HasSuffix(temporal.Volumes[0].Source, "deploy/temporal-dynamicconfig.yaml") ||
		"/etc/temporal/"+*v != temporal.Volumes[0].Target {
		t.Errorf("temporal must load deploy/temporal-dynamicconfig.yaml (fairness), DYNAMIC_CONFIG_FILE_PATH = %v, volumes %+v", v, temporal.Volumes)
	}
	raw, err := os.ReadFile("temporal-dynamicconfig.yaml")
	if err != nil || !strings.Contains(string(raw), "matching.enableFairness:\n  - value: true") {
		t.Errorf("deploy/temporal-dynamicconfig.yaml must turn fairness on: %v", err)
	}
	if b := project.Services["setup"].Build; b == nil || b.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("setup must build deploy/Dockerfile")
	}
	if _, err := os.Stat("Dockerfile"); err != nil {
		t.Error(err)
	}

	t.Run("ErrNoEncryptionKey", func(t *testing.T) {
		opts, _ := cli.NewProjectOptions([]string{"../docker-compose.yml"}, cli.WithWorkingDirectory(".."), cli.WithName("hubkeeper"))
		os.Unsetenv("HUBKEEPER_ENCRYPTION_KEYS")
		if _, err := opts.LoadProject(context.Background()); err == nil {
			t.Fatal("compose loaded without HUBKEEPER_ENCRYPTION_KEYS")
		}
	})
}

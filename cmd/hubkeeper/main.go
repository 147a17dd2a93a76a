// Command hubkeeper runs every Hubkeeper process: the API, the worker, the
// sandbox providers, the one-command dev stack and the operators' commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/devstack"
	"github.com/hubkeeper/hubkeeper/internal/sandbox"
	"github.com/hubkeeper/hubkeeper/starter"
	"github.com/hubkeeper/hubkeeper/worker"
)

const usage = `Usage: hubkeeper COMMAND [flags]

Processes:
  api       serve the HTTP API (configuration from the environment; see README)
  worker    run the Temporal worker
  dev       bring the whole system up locally with sandbox providers
  prerequisites  check that this machine has what dev needs, and say what to install
  sandbox   serve the sandbox Okta, Entra ID, Meta and Pinterest (flags: --okta-addr, --entra-addr, --meta-addr, --pinterest-addr)

`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, starter.ErrUsage) {
			fmt.Fprint(os.Stderr, usage+starter.Usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "hubkeeper:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		return starter.ErrUsage
	}
	switch args[0] {
	case "api":
		var cfg config.API
		if err := config.Load(ctx, &cfg, nil); err != nil {
			return err
		}
		return api.Run(ctx, cfg)
	case "worker":
		var cfg config.Worker
		if err := config.Load(ctx, &cfg, nil); err != nil {
			return err
		}
		return worker.Run(ctx, cfg)
	case "dev":
		o := devstack.DefaultOptions()
		fs := flag.NewFlagSet("dev", flag.ContinueOnError)
		fs.StringVar(&o.DataDir, "data", o.DataDir, "state directory")
		fs.StringVar(&o.APIAddr, "api-addr", o.APIAddr, "API listen address")
		fs.IntVar(&o.TemporalPort, "temporal-port", o.TemporalPort, "Temporal frontend port (another is picked if busy)")
		fs.IntVar(&o.UIPort, "ui-port", o.UIPort, "Temporal web UI port (another is picked if busy)")
		fs.StringVar(&o.OktaAddr, "okta-addr", o.OktaAddr, "sandbox Okta listen address")
		fs.StringVar(&o.EntraAddr, "entra-addr", o.EntraAddr, "sandbox Entra ID listen address")
		fs.StringVar(&o.MetaAddr, "meta-addr", o.MetaAddr, "sandbox Meta Graph API listen address")
		fs.StringVar(&o.PinterestAddr, "pinterest-addr", o.PinterestAddr, "sandbox Pinterest Business web app listen address")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return devstack.Run(ctx, o, os.Stdout)
	case "prerequisites":
		if err := devstack.Prerequisites(devstack.DefaultOptions()); err != nil {
			return err
		}
		fmt.Println("this machine has what `make dev` needs")
		return nil
	case "sandbox":
		o := sandbox.Options{OktaToken: os.Getenv("SANDBOX_OKTA_TOKEN"), EntraSecret: os.Getenv("SANDBOX_ENTRA_SECRET"),
			MetaToken: os.Getenv("SANDBOX_META_TOKEN"), PinterestPassword: os.Getenv("SANDBOX_PINTEREST_PASSWORD"),
			PinterestClientSecret: os.Getenv("SANDBOX_PINTEREST_CLIENT_SECRET"), PinterestRedirectURI: os.Getenv("SANDBOX_PINTEREST_REDIRECT_URI")}
		fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
		fs.StringVar(&o.OktaAddr, "okta-addr", "127.0.0.1:8091", "sandbox Okta listen address")
		fs.StringVar(&o.EntraAddr, "entra-addr", "127.0.0.1:8092", "sandbox Entra ID listen address")
		fs.StringVar(&o.MetaAddr, "meta-addr", "127.0.0.1:8093", "sandbox Meta Graph API listen address")
		fs.StringVar(&o.PinterestAddr, "pinterest-addr", "127.0.0.1:8094", "sandbox Pinterest Business web app listen address")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		sb, err := sandbox.Start(ctx, o)
		if err != nil {
			return fmt.Errorf("%w (set SANDBOX_OKTA_TOKEN, SANDBOX_ENTRA_SECRET, SANDBOX_META_TOKEN and SANDBOX_PINTEREST_PASSWORD)", err)
		}
		fmt.Printf("sandbox Okta %s, sandbox Entra ID %s (tenant %s, client %s), sandbox Meta %s (business %s), "+
			"sandbox Pinterest %s (business %s, automation account %s)\n", sb.OktaURL, sb.EntraURL, sandbox.DemoEntraTenant,
			sandbox.DemoEntraClient, sb.MetaURL, sandbox.DemoBusinessID, sb.PinterestURL, sandbox.DemoPinterestBusinessID,
			sandbox.DemoPinterestAutomation)
		<-ctx.Done()
		return nil
	}
	return starter.Run(ctx, args, os.Stdout, nil)
}

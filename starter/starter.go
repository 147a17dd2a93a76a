// Package starter is the operators' command line: migrations, workspaces
// and API keys, directory syncs, Schedules and search attributes.
package starter

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/hubkeeper/hubkeeper/internal/config"
	"github.com/hubkeeper/hubkeeper/internal/process"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/sethvargo/go-envconfig"
	"go.temporal.io/sdk/client"
)

// Usage lists the ops commands.
const Usage = `Operations:
  migrate                                   apply pending database migrations
  workspace create --name NAME              create a workspace and print its first API key
  workspace list                            list workspaces
  apikey create --workspace ID [--name N]   issue another API key (shown once)
  apikey create --scope support [--name N]  issue a support key: approves dedicated apps in every workspace
  directory sync --directory ID [--wait]    import a directory now
  integration sync --integration ID [--wait] check a business center for updates now
  schedule list                             list Schedules with their state
  schedule pause --id ID [--note TEXT]      pause a Schedule
  schedule unpause --id ID                  resume a Schedule
  schedule trigger --id ID                  run a Schedule's action now
  search-attributes register                add Hubkeeper's search attributes to the namespace
`

// ErrUsage is returned for a command line that names no known command.
var ErrUsage = errors.New("unknown command")

// Run runs one ops command. Configuration comes from env (the process
// environment when nil).
func Run(ctx context.Context, args []string, out io.Writer, env envconfig.Lookuper) error {
	if len(args) == 0 {
		return ErrUsage
	}
	var cfg config.Common
	if err := config.Load(ctx, &cfg, env); err != nil {
		return err
	}
	cmd := strings.Join(args[:min(2, len(args))], " ")
	rest := args[min(2, len(args)):]
	if args[0] == "migrate" {
		cmd, rest = "migrate", args[1:]
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	name := fs.String("name", "", "name")
	workspace := fs.String("workspace", "", "workspace id")
	directory := fs.String("directory", "", "directory id")
	integration := fs.String("integration", "", "integration id")
	id := fs.String("id", "", "Schedule id")
	note := fs.String("note", "paused by an operator", "note")
	wait := fs.Bool("wait", false, "wait for the workflow to finish")
	scope := fs.String("scope", store.ScopeAdmin, "API key scope: admin or support")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	need := func(v *string, flagName string) error {
		if *v == "" {
			return fmt.Errorf("%s needs --%s", cmd, flagName)
		}
		return nil
	}

	switch cmd {
	case "migrate":
		_, st, err := process.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		st.Close()
		fmt.Fprintln(out, "migrations applied")
		return nil
	case "workspace create", "workspace list", "apikey create":
		_, st, err := process.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return workspaceCommand(ctx, st, cmd, *name, *workspace, *scope, out, need)
	case "directory sync", "integration sync", "schedule list", "schedule pause", "schedule unpause", "schedule trigger", "search-attributes register":
	default:
		return ErrUsage
	}

	d, err := process.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer d.Close()
	sched := d.Temporal.ScheduleClient()
	switch cmd {
	case "directory sync":
		if err := need(directory, "directory"); err != nil {
			return err
		}
		dir, err := d.Store.DirectoryByID(ctx, *directory)
		if err != nil {
			return err
		}
		run, err := workflows.StartDirectorySync(ctx, d.Temporal, cfg.TaskQueue, workflows.DirectorySyncInput{
			WorkspaceID: dir.WorkspaceID, DirectoryID: dir.ID, Provider: string(dir.Type), Trigger: "starter"})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "workflow %s run %s\n", run.GetID(), run.GetRunID())
		if *wait {
			var res workflows.DirectorySyncResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			fmt.Fprintf(out, "added %d, changed %d, deprovisioned %d, unchanged %d (%d requests)\n",
				res.Added, res.Changed, res.Deprovisioned, res.Unchanged, res.Requests)
		}
		return nil
	case "integration sync":
		if err := need(integration, "integration"); err != nil {
			return err
		}
		ig, err := d.Store.IntegrationByID(ctx, *integration)
		if err != nil {
			return err
		}
		run, err := workflows.StartIntegrationSync(ctx, d.Temporal, cfg.TaskQueue, workflows.IntegrationSyncInput{
			WorkspaceID: ig.WorkspaceID, IntegrationID: ig.ID, Provider: string(ig.Provider), BusinessID: ig.BusinessID, Trigger: "starter"})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "workflow %s run %s\n", run.GetID(), run.GetRunID())
		if *wait {
			var res workflows.IntegrationSyncResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			fmt.Fprintf(out, "%d members (%d added, %d changed, %d removed), %d assets, %d grants\n",
				res.Members, res.Added, res.Changed, res.Removed, res.Assets, res.Grants)
		}
		return nil
	case "schedule list":
		it, err := sched.List(ctx, client.ScheduleListOptions{})
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPAUSED\tNEXT RUN\tNOTE")
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return err
			}
			next := "-"
			if len(e.NextActionTimes) > 0 {
				next = e.NextActionTimes[0].Format("2006-01-02 15:04 MST")
			}
			fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", e.ID, e.Paused, next, e.Note)
		}
		return tw.Flush()
	case "schedule pause", "schedule unpause", "schedule trigger":
		if err := need(id, "id"); err != nil {
			return err
		}
		h := sched.GetHandle(ctx, *id)
		switch cmd {
		case "schedule pause":
			err = h.Pause(ctx, client.SchedulePauseOptions{Note: *note})
		case "schedule unpause":
			err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "resumed by an operator"})
		default:
			err = h.Trigger(ctx, client.ScheduleTriggerOptions{})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: done\n", cmd)
		return nil
	case "search-attributes register":
		if err := temporalclient.RegisterSearchAttributes(ctx, d.Temporal, cfg.TemporalNamespace); err != nil {
			return err
		}
		fmt.Fprintln(out, "search attributes registered:", strings.Join(temporalclient.SearchAttributeNames, ", "))
		return nil
	}
	return ErrUsage
}

func workspaceCommand(ctx context.Context, st *store.Store, cmd, name, workspace, scope string, out io.Writer, need func(*string, string) error) error {
	switch cmd {
	case "workspace create":
		if err := need(&name, "name"); err != nil {
			return err
		}
		ws, err := st.CreateWorkspace(ctx, name)
		if err != nil {
			return err
		}
		key, _, err := st.CreateAPIKey(ctx, ws.ID, "initial")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "workspace %s\nAPI key %s (shown once)\n", ws.ID, key)
	case "workspace list":
		all, err := st.ListWorkspaces(ctx)
		if err != nil {
			return err
		}
		for _, ws := range all {
			fmt.Fprintf(out, "%s\t%s\n", ws.ID, ws.Name)
		}
	case "apikey create":
		if name == "" {
			name = "starter"
		}
		var key string
		var k store.APIKey
		var err error
		switch scope {
		case store.ScopeSupport:
			if workspace != "" {
				return fmt.Errorf("a support key serves every workspace: drop --workspace")
			}
			key, k, err = st.CreateSupportKey(ctx, name)
		case store.ScopeAdmin:
			if err := need(&workspace, "workspace"); err != nil {
				return err
			}
			key, k, err = st.CreateAPIKey(ctx, workspace, name)
		default:
			return fmt.Errorf("--scope must be admin or support")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key %s (id %s, shown once)\n", key, k.ID)
	}
	return nil
}

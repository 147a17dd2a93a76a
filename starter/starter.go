// Package starter is the operators' command line: migrations, workspaces
// and API keys, directory syncs, Schedules and search attributes.
package starter

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

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
  apikey create --workspace ID [--name N] [--expires 720h]
                                            issue another API key (shown once)
  apikey create --scope support [--name N] [--expires D]
                                            issue a support key: approves dedicated apps in every workspace
  apikey list [--workspace ID]              list API keys (every workspace's without --workspace)
  apikey revoke --id KEY_ID                 revoke an API key at once
  console link --workspace ID --email E [--expires 1h]
                                            print a one-time console sign-in link for an admin or viewer
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
	id := fs.String("id", "", "Schedule id, or API key id")
	expires := fs.Duration("expires", 0, "API key lifetime (0: none)")
	note := fs.String("note", "paused by an operator", "note")
	wait := fs.Bool("wait", false, "wait for the workflow to finish")
	scope := fs.String("scope", store.ScopeAdmin, "API key scope: admin or support")
	email := fs.String("email", "", "a workspace admin's or viewer's e-mail address")
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
	case "workspace create", "workspace list", "apikey create", "apikey list", "apikey revoke":
		_, st, err := process.OpenStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return workspaceCommand(ctx, st, cmd, keyFlags{name: *name, workspace: *workspace, scope: *scope, id: *id, expires: *expires}, out, need)
	case "console link":
		return consoleLink(ctx, cfg, env, *workspace, *email, *expires, out, need)
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
		if dir.Type.Pushed() {
			return fmt.Errorf("directory %s is a SCIM directory: its IdP pushes to it, there is nothing to import", dir.ID)
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

// keyFlags are the flags of the workspace and apikey commands.
type keyFlags struct {
	name, workspace, scope, id string
	expires                    time.Duration
}

func workspaceCommand(ctx context.Context, st *store.Store, cmd string, f keyFlags, out io.Writer, need func(*string, string) error) error {
	switch cmd {
	case "workspace create":
		if err := need(&f.name, "name"); err != nil {
			return err
		}
		ws, err := st.CreateWorkspace(ctx, f.name)
		if err != nil {
			return err
		}
		key, _, err := st.CreateAPIKey(ctx, store.NewAPIKey{WorkspaceID: ws.ID, Name: "initial", Scope: store.ScopeAdmin, Actor: "operator"})
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
		if f.name == "" {
			f.name = "starter"
		}
		nk := store.NewAPIKey{WorkspaceID: f.workspace, Name: f.name, Scope: f.scope, Actor: "operator"}
		if f.scope == store.ScopeAdmin {
			if err := need(&f.workspace, "workspace"); err != nil {
				return err
			}
		}
		if f.expires < 0 {
			return fmt.Errorf("--expires must be a positive duration such as 720h")
		}
		if f.expires > 0 {
			at := time.Now().Add(f.expires)
			nk.ExpiresAt = &at
		}
		key, k, err := st.CreateAPIKey(ctx, nk)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key %s (id %s, shown once)\n", key, k.ID)
	case "apikey list":
		keys, err := st.ListAPIKeys(ctx, f.workspace)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tSCOPE\tWORKSPACE\tNAME\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Scope, cmp.Or(k.WorkspaceID, "-"), k.Name,
				k.CreatedAt.UTC().Format(time.RFC3339), when(k.ExpiresAt), when(k.LastUsedAt), when(k.RevokedAt))
		}
		return tw.Flush()
	case "apikey revoke":
		if err := need(&f.id, "id"); err != nil {
			return err
		}
		k, err := st.RevokeAPIKey(ctx, "", f.id, "operator")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "API key %s (%s…) revoked\n", k.ID, k.Prefix)
	}
	return nil
}

// when formats an optional time for a table.
func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// consoleLink prints a one-time console sign-in link, for the first
// sign-in of a workspace or when its IdP is unreachable. The link's page
// signs in only from its button, once, within --expires (default 1h).
func consoleLink(ctx context.Context, cfg config.Common, env envconfig.Lookuper, workspace, email string, expires time.Duration,
	out io.Writer, need func(*string, string) error) error {
	if err := firstErr(need(&workspace, "workspace"), need(&email, "email")); err != nil {
		return err
	}
	var api config.API
	if err := config.Load(ctx, &api, env); err != nil {
		return err
	}
	_, st, err := process.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := st.CreateConsoleLink(ctx, workspace, email, cmp.Or(expires, time.Hour), "operator")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s/ui/link/%s\n(once, for %s, within %s)\n", strings.TrimRight(api.PublicURL, "/"), token, email,
		cmp.Or(expires, time.Hour))
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

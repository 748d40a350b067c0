package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/wiring"
)

// graphFlags are the flags of the commands that can read the live tenant.
type graphFlags struct {
	enabled      bool
	users        stringList
	url          string
	passwordAuth string
	phsFallback  string
}

func (g *graphFlags) register(fs *flag.FlagSet, withUsers bool) {
	fs.BoolVar(&g.enabled, "graph", false, "read the live tenant from Microsoft Graph (credentials from the environment: see docs/GRAPH.md)")
	if withUsers {
		fs.Var(&g.users, "user", "with --graph: only this user (object `id` or UPN); repeatable")
	}
	fs.StringVar(&g.url, "graph-url", "", "Graph service `root` (default $CREDRES_GRAPH_URL or https://graph.microsoft.com/v1.0)")
	fs.StringVar(&g.passwordAuth, "password-auth", "", "with --graph: the tenant's password authentication, `cloud|phs|pta|federated` (Graph cannot tell; default $CREDRES_PASSWORD_AUTH or cloud)")
	fs.StringVar(&g.phsFallback, "phs-fallback", "", "with --graph: `true` if password hash sync is on as a fallback for PTA or federation (default $CREDRES_PHS_FALLBACK)")
}

// client returns a Graph client configured by the flags and the
// environment. Each client paces its own requests: successive reads that
// must keep to one budget go through one client.
func (g *graphFlags) client(ctx context.Context) (*graph.Client, error) {
	getenv := func(k string) string {
		switch {
		case k == wiring.EnvGraphURL && g.url != "":
			return g.url
		case k == wiring.EnvPasswordAuth && g.passwordAuth != "":
			return g.passwordAuth
		case k == wiring.EnvPHSFallback && g.phsFallback != "":
			return g.phsFallback
		}
		return os.Getenv(k)
	}
	cfg, err := wiring.GraphConfig(getenv)
	if err != nil {
		return nil, err
	}
	return graph.New(ctx, cfg)
}

// directory reads the live tenant, showing progress on stderr.
func (g *graphFlags) directory(e env) (*model.Directory, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	return g.read(ctx, e, client)
}

// read reads the live tenant through the client, showing progress on
// stderr.
func (g *graphFlags) read(ctx context.Context, e env, client *graph.Client) (*model.Directory, error) {
	start := time.Now()
	last := time.Time{}
	progress := func(done, total int) {
		// Long runs are paced by Graph's budget: say where they are, at most
		// once a second.
		if now := time.Now(); now.Sub(last) >= time.Second || done == total {
			last = now
			fmt.Fprintf(e.stderr, "\rcredres: read %d of %d users (%s)", done, total, now.Sub(start).Round(time.Second))
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
	dir, err := client.Directory(ctx, g.users, progress)
	if err != nil && dir != nil && len(dir.Users) > 0 {
		// Some users could not be read: say who, go on with the others.
		for _, one := range splitErrors(err) {
			fmt.Fprintf(e.stderr, "credres: %v\n", one)
		}
		fmt.Fprintf(e.stderr, "credres: continuing with the %d users that were read\n", len(dir.Users))
		return dir, nil
	}
	return dir, err
}

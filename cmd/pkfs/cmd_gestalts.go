package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/p2p"
	"github.com/urfave/cli/v2"
)

// gestaltCommands are the identities subcommands about gestalts: links,
// identity providers, discovery.
func gestaltCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "invite", Usage: "let a node link itself to this one (it runs pkfs nodes claim)", ArgsUsage: "NODEID",
			Action: withArgs(1, runIdentitiesInvite)},
		{Name: "unlink", Usage: "break this node's link with a node", ArgsUsage: "NODEID",
			Action: withArgs(1, func(c *cli.Context, p printer) error {
				if err := call(c, "identities.unlink", agent.NodeParams{NodeID: c.Args().Get(0)}, nil, nil, nil); err != nil {
					return err
				}
				return p.Print(map[string]string{"unlinked": c.Args().Get(0)}, func(w io.Writer) { fmt.Fprintln(w, "unlinked") })
			})},
		{Name: "authenticate", Usage: "sign in to an identity provider (device flow)", ArgsUsage: "PROVIDER",
			Action: withArgs(1, runIdentitiesAuthenticate)},
		{Name: "authenticated", Usage: "list the identity providers we are signed in to", ArgsUsage: " ",
			Action: withArgs(0, runIdentitiesAuthenticated)},
		{Name: "claim", Usage: "link this node to an identity we are signed in as (publishes a signed claim)",
			ArgsUsage: "PROVIDER:IDENTITY", Action: withArgs(1, runIdentitiesClaim)},
		{Name: "search", Usage: "find identities on a provider", ArgsUsage: "PROVIDER:QUERY",
			Action: withArgs(1, runIdentitiesSearch)},
		{Name: "discover", Usage: "walk the claims from a node or identity and record its gestalt (in the background)",
			ArgsUsage: "NODEID|PROVIDER:IDENTITY",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "wait", Usage: "wait until discovery has nothing left to do"}},
			Action:    withArgs(1, runIdentitiesDiscover)},
		{Name: "get", Usage: "show the gestalt of a node or identity and its permissions", ArgsUsage: "NODEID|PROVIDER:IDENTITY",
			Action: withArgs(1, runIdentitiesGet)},
		{Name: "list", Usage: "list the known gestalts", ArgsUsage: " ", Action: withArgs(0, runIdentitiesList)},
		{Name: "queue", Usage: "show the discovery queue", ArgsUsage: " ", Action: withArgs(0, runIdentitiesQueue)},
	}
}

func runIdentitiesInvite(c *cli.Context, p printer) error {
	var res agent.InviteResult
	if err := call(c, "identities.invite", agent.NodeParams{NodeID: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		fmt.Fprintf(w, "invited %s: it may now run `pkfs nodes claim %s`", res.NodeID, res.Inviter)
		switch res.Notification {
		case "queued":
			fmt.Fprint(w, " (the invitation is queued until the node can be reached)")
		case "refused":
			fmt.Fprint(w, " (the node refused the notification, as it does not trust this node; the invitation stands)")
		}
		fmt.Fprintln(w)
	})
}

func runNodesClaim(c *cli.Context, p printer) error {
	var res agent.ClaimResult
	if err := call(c, "nodes.claim", agent.NodeParams{NodeID: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "linked with %s\n", res.Claim) })
}

func runIdentitiesAuthenticate(c *cli.Context, p printer) error {
	var res agent.AuthResult
	// the provider's words (where to sign in), as they come, escaped
	progress := &lineEscaper{w: c.App.ErrWriter}
	err := call(c, "identities.authenticate", agent.ProviderParams{Provider: c.Args().Get(0)}, nil, progress, &res)
	_ = progress.Flush()
	if err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "authenticated to %s as %s\n", res.Provider, res.Identity) })
}

func runIdentitiesAuthenticated(c *cli.Context, p printer) error {
	var res []agent.AuthResult
	if err := call(c, "identities.authenticated", nil, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		for _, a := range res {
			fmt.Fprintf(w, "%s:%s\n", a.Provider, a.Identity)
		}
	})
}

func runIdentitiesClaim(c *cli.Context, p printer) error {
	var res agent.ClaimResult
	if err := call(c, "identities.claim", agent.VertexParams{Vertex: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "claimed %s, published at %s\n", res.Claim, res.URL) })
}

func runIdentitiesSearch(c *cli.Context, p printer) error {
	prov, q, ok := strings.Cut(c.Args().Get(0), ":")
	if !ok || prov == "" {
		return usageErrorf("search takes PROVIDER:QUERY")
	}
	var res []string
	if err := call(c, "identities.search", agent.ProviderParams{Provider: prov, Query: q}, nil, nil, &res); err != nil {
		return err
	}
	if res == nil {
		res = []string{}
	}
	return p.Print(res, func(w io.Writer) {
		for _, i := range res {
			fmt.Fprintf(w, "%s:%s\n", prov, i)
		}
	})
}

func printGestalt(w io.Writer, g p2p.Gestalt) {
	for _, n := range g.Nodes {
		fmt.Fprintf(w, "  node     %s\n", n)
	}
	for _, i := range g.Identities {
		fmt.Fprintf(w, "  identity %s\n", i)
	}
}

// orNone joins items, or says there are none.
func orNone(items []string) string {
	if len(items) == 0 {
		return "(none)"
	}
	return strings.Join(items, ", ")
}

func runIdentitiesDiscover(c *cli.Context, p printer) error {
	var res agent.DiscoverResult
	params := agent.VertexParams{Vertex: c.Args().Get(0), Wait: c.Bool("wait")}
	if err := call(c, "identities.discover", params, nil, nil, &res); err != nil {
		return err
	}
	if res.Rejected == nil {
		res.Rejected = []string{}
	}
	if !p.JSON() {
		for _, r := range res.Rejected { // discovery went on without them
			notef(c, "discovery rejected %s", r)
		}
	}
	return p.Print(res, func(w io.Writer) {
		if !params.Wait {
			fmt.Fprintln(w, "discovery queued; known so far:")
		}
		printGestalt(w, res.Gestalt)
	})
}

func runIdentitiesGet(c *cli.Context, p printer) error {
	var res agent.VertexPermissions
	if err := call(c, "identities.get", agent.VertexParams{Vertex: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		fmt.Fprintf(w, "gestalt of %s:\n", res.Vertex)
		printGestalt(w, res.Gestalt)
		acts := make([]string, len(res.Actions))
		for i, a := range res.Actions {
			acts[i] = string(a)
		}
		fmt.Fprintf(w, "permissions: %s\n", orNone(acts))
	})
}

func runIdentitiesList(c *cli.Context, p printer) error {
	var res []p2p.Gestalt
	if err := call(c, "identities.list", nil, nil, nil, &res); err != nil {
		return err
	}
	if res == nil {
		res = []p2p.Gestalt{}
	}
	return p.Print(res, func(w io.Writer) {
		for i, g := range res {
			fmt.Fprintf(w, "gestalt %d:\n", i+1)
			printGestalt(w, g)
		}
	})
}

func runIdentitiesQueue(c *cli.Context, p printer) error {
	var res p2p.QueueState
	if err := call(c, "identities.queue", nil, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		active := []string{}
		if res.Active != "" {
			active = append(active, res.Active)
		}
		fmt.Fprintf(w, "active: %s\nqueued: %s\n", orNone(active), orNone(res.Queued))
		for _, r := range res.Rejected {
			fmt.Fprintf(w, "rejected: %s\n", r)
		}
	})
}

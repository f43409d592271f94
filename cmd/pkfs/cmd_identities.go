package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

func newIdentitiesCommand() *cli.Command {
	return &cli.Command{
		Name:  "identities",
		Usage: "trust and permissions of other nodes and gestalts; identities; discovery",
		Subcommands: append([]*cli.Command{
			{Name: "trust", Usage: "accept the notifications of a node's gestalt (the notify permission)", ArgsUsage: "NODEID|PROVIDER:IDENTITY",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.trust") })},
			{Name: "untrust", Usage: "stop accepting the node's notifications", ArgsUsage: "NODEID|PROVIDER:IDENTITY",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.untrust") })},
			{Name: "allow", Usage: "grant a gestalt a permission: notify, scan or claim", ArgsUsage: "NODEID|PROVIDER:IDENTITY ACTION",
				Action: withArgs(2, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.allow") })},
			{Name: "disallow", Usage: "revoke a permission from a whole gestalt", ArgsUsage: "NODEID|PROVIDER:IDENTITY ACTION",
				Action: withArgs(2, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.disallow") })},
			{Name: "permissions", Usage: "show the permissions of a node's gestalt", ArgsUsage: "NODEID|PROVIDER:IDENTITY",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.permissions") })},
		}, gestaltCommands()...),
	}
}

func runPermission(c *cli.Context, p printer, method string) error {
	var res agent.PermissionsResult
	params := agent.PermissionParams{NodeID: c.Args().Get(0), Action: c.Args().Get(1)}
	if err := call(c, method, params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		acts := make([]string, len(res.Actions))
		for i, a := range res.Actions {
			acts[i] = string(a)
		}
		if len(acts) == 0 {
			acts = []string{"(none)"}
		}
		fmt.Fprintf(w, "%s: %s\n", res.NodeID, strings.Join(acts, ", "))
	})
}

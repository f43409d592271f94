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
		Usage: "trust and permissions of other nodes",
		Subcommands: []*cli.Command{
			{Name: "trust", Usage: "accept the node's notifications (the notify permission)", ArgsUsage: "NODEID",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.trust") })},
			{Name: "untrust", Usage: "stop accepting the node's notifications", ArgsUsage: "NODEID",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.untrust") })},
			{Name: "allow", Usage: "grant a permission: notify, scan or claim", ArgsUsage: "NODEID ACTION",
				Action: withArgs(2, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.allow") })},
			{Name: "disallow", Usage: "revoke a permission: notify, scan or claim", ArgsUsage: "NODEID ACTION",
				Action: withArgs(2, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.disallow") })},
			{Name: "permissions", Usage: "show a node's permissions", ArgsUsage: "NODEID",
				Action: withArgs(1, func(c *cli.Context, p printer) error { return runPermission(c, p, "identities.permissions") })},
		},
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

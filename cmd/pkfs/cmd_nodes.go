package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/p2p"
	"github.com/urfave/cli/v2"
)

func newNodesCommand() *cli.Command {
	return &cli.Command{
		Name:  "nodes",
		Usage: "other nodes: their addresses, connections, lookups",
		Subcommands: []*cli.Command{
			{Name: "add", Usage: "remember where a node listens", ArgsUsage: "NODEID HOST PORT", Action: withArgs(3, runNodesAdd)},
			{Name: "ping", Usage: "check that a node answers (needs an agent)", ArgsUsage: "NODEID", Action: withArgs(1, runNodesPing)},
			{Name: "getall", Usage: "list every known node", ArgsUsage: " ", Action: withArgs(0, runNodesGetall)},
			{Name: "connections", Usage: "list live connections (needs an agent)", ArgsUsage: " ", Action: withArgs(0, runNodesConnections)},
			{Name: "claim", Usage: "link this node with a node that invited it: one gestalt (needs an agent)", ArgsUsage: "NODEID",
				Action: withArgs(1, runNodesClaim)},
			{Name: "find", Usage: "look a node up through known nodes, Kademlia style (needs an agent)", ArgsUsage: "NODEID",
				Action: withArgs(1, runNodesFind)},
			{Name: "addresses", Usage: "where this node listens, and where its peers see it (its NAT's mapping)", ArgsUsage: " ",
				Action: withArgs(0, runNodesAddresses)},
			{Name: "local-discovery", Usage: "announce this node on its local networks and find others there: on, off, or show",
				ArgsUsage: "[on|off]", Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return withArgs(0, runNodesLocalDiscovery)(c)
					}
					return withArgs(1, runNodesLocalDiscovery)(c)
				}},
		},
	}
}

func runNodesAdd(c *cli.Context, p printer) error {
	port, err := strconv.Atoi(c.Args().Get(2))
	if err != nil {
		return kindErrorf(agent.KindInvalid, "port %q is not a number", c.Args().Get(2))
	}
	var res p2p.NodeAddress
	params := agent.NodeAddParams{NodeID: c.Args().Get(0), Host: c.Args().Get(1), Port: port}
	if err := call(c, "nodes.add", params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "added %s at %s\n", res.NodeID, res.Addr()) })
}

func runNodesPing(c *cli.Context, p printer) error {
	var res agent.PingResult
	if err := call(c, "nodes.ping", agent.NodeParams{NodeID: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "%s answered in %.2f ms\n", res.NodeID, res.RTTms) })
}

func runNodesGetall(c *cli.Context, p printer) error {
	var res []p2p.NodeAddress
	if err := call(c, "nodes.getall", nil, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		for _, a := range res {
			seen := "never"
			if !a.LastSeen.IsZero() {
				seen = a.LastSeen.Local().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\tlast seen %s\n", a.NodeID, a.Addr(), seen)
		}
	})
}

func runNodesConnections(c *cli.Context, p printer) error {
	var res []p2p.ConnInfo
	if err := call(c, "nodes.connections", nil, nil, nil, &res); err != nil {
		return err
	}
	if res == nil {
		res = []p2p.ConnInfo{}
	}
	return p.Print(res, func(w io.Writer) {
		for _, ci := range res {
			dir := "in"
			if ci.Outbound {
				dir = "out"
			}
			via := string(ci.Via)
			if ci.Relay != "" {
				via += " by " + ci.Relay
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\tsince %s\n", ci.NodeID, ci.Address, dir, via, ci.Since.Local().Format(time.RFC3339))
		}
	})
}

func runNodesFind(c *cli.Context, p printer) error {
	var res p2p.NodeAddress
	if err := call(c, "nodes.find", agent.NodeParams{NodeID: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "%s is at %s\n", res.NodeID, res.Addr()) })
}

func runNodesAddresses(c *cli.Context, p printer) error {
	var res agent.AddressesResult
	if err := call(c, "nodes.addresses", nil, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		listen := res.Listen
		if listen == "" {
			listen = "(no agent runs)"
		}
		fmt.Fprintf(w, "node %s listens on %s\n", res.NodeID, listen)
		for _, o := range res.Observed {
			fmt.Fprintf(w, "seen at %s by %d peers, last %s\n", o.Address, len(o.SeenBy), o.LastSeen.Local().Format(time.RFC3339))
		}
	})
}

func runNodesLocalDiscovery(c *cli.Context, p printer) error {
	if c.NArg() == 1 && c.Args().Get(0) != "on" && c.Args().Get(0) != "off" {
		return usageErrorf("local-discovery takes on or off, not %q", c.Args().Get(0))
	}
	var res agent.LocalDiscoveryResult
	if err := call(c, "nodes.localdiscovery", agent.LocalDiscoveryParams{Set: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		setting, running := "off", "not running"
		if res.Setting {
			setting = "on"
		}
		if res.Running {
			running = "running"
		}
		fmt.Fprintf(w, "local discovery: %s (%s)\n", setting, running)
	})
}

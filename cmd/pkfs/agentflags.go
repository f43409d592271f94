package main

import (
	"strconv"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/p2p"
	"github.com/urfave/cli/v2"
)

// agentFlags are the flags of the commands that run an agent.
func agentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "background", Aliases: []string{"b"}, Usage: "detach; return once the agent is ready"},
		&cli.StringFlag{Name: "agent-host", EnvVars: []string{"PK_AGENT_HOST"}, Value: "::",
			Usage: "listen for other nodes on this address (:: is every address, IPv6 and IPv4)"},
		&cli.IntFlag{Name: "agent-port", EnvVars: []string{"PK_AGENT_PORT"}, Value: p2p.DefaultPort,
			Usage: "UDP port for other nodes (0 picks a free one)"},
		&cli.StringFlag{Name: "seed-nodes", EnvVars: []string{"PK_SEED_NODES"},
			Usage: "nodes to contact at start: `NODEID@HOST:PORT;...`"},
		&cli.BoolFlag{Name: "relay", Usage: "forward encrypted traffic between nodes that cannot reach each other (off by default)"},
		&cli.IntFlag{Name: "relay-port", Value: p2p.DefaultRelayPort, Usage: "with --relay: the UDP port of relayed traffic (0 picks a free one)"},
		&cli.IntFlag{Name: "relay-rate", Usage: "with --relay: at most `MIB` MiB a second in all (default 32)"},
		&cli.IntFlag{Name: "relay-sessions", Usage: "with --relay: at most `N` sessions at once (default 64)"},
		&cli.BoolFlag{Name: "local-discovery", Usage: "announce this node on its local networks and find others there " +
			"(also: pkfs nodes local-discovery on)"},
	}
}

// seedFlag makes `agent start` a seed node.
var seedFlag = &cli.BoolFlag{Name: "seed", Usage: "run as a seed node: no mount, relay on (see docs/seed-node.md)"}

// agentOptions reads the network flags.
func agentOptions(c *cli.Context, np, mnt string) (agent.Options, error) {
	o := agent.Options{NodePath: np, MountPoint: mnt, AgentHost: c.String("agent-host"), AgentPort: c.Int("agent-port"),
		AgentPortSet: c.IsSet("agent-port")}
	if o.AgentPort < 0 || o.AgentPort > 65535 {
		return o, kindErrorf(agent.KindInvalid, "--agent-port %d: want 0..65535", o.AgentPort)
	}
	seeds, err := p2p.ParseSeeds(c.String("seed-nodes"))
	if err != nil {
		return o, err
	}
	o.Seeds = seeds
	o.Relay, o.RelayRate, o.RelaySessions = c.Bool("relay"), c.Int("relay-rate"), c.Int("relay-sessions")
	o.RelayPort, o.RelayPortSet = c.Int("relay-port"), c.IsSet("relay-port")
	o.LocalDiscovery, o.Seed = c.Bool("local-discovery"), c.Bool("seed")
	if o.RelayRate < 0 || o.RelaySessions < 0 {
		return o, kindErrorf(agent.KindInvalid, "--relay-rate and --relay-sessions are positive")
	}
	if o.RelayPort < 0 || o.RelayPort > 65535 {
		return o, kindErrorf(agent.KindInvalid, "--relay-port %d: want 0..65535", o.RelayPort)
	}
	return o, nil
}

// networkArgs are the flags that hand the network options to a
// background agent.
func networkArgs(o agent.Options) []string {
	var args []string
	for _, f := range []struct {
		name string
		on   bool
	}{{"relay", o.Relay}, {"seed", o.Seed}, {"local-discovery", o.LocalDiscovery}} {
		if f.on {
			args = append(args, "--"+f.name)
		}
	}
	if o.RelayRate > 0 {
		args = append(args, "--relay-rate", strconv.Itoa(o.RelayRate))
	}
	if o.RelaySessions > 0 {
		args = append(args, "--relay-sessions", strconv.Itoa(o.RelaySessions))
	}
	if o.RelayPortSet {
		args = append(args, "--relay-port", strconv.Itoa(o.RelayPort))
	}
	return args
}

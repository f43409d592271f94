package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/pkfs/pkfs/p2p"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func shareCommands() []*cli.Command {
	return []*cli.Command{
		{Name: "share", Usage: "let a node's gestalt clone and pull a vault (and scan us); its nodes get a signed notification",
			ArgsUsage: "VAULT NODEID|PROVIDER:IDENTITY", Description: "With --gestalt self (and no NODEID), every node linked " +
				"to this one sees the vault by scan, without a share per device.",
			Flags:  []cli.Flag{&cli.StringFlag{Name: "gestalt", Usage: "share with a gestalt by name: only `self` (our own devices)"}},
			Action: withArgRange(1, 2, runVaultsShare)},
		{Name: "unshare", Usage: "stop a gestalt's clones and pulls of a vault", ArgsUsage: "VAULT NODEID|PROVIDER:IDENTITY|self",
			Action: withArgs(2, runVaultsUnshare)},
		{Name: "permissions", Usage: "which nodes may clone or pull a vault", ArgsUsage: "VAULT",
			Action: withArgs(1, runVaultsPermissions)},
		{Name: "scan", Usage: "list the vaults a node shares with us (needs an agent)", ArgsUsage: "NODEID",
			Action: withArgs(1, runVaultsScan)},
		{Name: "clone", Usage: "make a local replica of a vault a node shares with us (needs an agent)",
			ArgsUsage: "VAULT|VAULTID NODEID", Action: withArgs(2, runVaultsClone)},
		{Name: "pull", Usage: "fetch what a replica lacks from its origin, or from NODEID (needs an agent)",
			ArgsUsage: "VAULT [NODEID]", Action: withArgRange(1, 2, runVaultsPull)},
	}
}

func runVaultsShare(c *cli.Context, p printer) error {
	target := c.Args().Get(1)
	switch g := c.String("gestalt"); {
	case g != "" && g != "self":
		return usageErrorf("--gestalt takes only self")
	case g == "self" && target != "":
		return usageErrorf("give a NODEID or --gestalt self, not both")
	case g == "self":
		target = "self"
	case target == "":
		return usageErrorf("share takes VAULT NODEID|PROVIDER:IDENTITY, or VAULT --gestalt self")
	}
	var res agent.ShareResult
	if err := call(c, "vaults.share", agent.ShareParams{Vault: c.Args().Get(0), NodeID: target}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		how := "notified"
		switch res.Notification {
		case "queued":
			how = "the notification is queued until the node can be reached"
		case "refused":
			how = "the node refused the notification, as it does not trust this node; it may clone the vault all the same"
		case "none":
			how = "no node to notify yet"
		}
		fmt.Fprintf(w, "vault %s shared with %s (%s)\n", res.Vault, res.NodeID, how)
	})
}

func runVaultsUnshare(c *cli.Context, p printer) error {
	params := agent.ShareParams{Vault: c.Args().Get(0), NodeID: c.Args().Get(1)}
	if err := call(c, "vaults.unshare", params, nil, nil, nil); err != nil {
		return err
	}
	return p.Print(params, func(w io.Writer) { fmt.Fprintf(w, "vault %s no longer shared with %s\n", params.Vault, params.NodeID) })
}

func runVaultsPermissions(c *cli.Context, p printer) error {
	var res []agent.VaultPermission
	if err := call(c, "vaults.permissions", agent.ShareParams{Vault: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		for _, vp := range res {
			acts := make([]string, len(vp.Actions))
			for i, a := range vp.Actions {
				acts[i] = string(a)
			}
			fmt.Fprintf(w, "%s: %s\n", vp.NodeID, strings.Join(acts, ", "))
		}
	})
}

func runVaultsScan(c *cli.Context, p printer) error {
	var res []p2p.ScanItem
	if err := call(c, "vaults.scan", agent.ShareParams{NodeID: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	if res == nil {
		res = []p2p.ScanItem{}
	}
	return p.Print(res, func(w io.Writer) {
		for _, s := range res {
			fmt.Fprintf(w, "%s\t%s\n", oneLine(s.VaultName), oneLine(s.VaultID))
		}
	})
}

// progressSink turns the agent's "progress N" lines into a progress bar on
// a terminal.
func progressSink(c *cli.Context) (io.Writer, func()) {
	f, ok := c.App.ErrWriter.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return io.Discard, func() {}
	}
	bar := progressbar.DefaultBytes(-1, "receiving")
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		var last int64
		for sc.Scan() {
			if n, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "progress "), 10, 64); err == nil {
				bar.Add64(n - last)
				last = n
			}
		}
	}()
	return pw, func() { pw.Close(); <-done; bar.Finish(); fmt.Fprintln(f) }
}

func runVaultsClone(c *cli.Context, p printer) error {
	var res agent.CloneResult
	out, finish := progressSink(c)
	err := call(c, "vaults.clone", agent.ShareParams{Vault: c.Args().Get(0), NodeID: c.Args().Get(1)}, nil, out, &res)
	finish()
	if err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		fmt.Fprintf(w, "cloned %s as %s (%d commits, %d objects, %d bytes)\n", res.VaultID, res.VaultName, res.Commits, res.Objects, res.Bytes)
	})
}

func runVaultsPull(c *cli.Context, p printer) error {
	var res agent.CloneResult
	if err := call(c, "vaults.pull", agent.ShareParams{Vault: c.Args().Get(0), NodeID: c.Args().Get(1)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		if res.Commits == 0 {
			fmt.Fprintf(w, "%s is up to date\n", res.VaultName)
		} else {
			fmt.Fprintf(w, "pulled %d commits into %s (%d objects, %d bytes)\n", res.Commits, res.VaultName, res.Objects, res.Bytes)
		}
	})
}

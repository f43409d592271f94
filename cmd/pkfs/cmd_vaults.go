package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

func newVaultsCommand() *cli.Command {
	return &cli.Command{
		Name:  "vaults",
		Usage: "create, list, rename, delete vaults; their history",
		Before: func(c *cli.Context) error {
			for _, a := range c.Args().Slice() {
				if err := checkUTF8(a); err != nil {
					return err
				}
			}
			return nil
		},
		Subcommands: append([]*cli.Command{
			{Name: "create", Aliases: []string{"touch"}, Usage: "create a vault", ArgsUsage: "NAME",
				Action: withArgs(1, runVaultsCreate)},
			{Name: "list", Aliases: []string{"ls"}, Usage: "list the vaults", ArgsUsage: " ",
				Action: withArgs(0, runVaultsList)},
			{Name: "rename", Usage: "rename a vault", ArgsUsage: "NAME NEWNAME",
				Action: withArgs(2, runVaultsRename)},
			{Name: "delete", Usage: "delete a vault and all its history", ArgsUsage: "NAME",
				Action: withArgs(1, runVaultsDelete)},
			{Name: "log", Usage: "show a vault's history, newest first", ArgsUsage: "NAME",
				Flags:  []cli.Flag{&cli.IntFlag{Name: "depth", Aliases: []string{"n", "number"}, Usage: "show at most `N` commits"}},
				Action: withArgs(1, runVaultsLog)},
			{Name: "version", Aliases: []string{"revert"}, Usage: "make a vault's content that of REF, as a new commit (history is kept)",
				ArgsUsage: "NAME REF", Action: withArgs(2, runVaultsVersion)},
			{Name: "verify", Usage: "check every object and ref of a vault; exit 8 on damage",
				ArgsUsage: "NAME", Action: withArgs(1, runVaultsVerify)},
		}, shareCommands()...),
	}
}

// call runs one method through a fresh client.
func call(c *cli.Context, method string, params any, in io.Reader, out io.Writer, result any) error {
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Do(c.Context, method, params, in, out, result)
}

func runVaultsCreate(c *cli.Context, p printer) error {
	var res agent.VaultListItem
	if err := call(c, "vaults.create", agent.VaultParams{Vault: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "vault %s created (%s)\n", res.VaultName, res.VaultID) })
}

func runVaultsList(c *cli.Context, p printer) error {
	var res []agent.VaultListItem
	if err := call(c, "vaults.list", nil, nil, nil, &res); err != nil {
		return err
	}
	if res == nil {
		res = []agent.VaultListItem{}
	}
	return p.Print(res, func(w io.Writer) {
		for _, v := range res {
			if v.Origin != "" {
				behind := "behind: unknown"
				if v.Behind != nil {
					behind = fmt.Sprintf("behind: %d", *v.Behind)
				}
				fmt.Fprintf(w, "%s\t%s\treplica of %s\t%s\n", v.VaultName, v.VaultID, v.Origin, behind)
			} else {
				fmt.Fprintf(w, "%s\t%s\n", v.VaultName, v.VaultID)
			}
		}
	})
}

func runVaultsRename(c *cli.Context, p printer) error {
	params := agent.VaultRenameParams{Vault: c.Args().Get(0), NewName: c.Args().Get(1)}
	if err := call(c, "vaults.rename", params, nil, nil, nil); err != nil {
		return err
	}
	return p.Print(map[string]string{"vaultName": params.NewName}, func(w io.Writer) {
		fmt.Fprintf(w, "vault %s renamed to %s\n", params.Vault, params.NewName)
	})
}

func runVaultsDelete(c *cli.Context, p printer) error {
	name := c.Args().Get(0)
	if err := call(c, "vaults.delete", agent.VaultParams{Vault: name}, nil, nil, nil); err != nil {
		return err
	}
	return p.Print(map[string]string{"vaultName": name}, func(w io.Writer) { fmt.Fprintf(w, "vault %s deleted\n", name) })
}

func runVaultsLog(c *cli.Context, p printer) error {
	var res []agent.LogItem
	params := agent.VaultLogParams{Vault: c.Args().Get(0), Number: c.Int("depth")}
	if err := call(c, "vaults.log", params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		for _, e := range res {
			fmt.Fprintf(w, "commit %s\ncommitter %s\ndate %s\n\n    %s\n\n", e.CommitID, e.Committer,
				e.Timestamp.Local().Format(time.RFC3339), indent(e.Message))
		}
	})
}

func indent(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		out = append(out, s[i])
		if s[i] == '\n' {
			out = append(out, "    "...)
		}
	}
	return string(out)
}

func runVaultsVersion(c *cli.Context, p printer) error {
	var res agent.CommitResult
	params := agent.VaultVersionParams{Vault: c.Args().Get(0), Ref: c.Args().Get(1)}
	if err := call(c, "vaults.version", params, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) { fmt.Fprintf(w, "%s\n", res.CommitID) })
}

func runVaultsVerify(c *cli.Context, p printer) error {
	var res agent.VerifyResult
	if err := call(c, "vaults.verify", agent.VaultParams{Vault: c.Args().Get(0)}, nil, nil, &res); err != nil {
		return err
	}
	err := p.Print(res, func(w io.Writer) {
		for _, pr := range res.Problems {
			fmt.Fprintf(w, "damaged: %s\n", pr)
		}
		fmt.Fprintf(w, "%s: %d objects, %d commits, %d refs checked", res.Vault, res.Objects, res.Commits, res.Refs)
		if res.OK {
			fmt.Fprintln(w, ", no damage")
		} else {
			fmt.Fprintf(w, ", %d problem%s\n", len(res.Problems), plural(len(res.Problems)))
		}
	})
	if err == nil && !res.OK {
		return kindErrorf(agent.KindDamaged, "vault %s is damaged: %d problem%s", res.Vault, len(res.Problems), plural(len(res.Problems)))
	}
	return err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

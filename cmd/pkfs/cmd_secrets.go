package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pkfs/pkfs/internal/agent"
	"github.com/urfave/cli/v2"
)

func newSecretsCommand() *cli.Command {
	rev := &cli.StringFlag{Name: "rev", Usage: "read at revision `REV` (commit ID, short ID, HEAD~N)"}
	return &cli.Command{
		Name:  "secrets",
		Usage: "read and write the secrets of a vault (VAULT:PATH)",
		Subcommands: []*cli.Command{
			{Name: "cat", Usage: "print secrets; with no argument, copy stdin to stdout", ArgsUsage: "[VAULT:PATH...]",
				Flags: []cli.Flag{rev}, Action: withArgRange(0, -1, runSecretsCat)},
			{Name: "write", Usage: "write stdin to a secret (binary-safe, streamed), as one commit", ArgsUsage: "VAULT:PATH",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "exec", Usage: "mark the file executable"}},
				Action: withArgs(1, runSecretsWrite)},
			{Name: "edit", Usage: "edit a secret with $EDITOR (the plaintext stays in memory: /dev/shm or memfd)",
				ArgsUsage: "VAULT:PATH", Action: withArgs(1, runSecretsEdit)},
			{Name: "ls", Aliases: []string{"list"}, Usage: "list a directory of a vault", ArgsUsage: "VAULT[:PATH]",
				Flags: []cli.Flag{rev}, Action: withArgs(1, runSecretsLs)},
			{Name: "mkdir", Usage: "create directories (one commit per vault)", ArgsUsage: "VAULT:PATH...",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "parents", Aliases: []string{"p"}, Usage: "make parent directories as needed"}},
				Action: withArgRange(1, -1, runSecretsMkdir)},
			{Name: "rm", Aliases: []string{"delete"}, Usage: "remove secrets or directories (one commit per vault)", ArgsUsage: "VAULT:PATH...",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "recursive", Aliases: []string{"r"}, Usage: "remove directories and their contents"}},
				Action: withArgRange(1, -1, runSecretsRm)},
			{Name: "rename", Aliases: []string{"mv"}, Usage: "rename a secret (NEWNAME without '/' stays in the same directory)",
				ArgsUsage: "VAULT:PATH NEWNAME", Action: withArgs(2, runSecretsRename)},
			{Name: "stat", Usage: "describe a secret: type, size, mode, mtime", ArgsUsage: "VAULT:PATH",
				Flags: []cli.Flag{rev}, Action: withArgs(1, runSecretsStat)},
			{Name: "touch", Usage: "create an empty secret, or update its mtime", ArgsUsage: "VAULT:PATH",
				Action: withArgs(1, runSecretsTouch)},
			newSecretsDirCommand(),
			newSecretsEnvCommand(),
		},
	}
}

// withArgRange checks that a command has min..max arguments (max < 0: no limit).
func withArgRange(min, max int, run func(c *cli.Context, p printer) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() < min || (max >= 0 && c.NArg() > max) {
			return usageErrorf("%s: wrong number of arguments (usage: %s %s)", c.Command.HelpName, c.Command.HelpName, c.Command.ArgsUsage)
		}
		p, err := newPrinter(c)
		if err != nil {
			return err
		}
		return run(c, p)
	}
}

func secretArgs(c *cli.Context) ([]secretPath, error) {
	out := make([]secretPath, 0, c.NArg())
	for _, a := range c.Args().Slice() {
		sp, err := parseSecretPath(a)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

func runSecretsCat(c *cli.Context, p printer) error {
	if c.NArg() == 0 {
		_, err := io.Copy(c.App.Writer, c.App.Reader)
		return err
	}
	sps, err := secretArgs(c)
	if err != nil {
		return err
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, sp := range sps {
		params := agent.SecretParams{Vault: sp.Vault, Path: sp.Path, Rev: c.String("rev")}
		if err := cl.Do(c.Context, "secrets.cat", params, nil, c.App.Writer, nil); err != nil {
			return fmt.Errorf("%s: %w", sp, err)
		}
	}
	return nil
}

func runSecretsWrite(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	if err := sp.needPath(); err != nil {
		return err
	}
	size := int64(-1)
	if f, ok := c.App.Reader.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil {
				size = fi.Size() - off
			}
		}
	}
	var res agent.CommitResult
	params := agent.SecretWriteParams{Vault: sp.Vault, Path: sp.Path, Size: size, Exec: c.Bool("exec")}
	if err := call(c, "secrets.write", params, c.App.Reader, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {})
}

func runSecretsLs(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	var res []agent.LsItem
	if err := call(c, "secrets.ls", agent.SecretParams{Vault: sp.Vault, Path: sp.Path, Rev: c.String("rev")}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		for _, e := range res {
			name := path.Base(e.Path)
			if e.Type == "DIRECTORY" {
				name += "/"
			}
			fmt.Fprintln(w, name)
		}
	})
}

// byVault groups arguments by vault, keeping the order of first mention.
func byVault(sps []secretPath) ([]string, map[string][]string) {
	var order []string
	m := map[string][]string{}
	for _, sp := range sps {
		if _, ok := m[sp.Vault]; !ok {
			order = append(order, sp.Vault)
		}
		m[sp.Vault] = append(m[sp.Vault], sp.Path)
	}
	return order, m
}

func runPerVault(c *cli.Context, p printer, method string, flag func(*agent.SecretPathsParams)) error {
	sps, err := secretArgs(c)
	if err != nil {
		return err
	}
	for _, sp := range sps {
		if err := sp.needPath(); err != nil {
			return err
		}
	}
	cl, err := newClient(c)
	if err != nil {
		return err
	}
	defer cl.Close()
	order, m := byVault(sps)
	var out []agent.CommitResult
	for _, v := range order {
		params := agent.SecretPathsParams{Vault: v, Paths: m[v]}
		flag(&params)
		var res agent.CommitResult
		if err := cl.Do(c.Context, method, params, nil, nil, &res); err != nil {
			return fmt.Errorf("%s: %w", v, err)
		}
		out = append(out, res)
	}
	return p.Print(out, func(w io.Writer) {})
}

func runSecretsMkdir(c *cli.Context, p printer) error {
	return runPerVault(c, p, "secrets.mkdir", func(sp *agent.SecretPathsParams) { sp.Parents = c.Bool("parents") })
}

func runSecretsRm(c *cli.Context, p printer) error {
	return runPerVault(c, p, "secrets.rm", func(sp *agent.SecretPathsParams) { sp.Recursive = c.Bool("recursive") })
}

func runSecretsRename(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	if err := sp.needPath(); err != nil {
		return err
	}
	newPath := c.Args().Get(1)
	if err := checkUTF8(newPath); err != nil {
		return err
	}
	if v, rest, ok := strings.Cut(newPath, ":"); ok && v == sp.Vault {
		newPath = rest // VAULT:NEWPATH is accepted for the same vault
	} else if !strings.Contains(newPath, "/") {
		if dir := path.Dir(strings.Trim(sp.Path, "/")); dir != "." {
			newPath = dir + "/" + newPath
		}
	}
	var res agent.CommitResult
	if err := call(c, "secrets.rename", agent.SecretRenameParams{Vault: sp.Vault, Path: sp.Path, NewPath: newPath}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {})
}

func runSecretsStat(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	var res agent.StatResult
	if err := call(c, "secrets.stat", agent.SecretParams{Vault: sp.Vault, Path: sp.Path, Rev: c.String("rev")}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {
		table(w, [2]string{"path", sp.String()}, [2]string{"type", res.Type}, [2]string{"size", fmt.Sprint(res.Size)},
			[2]string{"mode", fmt.Sprintf("%06o", res.Mode)}, [2]string{"mtime", res.Mtime.Local().Format(time.RFC3339Nano)},
			[2]string{"hash", res.Hash})
	})
}

func runSecretsTouch(c *cli.Context, p printer) error {
	sp, err := parseSecretPath(c.Args().Get(0))
	if err != nil {
		return err
	}
	if err := sp.needPath(); err != nil {
		return err
	}
	var res any
	if err := call(c, "secrets.touch", agent.SecretParams{Vault: sp.Vault, Path: sp.Path}, nil, nil, &res); err != nil {
		return err
	}
	return p.Print(res, func(w io.Writer) {})
}
